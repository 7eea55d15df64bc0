"""WARC output (rotated by size, resumable) and a WARC reader that decodes pages correctly.

Writing uses warcio. Each record is its own gzip member, so a file cut at a record boundary is a valid
WARC; :class:`RotatingWarcWriter` relies on that to roll a file back to its last committed record when
a killed crawl resumes (see :mod:`mmedc.web.frontier`).

Reading: :class:`WarcHtmlReader` is datatrove's ``WarcReader`` with a different record decoder. The
stock one decodes as UTF-8 and then guesses with cchardet, ignoring the charset the server declared,
keeps error pages (404, 500) as documents, and needs cchardet and libmagic; this one honours the
declared charset (:func:`mmedc.web.encoding.decode_html`), keeps only 2xx HTML responses and counts
what it skips and why.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datatrove.io import DataFolderLike
from datatrove.pipeline.readers import WarcReader
from datatrove.utils.logging import logger

from mmedc.web.encoding import decode_html

HTML_TYPES = ("text/html", "application/xhtml+xml")
#: records larger than this are skipped unread by the reader (twice the crawler's default body limit)
MAX_RECORD_BYTES = 20 * 2**20
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive"}


class RotatingWarcWriter:
    """Append HTTP responses to gzipped WARC files named ``<prefix>-<n:05d>.warc.gz``.

    A new file starts once the current one reaches ``max_bytes``. With a ``frontier``
    (:class:`mmedc.web.frontier.Frontier`), files are rolled back to their committed size on open,
    and the writer reports each record's offsets so the caller can commit them with the page.
    """

    def __init__(
        self,
        folder: str | Path,
        prefix: str = "crawl",
        max_bytes: int = 1 << 30,
        frontier: Any = None,
        warcinfo: dict[str, str] | None = None,
        compresslevel: int = 6,
    ):
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.frontier = frontier
        self.warcinfo = warcinfo or {}
        self.compresslevel = compresslevel
        self._file = None
        self._buffer = None
        self._writer = None
        self._name: str | None = None
        self._index = 0
        self._recover()

    # -- files -------------------------------------------------------------------------------------
    def _path(self, index: int) -> Path:
        return self.folder / f"{self.prefix}-{index:05d}.warc.gz"

    def _recover(self) -> None:
        """Cut every file back to its commit point; continue the last open one."""
        known = {}
        if self.frontier is not None:
            known = {name: (committed, closed) for name, committed, closed in self.frontier.warc_files()}
        pattern = re.compile(re.escape(self.prefix) + r"-(\d{5})\.warc\.gz$")
        last_open = None
        for path in sorted(self.folder.iterdir()):
            m = pattern.match(path.name)
            if not m:
                continue
            index = int(m.group(1))
            self._index = max(self._index, index + 1)
            if path.name not in known:
                continue  # not written by this crawl state: never touched
            committed, closed = known[path.name]
            size = path.stat().st_size
            if size > committed:
                logger.warning(f"{path}: rolling back {size - committed} uncommitted bytes of an interrupted crawl")
                with open(path, "r+b") as f:
                    f.truncate(committed)
            if committed == 0:
                path.unlink()
                self.frontier.db.execute("DELETE FROM warc_files WHERE name=?", (path.name,))
                continue
            if not closed:
                last_open = (index, path)
        if last_open is not None:
            index, path = last_open
            self._open(index, append=True)

    def _open(self, index: int, append: bool = False) -> None:
        from warcio.warcwriter import WARCWriter

        path = self._path(index)
        self._file = open(path, "ab" if append else "wb")
        # records are serialised uncompressed into a buffer and written as one gzip member each, at
        # level 6 (warcio's own gzip wrapper uses level 9: twice the CPU for 1-2% smaller files)
        self._buffer = io.BytesIO()
        self._writer = WARCWriter(self._buffer, gzip=False)
        self._name = path.name
        self._index = max(self._index, index + 1)
        if not append:
            if self.frontier is not None:
                self.frontier.open_warc(self._name)
            info = self._writer.create_warcinfo_record(path.name, {"software": "mmedc", "format": "WARC/1.1", **self.warcinfo})
            self._write(info)
            if self.frontier is not None:
                self.frontier.db.execute(
                    "UPDATE warc_files SET committed=? WHERE name=?", (self._file.tell(), self._name)
                )

    def _write(self, record: Any) -> None:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.write_record(record)
        gz = zlib.compressobj(self.compresslevel, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self._file.write(gz.compress(self._buffer.getvalue()) + gz.flush())
        self._file.flush()

    def _rotate_if_needed(self) -> None:
        if self._file is None:
            self._open(self._index)
        elif self._file.tell() >= self.max_bytes:
            self._close_current()
            self._open(self._index)

    def _close_current(self) -> None:
        if self._file is None:
            return
        size = self._file.tell()
        self._file.close()
        if self.frontier is not None:
            self.frontier.close_warc(self._name, size)
        self._file = self._writer = self._name = self._buffer = None

    def close(self) -> None:
        """Close the current file (it is complete; a resumed crawl starts a new one)."""
        self._close_current()

    # -- records -----------------------------------------------------------------------------------
    def write_response(
        self,
        url: str,
        status: int,
        reason: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        http_version: str = "HTTP/1.1",
        truncated: bool = False,
        extra: dict[str, str] | None = None,
    ) -> tuple[str, int, int]:
        """Write one response record; return ``(file name, start offset, end offset)``.

        The body is stored decoded (httpx undoes gzip/brotli), so ``Content-Encoding`` and
        ``Transfer-Encoding`` are dropped and ``Content-Length`` is set to the stored size.
        """
        from warcio.statusandheaders import StatusAndHeaders

        self._rotate_if_needed()
        hdrs = [(k, v) for k, v in headers if k.lower() not in _DROP_HEADERS]
        hdrs.append(("Content-Length", str(len(body))))
        http_headers = StatusAndHeaders(f"{status} {reason}".strip(), hdrs, protocol=http_version)
        warc_headers = dict(extra or {})
        if truncated:
            warc_headers["WARC-Truncated"] = "length"
        ctype = next((v for k, v in hdrs if k.lower() == "content-type"), "")
        mime = ctype.split(";", 1)[0].strip().lower()
        if mime:
            warc_headers["WARC-Identified-Payload-Type"] = mime
        record = self._writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http_headers, warc_headers_dict=warc_headers
        )
        start = self._file.tell()
        try:
            self._write(record)
        except BaseException:
            # never leave half a record for the next one to follow (disk full, interrupted write)
            self._file.seek(start)
            self._file.truncate()
            raise
        return self._name, start, self._file.tell()

    def __enter__(self) -> RotatingWarcWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_payload(record: Any, max_bytes: int = MAX_RECORD_BYTES) -> tuple[bytes | None, str]:
    """The payload of a warcio record read to at most ``max_bytes``, checked against its length.

    Returns ``(payload, "ok")``, or ``(None, "oversized_record")`` when the record declares (or its
    content-encoded payload inflates to) more than ``max_bytes``, or ``(None, "truncated_record")``
    when the file ends before the record's declared ``Content-Length`` (a killed writer, a broken
    download): such a record is never returned in part.
    """
    if record.length is None:  # Content-Length is mandatory: the record was cut inside its headers
        return None, "truncated_record"
    if record.length > max_bytes:
        return None, "oversized_record"
    content = record.content_stream().read(max_bytes + 1)
    if len(content) > max_bytes:
        return None, "oversized_record"
    if _short(record):
        return None, "truncated_record"
    return content, "ok"


def _short(record: Any) -> bool:
    """Read what is left of ``record`` (what a decoder left, or all of a skipped record) and tell
    whether its stream ended before its declared ``Content-Length``."""
    raw = record.raw_stream
    while raw.read(65536):
        pass
    return getattr(raw, "limit", 0) > 0


def record_to_dict(record: Any, max_bytes: int = MAX_RECORD_BYTES) -> tuple[dict | None, str]:
    """Decode a warcio record into ``{"text", "id", "url", "date", ...}``, or ``(None, why not)``."""
    if record.rec_type not in ("response", "resource"):
        return None, "not_response"
    status = 200
    ctype = ""
    if record.http_headers is not None and record.rec_type == "response":
        try:
            status = int(record.http_headers.get_statuscode())
        except (TypeError, ValueError):
            status = 0
        ctype = record.http_headers.get_header("Content-Type") or ""
    ctype = ctype or record.rec_headers.get_header("WARC-Identified-Payload-Type") or record.rec_headers.get_header("Content-Type") or ""
    if not 200 <= status < 300:
        return None, "http_status"
    mime = ctype.split(";", 1)[0].strip().lower()
    if mime and mime not in HTML_TYPES:
        return None, "not_html"
    content, why = read_payload(record, max_bytes)
    if content is None:
        return None, why
    if not content.strip():
        return None, "empty"
    if not mime and b"<" not in content[:2048]:
        return None, "not_html"
    text, codec = decode_html(content, ctype)
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    return {
        "text": text,
        "id": record.rec_headers.get_header("WARC-Record-ID") or url,
        "url": url,
        "date": record.rec_headers.get_header("WARC-Date"),
        "http_status": status,
        "charset": codec,
        "warc_truncated": record.rec_headers.get_header("WARC-Truncated"),
    }, "ok"


class WarcHtmlReader(WarcReader):
    """Read HTML responses from WARC files (``.warc``, ``.warc.gz``) as Documents with raw HTML text.

    Metadata: ``url``, ``date`` (WARC-Date), ``http_status``, ``charset`` (codec used), and
    ``warc_truncated`` when the crawler cut the body at its size limit, ``warc_record_id``. The
    document id is ``url:<sha1 of the URL, 24 hex>`` (stable across re-crawls, so the same page
    crawled twice is caught by exact dedupe) unless ``url_ids=False`` (then the WARC record id).

    Damaged input never becomes a partial document: a record shorter than its declared
    ``Content-Length``, or a file that ends inside a record, is counted (``truncated_record``) and
    logged with the file and the record's offset; a record over ``max_record_bytes`` (declared, or
    after its ``Content-Encoding`` is undone) is skipped unread (``oversized_record``); a file warcio
    cannot parse further is counted (``broken_warc``) and the documents before the damage kept.
    Warnings are capped at ``max_warnings`` per file, then one summary line. Other arguments as
    datatrove's ``WarcReader`` (``data_folder``, ``glob_pattern``, ``limit``, ``default_metadata``...).
    """

    name = "🕷 WARC (HTML)"
    _requires_dependencies = ["warcio"]

    def __init__(
        self, data_folder: DataFolderLike, glob_pattern: str | None = "**/*.warc*", url_ids: bool = True,
        max_record_bytes: int = MAX_RECORD_BYTES, max_warnings: int = 5, **kwargs: Any
    ):
        super().__init__(data_folder, glob_pattern=glob_pattern, **kwargs)
        if max_record_bytes < 1:
            raise ValueError("max_record_bytes must be positive")
        self.url_ids = url_ids
        self.max_record_bytes = max_record_bytes
        self.max_warnings = max_warnings

    def read_file(self, filepath: str):
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed

        warned = 0

        def warn(message: str) -> None:
            nonlocal warned
            warned += 1
            if warned <= self.max_warnings:
                logger.warning(f"{filepath}: {message}")

        it = None
        offset = 0
        try:
            with self.data_folder.open(filepath, "rb", compression=None) as f:
                it = ArchiveIterator(f)
                for ri, record in enumerate(it):
                    offset = it.offset
                    with self.track_time():
                        if not _declares_length(record):
                            # no Content-Length, or an empty one: cut inside its WARC headers
                            data, why = None, "truncated_record"
                        else:
                            data, why = record_to_dict(record, self.max_record_bytes)
                            if data is None and why not in ("truncated_record", "oversized_record") and _short(record):
                                why = "truncated_record"  # skipped or not, a short record is counted
                        if data is None:
                            if why == "truncated_record":
                                self.stat_update("truncated_record")
                                warn(f"record at offset {offset} is shorter than its Content-Length "
                                     f"({record.length} bytes) or has none: truncated, skipped")
                            elif why == "oversized_record":
                                self.stat_update("oversized_record")
                                warn(f"record at offset {offset} is over max_record_bytes={self.max_record_bytes}: skipped")
                            elif why != "not_response":
                                self.stat_update(f"skipped_{why}")
                            continue
                        if data["warc_truncated"] is None:
                            data.pop("warc_truncated")
                        data["warc_record_id"] = data["id"]
                        if self.url_ids and data["url"]:
                            data["id"] = "url:" + hashlib.sha1(data["url"].encode("utf-8")).hexdigest()[:24]
                        document = self.get_document_from_dict(data, filepath, ri)
                        if not document:
                            continue
                    yield document
                if _ends_inside_a_record(f, it.offset):
                    self.stat_update("truncated_record")
                    warn(f"file ends inside a record at offset {it.offset}: truncated, skipped")
        except (ArchiveLoadFailed, OSError, EOFError, ValueError, AttributeError) as e:
            # warcio raises AttributeError (or fails to load) on a file cut inside a record's WARC headers
            at = it.offset if it is not None else offset
            if it is not None and _cut_in_headers(self.data_folder, filepath, at):
                self.stat_update("truncated_record")
                warn(f"file ends inside the WARC headers of the record at offset {at}: truncated, skipped")
            else:
                self.stat_update("broken_warc")
                logger.error(f"{filepath}: unreadable WARC after offset {at}, stopped reading it: {e!r}")
        if warned > self.max_warnings:
            logger.warning(f"{filepath}: {warned - self.max_warnings} more warnings like these")


def _declares_length(record: Any) -> bool:
    """Whether the record has a ``Content-Length`` header holding a number (a cut inside the WARC
    headers leaves it out, or empty)."""
    value = record.rec_headers.get_header("Content-Length")
    return value is not None and value.strip().isdigit()


def _cut_in_headers(folder: Any, filepath: str, offset: int, limit: int = 1 << 16) -> bool:
    """True when what follows ``offset`` to the end of the file is the start of a WARC record that
    stops inside its headers (a killed writer, a cut download), not damage in the middle of a file:
    less than ``limit`` bytes, which (inflated when gzip) begin as a WARC version line and hold no
    end of a header block."""
    import zlib

    try:
        with folder.open(filepath, "rb", compression=None) as f:
            f.seek(offset)
            tail = f.read(limit + 1)
    except (OSError, ValueError):
        return False
    if not tail or len(tail) > limit:
        return False
    if tail[:2] == b"\x1f\x8b":
        try:
            tail = zlib.decompressobj(wbits=31).decompress(tail, limit)
        except zlib.error:
            return False
    tail = tail.lstrip(b"\r\n")
    if len(tail) < 5:  # cut inside the version line
        return bool(tail) and b"WARC/".startswith(tail)
    return tail.startswith(b"WARC/") and b"\r\n\r\n" not in tail


def _ends_inside_a_record(f: Any, offset: int) -> bool:
    """True when bytes other than padding follow the end of the last record warcio read."""
    try:
        f.seek(offset)
        tail = f.read(4096)
    except (OSError, ValueError):  # not seekable: the length checks above still apply
        return False
    return bool(tail.strip(b"\r\n\x00 "))
