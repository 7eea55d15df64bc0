"""Training data: packed, fixed-length blocks from mmedc shards, resumable; and the evaluation blocks.

1. **Order**: each epoch, a seeded permutation of all row groups (:mod:`mmedc.train.index`);
   ``window_row_groups`` of them are read together and their documents permuted (the shuffle window).
   Order is a pure function of ``(seed, epoch)``, so a position is a few integers, not a buffer.
2. **Mixture and hold-out** decide per document how often it appears (:mod:`mmedc.train.index`).
3. **Tokenize** in worker processes (:mod:`mmedc.train.tokenize`), results in submission order.
4. **Pack**: documents are concatenated with EOS after each, cut into ``seq_len`` blocks; no padding
   (a document that does not fit continues in the next block). With ``doc_boundary_attention``,
   position ids restart at each document start: transformers then masks attention across documents
   (block-causal mask for sdpa/eager/flex), :func:`collate_varlen` flattens a micro-batch into one row
   with ``cu_seq_lens`` computed on the host for the varlen flash-attention kernels, and the first
   token of a document is not predicted from the previous one (label -100).
5. **Resume**: every block carries the position after it (epoch, window, document, token offset);
   restarting from it re-reads one window and yields exactly the blocks that followed.

Why not HF ``datasets`` or datatrove's ``DocumentTokenizer``: ``datasets`` streaming cannot restore a
shuffle buffer on resume (documents in it are skipped), its ``interleave_datasets`` needs one stream
per group (every shard read once per group when shards mix languages) and ``group_texts``-style packing
in ``map`` drops each batch's remainder. ``DocumentTokenizer`` is the right tool to pre-tokenize a
corpus of many terabytes once into token files, but it is an offline stage with its own file format;
for MMedC-scale corpora tokenizing on the fly in worker processes keeps ahead of the GPU (see
``benchmarks/train_data_throughput.py``) and lets the mixture and sequence length change without a
re-run. The reading (pyarrow) and the tokenizer (HF ``tokenizers``) are the well-kept libraries; this
module is only order, packing and evaluation blocks.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from datatrove.utils.logging import logger

from mmedc.io.shards import list_shards
from mmedc.train.index import (  # noqa: F401 - re-exported: the old home of these names
    RowGroup,
    copies,
    fingerprint,
    group_characters,
    group_key,
    index_row_groups,
    is_holdout,
    mixture_rates,
    open_file,
)
from mmedc.train.tokenize import (  # noqa: F401 - re-exported: the old home of these names
    TokenizerSpec,
    Tokenizing,
    default_workers,
    train_tokenizer,
)


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
        self.spec = TokenizerSpec.of(tokenizer)
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
                raise ValueError(
                    f"training data changed since this position was saved (fingerprint {state.fingerprint}, now "
                    f"{self.fingerprint}): resuming would skip or repeat documents; train into a new output"
                )
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
                with open_file(rg.path) as f:
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
        tokenizing = Tokenizing(self.spec, self.workers)
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
    rank: int = 0,
    world_size: int = 1,
    languages: Iterable[str] | None = None,
    stats: Counter | None = None,
) -> dict[str, list[Block]]:
    """Packed evaluation blocks per language, in file order (no shuffle, no mixture), for one rank.

    With ``holdout_fraction`` only the held-out documents are used (the ones training skips). The last
    block of each language is padded (labels -100, so padding is never scored) rather than dropped.
    Ranks read disjoint files (file ``i`` goes to rank ``i % world_size``), each up to its share of
    ``max_tokens_per_lang``; with ``languages`` (the languages the data holds, e.g. from the manifests)
    reading stops as soon as each of them has its tokens, so no rank scans the whole corpus.
    ``stats`` counts ``eval_files_read`` and ``eval_files_skipped``.
    """
    spec = TokenizerSpec.of(tokenizer)
    pad = spec.eos_id if pad_id is None else pad_id
    stats = stats if stats is not None else Counter()
    cap = math.ceil(max_tokens_per_lang / world_size)
    wanted = set(languages) if languages is not None else None
    tok = Tokenizing(spec, 0)
    packers: dict[str, Packer] = {}
    counts: Counter = Counter()
    out: dict[str, list[Block]] = {}
    files = list_shards(paths)
    if not files:
        raise FileNotFoundError(f"no .parquet shards found in {paths!r}")
    mine = files[rank::world_size]

    def done() -> bool:
        return wanted is not None and all(counts[lang] >= cap for lang in wanted)

    for k, path in enumerate(mine):
        if done():
            stats["eval_files_skipped"] += len(mine) - k
            break
        stats["eval_files_read"] += 1
        try:
            with open_file(path) as f:
                pf = pq.ParquetFile(f)
                for batch in pf.iter_batches(columns=["id", text_column, "lang"], batch_size=512):
                    d = batch.to_pydict()
                    keep = [
                        (did, text, lang or "unknown")
                        for did, text, lang in zip(d["id"], d[text_column], d["lang"])
                        if isinstance(text, str) and text
                        and (holdout_fraction == 0 or is_holdout(did, holdout_fraction, seed))
                        and counts[lang or "unknown"] < cap
                    ]
                    if not keep:
                        if done():
                            break
                        continue
                    (_, flat, lengths), = tok.map(iter([(None, [x[1] for x in keep])]))
                    offsets = np.concatenate([[0], np.cumsum(lengths)])
                    for j, (did, _text, lang) in enumerate(keep):
                        if counts[lang] >= cap:
                            continue
                        p = packers.setdefault(lang, Packer(seq_len, doc_boundary_attention))
                        toks = flat[offsets[j] : offsets[j + 1]][: cap - counts[lang]]
                        counts[lang] += len(toks)
                        for ids, pos, labels, _ in p.add(did, toks):
                            out.setdefault(lang, []).append(Block(ids, pos, labels, DataState()))
                    if done():
                        break
        except Exception as e:  # noqa: BLE001
            stats["eval_bad_files"] += 1
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


def padding_block(seq_len: int, pad_id: int = 0) -> Block:
    """A block that scores nothing (labels -100): keeps ranks' collective calls in step."""
    return Block(np.full(seq_len, pad_id, dtype=np.int64), np.arange(seq_len, dtype=np.int64),
                 np.full(seq_len, -100, dtype=np.int64), DataState())


# ----------------------------------------------------------------------------------------------------
# model batches


def collate(blocks: list[Block]) -> dict[str, Any]:
    """Stack blocks into a model batch (``input_ids``, ``position_ids``, ``labels`` as int64 tensors).

    For sdpa, eager and flex attention: transformers derives the document mask from the position ids
    of every row."""
    import torch

    return {
        "input_ids": torch.from_numpy(np.stack([b.input_ids for b in blocks]).astype(np.int64, copy=False)),
        "position_ids": torch.from_numpy(np.stack([b.position_ids for b in blocks]).astype(np.int64, copy=False)),
        "labels": torch.from_numpy(np.stack([b.labels for b in blocks]).astype(np.int64, copy=False)),
    }


def collate_varlen(blocks: list[Block]) -> dict[str, Any]:
    """One row of all the blocks' tokens, with the sequence boundaries the varlen kernels need.

    flash-attention treats a batch as packed only when it is one row: with several rows it would
    attend across document boundaries. Every document piece (and every block start) begins a
    sequence; ``cu_seq_lens_q/k`` and ``max_length_q/k`` are computed here on the host, so the model
    never reads them back from the GPU. The first token of each block after the first gets label -100
    (in the unflattened batch nothing predicts it either)."""
    import torch

    ids = np.concatenate([b.input_ids for b in blocks]).astype(np.int64, copy=False)
    pos = np.concatenate([b.position_ids for b in blocks]).astype(np.int64, copy=False)
    labels = np.concatenate([b.labels for b in blocks]).astype(np.int64, copy=True)
    n = len(blocks[0].input_ids)
    labels[n::n] = -100
    starts = np.flatnonzero(pos == 0)
    if len(starts) == 0 or starts[0] != 0:
        raise ValueError("collate_varlen: every block must start a sequence (position id 0)")
    cu = np.append(starts, len(ids)).astype(np.int32)
    max_len = int(np.diff(cu).max())
    cu_t = torch.from_numpy(cu)
    return {
        "input_ids": torch.from_numpy(ids)[None],
        "position_ids": torch.from_numpy(pos)[None],
        "labels": torch.from_numpy(labels)[None],
        "cu_seq_lens_q": cu_t,
        "cu_seq_lens_k": cu_t.clone(),
        "max_length_q": max_len,
        "max_length_k": max_len,
    }


def label_tokens(blocks: list[Block]) -> int:
    """Tokens a batch of blocks is scored on (labels after the shift that are not -100), on the host."""
    return int(sum(int((b.labels[1:] != -100).sum()) for b in blocks))


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
