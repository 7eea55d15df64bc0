"""Training data: mmedc shards -> mixture -> tokenized, packed, fixed-length blocks, resumable.

What it does
------------
1. **Index**: the Parquet footers of every shard give its row groups; nothing else is read up front.
2. **Order**: each epoch, a seeded permutation of all row groups; ``window_row_groups`` of them are
   read together and their documents permuted (the shuffle window). Order is a pure function of
   ``(seed, epoch)``, so a position is three integers, not a buffer.
3. **Mixture**: each (language, source) group gets a sampling rate; a document appears
   ``floor(rate)`` times plus once more with probability ``frac(rate)``, decided by a hash of
   ``(seed, epoch, id)``. Rates come from target shares (``mixture_mode="proportion"``, using the
   characters per group from the shard manifests, or a column scan when a manifest does not cover
   the files) or are given directly (``"rate"``: epochs per group, the MMedC way).
4. **Tokenize** in worker processes with the model's fast tokenizer (``encode_batch``, Rust), a
   bounded number of batches in flight, results consumed in submission order (deterministic).
5. **Pack**: documents are concatenated with EOS after each, cut into ``seq_len`` blocks; no padding
   (a document that does not fit continues in the next block). With ``doc_boundary_attention``,
   position ids restart at each document start: transformers then masks attention across documents
   (block-causal mask for sdpa/eager, varlen kernels for flash-attention), and the first token of a
   document is not predicted from the previous one (label -100).
6. **Resume**: every block carries the position after it (epoch, window, document, token offset);
   restarting from it re-reads one window and yields exactly the blocks that followed.

Why not HF ``datasets`` or datatrove's ``DocumentTokenizer``: ``datasets`` streaming cannot restore a
shuffle buffer on resume (documents in it are skipped), its ``interleave_datasets`` needs one stream
per group (every shard read once per group when shards mix languages) and ``group_texts``-style packing
in ``map`` drops each batch's remainder. ``DocumentTokenizer`` is the right tool to pre-tokenize a
corpus of many terabytes once into token files (its ``DatatroveFolderDataset`` then reads them), but
it is an offline stage with its own file format; for MMedC-scale corpora (tens of billions of tokens)
tokenizing on the fly in worker processes keeps ahead of the GPU (see ``benchmarks/train_data_throughput.py``)
and lets the mixture and sequence length change without a re-run. The reading (pyarrow) and the
tokenizer (HF ``tokenizers``) are the well-kept libraries; this module is only order, mixture and packing.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import posixpath
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.utils.logging import logger

from mmedc.io.parquet import MANIFEST_DIR, list_shards
from mmedc.train._worker import encode, init_worker

# ----------------------------------------------------------------------------------------------------
# index


@dataclass(frozen=True)
class RowGroup:
    path: str
    index: int
    rows: int


def _open(path: str):
    import fsspec

    return fsspec.open(path, "rb")


def index_row_groups(paths: str | Iterable[str], stats: Counter | None = None) -> list[RowGroup]:
    """List the row groups of every shard (footers only). Unreadable files are logged and skipped."""
    stats = stats if stats is not None else Counter()
    out: list[RowGroup] = []
    files = list_shards(paths)
    if not files:
        raise FileNotFoundError(f"no .parquet shards found in {paths!r}")
    for path in files:
        try:
            with _open(path) as f:
                md = pq.ParquetFile(f).metadata
                out.extend(RowGroup(path, i, md.row_group(i).num_rows) for i in range(md.num_row_groups))
            stats["files"] += 1
        except FileNotFoundError as e:
            raise FileNotFoundError(f"training data: {path} does not exist") from e
        except Exception as e:  # noqa: BLE001 - any unreadable file is skipped, loudly
            stats["bad_files"] += 1
            logger.error(f"training data: skipping {path}: not a readable Parquet file ({type(e).__name__}: {e})")
    if not out:
        raise ValueError(f"no readable rows in {paths!r} ({stats['bad_files']} unreadable files)")
    return out


def fingerprint(row_groups: list[RowGroup]) -> str:
    """A short hash of the file list and row counts: resuming on other data is detected."""
    h = hashlib.sha1()
    for rg in row_groups:
        h.update(f"{posixpath.basename(rg.path)}:{rg.index}:{rg.rows};".encode())
    return h.hexdigest()[:16]


def _u01(*parts: Any) -> float:
    """Deterministic uniform in [0, 1) from any values (stable across processes and runs)."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(h.digest(), "little") / 2**64


def is_holdout(doc_id: str, fraction: float, seed: int) -> bool:
    """Whether a document is held out for evaluation (stable hash of its id)."""
    return fraction > 0 and _u01("holdout", seed, doc_id) < fraction


# ----------------------------------------------------------------------------------------------------
# mixture


def group_key(lang: str | None, source: str | None) -> str:
    return f"{lang or 'unknown'}/{source or 'unknown'}"


def group_characters(paths: str | Iterable[str], row_groups: list[RowGroup] | None = None) -> dict[str, int]:
    """Characters per ``lang/source`` group: from the shard manifests where they cover whole ranks,
    otherwise by scanning the ``lang``, ``source`` and ``text`` columns."""
    files = sorted({rg.path for rg in row_groups}) if row_groups else list_shards(paths)
    counts: Counter = Counter()
    covered: set[str] = set()
    by_dir: dict[str, set[str]] = {}
    for f in files:
        by_dir.setdefault(posixpath.dirname(f), set()).add(posixpath.basename(f))
    import fsspec

    for d, names in by_dir.items():
        fs, root = fsspec.core.url_to_fs(d)
        try:
            manifests = sorted(fs.glob(posixpath.join(root, MANIFEST_DIR, "*.json")))
        except Exception:  # noqa: BLE001
            manifests = []
        for m in manifests:
            try:
                with fs.open(m, "r") as fh:
                    data = json.load(fh)
                shard_names = {s["file"] for s in data["shards"]}
                if not shard_names or not shard_names <= names:
                    continue
                for e in data["by_lang_source"]:
                    counts[group_key(e["lang"], e["source"])] += int(e["characters"])
                covered |= {posixpath.join(d, n) for n in shard_names}
            except Exception as e:  # noqa: BLE001
                logger.warning(f"training data: ignoring manifest {m} ({type(e).__name__}: {e})")
    for f in files:
        if f in covered:
            continue
        try:
            with _open(f) as fh:
                pf = pq.ParquetFile(fh)
                for batch in pf.iter_batches(columns=["lang", "source", "text"], batch_size=8192):
                    lengths = pc.utf8_length(batch.column("text")).to_numpy(zero_copy_only=False)
                    langs = batch.column("lang").to_pylist()
                    sources = batch.column("source").to_pylist()
                    for lang, src, n in zip(langs, sources, lengths):
                        counts[group_key(lang, src)] += int(n)
        except Exception as e:  # noqa: BLE001
            logger.error(f"training data: cannot scan {f} for mixture counts ({type(e).__name__}: {e})")
    return dict(counts)


def _weight_for(key: str, weights: dict[str, float]) -> tuple[str, float] | None:
    lang, source = key.split("/", 1)
    for k in (key, lang, source, "*"):
        if k in weights:
            return k, weights[k]
    return None


def mixture_rates(weights: dict[str, float], chars: dict[str, int], mode: str = "proportion") -> dict[str, float]:
    """Sampling rate per ``lang/source`` group.

    ``weights`` keys are ``lang/source``, ``lang``, ``source`` or ``*`` (most specific wins); groups no
    key matches get rate 0. In ``rate`` mode the weight is the rate (epochs). In ``proportion`` mode the
    weights are target shares of characters: a key's share is split among its groups by their sizes,
    and rates are scaled so the mixed corpus has as many characters as the original.
    """
    if not weights:
        return {k: 1.0 for k in chars}
    matched: dict[str, str] = {}
    for key in chars:
        hit = _weight_for(key, weights)
        if hit is not None:
            matched[key] = hit[0]
    if mode == "rate":
        return {key: float(weights[matched[key]]) if key in matched else 0.0 for key in chars}
    key_chars: Counter = Counter()
    for key, wk in matched.items():
        key_chars[wk] += chars[key]
    used = {wk: w for wk, w in weights.items() if w > 0}
    missing = sorted(wk for wk in used if key_chars[wk] == 0)
    if missing:
        raise ValueError(f"mixture: no data for {missing}; groups in the data: {sorted(chars)}")
    total_w = sum(used.values())
    total_chars = sum(chars.values())
    rates = {}
    for key in chars:
        wk = matched.get(key)
        if wk is None or wk not in used:
            rates[key] = 0.0
            continue
        share = used[wk] / total_w  # target share of this weight key
        rates[key] = share * total_chars / key_chars[wk]
    return rates


def copies(rate: float, seed: int, epoch: int, doc_id: str) -> int:
    """How many times a document appears this epoch: ``floor(rate)`` plus one with prob. ``frac(rate)``."""
    whole = math.floor(rate)
    frac = rate - whole
    return whole + (1 if frac > 0 and _u01("mix", seed, epoch, doc_id) < frac else 0)


# ----------------------------------------------------------------------------------------------------
# tokenization (in worker processes)

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


class _Tokenizing:
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


def default_workers() -> int:
    """Tokenizer processes per training process: half the cores shared by the processes of this
    machine (``LOCAL_WORLD_SIZE``, set by torchrun and accelerate), between 1 and 8."""
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(1, min(8, (os.cpu_count() or 2) // (2 * local)))


# ----------------------------------------------------------------------------------------------------
# packing


@dataclass
class DataState:
    """Position in the training stream: the first document with tokens not yet in a block."""

    epoch: int = 0
    window: int = 0
    doc: int = 0
    token: int = 0
    rank: int = 0
    world_size: int = 1
    fingerprint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Block:
    input_ids: np.ndarray
    position_ids: np.ndarray
    labels: np.ndarray
    state: DataState
    groups: list[str] = field(default_factory=list)  # lang/source of the documents starting in this block


class Packer:
    """Cut a stream of tokenized documents (EOS already appended) into fixed-length blocks.

    No padding: a document that does not fit continues at the start of the next block. With
    ``doc_boundary_attention`` every piece gets position ids from 0 and the label of each document's
    first token (when it is not the block's first) is -100.
    """

    def __init__(self, seq_len: int, doc_boundary_attention: bool = True):
        self.seq_len = seq_len
        self.boundary = doc_boundary_attention
        self.pending: deque = deque()  # [key, tokens, offset]
        self.pending_len = 0

    def add(self, key: Any, tokens: np.ndarray, offset: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, Any]]:
        """Add a document (from token ``offset``); yield the blocks now complete, each with the key and
        offset of the first document still pending after it (``None`` when nothing is pending)."""
        if offset >= len(tokens):
            return
        self.pending.append([key, tokens, offset])
        self.pending_len += len(tokens) - offset
        while self.pending_len >= self.seq_len:
            yield self._emit()

    def _emit(self):
        n = self.seq_len
        ids = np.empty(n, dtype=np.int64)
        pos = np.empty(n, dtype=np.int64)
        labels = np.empty(n, dtype=np.int64)
        filled = 0
        while filled < n:
            item = self.pending[0]
            _key, toks, off = item
            take = min(len(toks) - off, n - filled)
            ids[filled : filled + take] = toks[off : off + take]
            labels[filled : filled + take] = toks[off : off + take]
            if self.boundary:
                pos[filled : filled + take] = np.arange(take)
                if filled > 0:
                    labels[filled] = -100
            if off + take == len(toks):
                self.pending.popleft()
            else:
                item[2] = off + take
            filled += take
        if not self.boundary:
            pos[:] = np.arange(n)
        self.pending_len -= n
        nxt = (self.pending[0][0], self.pending[0][2]) if self.pending else None
        return ids, pos, labels, nxt


class PackedStream:
    """Infinite, deterministic, resumable stream of packed :class:`Block` s for one data-parallel rank.

    Args:
        paths: shard folders/globs/files.
        tokenizer: a fast tokenizer (``transformers`` or ``tokenizers``) or a :class:`TokenizerSpec`.
        seq_len: block length in tokens.
        mixture, mixture_mode: see :func:`mixture_rates`.
        seed: order and mixture seed.
        rank, world_size: windows ``w`` with ``w % world_size == rank`` belong to this rank.
        state: a :class:`DataState` (or its dict) to resume from.
        holdout_fraction: documents held out for evaluation are skipped.
        epochs: stop after this many epochs (``None``: never).
    """

    def __init__(
        self,
        paths: str | Iterable[str],
        tokenizer: Any,
        seq_len: int,
        mixture: dict[str, float] | None = None,
        mixture_mode: str = "proportion",
        seed: int = 42,
        window_row_groups: int = 16,
        doc_boundary_attention: bool = True,
        workers: int = 0,
        batch_docs: int = 256,
        rank: int = 0,
        world_size: int = 1,
        state: DataState | dict | None = None,
        holdout_fraction: float = 0.0,
        min_doc_chars: int = 1,
        epochs: int | None = None,
        text_column: str = "text",
    ):
        self.stats: Counter = Counter()
        self.paths = [paths] if isinstance(paths, str) else list(paths)
        self.row_groups = index_row_groups(self.paths, self.stats)
        self.fingerprint = fingerprint(self.row_groups)
        self.spec = tokenizer if isinstance(tokenizer, TokenizerSpec) else TokenizerSpec.from_pretrained(tokenizer)
        self.seq_len = seq_len
        self.seed = seed
        self.window_row_groups = max(1, window_row_groups)
        self.boundary = doc_boundary_attention
        self.workers = workers
        self.batch_docs = batch_docs
        self.rank, self.world_size = rank, world_size
        self.holdout_fraction = holdout_fraction
        self.min_doc_chars = min_doc_chars
        self.epochs = epochs
        self.text_column = text_column
        self.mixture = dict(mixture or {})
        if self.mixture:
            self.group_chars = group_characters(self.paths, self.row_groups)
            self.rates = mixture_rates(self.mixture, self.group_chars, mixture_mode)
        else:
            self.group_chars, self.rates = {}, {}
        if isinstance(state, dict):
            state = DataState(**state)
        if state is not None:
            if state.world_size != world_size or state.rank != rank:
                raise ValueError(
                    f"data state was saved for rank {state.rank}/{state.world_size}, now {rank}/{world_size}: "
                    "resume with the same number of processes"
                )
            if state.fingerprint and state.fingerprint != self.fingerprint:
                logger.warning("training data changed since the checkpoint (fingerprint differs); resuming anyway")
        self.start = state or DataState(rank=rank, world_size=world_size, fingerprint=self.fingerprint)
        self._perm: tuple[int, np.ndarray] | None = None
        self.n_windows = math.ceil(len(self.row_groups) / self.window_row_groups)
        if self.n_windows <= rank:
            raise ValueError(f"{len(self.row_groups)} row groups make {self.n_windows} windows: too few for rank {rank} "
                             f"of {world_size}; lower window_row_groups or write smaller row groups")

    # -- order ------------------------------------------------------------------------------------
    def _window_row_groups(self, epoch: int, window: int) -> list[RowGroup]:
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, epoch, 0]).permutation(len(self.row_groups)))
        sel = self._perm[1][window * self.window_row_groups : (window + 1) * self.window_row_groups]
        return [self.row_groups[i] for i in sel]

    def window_docs(self, epoch: int, window: int) -> list[tuple[str, str, str]]:
        """The documents of a window in training order: ``(id, group, text)``, mixture applied."""
        docs: list[tuple[str, str, str]] = []
        cols = ["id", self.text_column, "lang", "source"]
        for rg in self._window_row_groups(epoch, window):
            try:
                with _open(rg.path) as f:
                    t = pq.ParquetFile(f).read_row_group(rg.index, columns=cols)
            except Exception as e:  # noqa: BLE001
                self.stats["bad_row_groups"] += 1
                logger.error(f"training data: skipping row group {rg.index} of {rg.path} ({type(e).__name__}: {e})")
                continue
            d = t.to_pydict()
            for did, text, lang, src in zip(d["id"], d[self.text_column], d["lang"], d["source"]):
                if not isinstance(text, str) or len(text) < self.min_doc_chars:
                    self.stats["skipped_short_or_empty"] += 1
                    continue
                if is_holdout(did, self.holdout_fraction, self.seed):
                    self.stats["skipped_holdout"] += 1
                    continue
                g = group_key(lang, src)
                n = copies(self.rates.get(g, 0.0), self.seed, epoch, did) if self.mixture else 1
                if n == 0:
                    self.stats["skipped_mixture"] += 1
                for _ in range(n):
                    docs.append((did, g, text))
        order = np.random.default_rng([self.seed, epoch, 1, window]).permutation(len(docs))
        return [docs[i] for i in order]

    def _positions(self) -> Iterator[tuple[int, int]]:
        s = self.start
        epoch, window = s.epoch, s.window
        while self.epochs is None or epoch < self.epochs:
            while window < self.n_windows:
                if window % self.world_size == self.rank:
                    yield epoch, window
                window += 1
            epoch, window = epoch + 1, 0

    def _doc_batches(self) -> Iterator[tuple[list[tuple[int, int, int, str, int]], list[str]]]:
        first = True
        empty_epochs, last_epoch, epoch_docs = 0, None, 0
        for epoch, window in self._positions():
            if last_epoch is not None and epoch != last_epoch:
                empty_epochs = empty_epochs + 1 if epoch_docs == 0 else 0
                if empty_epochs >= 1:
                    raise ValueError(f"epoch {last_epoch} of {self.paths} produced no documents for rank {self.rank} "
                                     "(all empty, held out or weighted 0)")
                epoch_docs = 0
            last_epoch = epoch
            docs = self.window_docs(epoch, window)
            start_doc, start_tok = (self.start.doc, self.start.token) if first else (0, 0)
            first = False
            epoch_docs += len(docs)
            metas, texts = [], []
            for i in range(start_doc, len(docs)):
                did, g, text = docs[i]
                metas.append((epoch, window, i, g, start_tok if i == start_doc else 0))
                texts.append(text)
                if len(texts) >= self.batch_docs:
                    yield metas, texts
                    metas, texts = [], []
            if texts:
                yield metas, texts

    def __iter__(self) -> Iterator[Block]:
        packer = Packer(self.seq_len, self.boundary)
        tokenizing = _Tokenizing(self.spec, self.workers)
        started: list[str] = []
        try:
            for metas, flat, lengths in tokenizing.map(self._doc_batches()):
                offsets = np.concatenate([[0], np.cumsum(lengths)])
                for j, (epoch, window, i, g, tok_off) in enumerate(metas):
                    toks = flat[offsets[j] : offsets[j + 1]]
                    self.stats["documents"] += 1
                    self.stats["tokens"] += len(toks) - tok_off
                    if tok_off == 0:
                        started.append(g)
                    for ids, pos, labels, nxt in packer.add((epoch, window, i), toks, tok_off):
                        if nxt is None:  # nothing pending: resume at the next document
                            state = DataState(epoch, window, i + 1, 0, self.rank, self.world_size, self.fingerprint)
                        else:
                            (e, w, d), off = nxt
                            state = DataState(e, w, d, off, self.rank, self.world_size, self.fingerprint)
                        self.stats["blocks"] += 1
                        self.stats["block_tokens"] += len(ids)
                        self.stats["masked_labels"] += int((labels == -100).sum())
                        yield Block(ids, pos, labels, state, started)
                        started = []
        finally:
            tokenizing.close()


# ----------------------------------------------------------------------------------------------------
# evaluation


def eval_blocks(
    paths: str | Iterable[str],
    tokenizer: Any,
    seq_len: int,
    max_tokens_per_lang: int,
    holdout_fraction: float = 0.0,
    seed: int = 42,
    doc_boundary_attention: bool = True,
    text_column: str = "text",
    pad_id: int | None = None,
) -> dict[str, list[Block]]:
    """Packed evaluation blocks per language, in file order (no shuffle, no mixture).

    With ``holdout_fraction`` only the held-out documents are used (the ones training skips). The last
    block of each language is padded (labels -100, so padding is never scored) rather than dropped.
    """
    spec = tokenizer if isinstance(tokenizer, TokenizerSpec) else TokenizerSpec.from_pretrained(tokenizer)
    pad = spec.eos_id if pad_id is None else pad_id
    tok = _Tokenizing(spec, 0)
    packers: dict[str, Packer] = {}
    counts: Counter = Counter()
    out: dict[str, list[Block]] = {}
    files = list_shards(paths)
    if not files:
        raise FileNotFoundError(f"no .parquet shards found in {paths!r}")
    for path in files:
        try:
            with _open(path) as f:
                pf = pq.ParquetFile(f)
                for batch in pf.iter_batches(columns=["id", text_column, "lang"], batch_size=512):
                    d = batch.to_pydict()
                    keep = [
                        (did, text, lang or "unknown")
                        for did, text, lang in zip(d["id"], d[text_column], d["lang"])
                        if isinstance(text, str) and text
                        and (holdout_fraction == 0 or is_holdout(did, holdout_fraction, seed))
                        and counts[lang or "unknown"] < max_tokens_per_lang
                    ]
                    if not keep:
                        continue
                    (_, flat, lengths), = tok.map(iter([(None, [k[1] for k in keep])]))
                    offsets = np.concatenate([[0], np.cumsum(lengths)])
                    for j, (did, _text, lang) in enumerate(keep):
                        if counts[lang] >= max_tokens_per_lang:
                            continue
                        p = packers.setdefault(lang, Packer(seq_len, doc_boundary_attention))
                        toks = flat[offsets[j] : offsets[j + 1]][: max_tokens_per_lang - counts[lang]]
                        counts[lang] += len(toks)
                        for ids, pos, labels, _ in p.add(did, toks):
                            out.setdefault(lang, []).append(Block(ids, pos, labels, DataState()))
        except Exception as e:  # noqa: BLE001
            logger.error(f"evaluation data: skipping {path} ({type(e).__name__}: {e})")
    for lang, p in packers.items():
        if p.pending_len:
            n = p.pending_len
            p.pending.append([None, np.full(seq_len - n, pad, dtype=np.int32), 0])
            p.pending_len = seq_len
            ids, pos, labels, _ = p._emit()
            labels[n:] = -100
            out.setdefault(lang, []).append(Block(ids, pos, labels, DataState()))
    tok.close()
    return out


def collate(blocks: list[Block]) -> dict[str, Any]:
    """Stack blocks into a model batch (``input_ids``, ``position_ids``, ``labels`` as int64 tensors)."""
    import torch

    return {
        "input_ids": torch.from_numpy(np.stack([b.input_ids for b in blocks])),
        "position_ids": torch.from_numpy(np.stack([b.position_ids for b in blocks])),
        "labels": torch.from_numpy(np.stack([b.labels for b in blocks])),
    }


def packed_dataset(stream: PackedStream):
    """A ``torch.utils.data.IterableDataset`` over a stream, for use with HF ``Trainer`` or a DataLoader
    (use ``num_workers=0``: the stream tokenizes in its own processes)."""
    import torch

    class _PackedDataset(torch.utils.data.IterableDataset):
        def __iter__(self):
            for b in stream:
                yield {"input_ids": torch.from_numpy(b.input_ids), "position_ids": torch.from_numpy(b.position_ids),
                       "labels": torch.from_numpy(b.labels)}

    return _PackedDataset()


# ----------------------------------------------------------------------------------------------------
# tokenizer


def train_tokenizer(paths: str | Iterable[str], vocab_size: int = 4096, max_docs: int = 20_000,
                    text_column: str = "text"):
    """Train a byte-level BPE tokenizer on shard text (HF ``tokenizers``) and wrap it for transformers.

    Documents are taken round-robin across shards so every language and source is represented. Special
    tokens: ``<s>`` (BOS, not added to documents), ``</s>`` (EOS, between documents), ``<pad>``.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    files = list_shards(paths)
    if not files:
        raise FileNotFoundError(f"no .parquet shards found in {paths!r}")
    per_file = max(1, max_docs // len(files))

    def texts() -> Iterator[str]:
        for path in files:
            n = 0
            try:
                with _open(path) as f:
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
