"""HTML to text: the ``HtmlExtractor`` block (trafilatura) and a reader for folders of HTML files.

``HtmlExtractor`` runs trafilatura's main-content extraction, keeping lists and tables (dosage
tables, symptom lists and diagnostic criteria carry much of a medical page) and dropping comment
sections, and keeps trafilatura's title and date plus the page's declared language (``<html lang>``
or ``Content-Language``) as a hint for language ID. Like datatrove's own ``Trafilatura`` block it runs
extraction in a sandbox process with a per-document timeout, so one pathological page cannot stall or
crash a task; unlike it, it returns the metadata and counts every drop by reason.

The settings were chosen on the evaluation sets described in ``docs/websites.md`` (measured with
``benchmarks/web_extract.py``).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

from datatrove.data import DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.extractors.base import BaseExtractor, ExtractorSandbox
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.utils.logging import logger
from datatrove.utils.typeshelper import StatHints

from mmedc.web.encoding import decode_html

_HTML_LANG = re.compile(r"""<html\b[^>]*?\blang\s*=\s*["']?\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?""", re.IGNORECASE)
_META_LANG = re.compile(
    r"""<meta\b[^>]*?http-equiv\s*=\s*["']?content-language["']?[^>]*?content\s*=\s*["']?\s*([A-Za-z]{2,3})""",
    re.IGNORECASE,
)


def html_language_hint(html: str) -> str | None:
    """The ISO 639 code a page declares (``<html lang>``, then ``Content-Language`` meta), lower-cased."""
    head = html[:8192]
    m = _HTML_LANG.search(head) or _META_LANG.search(head)
    return m.group(1).lower() if m else None


class HtmlExtractor(BaseExtractor):
    """Extract the main text of HTML documents with trafilatura.

    Input documents carry raw HTML in ``text`` (``WarcHtmlReader``, ``HtmlFolderReader``, or any
    reader) and optionally ``metadata["url"]``. Output documents carry the extracted text and metadata
    ``title``, ``date``, ``html_lang`` (declared language, a hint: language ID decides), ``url``,
    ``source`` (default ``"website"``, kept if already set) and ``extractor``.

    Args:
        include_tables: keep table cells (default True).
        include_comments: keep user comment sections (default False: they are rarely medical prose).
        favor_precision / favor_recall: trafilatura's trade-off switches.
        fallback: let trafilatura fall back to its other algorithms (readability, jusText) when its
            own result looks poor (slower, better on odd layouts).
        deduplicate: trafilatura's in-document duplicate-segment removal.
        min_chars: drop documents whose extracted text is shorter (counted as ``too_short``).
        timeout: seconds per document in the sandbox process; ``None`` runs in-process (faster on
            tiny pages, but a pathological page can stall the task).
        source: value of ``metadata["source"]`` when the reader did not set one.
        prune_xpath: XPath expressions of elements to remove before extraction (site-specific clean-up).
    """

    name = "🌐 HTML extractor (trafilatura)"
    _requires_dependencies = ["trafilatura"]

    def __init__(
        self,
        include_tables: bool = True,
        include_comments: bool = False,
        favor_precision: bool = False,
        favor_recall: bool = False,
        fallback: bool = True,
        deduplicate: bool = False,
        min_chars: int = 100,
        timeout: float | None = 10.0,
        source: str = "website",
        prune_xpath: str | list[str] | None = None,
    ):
        super().__init__(timeout=timeout or 0)
        if favor_precision and favor_recall:
            raise ValueError("favor_precision and favor_recall are exclusive")
        self.include_tables = include_tables
        self.include_comments = include_comments
        self.favor_precision = favor_precision
        self.favor_recall = favor_recall
        self.fallback = fallback
        self.deduplicate = deduplicate
        self.min_chars = min_chars
        self.source = source
        self.prune_xpath = prune_xpath
        self._timeout = timeout

    def trafilatura_kwargs(self) -> dict[str, Any]:
        """Keyword arguments passed to ``trafilatura.bare_extraction``."""
        return {
            "include_tables": self.include_tables,
            "include_comments": self.include_comments,
            "favor_precision": self.favor_precision,
            "favor_recall": self.favor_recall,
            "no_fallback": not self.fallback,
            "deduplicate": self.deduplicate,
            "include_images": False,
            "include_links": False,
            "with_metadata": True,
            "prune_xpath": self.prune_xpath,
        }

    def extract_record(self, html: str, url: str | None = None) -> dict[str, Any] | None:
        """Extract one page: ``{"text", "title", "date", "html_lang", "url"}`` or ``None``."""
        import trafilatura

        if not html or not html.strip():
            return None
        result = trafilatura.bare_extraction(html, url=url or None, **self.trafilatura_kwargs())
        if result is None:
            return None
        get = result.get if isinstance(result, dict) else (lambda k: getattr(result, k, None))
        text = get("text") or ""
        comments = get("comments") if self.include_comments else None
        if comments:
            text = f"{text}\n{comments}" if text else comments
        return {
            "text": text,
            "title": get("title"),
            "date": get("date"),
            "html_lang": html_language_hint(html),
            "url": get("url") or url,
        }

    def extract(self, text: str) -> str:
        """Main text of one HTML page ("" when nothing is found); the datatrove extractor interface."""
        result = self.extract_record(text)
        return (result or {}).get("text", "")

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if self._timeout:
            with ExtractorSandbox(timeout=self._timeout, warmup_text=("<html><body><p>warm</p></body></html>", None)) as box:
                yield from self._run(data, lambda html, url: box.process_document((html, url), self.extract_record))
        else:
            yield from self._run(data, self.extract_record)

    def _run(self, data: DocumentsPipeline, extract) -> DocumentsPipeline:
        warned = False
        for doc in data:
            self.stat_update(StatHints.total)
            url = doc.metadata.get("url")
            with self.track_time():
                try:
                    result = extract(doc.text, url)
                except TimeoutError:
                    self.stat_update("timeout")
                    logger.warning(f"{url or doc.id}: extraction timed out after {self._timeout}s, document dropped")
                    continue
                except EOFError:
                    self.stat_update("broken_process")
                    logger.warning(f"{url or doc.id}: extraction process died (memory?), document dropped")
                    continue
                except Exception as e:
                    self.stat_update("extraction_error")
                    if not warned:
                        logger.warning(f"{url or doc.id}: extraction failed ({e!r}), document dropped; further errors only counted")
                        warned = True
                    continue
            if not result or not result["text"].strip():
                self.stat_update("empty_extraction")
                self.stat_update(StatHints.dropped)
                continue
            if len(result["text"]) < self.min_chars:
                self.stat_update("too_short")
                self.stat_update(StatHints.dropped)
                continue
            doc.text = result["text"]
            meta = doc.metadata
            for key in ("title", "date", "html_lang"):
                if result.get(key):
                    meta[key] = result[key]
            if result.get("url") and not meta.get("url"):
                meta["url"] = result["url"]
            meta.setdefault("source", self.source)
            meta["extractor"] = "trafilatura"
            self.stat_update(StatHints.forwarded)
            self.update_doc_stats(doc)
            yield doc


class HtmlFolderReader(BaseDiskReader):
    """Read a folder of HTML files (``.html``, ``.htm``, ``.xhtml``, optionally ``.gz``) as Documents.

    Each file is one Document with the raw HTML as text (decoded with
    :func:`mmedc.web.encoding.decode_html`: BOM, ``<meta charset>``, UTF-8, then detection), the id
    ``<relative path>``, and metadata ``file_path``, ``charset`` and ``url``: ``base_url`` joined with
    the relative path when given (a mirrored site), else a ``file://`` URL. Unreadable files are
    logged with their path and counted (``unreadable_file``); the run goes on.
    """

    name = "📂 HTML folder"
    _requires_dependencies = []

    def __init__(
        self,
        data_folder: DataFolderLike,
        glob_pattern: str | None = "**/*.*htm*",
        base_url: str | None = None,
        limit: int = -1,
        skip: int = 0,
        file_progress: bool = False,
        default_metadata: dict | None = None,
        recursive: bool = True,
        max_bytes: int = 50 * 2**20,
    ):
        super().__init__(
            data_folder, limit=limit, skip=skip, file_progress=file_progress, default_metadata=default_metadata,
            recursive=recursive, glob_pattern=glob_pattern,
        )
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.max_bytes = max_bytes

    def read_file(self, filepath: str):
        try:
            with self.data_folder.open(filepath, "rb") as f:
                raw = f.read(self.max_bytes + 1)
            if filepath.endswith(".gz"):
                raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            self.stat_update("unreadable_file")
            logger.error(f"{filepath}: cannot read HTML file: {e}")
            return
        if len(raw) > self.max_bytes:
            self.stat_update("truncated_file")
            logger.warning(f"{filepath}: larger than max_bytes={self.max_bytes}, cut")
            raw = raw[: self.max_bytes]
        if not raw.strip():
            self.stat_update("empty_file")
            return
        html, codec = decode_html(raw)
        rel = filepath[:-3] if filepath.endswith(".gz") else filepath
        if self.base_url:
            url = self.base_url + rel.lstrip("/")
        else:
            try:
                url = Path(self.data_folder.resolve_paths(filepath)).absolute().as_uri()
            except (ValueError, TypeError):
                url = filepath
        with self.track_time():
            doc = self.get_document_from_dict(
                {"text": html, "id": rel, "url": url, "charset": codec}, filepath, 0
            )
        if doc is not None:
            yield doc
