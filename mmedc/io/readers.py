"""A fault-tolerant reader for general-web corpora (CulturaX-style Parquet and jsonl).

datatrove's ``ParquetReader`` and ``JsonlReader`` stop the whole task on the first bad file or line
(a Parquet file without the text column, a malformed jsonl line). ``CorpusReader`` reads both formats
through the same datatrove reader machinery (sharding files across ranks, fsspec paths, limits) but
turns every bad input into a logged, counted skip that names the file and the reason:

- ``bad_file``            unreadable file (not Parquet, truncated, missing text column, bad gzip)
- ``bad_line``            jsonl line that is not UTF-8 or not a JSON object
- ``non_string_text``     text that is not a string (a number, a list, null)
- ``empty``               empty or whitespace-only text
- ``too_long``            text longer than ``max_chars`` (default 10 million characters)

Documents get ``source`` (default ``"web"``); an input column called ``source`` (CulturaX names the
crawl there: mC4, OSCAR) is kept as ``origin``.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from typing import Any

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.utils.logging import logger

PARQUET_SUFFIXES = (".parquet", ".pq")
JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".jsonl.bz2", ".ndjson")


def split_input(path: str) -> tuple[str, str | None]:
    """Split a file, folder or glob (local or fsspec URL) into ``(folder, glob_pattern)``."""
    import fsspec

    if any(c in path for c in "*?["):
        head = path
        parts = head.split("/")
        for i, part in enumerate(parts):
            if any(c in part for c in "*?["):
                return "/".join(parts[:i]) or ".", "/".join(parts[i:])
    fs, root = fsspec.core.url_to_fs(path)
    if fs.isfile(root):
        folder, name = posixpath.split(path.rstrip("/"))
        return folder or ".", name
    return path, None


class CorpusReader(BaseDiskReader):
    """Read Parquet and jsonl files of documents with a text column; bad input is counted, not fatal.

    Args:
        data_folder: folder, file or fsspec URL; combine with ``glob_pattern`` (``split_input`` helps).
        text_key / id_key: column names; ids default to ``<file>/<row>``.
        source: value for the ``source`` metadata key.
        max_chars: longer texts are skipped as ``too_long``.
        batch_size: Parquet rows per record batch.
    """

    name = "📖 Corpus reader (Parquet/jsonl)"

    def __init__(
        self,
        data_folder: DataFolderLike,
        glob_pattern: str | None = None,
        text_key: str = "text",
        id_key: str = "id",
        source: str = "web",
        max_chars: int = 10_000_000,
        batch_size: int = 1000,
        limit: int = -1,
        skip: int = 0,
        file_progress: bool = False,
        doc_progress: bool = False,
        recursive: bool = True,
        shuffle_files: bool = False,
    ):
        super().__init__(
            data_folder,
            limit=limit,
            skip=skip,
            file_progress=file_progress,
            doc_progress=doc_progress,
            text_key=text_key,
            id_key=id_key,
            recursive=recursive,
            glob_pattern=glob_pattern,
            shuffle_files=shuffle_files,
        )
        self.source = source
        self.max_chars = max_chars
        self.batch_size = batch_size

    # -- one record -> Document, or a counted skip ---------------------------------------------
    def _make_document(self, row: dict[str, Any], filepath: str, index: int) -> Document | None:
        text = row.pop(self.text_key, None)
        if not isinstance(text, str):
            self.stat_update("non_string_text")
            if text is not None:
                logger.warning(f"{filepath}: row {index}: text is {type(text).__name__}, not a string; skipped")
            return None
        if not text.strip():
            self.stat_update("empty")
            return None
        if len(text) > self.max_chars:
            self.stat_update("too_long")
            logger.warning(f"{filepath}: row {index}: {len(text):,} characters > max_chars={self.max_chars:,}; skipped")
            return None
        doc_id = row.pop(self.id_key, None)
        doc_id = str(doc_id) if doc_id is not None else f"{filepath}/{index}"
        metadata = row.pop("metadata", None)
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except json.JSONDecodeError:
                metadata = {"metadata": metadata}
        meta: dict[str, Any] = dict(metadata) if isinstance(metadata, dict) else {}
        if "source" in row:
            row["origin"] = row.pop("source")
        for key, value in row.items():
            if value is not None:
                meta[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        meta["source"] = self.source
        meta.setdefault("file_path", filepath)
        return Document(text=text, id=doc_id, metadata=meta)

    # -- formats ----------------------------------------------------------------------------------
    def _read_parquet(self, filepath: str) -> Iterator[Document]:
        import pyarrow.parquet as pq

        with self.data_folder.open(filepath, "rb") as f:
            pf = pq.ParquetFile(f)
            names = pf.schema_arrow.names
            if self.text_key not in names:
                raise ValueError(f"no {self.text_key!r} column (columns: {', '.join(names)})")
            index = 0
            for batch in pf.iter_batches(batch_size=self.batch_size):
                for row in batch.to_pylist():
                    doc = self._make_document(row, filepath, index)
                    index += 1
                    if doc is not None:
                        yield doc

    def _read_jsonl(self, filepath: str) -> Iterator[Document]:
        with self.data_folder.open(filepath, "rb", compression="infer") as f:
            for index, raw in enumerate(f):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw.decode("utf-8"))
                    if not isinstance(row, dict):
                        raise ValueError(f"a JSON {type(row).__name__}, not an object")
                except ValueError as e:
                    self.stat_update("bad_line")
                    logger.warning(f"{filepath}: line {index + 1}: malformed jsonl ({e}); skipped")
                    continue
                doc = self._make_document(row, filepath, index)
                if doc is not None:
                    yield doc

    def read_file(self, filepath: str) -> Iterator[Document]:
        lower = filepath.lower()
        reader = self._read_parquet if lower.endswith(PARQUET_SUFFIXES) else self._read_jsonl
        if not lower.endswith(PARQUET_SUFFIXES + JSONL_SUFFIXES):
            self.stat_update("bad_file")
            logger.error(f"{filepath}: not a Parquet or jsonl file (by its extension); skipped")
            return
        try:
            yield from reader(filepath)
        except Exception as e:  # noqa: BLE001 - any failure of one file is that file's, not the run's
            self.stat_update("bad_file")
            logger.error(f"{filepath}: unreadable, rest of the file skipped: {type(e).__name__}: {e}")
