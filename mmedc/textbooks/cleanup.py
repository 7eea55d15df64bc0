"""``TextbookCleanup``: turn the page text of a book (text layer or OCR) into clean running prose.

The block; each rule is a function in :mod:`mmedc.textbooks.rules`, switchable here and counted:
every line a rule removes is counted under its name (``removed_lines_<rule>``, ``removed_chars_<rule>``,
``removed_pages_<rule>`` for whole pages) in the block's stats and in ``metadata["cleanup"]``, so the
cost of each rule is measurable.

- ``control_chars``: control and format characters (keeps newlines, tabs); ligatures (ﬁ, ﬂ) expanded.
- ``whitespace``: runs of spaces collapsed, lines stripped, blank-line runs squeezed.
- ``page_numbers``: lines at a page's top or bottom edge that are a page number (``12``, ``- 12 -``,
  ``Page 12 of 300``, ``xii``, ``第 12 页``, ``стр. 12``, ``Página 12``).
- ``headers_footers``: running headers and footers. On text-layer pages only the lines the reader's
  layout sets apart from the body (``margin_top`` / ``margin_bottom`` in the page metadata) are
  candidates; elsewhere the first and last ``zone`` lines. A candidate goes when it recurs, exactly or
  fuzzily (``difflib`` ratio >= ``header_similarity``, for OCR noise), on ``header_min_repeats`` pages
  within ``header_window`` pages, or (set apart, in a smaller type) repeats a heading of the book.
- ``footnotes``: a block set apart at a page's bottom in a smaller type, from a footnote mark on.
- ``front_matter``: title, copyright, dedication pages at a book's start (short or with ``©``/ISBN).
- ``toc`` / ``index`` / ``bibliography``: pages of contents or index entries (lines ending in page
  numbers) and reference lists (from a references heading, and pages dense with citations).
- ``ocr_garbage``: on OCR'd pages, lines with little but symbols and pages mostly of such lines; on
  text-layer pages only lines of unmapped glyphs (formulas and tables of a text layer are content).
- ``hyphenation``: words split at line (and page) ends are rejoined; the hyphen is kept when the
  hyphenated form occurs elsewhere in the document (``anti-inflammatory``), dropped otherwise.
- ``join_lines``: lines broken inside sentences are joined into paragraphs, with no space between
  Chinese/Japanese characters; a paragraph ends at a blank line, a short line, or a list item.

The text is expected as pages joined by form feeds (what :class:`~mmedc.textbooks.pdf.PdfReader`
writes); other text is one page. After cleanup, ``metadata["pages"]`` spans are rewritten for the new
text, and pages dropped whole carry ``removed`` with the rule's name.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from mmedc.textbooks.rules import (  # noqa: F401  (re-exported: the old import path of these helpers)
    Page,
    assemble,
    drop_bibliography,
    drop_footnotes,
    drop_front_and_lists,
    drop_headers_footers,
    drop_ocr_garbage,
    drop_page_numbers,
    find_page_number,
    is_garbage_line,
    line_key,
    normalise_lines,
    page_number_value,
    removal_counts,
)

RULES = ("control_chars", "whitespace", "page_numbers", "headers_footers", "footnotes", "front_matter", "toc",
         "index", "bibliography", "ocr_garbage", "hyphenation", "join_lines")


class TextbookCleanup(BaseFilter):
    """Clean book text: headers, footers, page numbers, footnotes, hyphenation, line joining, front/back
    matter, OCR noise.

    Args:
        control_chars, whitespace, page_numbers, headers_footers, footnotes, front_matter, toc, index,
        bibliography, ocr_garbage, hyphenation, join_lines: switch each rule (all on by default).
        zone: lines at the top and at the bottom of a page examined as header/footer candidates where
            the page layout is unknown.
        header_min_repeats: pages (within ``header_window``) a line must recur on to be a header.
        header_window: pages before and after a page searched for the same header.
        header_similarity: fuzzy match threshold (``difflib`` ratio) for OCR'd headers.
        max_front_pages: pages at a book's start that may be front matter.
        garbage_page_share: an OCR'd page is dropped when this share of its lines is garbage.
        assume_ocr: treat pages of unknown origin (no ``pages`` metadata) as OCR output for
            ``ocr_garbage`` (default: only lines of unmapped glyphs are removed from them).
        paragraph_separator: text between paragraphs in the output.
        min_chars: documents shorter than this after cleanup are dropped (``dropped_too_short``).
        exclusion_writer: receives dropped documents.
    """

    name = "🧽 Textbook cleanup"

    def __init__(
        self,
        control_chars: bool = True,
        whitespace: bool = True,
        page_numbers: bool = True,
        headers_footers: bool = True,
        footnotes: bool = True,
        front_matter: bool = True,
        toc: bool = True,
        index: bool = True,
        bibliography: bool = True,
        ocr_garbage: bool = True,
        hyphenation: bool = True,
        join_lines: bool = True,
        zone: int = 2,
        header_min_repeats: int = 2,
        header_window: int = 8,
        header_similarity: float = 0.8,
        max_front_pages: int = 20,
        garbage_page_share: float = 0.5,
        assume_ocr: bool = False,
        paragraph_separator: str = "\n\n",
        min_chars: int = 1,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.rules = {
            "control_chars": control_chars, "whitespace": whitespace, "page_numbers": page_numbers,
            "headers_footers": headers_footers, "footnotes": footnotes, "front_matter": front_matter, "toc": toc,
            "index": index, "bibliography": bibliography, "ocr_garbage": ocr_garbage, "hyphenation": hyphenation,
            "join_lines": join_lines,
        }
        if zone < 1 or header_min_repeats < 2 or not 0 < header_similarity <= 1:
            raise ValueError("zone must be >= 1, header_min_repeats >= 2, 0 < header_similarity <= 1")
        self.zone = zone
        self.header_min_repeats = header_min_repeats
        self.header_window = header_window
        self.header_similarity = header_similarity
        self.max_front_pages = max_front_pages
        self.garbage_page_share = garbage_page_share
        self.assume_ocr = assume_ocr
        self.paragraph_separator = paragraph_separator
        self.min_chars = min_chars

    # -- the block ---------------------------------------------------------------------------
    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if not isinstance(doc.text, str):
            return False, "non_string_text"
        counts: Counter[str] = Counter()
        text, spans = self.clean(doc.text, doc.metadata.get("pages"), counts, doc.metadata.get("outline"))
        for rule, n in sorted(counts.items()):
            if n:
                self.stat_update(rule, value=n)
        doc.metadata["cleanup"] = {"chars_in": len(doc.text), "chars_out": len(text), **dict(sorted(counts.items()))}
        if spans is not None:
            doc.metadata["pages"] = spans
        doc.text = text
        if len(text.strip()) < self.min_chars:
            return False, "too_short"
        return True

    # -- the algorithm -----------------------------------------------------------------------
    def clean(self, text: str, pages_meta: list[dict[str, Any]] | None = None,
              counts: Counter[str] | None = None,
              outline: list[dict[str, Any]] | None = None) -> tuple[str, list[dict[str, Any]] | None]:
        """Clean ``text`` (pages separated by form feeds); returns the text and rewritten page spans.

        ``pages_meta`` and ``outline`` are the reader's ``pages`` and ``outline`` metadata: with them,
        OCR'd pages are told from text-layer pages, the measured layout names header and footer
        candidates, page spans are rewritten, a chapter's heading on its first page is kept although
        the running header repeats it, and front matter ends where the first chapter starts.
        """
        counts = counts if counts is not None else Counter()
        pages = self.pages(text, pages_meta, counts)
        if pages_meta is not None and len(pages_meta) != len(pages):
            pages_meta = None  # spans no longer match the text: do not rewrite them
        first_pdf_page = pages_meta[0].get("page", 1) if pages_meta else 1
        starts: dict[int, str] = {}  # page index -> normalised chapter title, from the outline
        if pages_meta and outline:
            index_of = {m.get("page"): i for i, m in enumerate(pages_meta)}
            for entry in outline:
                i = index_of.get(entry.get("page"))
                if i is not None and entry.get("title"):
                    starts.setdefault(i, line_key(str(entry["title"])))
        rules = self.rules
        if rules["ocr_garbage"]:
            drop_ocr_garbage(pages, self.garbage_page_share, self.assume_ocr)
        if rules["page_numbers"]:
            drop_page_numbers(pages)
        toc_keys = drop_front_and_lists(pages, rules["toc"], rules["index"], rules["front_matter"],
                                        self.max_front_pages, first_pdf_page == 1, min(starts, default=None))
        if rules["headers_footers"]:
            drop_headers_footers(pages, self.zone, self.header_min_repeats, self.header_window,
                                 self.header_similarity, starts, toc_keys)
        if rules["footnotes"]:
            drop_footnotes(pages)
        if rules["bibliography"]:
            drop_bibliography(pages)
        counts.update(removal_counts(pages))
        stream = [(i, ln) for i, page in enumerate(pages) for ln in page.kept_lines()]
        out, page_spans = assemble(stream, counts, self.paragraph_separator, rules["hyphenation"],
                                   rules["join_lines"])
        spans = None
        if pages_meta is not None:
            spans = []
            for i, meta in enumerate(pages_meta):
                entry = {k: v for k, v in meta.items() if k not in ("start", "end")}
                if pages[i].removed:
                    entry["removed"] = pages[i].removed
                elif i in page_spans:
                    entry["start"], entry["end"] = page_spans[i]
                else:
                    entry["removed"] = "empty"
                lines_gone = Counter(rule for li, rule in pages[i].gone.items() if pages[i].removed != rule)
                if lines_gone:
                    entry["removed_lines"] = dict(sorted(lines_gone.items()))
                spans.append(entry)
        return out, spans

    def pages(self, text: str, pages_meta: list[dict[str, Any]] | None, counts: Counter[str]) -> list[Page]:
        """The book as :class:`~mmedc.textbooks.rules.Page` objects, with method and layout from ``pages_meta``."""
        raw = text.split("\f")
        if pages_meta is not None and len(pages_meta) != len(raw):
            pages_meta = None
        out = []
        for i, page_text in enumerate(raw):
            meta = pages_meta[i] if pages_meta else {}
            lines = normalise_lines(page_text, counts, self.rules["control_chars"], self.rules["whitespace"])
            out.append(Page(lines, method=meta.get("method"), top=meta.get("margin_top"),
                            bottom=meta.get("margin_bottom")))
        return out
