"""``ShardedParquetWriter``: zstd Parquet shards with the fixed schema, atomic shards, a manifest.

Why not datatrove's ``ParquetWriter``: it infers the schema from the first batch and fails when later
documents carry other metadata keys, it writes straight to the final name (a killed task leaves a
half file that looks whole), and it keeps no per-language counts. ``ShardedParquetWriter`` writes
:data:`mmedc.schema.SCHEMA` always, closes a shard when it reaches ``max_rows`` or ``max_bytes``,
writes it under the hidden name ``.<name>.tmp`` and renames it when complete, and writes a per-rank
manifest under ``.mmedc/manifest/`` (merged by :func:`mmedc.io.manifest.merge_manifests`). Only the
shards have visible names, so pyarrow, Spark, DuckDB and HF ``datasets`` read the folder as one table.

Shard names are ``<prefix><rank:05d>_<shard:05d>.parquet``: a re-run of rank ``r`` (a resumed local
run, or a retried Spark task) first removes every shard and temporary file of rank ``r`` and then
writes the same names again, so a retry never duplicates or loses documents.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from mmedc.io import layout
from mmedc.io.atomic import AtomicFile, atomic_open
from mmedc.io.manifest import GroupCounts
from mmedc.io.readers import repair_row
from mmedc.schema import COLUMNS, SCHEMA, document_to_record


def shard_name(prefix: str, rank: int, shard: int) -> str:
    """``<prefix><rank:05d>_<shard:05d>.parquet``."""
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
        self._file: AtomicFile | None = None
        self._buffer: list[dict[str, Any]] = []
        self._shard_rows = 0
        self._shard_bytes = 0
        self._shards: list[dict[str, Any]] = []
        self._counts = GroupCounts()
        self._started = False

    def start_rank(self, rank: int) -> None:
        """Remove what an earlier attempt of this rank left, then start fresh.

        ``run`` calls it; a block that uses the writer as a side output (an ``exclusion_writer``)
        calls it at the start of its rank, so a re-run that writes nothing still clears old shards."""
        self._reset_state(rank)
        self._started = True
        stem = f"{self.prefix}{rank:05d}_"
        # final shards, hidden temporary shards, and the visible .tmp names of earlier versions
        mine = [*self.output_folder.glob(f"{stem}*.parquet*"), *self.output_folder.glob(f".{stem}*.parquet.tmp")]
        for path in mine:
            self.output_folder.rm(path)
        for manifest in (layout.rank_manifest_name(self.prefix, rank),
                         f"{layout.LEGACY_MANIFEST_DIR}/{self.prefix}{rank:05d}.json"):
            if self.output_folder.exists(manifest):
                self.output_folder.rm(manifest)

    # -- writing -----------------------------------------------------------------------------
    def _open_shard(self) -> None:
        name = shard_name(self.prefix, self._rank, self._shard_index)
        self._file = AtomicFile(self.output_folder, name, "wb")
        self._writer = pq.ParquetWriter(
            self._file.file, SCHEMA, compression="zstd", compression_level=self.compression_level
        )

    def _flush_buffer(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            self._open_shard()
        try:
            table = pa.Table.from_pylist(self._buffer, schema=SCHEMA)
        except UnicodeEncodeError:  # a lone surrogate somewhere (a JSON "\\ud800" escape): no UTF-8 for it
            rows = [repair_row(row) for row in self._buffer]
            for before, after in zip(self._buffer, rows):
                if after is not before:
                    self.stat_update("repaired_surrogates")
                    logger.warning(f"document {after.get('id')!r}: lone UTF-16 surrogates written as U+FFFD")
            table = pa.Table.from_pylist(rows, schema=SCHEMA)
        self._writer.write_table(table)
        self._buffer = []

    def _close_shard(self) -> None:
        self._flush_buffer()
        if self._writer is None:
            return
        self._writer.close()
        name = self._file.commit()
        size = self.output_folder.size(name) if hasattr(self.output_folder, "size") else None
        self._shards.append({"file": name, "rows": self._shard_rows, "bytes": size})
        self.stat_update("shards")
        self._writer = None
        self._file = None
        self._shard_index += 1
        self._shard_rows = 0
        self._shard_bytes = 0

    def write(self, document: Document, rank: int = 0) -> None:
        """Append one document to this rank's current shard (closing it first when it is full)."""
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
        self._counts.add(row["lang"], row["source"], documents=1, characters=len(row["text"]))
        self.stat_update("documents")
        if len(self._buffer) >= self.row_group_rows:
            self._flush_buffer()

    def close(self) -> None:
        """Close the last shard and write this rank's manifest."""
        if not self._started:
            return
        self._close_shard()
        manifest = {
            "rank": self._rank,
            "shards": self._shards,
            "rows": sum(s["rows"] for s in self._shards),
            "bytes": sum(s["bytes"] or 0 for s in self._shards),
            "by_lang_source": self._counts.to_list(),
            "schema": COLUMNS,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        with atomic_open(self.output_folder, layout.rank_manifest_name(self.prefix, self._rank), "w") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1)
        self._started = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:  # leave no temporary shard behind: the next attempt of this rank starts clean anyway
            if self._file is not None:
                try:
                    self._writer.close()
                except Exception:  # noqa: BLE001
                    pass
                self._file.abort()
            self._writer = None
            self._file = None
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
