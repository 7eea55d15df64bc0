"""``TextbookCleanup``: turn the page text of a book (text layer or OCR) into clean running prose.

Rules, each switchable and counted in the block's stats (``removed_<rule>`` / ``<rule>``) and in
the document's ``metadata["cleanup"]``:

- ``control_chars``: control and format characters (keeps newlines, tabs); ligatures (ﬁ, ﬂ) expanded.
- ``whitespace``: runs of spaces collapsed, lines stripped, blank-line runs squeezed.
- ``page_numbers``: lines near a page's top or bottom that are a page number (``12``, ``- 12 -``,
  ``Page 12 of 300``, ``xii``, ``第 12 页``, ``стр. 12``, ``Página 12``).
- ``headers_footers``: running headers and footers: lines in the top or bottom ``zone`` of a page
  whose normalised form (case folded, digits and roman numerals as ``#``) recurs, exactly or fuzzily
  (``difflib`` ratio >= ``header_similarity``, for OCR noise), on ``header_min_repeats`` pages within
  ``header_window`` pages. Windowed so that running chapter titles, which change every chapter, are
  found as well as the book title.
- ``front_matter``: title, copyright, dedication pages at a book's start (short or with ``©``/ISBN).
- ``toc`` / ``index`` / ``bibliography``: pages of contents or index entries (lines ending in page
  numbers) and reference lists (from a references heading, and pages dense with citations).
- ``ocr_garbage``: lines with little but symbols, and pages that are mostly such lines.
- ``hyphenation``: words split at line (and page) ends are rejoined; the hyphen is kept when the
  hyphenated form occurs elsewhere in the document (``anti-inflammatory``), dropped otherwise.
- ``join_lines``: lines broken inside sentences are joined into paragraphs, with no space between
  Chinese/Japanese characters; a paragraph ends at a blank line, a short line, or a list item.

The text is expected as pages joined by form feeds (what :class:`~mmedc.textbooks.pdf.PdfReader`
writes); other text is one page. Why hand-written: no maintained library does layout-free cleanup of
book pages across scripts (datatrove's formatters work on web text, line by line, without pages).
After cleanup, ``metadata["pages"]`` spans are rewritten for the new text, and pages dropped whole
carry ``removed`` with the rule's name.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

RULES = ("control_chars", "whitespace", "page_numbers", "headers_footers", "front_matter", "toc", "index",
         "bibliography", "ocr_garbage", "hyphenation", "join_lines")

# -- patterns ------------------------------------------------------------------------------------
# roman page numbers up to 399 (front matter is never longer); no m/d, so "mix" or "did" is not one
_ROMAN = r"(?=[ivxlc]+\b)c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_PAGE_WORDS = r"(?:page|p\.|pg\.?|seite|página|pagina|pág\.?|стр\.?|страница|с\.)"
_PAGE_NUMBER = re.compile(
    rf"^[\s\-–—·•|\[\](){{}}]*(?:{_PAGE_WORDS}\s*)?(\d{{1,4}}|{_ROMAN})"
    rf"(?:\s*(?:/|of|de|sur|из)\s*\d{{1,4}})?[\s\-–—·•|\[\](){{}}]*$",
    re.IGNORECASE,
)
_PAGE_NUMBER_CJK = re.compile(r"^[\s\-–—·•]*(?:第\s*)?(\d{1,4})\s*(?:页|頁|ページ)?[\s\-–—·•]*$")
_DIGITS = re.compile(r"\d+")
_ROMAN_TOKEN = re.compile(rf"\b{_ROMAN}\b", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w#]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]{2,}")
_ODD_SPACES = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\ufffe\uffff]")
_LIGATURE = re.compile("[\ufb00-\ufb06]")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
# a contents entry: a title, then dot leaders and/or a page number (OCR may lose the number)
_TOC_ENTRY = re.compile(rf"^(.*?\S)\s*(?:[.·…_\u2024\u2025]{{2,}}\s*(?:\d{{1,4}}|{_ROMAN})?|\s+(?:\d{{1,4}}|{_ROMAN}))$",
                        re.IGNORECASE)
_INDEX_ENTRY = re.compile(r"^\D{2,}?[,:]?\s+\d{1,4}(?:\s*[-–]\s*\d{1,4})?(?:\s*[,;]\s*\d{1,4}(?:\s*[-–]\s*\d{1,4})?)*\.?$")
_YEAR = re.compile(r"(?:^|\D)(?:1[89]|20)\d\d[a-z]?(?:\D|$)")
_CITATION_MARK = re.compile(
    r"et al|doi[:.\s]|https?://|\bvol\.|\bpp?\.\s*\d|\d+\s*\(\d+\)\s*:|;\s*\d+[:(]|\d+\s*[-–]\s*\d+\s*\.?$|"
    r"\bISBN\b|\bin:\s|\beds?\.|Press|等\.|\[J\]|\[M\]|и др\.|\bet coll\.|\by cols\.",
    re.IGNORECASE,
)
_TOC_HEADINGS = re.compile(
    r"^(?:table of )?contents|^brief contents|^目\s*录|^目\s*次|^содержание|^оглавление|^table des matières|"
    r"^sommaire|^índice(?: general)?$|^contenido|^inhalt", re.IGNORECASE)
_INDEX_HEADINGS = re.compile(
    r"^(?:subject |general )?index$|^索\s*引$|^предметный указатель|^алфавитный указатель|^índice (?:alfabético|"
    r"analítico|de materias)|^index (?:alphabétique|des matières)", re.IGNORECASE)
_BIB_HEADINGS = re.compile(
    r"^(?:\d+(?:\.\d+)*\.?\s+)?(?:references?|bibliography|literature cited|further reading|suggested reading|"
    r"selected readings?|参考文献|主要参考文献|文献|литература|список литературы|библиография|bibliographie|"
    r"références(?: bibliographiques)?|referencias(?: bibliográficas)?|bibliografía|lecturas recomendadas)\s*:?$",
    re.IGNORECASE)
_FRONT_MARKS = re.compile(
    r"©|\(c\)\s*\d{4}|copyright|\bisbn\b|all rights reserved|printed in|library of congress|"
    r"tous droits|derechos reservados|все права защищены|版权所有|著作権|無断転載|图书在版编目|ISBN", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^(?:[•●○◦▪■□➢►\-–—*·]\s|\(?\d{1,3}[.)]\s|\(?[a-zA-Z][.)]\s|[①-⑳]|第[一二三四五六七八九十百\d]+[章节節])")
_TERMINAL = tuple(".!?。！？…:;»\"”’)）」』")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_CJK_SPACED = re.compile(r"(?<=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]) "
                         r"(?=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef])")
_HYPHENS = ("-", "\u2010", "\u00ad")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_WORDY = re.compile(r"(?:[^\W\d_]{2,}[\s,.;:'’-]{1,2}){3}|[^\W\d_]{6}")
_SEPARATOR_LINE = re.compile(r"^(.)\1{4,}$")


def find_page_number(lines: list[str]) -> str | None:
    """The printed page number among ``lines`` (a page's first and last lines), or ``None``."""
    for line in lines:
        value = page_number_value(line)
        if value is not None:
            return value
    return None


def page_number_value(line: str) -> str | None:
    """``"12"`` for ``"- 12 -"``, ``"Page 12"``, ``"第12页"``, ``"xii"``; ``None`` when the line is not one."""
    line = line.strip()
    if not line or len(line) > 24:
        return None
    m = _PAGE_NUMBER.match(line) or _PAGE_NUMBER_CJK.match(line)
    if not m or not m.group(1):
        return None
    return m.group(1).lower()


def _key(line: str) -> str:
    """Normalised form of a header/footer line: case folded, numbers as '#', punctuation dropped."""
    k = _DIGITS.sub("#", line.casefold())
    k = _ROMAN_TOKEN.sub("#", k)
    return _NON_WORD.sub(" ", k).strip()


def _core(key: str) -> str:
    """A normalised line without its leading numbering (``# the heart`` -> ``the heart``)."""
    return key.lstrip("# ")


def _width(line: str) -> int:
    """Display width: CJK characters count twice (they are twice as wide as Latin letters)."""
    return len(line) if line.isascii() else len(line) + len(_CJK_CHAR.findall(line))


_NOT_ALNUM = re.compile(r"[^\w\s]|_")
_WHITESPACE = re.compile(r"\s")


def _alnum_share(line: str) -> float:
    visible = len(line) - len(_WHITESPACE.findall(line))
    if not visible:
        return 1.0
    return 1.0 - len(_NOT_ALNUM.findall(line)) / visible


def _bigrams(key: str) -> frozenset[str]:
    return frozenset(key[i:i + 2] for i in range(len(key) - 1))


def is_garbage_line(line: str) -> bool:
    """A line of OCR noise: mostly symbols (``~ ' , | .``), or a rule of one repeated character."""
    s = line.strip()
    if not s or _WORDY.match(s):  # starts like prose: three words, or six letters in a row (CJK)
        return False
    if _SEPARATOR_LINE.match(s.replace(" ", "")):
        return True
    if _alnum_share(s) < 0.5:
        return True
    tokens = s.split()
    if len(tokens) >= 4 and len(s) < 8 * len(tokens):  # many short tokens: look closer
        junk = sum(1 for t in tokens if len(t) <= 2 and not any(c.isalnum() for c in t))
        if junk / len(tokens) > 0.4:
            return True
    return False


class TextbookCleanup(BaseFilter):
    """Clean book text: headers, footers, page numbers, hyphenation, line joining, front/back matter, noise.

    Args:
        control_chars, whitespace, page_numbers, headers_footers, front_matter, toc, index,
        bibliography, ocr_garbage, hyphenation, join_lines: switch each rule (all on by default).
        zone: lines at the top and at the bottom of a page examined as header/footer candidates.
        header_min_repeats: pages (within ``header_window``) a line must recur on to be a header.
        header_window: pages before and after a page searched for the same header.
        header_similarity: fuzzy match threshold (``difflib`` ratio) for OCR'd headers.
        max_front_pages: pages at a book's start that may be front matter.
        garbage_page_share: a page is dropped when this share of its lines is OCR garbage.
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
        paragraph_separator: str = "\n\n",
        min_chars: int = 1,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.rules = {
            "control_chars": control_chars, "whitespace": whitespace, "page_numbers": page_numbers,
            "headers_footers": headers_footers, "front_matter": front_matter, "toc": toc, "index": index,
            "bibliography": bibliography, "ocr_garbage": ocr_garbage, "hyphenation": hyphenation,
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
        page spans are rewritten, a chapter's heading on its first page is kept although the running
        header repeats it, and front matter ends where the first chapter starts.
        """
        counts = counts if counts is not None else Counter()
        raw_pages = text.split("\f")
        if pages_meta is not None and len(pages_meta) != len(raw_pages):
            pages_meta = None  # spans no longer match the text: do not rewrite them
        pages = [self._normalise_lines(p, counts) for p in raw_pages]
        removed: dict[int, str] = {}
        first_pdf_page = pages_meta[0].get("page", 1) if pages_meta else 1
        # chapter starts from the outline: page index -> normalised chapter title
        starts: dict[int, str] = {}
        if pages_meta and outline:
            index_of = {m.get("page"): i for i, m in enumerate(pages_meta)}
            for entry in outline:
                i = index_of.get(entry.get("page"))
                if i is not None and entry.get("title"):
                    starts.setdefault(i, _key(str(entry["title"])))

        if self.rules["ocr_garbage"]:
            for i, lines in enumerate(pages):
                filled = [ln for ln in lines if ln]
                if not filled:
                    continue
                bad = [is_garbage_line(ln) for ln in filled]
                if len(filled) >= 3 and sum(bad) / len(filled) >= self.garbage_page_share:
                    removed[i] = "ocr_garbage"
                    counts["removed_pages_ocr_garbage"] += 1
                elif any(bad):
                    pages[i] = [ln for ln in lines if not (ln and is_garbage_line(ln))]
                    counts["removed_lines_ocr_garbage"] += sum(bad)

        if self.rules["page_numbers"]:
            for i, lines in enumerate(pages):
                if i not in removed:
                    pages[i] = self._drop_page_numbers(lines, counts)

        toc_keys = self._drop_front_and_lists(pages, removed, counts, first_pdf_page == 1,
                                              min(starts, default=len(pages)))
        if self.rules["headers_footers"]:
            self._drop_headers(pages, removed, counts, starts, set() if starts else toc_keys)
        if self.rules["bibliography"]:
            self._drop_bibliography(pages, removed, counts)

        lines_stream: list[tuple[int, str]] = []  # (page index, line); "" marks a blank line
        for i, lines in enumerate(pages):
            if i in removed:
                continue
            while lines and not lines[0]:
                lines = lines[1:]
            while lines and not lines[-1]:
                lines = lines[:-1]
            lines_stream.extend((i, ln) for ln in lines)
        out, page_spans = self._assemble(lines_stream, counts)

        spans = None
        if pages_meta is not None:
            spans = []
            for i, meta in enumerate(pages_meta):
                entry = {k: v for k, v in meta.items() if k not in ("start", "end")}
                if i in removed:
                    entry["removed"] = removed[i]
                elif i in page_spans:
                    entry["start"], entry["end"] = page_spans[i]
                else:
                    entry["removed"] = "empty"
                spans.append(entry)
        return out, spans

    def _normalise_lines(self, page: str, counts: Counter[str]) -> list[str]:
        if self.rules["control_chars"]:
            cleaned = _CONTROL.sub("", page)
            if _LIGATURE.search(cleaned):
                cleaned = cleaned.translate(_LIGATURES)
            if len(cleaned) != len(page):
                counts["control_chars"] += len(page) - len(cleaned)
            page = cleaned
        if self.rules["whitespace"]:
            # a text layer that spaces out every Chinese/Japanese character (glyphs placed one by one):
            # close the gaps, but only when most characters are spaced, so "第一章 心血管" keeps its space
            gaps = len(_CJK_SPACED.findall(page))
            if gaps > 8 and gaps > 0.3 * len(_CJK_CHAR.findall(page)):
                page = _CJK_SPACED.sub("", page)
                counts["whitespace"] += gaps
        lines = page.split("\n")
        if self.rules["whitespace"]:
            out = []
            for ln in lines:
                new = _SPACES.sub(" ", _ODD_SPACES.sub(" ", ln)).strip()
                if len(new) != len(ln):
                    counts["whitespace"] += 1
                out.append(new)
            lines = out
        else:
            lines = [ln.rstrip("\r") for ln in lines]
        # squeeze blank runs; keep one blank as a paragraph mark
        squeezed: list[str] = []
        for ln in lines:
            if not ln.strip() and (not squeezed or not squeezed[-1].strip()):
                continue
            squeezed.append(ln)
        while squeezed and not squeezed[-1].strip():
            squeezed.pop()
        return squeezed

    def _edge_indices(self, lines: list[str], n: int) -> tuple[list[int], list[int]]:
        filled = [i for i, ln in enumerate(lines) if ln.strip()]
        return filled[:n], filled[-n:] if len(filled) > n else filled[n:]

    def _drop_page_numbers(self, lines: list[str], counts: Counter[str]) -> list[str]:
        top, bottom = self._edge_indices(lines, 2)
        drop = {i for i in top + bottom if page_number_value(lines[i]) is not None}
        if not drop:
            return lines
        counts["removed_page_numbers"] += len(drop)
        return [ln for i, ln in enumerate(lines) if i not in drop]

    def _drop_headers(self, pages: list[list[str]], removed: dict[int, str], counts: Counter[str],
                      starts: dict[int, str], toc_keys: set[str]) -> None:
        live = [i for i in range(len(pages)) if i not in removed and any(pages[i])]
        required = max(2, min(self.header_min_repeats, len(live)))
        if len(live) < 2:
            return
        position = {p: k for k, p in enumerate(live)}
        # candidates: (page, line index, side, key)
        cands: list[tuple[int, int, str, str]] = []
        for p in live:
            top, bottom = self._edge_indices(pages[p], self.zone)
            for li in top:
                cands.append((p, li, "top", _key(pages[p][li])))
            for li in bottom:
                if li not in top:
                    cands.append((p, li, "bottom", _key(pages[p][li])))
        # exact matches first (cheap), then fuzzy within the window for what is left
        by_key: dict[tuple[str, str], list[int]] = {}
        for p, _li, side, key in cands:
            if key:
                by_key.setdefault((side, key), []).append(position[p])
        sim = self.header_similarity
        window = self.header_window
        hits: set[tuple[int, int]] = set()
        per_page: dict[int, list[tuple[int, str, str]]] = {}
        for p, li, side, key in cands:
            per_page.setdefault(position[p], []).append((li, side, key))
        bigrams = {key: _bigrams(key) for _p, _li, _side, key in cands}

        def exact_near(side: str, key: str, me: int) -> set[int]:
            found = by_key[(side, key)]  # positions in increasing order
            return set(found[bisect.bisect_left(found, me - window):bisect.bisect_right(found, me + window)])

        for p, li, side, key in cands:
            if not key:
                continue
            me = position[p]
            near = exact_near(side, key, me)
            # fuzzy: one match with a line that recurs exactly (an anchor) is enough; without an anchor,
            # one more page is needed, so that similar figure captions are not taken for a header
            anchored = False
            if len(near) < required and len(key) <= 160:
                matcher = None
                grams = bigrams[key]
                for q in range(max(0, me - window), min(len(live), me + window + 1)):
                    if q in near:
                        continue
                    for _lj, side2, key2 in per_page.get(q, ()):
                        if side2 != side or not key2:
                            continue
                        # cheap filter first: lines with ratio >= 0.8 share most of their character pairs
                        other = bigrams[key2]
                        if len(grams & other) < 0.5 * len(grams | other):
                            continue
                        if matcher is None:  # b (cached) = this line
                            matcher = difflib.SequenceMatcher(None, "", key, autojunk=False)
                        matcher.set_seq1(key2)
                        if (matcher.real_quick_ratio() >= sim and matcher.quick_ratio() >= sim
                                and matcher.ratio() >= sim):
                            near.add(q)
                            anchored = anchored or len(exact_near(side, key2, q)) >= required
                            break
                    if len(near) >= required + (0 if anchored else 1):
                        break
                if not anchored and len(near) < required + 1:
                    continue
            if len(near) >= required and not self._is_chapter_heading(p, li, key, pages, starts):
                hits.add((p, li))
        if toc_keys:
            # without an outline, the contents page names the chapters: the first time a running
            # header repeats a chapter title is the chapter's own heading, on its first page
            first: dict[str, tuple[int, int]] = {}
            for p, li, side, key in cands:
                if side == "top" and _core(key).rstrip("# ") in toc_keys and (p, li) in hits and key not in first:
                    first[key] = (p, li)
            hits -= set(first.values())
        for p in live:
            # a header or footer sits at the page's edge: keep only hits not preceded (top) or followed
            # (bottom) by a line that is not one
            top, bottom = self._edge_indices(pages[p], self.zone)
            mine: set[int] = set()
            for li in top:
                if (p, li) not in hits:
                    break
                mine.add(li)
            for li in reversed(bottom):
                if (p, li) not in hits:
                    break
                mine.add(li)
            if mine:
                counts["removed_headers_footers"] += len(mine)
                pages[p] = [ln for i, ln in enumerate(pages[p]) if i not in mine]

    def _is_chapter_heading(self, p: int, li: int, key: str, pages: list[list[str]], starts: dict[int, str]) -> bool:
        """The first line matching the chapter title on the page where the outline says it starts."""
        title = starts.get(p)
        if not title:
            return False
        if key != title and difflib.SequenceMatcher(None, key, title, autojunk=False).ratio() < self.header_similarity:
            return False
        earlier = [_key(ln) for ln in pages[p][:li] if ln]
        return title not in earlier

    def _drop_front_and_lists(self, pages: list[list[str]], removed: dict[int, str], counts: Counter[str],
                              at_book_start: bool, first_chapter: int) -> set[str]:
        """Drop front matter, contents and index pages; return the normalised entries of the contents."""
        toc_keys: set[str] = set()
        n = len(pages)

        def filled(i: int) -> list[str]:
            return [ln for ln in pages[i] if ln]

        def toc_like(lines: list[str]) -> bool:
            if not lines:
                return False
            hits = sum(1 for ln in lines if (ln[-1].isdigit() or ln[-1] in "ivxlcIVXLC.…·_") and _TOC_ENTRY.match(ln))
            head = bool(_TOC_HEADINGS.match(lines[0]))
            return (len(lines) >= 4 and hits / len(lines) >= 0.5) or (head and hits / len(lines) >= 0.3)

        def index_like(lines: list[str]) -> bool:
            if not lines:
                return False
            hits = sum(1 for ln in lines if ln[-1] in "0123456789." and _INDEX_ENTRY.match(ln))
            head = bool(_INDEX_HEADINGS.match(lines[0]))
            return (len(lines) >= 8 and hits / len(lines) >= 0.6) or (head and hits / len(lines) >= 0.3)

        # tables of contents and indexes, anywhere (contents at the front, indexes at the back)
        for i in range(n):
            if i in removed:
                continue
            lines = filled(i)
            headed = bool(lines) and bool(_TOC_HEADINGS.match(lines[0]))
            if self.rules["toc"] and toc_like(lines) and (headed or i < n / 2 or not self.rules["index"]):
                removed[i] = "toc"
                for ln in lines:  # every line of a contents page may be an entry (OCR loses leaders)
                    toc_keys.add(_core(_key(ln)).rstrip("# "))
                counts["removed_pages_toc"] += 1
            elif self.rules["index"] and (index_like(lines) or (i >= n / 2 and toc_like(lines))):
                removed[i] = "index"
                counts["removed_pages_index"] += 1

        if self.rules["front_matter"] and at_book_start and n >= 3:
            for i in range(min(self.max_front_pages, n - 1, first_chapter)):
                if i in removed:
                    continue
                lines = filled(i)
                width = sum(_width(ln) for ln in lines)
                marks = any(_FRONT_MARKS.search(ln) for ln in lines)
                if (len(lines) <= 6 and width < 200) or (marks and width < 2500):
                    removed[i] = "front_matter"
                    counts["removed_pages_front_matter"] += 1
                else:
                    break
        return toc_keys

    def _drop_bibliography(self, pages: list[list[str]], removed: dict[int, str], counts: Counter[str]) -> None:
        n = len(pages)

        def filled(i: int) -> list[str]:
            return [ln for ln in pages[i] if ln]

        def citation_share(lines: list[str]) -> float:
            if not lines:
                return 0.0
            return sum(1 for ln in lines if _YEAR.search(ln) and _CITATION_MARK.search(ln)) / len(lines)

        in_bib = False
        for i in range(n):
            if i in removed:
                continue
            lines = pages[i]
            page_lines = filled(i)
            # one regex over the page first: without years in most lines, it cannot be a reference list
            years = len(_YEAR.findall("\n".join(page_lines)))
            share = citation_share(page_lines) if years >= 0.3 * len(page_lines) and page_lines else 0.0
            if in_bib and share >= 0.3:
                removed[i] = "bibliography"
                counts["removed_pages_bibliography"] += 1
                continue
            in_bib = False
            start = next((k for k, ln in enumerate(lines) if _BIB_HEADINGS.match(ln)), None)
            if start is not None:
                rest = [ln for ln in lines[start + 1:] if ln]
                if not rest or citation_share(rest) >= 0.3:
                    if start == 0 or not any(lines[:start]):
                        removed[i] = "bibliography"
                        counts["removed_pages_bibliography"] += 1
                    else:
                        counts["removed_lines_bibliography"] += len(lines) - start
                        pages[i] = lines[:start]
                    in_bib = True
            elif len(filled(i)) >= 5 and share >= 0.6:
                removed[i] = "bibliography"
                counts["removed_pages_bibliography"] += 1
                in_bib = True

    def _assemble(self, stream: list[tuple[int, str]], counts: Counter[str]) -> tuple[str, dict[int, tuple[int, int]]]:
        """Join lines into paragraphs (hyphenation, line joining) and track each page's span."""
        filled = [ln for _, ln in stream if ln]
        vocab: Counter[str] = Counter()
        if self.rules["hyphenation"]:
            vocab.update(_WORD.findall("\n".join(filled).casefold()))
        widths = sorted(_width(ln) for ln in filled)
        full = widths[int(len(widths) * 0.8)] if widths else 0
        out: list[str] = []
        length = 0
        spans: dict[int, list[int]] = {}
        prev: str | None = None  # previous non-blank line, None after a paragraph break
        for page, line in stream:
            if not line:
                if prev is not None:
                    out.append(self.paragraph_separator)
                    length += len(self.paragraph_separator)
                    prev = None
                continue
            piece = line
            if prev is not None:
                joiner = self._joiner(prev, line, full, vocab, counts)
                if joiner == "\x00":  # hyphen removed
                    out[-1] = out[-1][:-1]
                    length -= 1
                    joiner = ""
                piece = joiner + line
            elif out and not out[-1].endswith(self.paragraph_separator):
                piece = self.paragraph_separator + line
            start = length + (len(piece) - len(line))
            out.append(piece)
            length += len(piece)
            span = spans.setdefault(page, [start, length])
            span[1] = length
            prev = line
        text = "".join(out).strip()
        return text, {p: (s, e) for p, (s, e) in spans.items()}

    def _joiner(self, prev: str, line: str, full: int, vocab: Counter[str], counts: Counter[str]) -> str:
        """What goes between two consecutive lines: a paragraph break, a space, nothing, or \\x00 (unhyphenate)."""
        if self.rules["hyphenation"] and prev[-1] in _HYPHENS and len(prev) > 1 and prev[-2].isalpha() \
                and line[0].isalpha() and line[0].islower():
            head = _WORD.findall(prev)
            tail = _WORD.match(line)
            if head and tail:
                left, right = head[-1].rstrip("-"), tail.group()
                joined = (left + right).casefold()
                hyphened = f"{left}-{right}".casefold()
                counts["hyphenation"] += 1
                if prev[-1] == "\u00ad" or vocab[joined] > 0 or not vocab[hyphened]:
                    return "\x00"
                return ""
        if not self.rules["join_lines"]:
            return "\n"
        if _LIST_ITEM.match(line):
            return self.paragraph_separator
        cjk_edge = bool(_CJK_CHAR.match(prev[-1])) and bool(_CJK_CHAR.match(line[0]))
        if line[0].isalpha() and line[0].islower() and not cjk_edge:
            counts["join_lines"] += 1
            return " "
        w = _width(prev)
        if w < 0.7 * full or (prev.endswith(_TERMINAL) and w < 0.9 * full):
            return self.paragraph_separator
        counts["join_lines"] += 1
        return "" if cjk_edge or (_CJK_CHAR.match(prev[-1]) and not line[0].isascii()) else " "
