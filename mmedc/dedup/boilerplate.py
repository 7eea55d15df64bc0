"""Per-source boilerplate line/paragraph removal, and the exact-text and URL dedupe keys.

Exact dedupe (normalised-text hash, URL) is not a separate pass: :class:`~mmedc.dedup.minhash.MinhashSignatures`
writes these keys as two extra buckets next to the MinHash bands, so exact and URL duplicates join the
same clusters and obey the same keep rule (see :mod:`mmedc.dedup.minhash`). This module holds the key
functions and the boilerplate blocks.

Boilerplate removal runs in three steps, disk-backed like the MinHash stages:

1. :class:`BoilerplateLineCounts` (any number of tasks): for every document, the set of hashes of its
   normalised lines (or paragraphs) that are at least ``min_chars`` long, keyed by the document's
   ``source``; written per rank.
2. :class:`BoilerplateFinder` (tasks split the hash space): a line is boilerplate for a source when it
   occurs in at least ``min_docs`` documents of that source and in at least ``min_fraction`` of them.
3. :class:`BoilerplateRemover`: drops those lines from each document, unless they make up more than
   ``max_doc_fraction`` of it (mirror copies of one article share every line; they are near-duplicates
   for MinHash, not boilerplate), and drops documents left empty.

Why hand-written: datatrove's ``LineDeduplication``/``SentenceDedup`` remove every repeated span across
the corpus with no per-source document threshold and no guard for documents made only of repeats.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import asdict, dataclass

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from mmedc.dedup.normalize import hash64, normalize_text, normalize_url
from mmedc.io.atomic import atomic_open

_PARAGRAPH_RE = re.compile(r"\n\s*\n")
LINE_DTYPE = np.dtype([("source", "<u8"), ("key", "<u8")])


def text_key(text: str) -> int | None:
    """64-bit hash of the normalised text (``None`` when nothing is left after normalisation)."""
    norm = normalize_text(text)
    return hash64(norm.encode()) if norm else None


def url_key(url: str | None) -> int | None:
    """64-bit hash of the canonical http(s) URL (``None`` for empty URLs and file paths)."""
    norm = normalize_url(url)
    return hash64(norm.encode()) if norm else None


def source_key(source: str | None) -> int:
    return hash64((source or "").encode())


@dataclass(frozen=True)
class BoilerplateConfig:
    """Thresholds for boilerplate removal.

    Args:
        unit: ``"line"`` (split on newlines) or ``"paragraph"`` (split on blank lines).
        min_chars: units shorter than this after normalisation are never boilerplate (short list
            items such as ``"1."`` or ``"Yes"`` repeat by nature).
        min_docs: a unit must occur in at least this many documents of one source.
        min_fraction: ... and in at least this fraction of that source's documents.
        max_doc_fraction: leave a document untouched when boilerplate would be more than this fraction
            of its units (it is a copy of another document, which MinHash handles).
    """

    unit: str = "line"
    min_chars: int = 20
    min_docs: int = 20
    min_fraction: float = 0.0
    max_doc_fraction: float = 0.5

    def __post_init__(self):
        if self.unit not in ("line", "paragraph"):
            raise ValueError(f"unit must be 'line' or 'paragraph', got {self.unit!r}")
        if self.min_docs < 2:
            raise ValueError("min_docs must be at least 2")
        if not 0.0 <= self.min_fraction <= 1.0 or not 0.0 < self.max_doc_fraction <= 1.0:
            raise ValueError("min_fraction must be in [0, 1] and max_doc_fraction in (0, 1]")

    def split(self, text: str) -> list[str]:
        return text.split("\n") if self.unit == "line" else _PARAGRAPH_RE.split(text)

    def joiner(self) -> str:
        return "\n" if self.unit == "line" else "\n\n"

    def key(self, unit_text: str) -> int | None:
        norm = normalize_text(unit_text)
        if len(norm) < self.min_chars:
            return None
        return hash64(norm.encode())


def _write_atomic(folder, path: str, data: bytes | str) -> None:
    with atomic_open(folder, path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def _read_rank_markers(folder, subdir: str, stage: str) -> list[dict]:
    """Read ``<subdir>/<rank>.json`` markers of an earlier stage; all ranks must be present."""
    files = sorted(f for f in folder.list_files(subdirectory=subdir) if f.endswith(".json"))
    if not files:
        raise FileNotFoundError(
            f"no {posixpath.join(folder.path, subdir)}/*.json: run {stage} before this stage "
            "(or point this stage at the same folder)"
        )
    markers = []
    for f in files:
        with folder.open(f, "r") as fh:
            markers.append(json.load(fh))
    world = markers[0]["world_size"]
    have = {m["rank"] for m in markers}
    missing = [r for r in range(world) if r not in have]
    if missing:
        raise FileNotFoundError(
            f"{stage} did not finish: {posixpath.join(folder.path, subdir)}/{missing[0]:05d}.json "
            f"missing ({len(missing)} of {world} ranks); re-run {stage}"
        )
    return sorted(markers, key=lambda m: m["rank"])


class BoilerplateLineCounts(PipelineStep):
    """Boilerplate step 1: write, per rank, the (source, unit hash) set of every document."""

    type = "🫂 - DEDUP"
    name = "🧾 boilerplate 1: units"
    _requires_dependencies = ["xxhash"]  # pip install mmedc[dedup]

    def __init__(self, output_folder: DataFolderLike, config: BoilerplateConfig | None = None):
        super().__init__()
        self.output_folder = get_datafolder(output_folder)
        self.config = config or BoilerplateConfig()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        path = f"units/{rank:05d}.bin"
        docs_by_source: dict[str, int] = {}
        with atomic_open(self.output_folder, path, "wb") as out:
            buf: list[tuple[int, int]] = []
            for doc in data:
                with self.track_time():
                    self.stat_update("documents")
                    if not isinstance(doc.text, str):
                        logger.warning(f"boilerplate: document {doc.id!r} has no text ({type(doc.text).__name__}); skipped")
                        self.stat_update("bad_text")
                        continue
                    source = str(doc.metadata.get("source") or "")
                    docs_by_source[source] = docs_by_source.get(source, 0) + 1
                    sk = source_key(source)
                    keys = {k for k in map(self.config.key, self.config.split(doc.text)) if k is not None}
                    buf.extend((sk, k) for k in keys)
                    if len(buf) >= 100_000:
                        out.write(np.array(buf, dtype=LINE_DTYPE).tobytes())
                        buf = []
            if buf:
                out.write(np.array(buf, dtype=LINE_DTYPE).tobytes())
        marker = {"rank": rank, "world_size": world_size, "docs_by_source": docs_by_source,
                  "config": asdict(self.config)}
        _write_atomic(self.output_folder, f"units/{rank:05d}.json", json.dumps(marker))
        return
        yield  # pragma: no cover


class BoilerplateFinder(PipelineStep):
    """Boilerplate step 2: count unit hashes across all ranks and keep those over the thresholds.

    Rank ``r`` of ``world_size`` handles the hashes with ``hash % world_size == r``; memory is 16 bytes
    per (document, distinct unit) in that slice.
    """

    type = "🫂 - DEDUP"
    name = "🧾 boilerplate 2: find"
    _requires_dependencies = ["xxhash"]  # pip install mmedc[dedup]

    def __init__(self, folder: DataFolderLike, config: BoilerplateConfig | None = None):
        super().__init__()
        self.folder = get_datafolder(folder)
        self.config = config or BoilerplateConfig()

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        markers = _read_rank_markers(self.folder, "units", "BoilerplateLineCounts")
        docs_by_source: dict[int, int] = {}
        for m in markers:
            for s, n in m["docs_by_source"].items():
                docs_by_source[source_key(s)] = docs_by_source.get(source_key(s), 0) + n
        with self.track_time():
            parts = []
            for m in markers:
                path = f"units/{m['rank']:05d}.bin"
                if not self.folder.exists(path):
                    raise FileNotFoundError(f"{posixpath.join(self.folder.path, path)} missing: re-run BoilerplateLineCounts")
                with self.folder.open(path, "rb") as f:
                    arr = np.frombuffer(f.read(), dtype=LINE_DTYPE)
                parts.append(arr[arr["key"] % np.uint64(world_size) == rank] if world_size > 1 else arr)
            arr = np.concatenate(parts) if parts else np.empty(0, dtype=LINE_DTYPE)
            uniq, counts = np.unique(arr, return_counts=True)
            keep = counts >= self.config.min_docs
            if self.config.min_fraction > 0 and len(uniq):
                totals = np.array([docs_by_source.get(int(s), 0) for s in uniq["source"]], dtype=np.float64)
                keep &= counts >= self.config.min_fraction * totals
            found = uniq[keep]
            self.stat_update("boilerplate_units", value=int(len(found)))
            _write_atomic(self.folder, f"boilerplate/{rank:05d}.bin", found.tobytes())
            _write_atomic(self.folder, f"boilerplate/{rank:05d}.json", json.dumps(
                {"rank": rank, "world_size": world_size, "units": int(len(found)),
                 "documents": int(sum(docs_by_source.values()))}))


class BoilerplateRemover(PipelineStep):
    """Boilerplate step 3: remove the units found by :class:`BoilerplateFinder` from each document.

    Keeps its evidence in ``metadata["boilerplate_removed"]`` (units removed); documents left with no
    text are dropped and counted as ``empty_after_boilerplate``.
    """

    type = "🫂 - DEDUP"
    name = "🧾 boilerplate 3: remove"
    _requires_dependencies = ["xxhash"]  # pip install mmedc[dedup]

    def __init__(self, folder: DataFolderLike, config: BoilerplateConfig | None = None):
        super().__init__()
        self.folder = get_datafolder(folder)
        self.config = config or BoilerplateConfig()
        self._keys: set[tuple[int, int]] | None = None

    def load(self) -> set[tuple[int, int]]:
        if self._keys is None:
            markers = _read_rank_markers(self.folder, "boilerplate", "BoilerplateFinder")
            keys: set[tuple[int, int]] = set()
            for m in markers:
                with self.folder.open(f"boilerplate/{m['rank']:05d}.bin", "rb") as f:
                    arr = np.frombuffer(f.read(), dtype=LINE_DTYPE)
                keys.update(zip(arr["source"].tolist(), arr["key"].tolist()))
            self._keys = keys
        return self._keys

    def clean(self, text: str, source: str | None) -> tuple[str, int]:
        """Return the text without boilerplate units, and how many units were removed."""
        keys = self.load()
        if not keys:
            return text, 0
        sk = source_key(source)
        pieces = self.config.split(text)
        flags = [(sk, k) in keys if (k := self.config.key(p)) is not None else False for p in pieces]
        removed = sum(flags)
        if removed == 0 or removed > self.config.max_doc_fraction * sum(1 for p in pieces if p.strip()):
            return text, 0
        kept = [p for p, f in zip(pieces, flags) if not f]
        return self.config.joiner().join(kept).strip("\n"), removed

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.load()
        for doc in data:
            with self.track_time():
                if not isinstance(doc.text, str):
                    yield doc
                    continue
                text, removed = self.clean(doc.text, doc.metadata.get("source"))
                if removed:
                    self.stat_update("documents_cleaned")
                    self.stat_update("units_removed", value=removed)
                    doc.text = text
                    doc.metadata["boilerplate_removed"] = removed
                    if not doc.text.strip():
                        self.stat_update("empty_after_boilerplate")
                        continue
            yield doc
