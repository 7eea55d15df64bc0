"""Tokenization for training: the tokenizer (given, the model's, or trained on the shards), a pool of
tokenizer processes, and the worker functions they run.

Everything about tokenizers lives here. The module imports only numpy at the top (``tokenizers``,
``transformers`` and pyarrow on use), so a spawned worker starts in a fraction of a second. Workers
tokenize with the model's fast tokenizer (``encode_batch``, Rust), one Rust thread each: the processes
are the parallelism; results are consumed in submission order, so the stream is deterministic.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------------------------------
# what a worker needs


@dataclass
class TokenizerSpec:
    """What a worker needs to tokenize like the model: the fast tokenizer's JSON and the EOS id."""

    tokenizer_json: str
    eos_id: int
    add_special_tokens: bool = True

    @classmethod
    def from_pretrained(cls, tokenizer: Any) -> TokenizerSpec:
        """From a ``transformers`` fast tokenizer or a ``tokenizers.Tokenizer``."""
        backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
        if not hasattr(backend, "to_str"):
            raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer (need the `tokenizers` backend)")
        eos = getattr(tokenizer, "eos_token_id", None)
        if eos is None:
            raise ValueError("the tokenizer has no EOS token; packing needs one between documents")
        return cls(backend.to_str(), int(eos))

    @classmethod
    def of(cls, tokenizer: Any) -> TokenizerSpec:
        return tokenizer if isinstance(tokenizer, TokenizerSpec) else cls.from_pretrained(tokenizer)


_TOKENIZER = None


def init_worker(spec_json: str) -> None:
    """Build the fast tokenizer from its JSON (one Rust thread per process: the processes are the parallelism)."""
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    global _TOKENIZER
    from tokenizers import Tokenizer

    spec = json.loads(spec_json)
    _TOKENIZER = (Tokenizer.from_str(spec["tokenizer_json"]), spec["eos_id"], spec["add_special_tokens"])


def encode(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Tokenize a batch; EOS after each document. Returns (flat int32 tokens, lengths)."""
    tok, eos, special = _TOKENIZER
    encode_batch = getattr(tok, "encode_batch_fast", tok.encode_batch)
    ids = []
    for e in encode_batch(texts, add_special_tokens=special):
        x = e.ids
        if not x or x[-1] != eos:
            x.append(eos)
        ids.append(x)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
    return flat, lengths


# ----------------------------------------------------------------------------------------------------
# the pool


class Tokenizing:
    """Ordered, bounded tokenization over a pool of processes (or in-process with 0 workers)."""

    def __init__(self, spec: TokenizerSpec, workers: int):
        self.workers = workers
        spec_json = json.dumps(asdict(spec))
        if workers > 0:
            ctx = mp.get_context("spawn")
            self.pool = ctx.Pool(workers, initializer=init_worker, initargs=(spec_json,))
        else:
            self.pool = None
            init_worker(spec_json)

    def map(self, batches: Iterator[tuple[Any, list[str]]]) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
        """Tokenize ``(meta, texts)`` batches; yield ``(meta, flat tokens, lengths)`` in input order."""
        if self.pool is None:
            for meta, texts in batches:
                yield (meta, *encode(texts))
            return
        inflight: deque = deque()
        for meta, texts in batches:
            inflight.append((meta, self.pool.apply_async(encode, (texts,))))
            if len(inflight) >= 2 * self.workers:
                m, r = inflight.popleft()
                yield (m, *r.get())
        while inflight:
            m, r = inflight.popleft()
            yield (m, *r.get())

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def usable_cpus() -> int:
    """CPUs this process may run on (``os.sched_getaffinity``: a container's or job's share, not the
    machine's ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """Tokenizer processes per training process: half the CPUs this process may use, shared by the
    processes of this machine (``LOCAL_WORLD_SIZE``, set by torchrun and accelerate), between 1 and 8."""
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(1, min(8, usable_cpus() // (2 * local)))


# ----------------------------------------------------------------------------------------------------
# the tokenizer itself


def train_tokenizer(paths: str | Iterable[str], vocab_size: int = 4096, max_docs: int = 20_000,
                    text_column: str = "text"):
    """Train a byte-level BPE tokenizer on shard text (HF ``tokenizers``) and wrap it for transformers.

    Documents are taken round-robin across shards so every language and source is represented. Special
    tokens: ``<s>`` (BOS, not added to documents), ``</s>`` (EOS, between documents), ``<pad>``.
    """
    import pyarrow.parquet as pq
    from datatrove.utils.logging import logger
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from mmedc.io.shards import list_shards
    from mmedc.train.index import open_file

    files = list_shards(paths)
    if not files:
        raise FileNotFoundError(f"no .parquet shards found in {paths!r}")
    per_file = max(1, max_docs // len(files))

    def texts() -> Iterator[str]:
        for path in files:
            n = 0
            try:
                with open_file(path) as f:
                    for batch in pq.ParquetFile(f).iter_batches(columns=[text_column], batch_size=1024):
                        for t in batch.column(0).to_pylist():
                            if t:
                                yield t
                                n += 1
                                if n >= per_file:
                                    break
                        if n >= per_file:
                            break
            except Exception as e:  # noqa: BLE001
                logger.error(f"tokenizer training: skipping {path} ({type(e).__name__}: {e})")

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(texts(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def load_or_train_tokenizer(config: Any, accelerator: Any = None):
    """The tokenizer of a run: the one named, the model's, or (random init) one trained on the shards and
    kept in ``<output_dir>/tokenizer`` so a resumed run tokenizes identically."""
    from datatrove.utils.logging import logger
    from transformers import AutoTokenizer

    if config.tokenizer:
        return AutoTokenizer.from_pretrained(config.tokenizer)
    if config.model_name_or_path:
        return AutoTokenizer.from_pretrained(config.model_name_or_path)
    tok_dir = Path(config.output_dir) / "tokenizer"
    is_main = accelerator is None or accelerator.is_main_process
    if not (tok_dir / "tokenizer.json").exists() and is_main:
        t0 = time.time()
        tok = train_tokenizer(config.shards, config.tokenizer_vocab_size, config.tokenizer_train_docs, config.text_column)
        tmp = tok_dir.with_name(".tokenizer.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tok.save_pretrained(tmp)
        shutil.rmtree(tok_dir, ignore_errors=True)  # a folder without tokenizer.json is a killed save
        os.replace(tmp, tok_dir)
        logger.info(f"trained a {len(tok)}-token byte-level BPE tokenizer on the shards in {time.time() - t0:.1f}s")
    if accelerator is not None:
        accelerator.wait_for_everyone()
    return AutoTokenizer.from_pretrained(tok_dir)
