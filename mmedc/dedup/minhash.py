"""MinHash near-duplicate + exact + URL dedupe in four disk-backed, rank-parallel stages.

Each stage is a plain datatrove ``PipelineStep``, so it runs under any executor (local, Spark, Slurm)
chained with ``depends=``; every stage reads only what the previous one wrote to ``folder``:

1. :class:`MinhashSignatures` (``N`` tasks, after a reader): per document, a datasketch ``MinHash``
   (``affine32`` scheme, xxhash32 of each shingle) over language-aware shingles
   (:mod:`mmedc.dedup.normalize`), and one bucket record per LSH band, plus one for the normalised-text
   hash and one for the canonical URL. Writes ``signatures/``, ``docs/`` (id, source, length for the
   keep rule) and ``buckets/<key>/``.
2. :class:`MinhashBuckets` (any number of tasks, one bucket key per task at a time): sorts one key's
   records from all ranks, and within each group of equal band hash links the documents whose full
   signatures agree on at least ``threshold`` of their values (the verification that removes LSH false
   positives). Holds 24 bytes x documents for one key. Writes ``pairs/<key>.pairs``.
3. :class:`MinhashClusters` (1 task): union-find over the duplicate pairs only (never over all
   documents), then the keep rule per cluster. Writes ``clusters/``.
4. :class:`MinhashFilter` (the same ``N`` tasks and input as stage 1): drops (or only tags) the
   documents that are not their cluster's keeper.

Keep rule (deterministic, independent of task count and executor): lowest source priority index
(default ``textbook > website > web > corpus``, unknown sources last), then the longest text, then the
smallest id. Within a bucket group, documents are visited in the order of a hash of their id, so the
linked pairs, the clusters and the kept set do not depend on how the input was split into tasks.

Bands x rows come from the Jaccard threshold and the false-positive/negative weights exactly as
datasketch's ``MinHashLSH`` picks them (``datasketch.lsh._optimal_param``).

The file is long (about 600 lines) because the four stages share their on-disk record formats, the
config check and the keep rule; split apart, each would import the others' private formats.

Why not datatrove's ``MinhashDedup*`` directly: one tokenizer language per run (its English default
shingles Chinese and Japanese text into a handful of "words"), no candidate verification, no keep rule
(it keeps an arbitrary member), and no exact/URL keys in the same clusters.
"""

from __future__ import annotations

import json
import posixpath
import sys
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from mmedc.dedup.boilerplate import _read_rank_markers, _write_atomic, text_key, url_key
from mmedc.dedup.normalize import hash64, iter_shingle_batches, normalize_text
from mmedc.io.atomic import AtomicFile

CHUNK_CHARS = 1_000_000  # documents longer than this are normalised and shingled in windows

BUCKET_DTYPE = np.dtype([("h", "<u8"), ("k", "<u8"), ("rank", "<u4"), ("idx", "<u4")])
PAIR_DTYPE = np.dtype([("r1", "<u4"), ("i1", "<u4"), ("r2", "<u4"), ("i2", "<u4")])
DOCS_SCHEMA = pa.schema([("id", pa.string()), ("source", pa.string()), ("priority", pa.uint8()),
                         ("length", pa.uint64()), ("has_sig", pa.bool_())])
REASONS = ("exact", "url", "near")  # strongest first: a removed document is reported with its strongest link
_REASON_BIT = {"exact": 1, "url": 2, "near": 4}


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int, fp_weight: float, fn_weight: float) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive/negative probability, as datasketch does."""
    from datasketch.lsh import _optimal_param

    return tuple(_optimal_param(threshold, num_perm, fp_weight, fn_weight))


@dataclass(frozen=True)
class DedupConfig:
    """Parameters shared by the four stages (they must be equal in all of them).

    Args:
        threshold: Jaccard similarity of shingle sets at which two documents are duplicates; used to
            pick bands x rows and, with ``verify``, as the minimum estimated Jaccard of a linked pair.
        num_perm: MinHash permutations (signature length).
        false_positive_weight, false_negative_weight: weights of the LSH error probabilities when
            choosing bands x rows (datasketch's ``weights``). Recall-heavy by default because
            verification removes the false positives.
        bands, rows: set both to override the choice.
        word_ngram: shingle size in words for space-separated languages.
        char_ngram: shingle size in characters for Chinese, Japanese (and Thai, Lao, Khmer, Myanmar).
        verify: link a bucket pair only if the full signatures agree on >= ``threshold`` of values.
        exact: also link documents with the same normalised text.
        url: also link documents with the same canonical http(s) URL.
        source_priority: keep-rule order of ``metadata["source"]``; unknown sources come last.
        seed: permutation seed.
        max_group_reps: in one bucket group, compare a document with at most this many cluster
            representatives (bounds the work on huge groups of dissimilar documents).
    """

    threshold: float = 0.72
    num_perm: int = 128
    false_positive_weight: float = 0.1
    false_negative_weight: float = 0.9
    bands: int | None = None
    rows: int | None = None
    word_ngram: int = 5
    char_ngram: int = 5
    verify: bool = True
    exact: bool = True
    url: bool = True
    source_priority: tuple[str, ...] = ("textbook", "website", "web", "corpus")
    seed: int = 1
    max_group_reps: int = 64
    _br: tuple[int, int] = field(default=(0, 0), init=False, repr=False, compare=False)

    def __post_init__(self):
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.word_ngram < 1 or self.char_ngram < 1 or self.num_perm < 2:
            raise ValueError("word_ngram, char_ngram must be >= 1 and num_perm >= 2")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither")
        if self.bands is not None:
            if self.bands * self.rows > self.num_perm:
                raise ValueError(f"bands x rows = {self.bands * self.rows} > num_perm = {self.num_perm}")
            br = (self.bands, self.rows)
        else:
            br = optimal_bands(self.threshold, self.num_perm, self.false_positive_weight,
                               self.false_negative_weight)
        object.__setattr__(self, "source_priority", tuple(self.source_priority))
        object.__setattr__(self, "_br", br)

    @property
    def band_rows(self) -> tuple[int, int]:
        return self._br

    def bucket_keys(self) -> list[str]:
        keys = [f"band_{b:03d}" for b in range(self._br[0])]
        if self.exact:
            keys.append("exact")
        if self.url:
            keys.append("url")
        return keys

    def priority(self, source: str | None) -> int:
        try:
            return self.source_priority.index(source or "")
        except ValueError:
            return len(self.source_priority)

    def fingerprint(self) -> dict:
        d = asdict(self)
        d.pop("_br", None)
        d["source_priority"] = list(self.source_priority)
        d["band_rows"] = list(self._br)
        return d


def _xxh32():
    """xxhash's 32-bit hash (imported here: the ``dedup`` extra is needed only by the blocks using it)."""
    import xxhash

    return xxhash.xxh32_intdigest


def _check_config(marker: dict, config: DedupConfig, where: str) -> None:
    if marker.get("config") != json.loads(json.dumps(config.fingerprint())):
        raise ValueError(
            f"{where} was written with another DedupConfig ({marker.get('config')}); "
            f"use the same config in every stage or re-run from MinhashSignatures"
        )


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed).permutations


class MinhashSignatures(PipelineStep):
    """Stage 1: signatures, keep-rule facts and bucket records of every document of this rank.

    Documents with no text or nothing left after normalisation get no signature and no bucket records
    (counted as ``empty``), but keep their row so that stage 4 lines up with the input.
    """

    type = "🫂 - DEDUP"
    name = "🔏 dedup 1: signatures"
    _requires_dependencies = ["datasketch", "xxhash"]  # pip install mmedc[dedup]

    def __init__(self, folder: DataFolderLike, config: DedupConfig | None = None, batch_docs: int = 2000):
        super().__init__()
        self.folder = get_datafolder(folder)
        self.config = config or DedupConfig()
        self.batch_docs = batch_docs

    def signature(self, text: str, language: str | None, minhash=None, normalized: str | None = None
                  ) -> np.ndarray | None:
        """The MinHash signature (uint32, ``num_perm`` values) of one text, or ``None`` if it has no shingles.

        ``normalized``: ``normalize_text(text)`` if already computed (saves a pass).
        """
        from datasketch import MinHash

        if minhash is None:
            minhash = MinHash(num_perm=self.config.num_perm, hashfunc=_xxh32(),
                              permutations=_permutations(self.config.num_perm, self.config.seed),
                              scheme="affine32")
        else:
            minhash.clear()
        any_shingle = False
        for batch in iter_shingle_batches(text, language, self.config.word_ngram, self.config.char_ngram,
                                          chunk_chars=CHUNK_CHARS, normalized=normalized):
            if batch:
                minhash.update_batch([s.encode("utf-8", "surrogatepass") for s in batch])
                any_shingle = True
        return minhash.digest().astype(np.uint32) if any_shingle else None

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from datasketch import MinHash

        cfg = self.config
        bands, rows = cfg.band_rows
        keys = cfg.bucket_keys()
        mh = MinHash(num_perm=cfg.num_perm, hashfunc=_xxh32(),
                     permutations=_permutations(cfg.num_perm, cfg.seed), scheme="affine32")
        sig_path = f"signatures/{rank:05d}.sig"
        docs_path = f"docs/{rank:05d}.parquet"
        bucket_paths = {k: f"buckets/{k}/{rank:05d}.bin" for k in keys}
        # a re-run of this rank overwrites every file it writes; each is renamed into place when complete
        sig_f = AtomicFile(self.folder, sig_path)
        bucket_f = {k: AtomicFile(self.folder, p) for k, p in bucket_paths.items()}
        docs_f = AtomicFile(self.folder, docs_path)
        files = [sig_f, docs_f, *bucket_f.values()]
        docs_writer = pq.ParquetWriter(docs_f.file, DOCS_SCHEMA, compression="zstd")
        empty_sig = np.full(cfg.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
        sigs: list[np.ndarray] = []
        recs: dict[str, list[tuple[int, int, int, int]]] = {k: [] for k in keys}
        meta: dict[str, list] = {n: [] for n in DOCS_SCHEMA.names}
        count = 0

        def flush() -> None:
            if sigs:
                sig_f.file.write(np.stack(sigs).tobytes())
                sigs.clear()
            for k, r in recs.items():
                if r:
                    bucket_f[k].file.write(np.array(r, dtype=BUCKET_DTYPE).tobytes())
                    r.clear()
            if meta["id"]:
                docs_writer.write_table(pa.table(meta, schema=DOCS_SCHEMA))
                for v in meta.values():
                    v.clear()

        try:
            for doc in data:
                with self.track_time():
                    idx = count
                    count += 1
                    self.stat_update("documents")
                    text = doc.text
                    if not isinstance(text, str):
                        logger.warning(f"dedup: document {doc.id!r} ({doc.metadata.get('file_path', '?')}) "
                                       f"has {type(text).__name__} text; kept without signature")
                        self.stat_update("bad_text")
                        text = ""
                    source = doc.metadata.get("source")
                    idkey = hash64(str(doc.id).encode())
                    norm = normalize_text(text) if len(text) <= CHUNK_CHARS else None
                    sig = self.signature(text, doc.metadata.get("language"), mh, normalized=norm) if text else None
                    if sig is None:
                        self.stat_update("empty")
                        sigs.append(empty_sig)
                    else:
                        sigs.append(sig)
                        for b in range(bands):
                            h = hash64(sig[b * rows:(b + 1) * rows].tobytes())
                            recs[f"band_{b:03d}"].append((h, idkey, rank, idx))
                        if cfg.exact:
                            tk = text_key(text) if norm is None else hash64(
                                norm.encode("utf-8", "surrogatepass"))
                            recs["exact"].append((tk, idkey, rank, idx))
                    if cfg.url and (uk := url_key(doc.metadata.get("url"))) is not None:
                        recs["url"].append((uk, idkey, rank, idx))
                    meta["id"].append(str(doc.id))
                    meta["source"].append(None if source is None else str(source))
                    meta["priority"].append(cfg.priority(source))
                    meta["length"].append(len(text))
                    meta["has_sig"].append(sig is not None)
                    if len(sigs) >= self.batch_docs:
                        flush()
            flush()
        except BaseException:
            docs_writer.close()
            for f in files:
                f.abort()
            raise
        docs_writer.close()
        for f in files:
            f.commit()
        marker = {"rank": rank, "world_size": world_size, "documents": count, "config": cfg.fingerprint()}
        _write_atomic(self.folder, f"signatures/{rank:05d}.json", json.dumps(marker))
        return
        yield  # pragma: no cover


class _SignatureStore:
    """Random access to stage-1 signatures (seek + read on any fsspec folder), cached per group."""

    def __init__(self, folder, num_perm: int):
        self.folder = folder
        self.num_perm = num_perm
        self.row_bytes = 4 * num_perm
        self._files: dict[int, object] = {}

    def get(self, rank: int, idx: int) -> np.ndarray:
        f = self._files.get(rank)
        if f is None:
            path = f"signatures/{rank:05d}.sig"
            if not self.folder.exists(path):
                raise FileNotFoundError(f"{posixpath.join(self.folder.path, path)} missing: re-run MinhashSignatures")
            f = self._files[rank] = self.folder.open(path, "rb")
        f.seek(idx * self.row_bytes)
        raw = f.read(self.row_bytes)
        if len(raw) != self.row_bytes:
            raise ValueError(f"signatures/{rank:05d}.sig is truncated (no row {idx}); re-run MinhashSignatures")
        return np.frombuffer(raw, dtype=np.uint32)

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()


class MinhashBuckets(PipelineStep):
    """Stage 2: duplicate pairs from each bucket key (LSH band, exact text hash, URL).

    Rank ``r`` handles keys ``r, r + world_size, ...``; any task count works.
    """

    type = "🫂 - DEDUP"
    name = "🔏 dedup 2: buckets"

    def __init__(self, folder: DataFolderLike, config: DedupConfig | None = None):
        super().__init__()
        self.folder = get_datafolder(folder)
        self.config = config or DedupConfig()

    def _load_key(self, key: str, world: int) -> np.ndarray:
        parts = []
        for r in range(world):
            path = f"buckets/{key}/{r:05d}.bin"
            if not self.folder.exists(path):
                raise FileNotFoundError(f"{posixpath.join(self.folder.path, path)} missing: re-run MinhashSignatures")
            with self.folder.open(path, "rb") as f:
                raw = f.read()
            if len(raw) % BUCKET_DTYPE.itemsize:
                raise ValueError(f"{posixpath.join(self.folder.path, path)} is truncated; re-run MinhashSignatures")
            parts.append(np.frombuffer(raw, dtype=BUCKET_DTYPE))
        arr = np.concatenate(parts) if parts else np.empty(0, dtype=BUCKET_DTYPE)
        order = np.lexsort((arr["idx"], arr["rank"], arr["k"], arr["h"]))
        return arr[order]

    def pairs_for_key(self, key: str, arr: np.ndarray, store: _SignatureStore | None) -> np.ndarray:
        """Duplicate pairs within groups of equal hash in ``arr`` (sorted by hash, then id hash)."""
        out: list[tuple[int, int, int, int]] = []
        if len(arr) < 2:
            return np.empty(0, dtype=PAIR_DTYPE)
        h = arr["h"]
        boundaries = np.flatnonzero(h[1:] != h[:-1]) + 1
        starts = np.concatenate(([0], boundaries))
        ends = np.concatenate((boundaries, [len(arr)]))
        multi = np.flatnonzero(ends - starts > 1)
        verify = store is not None and key.startswith("band_")
        need = int(np.ceil(self.config.threshold * self.config.num_perm - 1e-9))
        for g in multi:
            grp = arr[starts[g]:ends[g]]
            members = list(zip(grp["rank"].tolist(), grp["idx"].tolist()))
            self.stat_update(f"{key.split('_')[0]}_groups")
            if not verify:
                first = members[0]
                out.extend((first[0], first[1], m[0], m[1]) for m in members[1:])
                continue
            sigs = [store.get(*m) for m in members]
            reps: list[int] = []
            for i in range(len(members)):
                for j in reps[: self.config.max_group_reps]:
                    if int(np.count_nonzero(sigs[i] == sigs[j])) >= need:
                        out.append((members[j][0], members[j][1], members[i][0], members[i][1]))
                        break
                else:
                    if len(reps) < self.config.max_group_reps:
                        reps.append(i)
                    else:
                        self.stat_update("group_reps_exceeded")
            self.stat_update("candidates", value=len(members) - 1)
        self.stat_update(f"{key.split('_')[0]}_pairs", value=len(out))
        return np.array(out, dtype=PAIR_DTYPE)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        markers = _read_rank_markers(self.folder, "signatures", "MinhashSignatures")
        _check_config(markers[0], self.config, "signatures/")
        world = markers[0]["world_size"]
        keys = self.config.bucket_keys()
        store = _SignatureStore(self.folder, self.config.num_perm) if self.config.verify else None
        done = []
        try:
            for key in keys[rank::world_size]:
                with self.track_time():
                    arr = self._load_key(key, world)
                    pairs = self.pairs_for_key(key, arr, store)
                    _write_atomic(self.folder, f"pairs/{key}.pairs", pairs.tobytes())
                    done.append(f"{key}={len(pairs)}")
            logger.info(f"dedup buckets rank {rank}: duplicate pairs per key: {', '.join(done) or 'no keys'}")
        finally:
            if store is not None:
                store.close()


class MinhashClusters(PipelineStep):
    """Stage 3 (one task): union-find over duplicate pairs and the keep rule per cluster.

    Memory holds only documents that appear in a pair, plus one rank's ``docs/`` table at a time.
    Writes ``clusters/<rank>.parquet`` (idx, cluster = keeper's id, size, keep, reason) for every
    stage-1 rank and ``clusters/summary.json``.
    """

    type = "🫂 - DEDUP"
    name = "🔏 dedup 3: clusters"

    def __init__(self, folder: DataFolderLike, config: DedupConfig | None = None):
        super().__init__()
        self.folder = get_datafolder(folder)
        self.config = config or DedupConfig()

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        if world_size != 1:
            raise ValueError(f"MinhashClusters must run with tasks=1 (got {world_size})")
        markers = _read_rank_markers(self.folder, "signatures", "MinhashSignatures")
        _check_config(markers[0], self.config, "signatures/")
        world = markers[0]["world_size"]
        parent: dict[int, int] = {}
        flags: dict[int, int] = {}

        def find(x: int) -> int:
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while x != root:  # path compression
                parent[x], x = root, parent[x]
            return root

        with self.track_time():
            for key in self.config.bucket_keys():
                path = f"pairs/{key}.pairs"
                if not self.folder.exists(path):
                    raise FileNotFoundError(
                        f"{posixpath.join(self.folder.path, path)} missing: MinhashBuckets did not finish; re-run it")
                with self.folder.open(path, "rb") as f:
                    pairs = np.frombuffer(f.read(), dtype=PAIR_DTYPE)
                bit = _REASON_BIT["near" if key.startswith("band_") else key]
                a = (pairs["r1"].astype(np.int64) << 32) | pairs["i1"]
                b = (pairs["r2"].astype(np.int64) << 32) | pairs["i2"]
                for x, y in zip(a.tolist(), b.tolist()):
                    flags[x] = flags.get(x, 0) | bit
                    flags[y] = flags.get(y, 0) | bit
                    rx, ry = find(x), find(y)
                    if rx != ry:
                        parent[max(rx, ry)] = min(rx, ry)
            clusters: dict[int, list[int]] = {}
            for node in flags:
                clusters.setdefault(find(node), []).append(node)
            # keep-rule facts of the nodes, one rank's table at a time
            facts: dict[int, tuple[int, int, str]] = {}
            by_rank: dict[int, list[int]] = {}
            for node in flags:
                by_rank.setdefault(node >> 32, []).append(node & 0xFFFFFFFF)
            for r, idxs in by_rank.items():
                path = f"docs/{r:05d}.parquet"
                if not self.folder.exists(path):
                    raise FileNotFoundError(f"{posixpath.join(self.folder.path, path)} missing: re-run MinhashSignatures")
                with self.folder.open(path, "rb") as f:
                    table = pq.read_table(f, columns=["id", "priority", "length"])
                take = table.take(pa.array(idxs, type=pa.uint64())).to_pydict()
                for i, doc_id, prio, length in zip(idxs, take["id"], take["priority"], take["length"]):
                    facts[(r << 32) | i] = (prio, -length, doc_id)
            rows: dict[int, dict[str, list]] = {r: {"idx": [], "cluster": [], "size": [], "keep": [], "reason": []}
                                                for r in range(world)}
            removed = dict.fromkeys(REASONS, 0)
            sizes: dict[int, int] = {}
            for members in clusters.values():
                keeper = min(members, key=lambda n: (facts[n], n))
                cid = facts[keeper][2]
                sizes[len(members)] = sizes.get(len(members), 0) + 1
                for n in members:
                    keep = n == keeper
                    reason = "" if keep else next(r for r in REASONS if flags[n] & _REASON_BIT[r])
                    if not keep:
                        removed[reason] += 1
                    out = rows[n >> 32]
                    out["idx"].append(n & 0xFFFFFFFF)
                    out["cluster"].append(cid)
                    out["size"].append(len(members))
                    out["keep"].append(keep)
                    out["reason"].append(reason)
            schema = pa.schema([("idx", pa.uint32()), ("cluster", pa.string()), ("size", pa.uint32()),
                                ("keep", pa.bool_()), ("reason", pa.string())])
            for r, cols in rows.items():
                table = pa.table(cols, schema=schema).sort_by("idx")
                sink = pa.BufferOutputStream()
                pq.write_table(table, sink, compression="zstd")
                _write_atomic(self.folder, f"clusters/{r:05d}.parquet", sink.getvalue().to_pybytes())
            for reason, n in removed.items():
                self.stat_update(f"to_remove_{reason}", value=n)
            self.stat_update("clusters", value=len(clusters))
            summary = {
                "world_size": world,
                "documents": sum(m["documents"] for m in markers),
                "clusters": len(clusters),
                "documents_in_clusters": len(flags),
                "to_remove": removed,
                "cluster_sizes": {str(k): v for k, v in sorted(sizes.items())},
                "config": self.config.fingerprint(),
            }
            _write_atomic(self.folder, "clusters/summary.json", json.dumps(summary, indent=1))


class MinhashFilter(PipelineStep):
    """Stage 4: drop (or with ``tag_only`` just tag) documents that are not their cluster's keeper.

    Must see the same documents in the same order as stage 1 (same reader, same task count); every
    document id is checked against the one stage 1 recorded. Metadata written: ``dedup_cluster_size``
    on every document (1 for a document with no duplicate; the size of its cluster, removed copies
    included, on a keeper, so a user can upsample by it as FineWeb-2's rehydration does), on cluster
    members ``dedup_cluster`` (the keeper's id), and on the removed ones ``dedup_reason``
    (``exact`` | ``url`` | ``near``). Removed documents go to ``exclusion_writer`` when given.
    """

    type = "🫂 - DEDUP"
    name = "🔏 dedup 4: filter"

    def __init__(self, folder: DataFolderLike, config: DedupConfig | None = None, tag_only: bool = False,
                 exclusion_writer=None):
        super().__init__()
        self.folder = get_datafolder(folder)
        self.config = config or DedupConfig()
        self.tag_only = tag_only
        self.exclusion_writer = exclusion_writer

    def _expected_ids(self, rank: int):
        with self.folder.open(f"docs/{rank:05d}.parquet", "rb") as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=4096, columns=["id"]):
                yield from batch.column(0).to_pylist()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if not self.folder.exists("clusters/summary.json"):
            raise FileNotFoundError(
                f"{posixpath.join(self.folder.path, 'clusters/summary.json')} missing: run MinhashClusters first")
        with self.folder.open("clusters/summary.json", "r") as f:
            summary = json.load(f)
        _check_config(summary, self.config, "clusters/")
        if summary["world_size"] != world_size:
            raise ValueError(f"MinhashFilter runs with {world_size} tasks but signatures were computed with "
                             f"{summary['world_size']}: use the same task count and input")
        path = f"clusters/{rank:05d}.parquet"
        if not self.folder.exists(path):
            raise FileNotFoundError(f"{posixpath.join(self.folder.path, path)} missing: re-run MinhashClusters")
        with self.folder.open(path, "rb") as f:
            t = pq.read_table(f).to_pydict()
        info = {i: (c, s, k, r) for i, c, s, k, r in zip(t["idx"], t["cluster"], t["size"], t["keep"], t["reason"])}
        expected = self._expected_ids(rank)
        writer = self.exclusion_writer
        if writer is not None:
            writer.__enter__()
            if hasattr(writer, "start_rank"):  # ShardedParquetWriter: clear this rank's shards of an earlier attempt
                writer.start_rank(rank)
        try:
            for idx, doc in enumerate(data):
                with self.track_time():
                    exp = next(expected, None)
                    if exp != str(doc.id):
                        raise ValueError(
                            f"dedup filter rank {rank}: document #{idx} is {doc.id!r} but stage 1 saw {exp!r}; "
                            "the filter must read the same input with the same task count as MinhashSignatures")
                    self.stat_update("documents")
                    hit = info.get(idx)
                    doc.metadata["dedup_cluster_size"] = 1  # a document in no cluster is its own cluster of one
                    if hit is not None:
                        cluster, size, keep, reason = hit
                        doc.metadata["dedup_cluster"] = cluster
                        doc.metadata["dedup_cluster_size"] = size
                        if not keep:
                            doc.metadata["dedup_reason"] = reason
                            if not self.tag_only:
                                self.stat_update(f"removed_{reason}")
                                if writer is not None:
                                    writer.write(doc, rank)
                                continue
                    self.stat_update("kept")
                yield doc
            if next(expected, None) is not None:
                raise ValueError(f"dedup filter rank {rank}: input has fewer documents than stage 1 saw; "
                                 "use the same input and task count as MinhashSignatures")
        except BaseException:
            if writer is not None:
                writer.__exit__(*sys.exc_info())
            raise
        if writer is not None:
            writer.__exit__(None, None, None)
