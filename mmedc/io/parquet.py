"""Sharded Parquet output with a fixed schema, atomic shards and a manifest; and a reader for it.

Why not datatrove's ``ParquetWriter``: it infers the schema from the first batch and fails when later
documents carry other metadata keys, it writes straight to the final name (a killed task leaves a
half file that looks whole), and it keeps no per-language counts. ``ShardedParquetWriter`` writes
:data:`mmedc.schema.SCHEMA` always, closes a shard when it reaches ``max_rows`` or ``max_bytes``,
writes it as ``<name>.tmp`` and renames it when complete, and writes a per-rank manifest under
``_manifest/`` (merged into ``_manifest.json``). Names starting with ``_`` are skipped by pyarrow, Spark
and HF ``datasets`` when they read the folder, so the folder reads as one table.

Shard names are ``<prefix><rank:05d>_<shard:05d>.parquet``: a re-run of rank ``r`` (a resumed local
run, or a retried Spark task) first removes every shard and temporary file of rank ``r`` and then
writes the same names again, so a retry never duplicates or loses documents.
"""

from __future__ import annotations

import json
import posixpath
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.readers.base import BaseDiskReader

from mmedc.schema import COLUMNS, SCHEMA, document_to_record, record_to_document

MANIFEST_DIR = "_manifest"
MANIFEST_FILE = "_manifest.json"


def shard_name(prefix: str, rank: int, shard: int) -> str:
    return f"{prefix}{rank:05d}_{shard:05d}.parquet"


class ShardedParquetWriter(PipelineStep):
    """Write documents to zstd Parquet shards of bounded size with the fixed mmedc schema.

    Args:
        output_folder: local path or fsspec URL (``s3://...``), or a datatrove DataFolder.
        max_rows: close a shard after this many rows.
        max_bytes: close a shard once its text (uncompressed UTF-8 bytes) reaches this size; the file
            on disk is smaller (zstd), so this bounds memory and shard size from above.
        row_group_rows: rows buffered per Parquet row group.
        prefix: file name prefix (e.g. ``"rejected_"``).
        compression_level: zstd level.
        passthrough: yield documents on after writing (so steps can follow the writer).

    Also usable as a datatrove filter's ``exclusion_writer`` (it has ``write(doc, rank)`` and is a
    context manager).
    """

    name = "💾 Sharded Parquet"
    type = "✍️ - WRITER"

    def __init__(
        self,
        output_folder: DataFolderLike,
        max_rows: int = 100_000,
        max_bytes: int = 256 * 2**20,
        row_group_rows: int = 2_000,
        prefix: str = "",
        compression_level: int = 3,
        passthrough: bool = False,
    ):
        super().__init__()
        if max_rows < 1 or max_bytes < 1:
            raise ValueError("max_rows and max_bytes must be positive")
        self.output_folder = get_datafolder(output_folder)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.row_group_rows = max(1, min(row_group_rows, max_rows))
        self.prefix = prefix
        self.compression_level = compression_level
        self.passthrough = passthrough
        self._reset_state(rank=None)

    # -- state -------------------------------------------------------------------------------
    def _reset_state(self, rank: int | None) -> None:
        self._rank = rank
        self._shard_index = 0
        self._writer: pq.ParquetWriter | None = None
        self._file = None
        self._buffer: list[dict[str, Any]] = []
        self._shard_rows = 0
        self._shard_bytes = 0
        self._shards: list[dict[str, Any]] = []
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: {"documents": 0, "characters": 0})
        self._started = False

    def start_rank(self, rank: int) -> None:
        """Remove what an earlier attempt of this rank left, then start fresh.

        ``run`` calls it; a block that uses the writer as a side output (an ``exclusion_writer``)
        calls it at the start of its rank, so a re-run that writes nothing still clears old shards."""
        self._reset_state(rank)
        self._started = True
        mine = self.output_folder.glob(f"{self.prefix}{rank:05d}_*.parquet*")
        for path in mine:
            self.output_folder.rm(path)
        manifest = posixpath.join(MANIFEST_DIR, f"{self.prefix}{rank:05d}.json")
        if self.output_folder.exists(manifest):
            self.output_folder.rm(manifest)

    # -- writing -----------------------------------------------------------------------------
    def _open_shard(self) -> None:
        name = shard_name(self.prefix, self._rank, self._shard_index)
        self._file = self.output_folder.open(name + ".tmp", "wb")
        self._writer = pq.ParquetWriter(
            self._file, SCHEMA, compression="zstd", compression_level=self.compression_level
        )

    def _flush_buffer(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            self._open_shard()
        table = pa.Table.from_pylist(self._buffer, schema=SCHEMA)
        self._writer.write_table(table)
        self._buffer = []

    def _close_shard(self) -> None:
        self._flush_buffer()
        if self._writer is None:
            return
        self._writer.close()
        self._file.close()
        name = shard_name(self.prefix, self._rank, self._shard_index)
        self.output_folder.mv(name + ".tmp", name)
        size = self.output_folder.size(name) if hasattr(self.output_folder, "size") else None
        self._shards.append({"file": name, "rows": self._shard_rows, "bytes": size})
        self.stat_update("shards")
        self._writer = None
        self._file = None
        self._shard_index += 1
        self._shard_rows = 0
        self._shard_bytes = 0

    def write(self, document: Document, rank: int = 0) -> None:
        if not self._started or self._rank != rank:
            if self._started:
                self.close()
            self.start_rank(rank)
        if not isinstance(document.text, str):
            raise TypeError(f"document {document.id!r}: text is {type(document.text).__name__}, not str")
        row = document_to_record(document)
        nbytes = len(row["text"].encode("utf-8", "surrogatepass"))
        if self._shard_rows and (
            self._shard_rows >= self.max_rows or self._shard_bytes + nbytes > self.max_bytes
        ):
            self._close_shard()
        self._buffer.append(row)
        self._shard_rows += 1
        self._shard_bytes += nbytes
        key = f"{row['lang'] or 'unknown'}|{row['source'] or 'unknown'}"
        self._counts[key]["documents"] += 1
        self._counts[key]["characters"] += len(row["text"])
        self.stat_update("documents")
        if len(self._buffer) >= self.row_group_rows:
            self._flush_buffer()

    def close(self) -> None:
        if not self._started:
            return
        self._close_shard()
        by_lang_source = [
            {"lang": k.split("|")[0], "source": k.split("|")[1], **v} for k, v in sorted(self._counts.items())
        ]
        manifest = {
            "rank": self._rank,
            "shards": self._shards,
            "rows": sum(s["rows"] for s in self._shards),
            "bytes": sum(s["bytes"] or 0 for s in self._shards),
            "by_lang_source": by_lang_source,
            "schema": COLUMNS,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        path = posixpath.join(MANIFEST_DIR, f"{self.prefix}{self._rank:05d}.json")
        with self.output_folder.open(path + ".tmp", "w") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1)
        self.output_folder.mv(path + ".tmp", path)
        self._started = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:  # leave no temporary shard that a reader could mistake for output
            if self._file is not None:
                try:
                    self._writer.close()
                    self._file.close()
                except Exception:  # noqa: BLE001
                    pass
            self._started = False

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.start_rank(rank)
        with self:
            for document in data:
                with self.track_time():
                    self.write(document, rank)
                if self.passthrough:
                    yield document
        if not self.passthrough:
            return
            yield  # pragma: no cover - makes this a generator


def merge_manifests(output_folder: DataFolderLike, prefix: str = "") -> dict[str, Any]:
    """Combine the per-rank manifests of an output into ``_manifest.json`` and return it."""
    folder = get_datafolder(output_folder)
    parts = sorted(p for p in folder.glob(f"{MANIFEST_DIR}/{prefix}*.json") if not p.endswith(".tmp"))
    shards: list[dict[str, Any]] = []
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"documents": 0, "characters": 0})
    for part in parts:
        with folder.open(part, "r") as f:
            m = json.load(f)
        shards.extend(m["shards"])
        for entry in m["by_lang_source"]:
            c = counts[(entry["lang"], entry["source"])]
            c["documents"] += entry["documents"]
            c["characters"] += entry["characters"]
    manifest = {
        "shards": sorted(shards, key=lambda s: s["file"]),
        "rows": sum(s["rows"] for s in shards),
        "bytes": sum(s["bytes"] or 0 for s in shards),
        "by_lang_source": [{"lang": k[0], "source": k[1], **v} for k, v in sorted(counts.items())],
        "schema": COLUMNS,
    }
    name = f"{prefix}{MANIFEST_FILE}" if prefix else MANIFEST_FILE
    with folder.open(name, "w") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    return manifest


def list_shards(paths: str | Iterable[str]) -> list[str]:
    """Expand a folder, glob or list of them into sorted ``.parquet`` shard paths (fsspec URLs ok)."""
    import fsspec

    if isinstance(paths, str):
        paths = [paths]
    out: list[str] = []
    for p in paths:
        fs, root = fsspec.core.url_to_fs(p)
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        scheme = "" if protocol in ("file", "local") else f"{protocol}://"
        if fs.isdir(root):
            found = fs.glob(posixpath.join(root, "**", "*.parquet"))
            found = [f for f in found if f"/{MANIFEST_DIR}/" not in f]
        elif any(c in root for c in "*?["):
            found = fs.glob(root)
        else:
            found = [root]
        out.extend(scheme + f for f in found)
    return sorted(set(out))


def iter_records(paths: str | Iterable[str], columns: list[str] | None = None, batch_size: int = 1024) -> Iterator[dict]:
    """Stream rows of mmedc shards as dicts, one record batch at a time (bounded memory)."""
    import fsspec

    for path in list_shards(paths):
        with fsspec.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
                yield from batch.to_pylist()


class ShardReader(BaseDiskReader):
    """Read mmedc shards back into Documents with their full metadata (the writer's inverse).

    A datatrove reader: ``ShardReader("out/web")`` shards files across ranks like every datatrove
    reader, so dedupe, stats and training read what the writer wrote without a schema adapter.
    """

    name = "📒 mmedc shards"

    def __init__(self, data_folder: DataFolderLike, limit: int = -1, skip: int = 0, batch_size: int = 1024,
                 file_progress: bool = False, doc_progress: bool = False, shuffle_files: bool = False,
                 glob_pattern: str | None = "**/*.parquet"):
        super().__init__(data_folder, paths_file=None, limit=limit, skip=skip, file_progress=file_progress,
                         doc_progress=doc_progress, shuffle_files=shuffle_files, glob_pattern=glob_pattern,
                         recursive=True)
        self.batch_size = batch_size

    def read_file(self, filepath: str):
        if f"{MANIFEST_DIR}/" in filepath:
            return
        with self.data_folder.open(filepath, "rb") as f:
            pf = pq.ParquetFile(f)
            li = 0
            for batch in pf.iter_batches(batch_size=self.batch_size):
                for row in batch.to_pylist():
                    with self.track_time():
                        doc = record_to_document(row, path=filepath)
                    yield doc
                    li += 1
