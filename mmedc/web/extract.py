"""HTML to text: the ``HtmlExtractor`` block (trafilatura plus mmedc's rules) and a reader for folders of HTML files.

``HtmlExtractor`` runs trafilatura's main-content extraction in its best mode for these pages (comment
sections dropped, fallbacks on, lists and tables kept: dosage tables, symptom lists and diagnostic
criteria carry much of a medical page), and around it the rules of :mod:`mmedc.web.extract_rules`:
warning boxes rescued before extraction, split article bodies joined and boilerplate lines
(subscribe, cookie, copyright, disclaimer, "related articles", the repeated title) dropped after it.
The page is parsed once and shared by the rules and trafilatura. Metadata is only what the corpus
uses: the title (a cheap read of ``og:title`` / ``<h1>`` / ``<title>``) and the page's declared
language (``<html lang>`` or ``Content-Language``, a hint for language ID); the publication date
(htmldate, about a third of trafilatura's time per page) only with ``with_date=True``.

Like datatrove's own ``Trafilatura`` block it runs extraction in a sandbox process with a per-document
timeout, so one pathological page cannot stall or crash a task; unlike it, it returns the metadata and
counts every drop by reason. Every setting and rule was chosen on the evaluation pages described in
``docs/websites.md`` (measured with ``benchmarks/web_extract.py``).
"""

from __future__ import annotations

import re
import zlib
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
    """Extract the main text of HTML documents with trafilatura and mmedc's clean-up rules.

    Input documents carry raw HTML in ``text`` (``WarcHtmlReader``, ``HtmlFolderReader``, or any
    reader) and optionally ``metadata["url"]``. Output documents carry the extracted text and metadata
    ``title``, ``html_lang`` (declared language, a hint: language ID decides), ``url``, ``source``
    (default ``"website"``, kept if already set), ``extractor``, and ``date`` with ``with_date=True``.

    Args:
        include_tables: keep table cells (default True).
        include_comments: keep user comment sections (default False: they are rarely medical prose).
        favor_precision / favor_recall: trafilatura's trade-off switches.
        fallback: let trafilatura fall back to its other algorithms (readability, jusText) when its
            own result looks poor (better on odd layouts, about 30% of its time).
        fallback_below: run the fallbacks only on pages whose fast extraction (trafilatura's own
            algorithm alone) is shorter than this many characters (default 500, twice trafilatura's
            own minimum extraction size): on longer ones they replaced good text with worse about as
            often as they helped (``docs/websites.md``). ``None``: trafilatura's cascade on every page.
        deduplicate: trafilatura's in-document duplicate-segment removal.
        rules: apply :mod:`mmedc.web.extract_rules` (warning boxes, split bodies, boilerplate lines);
            ``False`` gives trafilatura's text unchanged.
        title_in_text: keep the page title when it is repeated as the text's first line (it is
            always in ``metadata["title"]``; the article benchmark's texts have no headline).
        with_date: also find the publication date (htmldate; slower).
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
        fallback_below: int | None = 500,
        deduplicate: bool = False,
        rules: bool = True,
        title_in_text: bool = False,
        with_date: bool = False,
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
        self.fallback_below = fallback_below
        self.deduplicate = deduplicate
        self.rules = rules
        self.title_in_text = title_in_text
        self.with_date = with_date
        self.min_chars = min_chars
        self.source = source
        self.prune_xpath = prune_xpath
        self._timeout = timeout

    def trafilatura_kwargs(self, fast: bool | None = None) -> dict[str, Any]:
        """Keyword arguments passed to ``trafilatura.extract`` (plain text, no metadata).

        ``fast``: skip the fallbacks (default: unless ``fallback`` is on and ``fallback_below`` is None).
        """
        if fast is None:
            fast = not self.fallback or self.fallback_below is not None
        return {
            "include_tables": self.include_tables,
            "include_comments": self.include_comments,
            "favor_precision": self.favor_precision,
            "favor_recall": self.favor_recall,
            "fast": fast,
            "deduplicate": self.deduplicate,
            "include_images": False,
            "include_links": False,
            "with_metadata": False,
            "prune_xpath": self.prune_xpath,
        }

    def extract_record(self, html: str, url: str | None = None) -> dict[str, Any] | None:
        """Extract one page: ``{"text", "title", "date", "html_lang", "url", "rules"}`` or ``None``.

        ``rules`` counts what the clean-up rules did (``boxes``, ``continued``, and the dropped lines
        by reason), for the block's statistics.
        """
        import trafilatura
        from trafilatura.utils import load_html

        from mmedc.web.extract_rules import (
            continue_split_body,
            drop_boilerplate_lines,
            join_definitions,
            page_signals,
            rescue_boxes,
        )

        if not html or html.isspace():
            return None
        tree = load_html(html)  # trafilatura's own parser: one parse shared by the rules and trafilatura
        if tree is None:
            return None
        signals = page_signals(tree)  # before trafilatura, which prunes the tree it is given
        date = self._find_date(tree, url) if self.with_date else None
        counts: dict[str, int] = {}
        if self.rules:
            if boxes := rescue_boxes(signals.asides):
                counts["boxes"] = boxes
            if definitions := join_definitions(signals.dls):
                counts["definitions"] = definitions
        text = trafilatura.extract(tree, url=url or None, **self.trafilatura_kwargs()) or ""
        if self.fallback and self.fallback_below is not None and len(text) < self.fallback_below:
            # short: trafilatura's whole cascade, on a fresh tree (the first pass pruned its own)
            tree = load_html(html)
            if self.rules:
                rescue_boxes(tree.iter("aside"))
                join_definitions(tree.iter("dl"))
            text = trafilatura.extract(tree, url=url or None, **self.trafilatura_kwargs(fast=False)) or ""
            counts["fallback"] = 1
        if self.rules and text:
            text, added = continue_split_body(text, signals)
            if added:
                counts["continued"] = added
            text, dropped = drop_boilerplate_lines(text, signals, drop_title=not self.title_in_text)
            counts.update(dropped)
        return {
            "text": text,
            "title": signals.title,
            "date": date,
            "html_lang": html_language_hint(html),
            "url": url,
            "rules": counts,
        }

    @staticmethod
    def _find_date(tree, url: str | None) -> str | None:
        from copy import deepcopy

        from htmldate import find_date

        try:
            return find_date(deepcopy(tree), url=url, original_date=True, extensive_search=False)
        except Exception:  # htmldate is a best-effort guess; a page without a readable date has none
            return None

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
            for reason, n in (result.get("rules") or {}).items():
                self.stat_update(f"rule_{reason}", value=n)
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

    def _doc_id(self, rel: str) -> str:
        """The page's URL under ``base_url``, else the input folder as given + the file's path in it:
        unique across inputs, the same on every run."""
        if self.base_url:
            return self.base_url + rel.lstrip("/")
        from mmedc.io.readers import input_label

        label = input_label(self.data_folder.path if hasattr(self.data_folder, "path") else self.data_folder)
        return f"{label}/{rel}" if label else rel

    def read_file(self, filepath: str):
        try:
            with self.data_folder.open(filepath, "rb") as f:
                raw = f.read(self.max_bytes + 1)
            if filepath.endswith(".gz"):
                from mmedc.web.http import gunzip_bounded

                # inflated within the bound while it happens: a small .gz never becomes gigabytes
                if raw[:2] != b"\x1f\x8b":
                    raise OSError("named .gz but not gzip data")
                raw, _cut = gunzip_bounded(raw, self.max_bytes + 1)
        except (OSError, EOFError, zlib.error) as e:
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
                {"text": html, "id": self._doc_id(rel), "url": url, "charset": codec}, filepath, 0
            )
        if doc is not None:
            yield doc
