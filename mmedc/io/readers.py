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

- ``line_too_long``       jsonl line longer than ``max_line_bytes`` (read in bounded pieces, never whole)

Warnings about one file are capped: the first ``max_warnings_per_file`` are logged, then one summary
line with the count of the rest (a binary file named ``.jsonl`` gives a handful of lines, not
thousands). Hidden files and folders (``.mmedc/`` of an mmedc output, ``.<name>.tmp``) are skipped.

Ids: an input's ``id`` column (``id_key``) when it has one; otherwise ``<input>/<path>/<row>``, where
``<input>`` is the input folder as given (``data/web``, ``s3://bucket/cx``), ``<path>`` the file's
path relative to it and ``<row>`` the row (jsonl: line) number in the file. So ids are stable between
runs of the same command and unique across inputs, also when two inputs hold files of the same name.

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

from mmedc.io.layout import is_hidden

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


def input_label(data_folder: DataFolderLike) -> str:
    """The input folder as the user named it, normalised (the first part of path-derived ids)."""
    if isinstance(data_folder, str):
        label = data_folder
    elif isinstance(data_folder, tuple):
        label = str(data_folder[0])
    else:
        label = str(getattr(data_folder, "path", data_folder))
    if "://" in label:
        scheme, rest = label.split("://", 1)
        return f"{scheme}://{rest.rstrip('/')}"
    label = posixpath.normpath(label.replace("\\", "/"))
    return "" if label == "." else label


def repair_surrogates(text: str) -> str:
    """``text`` with lone UTF-16 surrogates (``"\\ud800"`` in JSON decodes to one) replaced by U+FFFD,
    and escaped surrogate pairs joined; ``text`` itself when it has none. A lone surrogate cannot be
    encoded as UTF-8, so every writer and most libraries (fastText, Arrow) fail on it."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def repair_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with :func:`repair_surrogates` applied to its strings (nested too); ``row`` itself if none changed."""

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return repair_surrogates(value)
        if isinstance(value, dict):
            out = {k: fix(v) for k, v in value.items()}
            return value if all(out[k] is value[k] for k in value) else out
        if isinstance(value, list):
            items = [fix(v) for v in value]
            return value if all(a is b for a, b in zip(items, value)) else items
        return value

    return fix(row)


class _FileWarnings:
    """Warnings about one input file: the first ``limit`` are logged, the rest counted and summed up."""

    def __init__(self, filepath: str, limit: int):
        self.filepath = filepath
        self.limit = limit
        self.shown = 0
        self.hidden = 0

    def warn(self, message: str) -> None:
        if self.shown < self.limit:
            self.shown += 1
            logger.warning(f"{self.filepath}: {message}")
        else:
            self.hidden += 1

    def summary(self) -> None:
        if self.hidden:
            logger.warning(f"{self.filepath}: {self.hidden:,} more warning(s) like the above not shown "
                           f"(max_warnings_per_file={self.limit})")


class CorpusReader(BaseDiskReader):
    """Read Parquet and jsonl files of documents with a text column; bad input is counted, not fatal.

    Args:
        data_folder: folder, file or fsspec URL; combine with ``glob_pattern`` (``split_input`` helps).
        text_key / id_key: column names; without an id column ids are ``<input>/<path>/<row>``.
        source: value for the ``source`` metadata key.
        max_chars: longer texts are skipped as ``too_long``.
        max_line_bytes: longer jsonl lines are skipped as ``line_too_long`` (default: 4 x max_chars).
        max_warnings_per_file: warnings logged per input file before one summary line.
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
        max_line_bytes: int | None = None,
        max_warnings_per_file: int = 5,
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
        self.max_line_bytes = max_line_bytes or 4 * max_chars + 1024
        self.max_warnings_per_file = max_warnings_per_file
        self.batch_size = batch_size
        self.input_label = input_label(data_folder)
        self._warnings = _FileWarnings("", max_warnings_per_file)

    def document_id(self, filepath: str, index: int) -> str:
        """The id of row ``index`` of ``filepath`` (relative to the input) when the input has no id."""
        return f"{self.input_label}/{filepath}/{index}" if self.input_label else f"{filepath}/{index}"

    # -- one record -> Document, or a counted skip ---------------------------------------------
    def _make_document(self, row: dict[str, Any], filepath: str, index: int) -> Document | None:
        text = row.pop(self.text_key, None)
        if isinstance(text, (bytes, bytearray)):  # a binary text column: its bytes should be UTF-8
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as e:
                self.stat_update("invalid_utf8")
                self._warnings.warn(f"row {index}: text is not UTF-8 ({e.reason} at byte {e.start}); skipped")
                return None
        if not isinstance(text, str):
            self.stat_update("non_string_text")
            if text is not None:
                self._warnings.warn(f"row {index}: text is {type(text).__name__}, not a string; skipped")
            return None
        if not text.strip():
            self.stat_update("empty")
            return None
        if len(text) > self.max_chars:
            self.stat_update("too_long")
            self._warnings.warn(f"row {index}: {len(text):,} characters > max_chars={self.max_chars:,}; skipped")
            return None
        doc_id = row.pop(self.id_key, None)
        doc_id = str(doc_id) if doc_id is not None else self.document_id(filepath, index)
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

    def _lines(self, f) -> Iterator[bytes | None]:
        """Lines of ``f``, each read in pieces of at most ``max_line_bytes``; None for a longer line."""
        limit = self.max_line_bytes
        while True:
            raw = f.readline(limit + 1)
            if not raw:
                return
            if len(raw) > limit and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line, piece by piece
                    raw = f.readline(limit + 1)
                yield None
                continue
            yield raw

    def _read_jsonl(self, filepath: str) -> Iterator[Document]:
        with self.data_folder.open(filepath, "rb", compression="infer") as f:
            for index, raw in enumerate(self._lines(f)):
                if raw is None:
                    self.stat_update("line_too_long")
                    self._warnings.warn(f"line {index + 1}: longer than max_line_bytes={self.max_line_bytes:,}; skipped")
                    continue
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw.decode("utf-8"))
                    if not isinstance(row, dict):
                        raise ValueError(f"a JSON {type(row).__name__}, not an object")
                except ValueError as e:
                    self.stat_update("bad_line")
                    self._warnings.warn(f"line {index + 1}: malformed jsonl ({str(e)[:200]}); skipped")
                    continue
                if b"\\ud" in raw or b"\\uD" in raw:  # UTF-16 escapes: a lone surrogate is no character
                    fixed = repair_row(row)
                    if fixed is not row:
                        row = fixed
                        self.stat_update("repaired_surrogates")
                        self._warnings.warn(f"line {index + 1}: lone UTF-16 surrogate escapes replaced by U+FFFD")
                doc = self._make_document(row, filepath, index)
                if doc is not None:
                    yield doc

    def read_file(self, filepath: str) -> Iterator[Document]:
        if is_hidden(filepath):  # .mmedc/ of an mmedc output, temporary files
            self.stat_update("hidden_skipped")
            return
        self._warnings = _FileWarnings(filepath, self.max_warnings_per_file)
        try:
            yield from self._read_file(filepath)
        finally:
            self._warnings.summary()

    def _read_file(self, filepath: str) -> Iterator[Document]:
        lower = filepath.lower()
        reader = self._read_parquet if lower.endswith(PARQUET_SUFFIXES) else self._read_jsonl
        if not lower.endswith(PARQUET_SUFFIXES + JSONL_SUFFIXES):
            # a dataset folder's README.md, LICENSE or checksums: not input, counted and named, no error
            self.stat_update("skipped_not_data")
            logger.info(f"{filepath}: not a Parquet or jsonl file (by its extension); skipped")
            return
        try:
            yield from reader(filepath)
        except Exception as e:  # noqa: BLE001 - any failure of one file is that file's, not the run's
            self.stat_update("bad_file")
            logger.error(f"{filepath}: unreadable, rest of the file skipped: {type(e).__name__}: {e}")
