"""The rules of :class:`~mmedc.textbooks.cleanup.TextbookCleanup`, each a function testable alone.

A book is a list of :class:`Page` (its normalised lines, how it was read, the lines its layout sets
apart at the top and bottom). Each removing rule marks what it removes (:meth:`Page.drop`,
:meth:`Page.drop_page`) with its own name and never edits the lines, so every removed line is
counted under the rule that removed it (:func:`removal_counts`) and the rules can run in any order:

- :func:`normalise_lines` (``control_chars``, ``whitespace``);
- :func:`drop_ocr_garbage`: symbol noise, only on OCR'd pages and on lines of unmapped glyphs;
- :func:`drop_page_numbers`: page-number lines at a page's top or bottom edge;
- :func:`drop_front_and_lists`: front matter, contents and index pages;
- :func:`drop_headers_footers`: running headers and footers. Where the reader measured the page
  layout (text-layer pages), only the lines it set apart from the body at the top and bottom are
  candidates, so a body line is never taken for a header; elsewhere (OCR, plain text) the first and
  last ``zone`` lines are, and a line must recur on other pages;
- :func:`drop_footnotes`: a block at the page bottom, set apart and in a smaller type than the body,
  that starts with a footnote mark (``*``, ``†``, ``1``);
- :func:`drop_bibliography`: reference lists;
- :func:`assemble`: hyphenation and line joining into paragraphs.

The file is long (over 500 lines) because it is the one home of every rule and of the patterns they
share (page numbers, contents entries, citations in six languages); each rule stays a short function.

Why hand-written: no maintained library does layout-free cleanup of book pages across scripts
(datatrove's formatters work on web text, line by line, without pages).
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from dataclasses import dataclass, field

from mmedc.lang import CJK_RANGES

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
#: control and format characters that cleanup removes (a line of only these is blank)
CONTROL_CHARS = r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\ufffe\uffff]"
_CONTROL = re.compile(CONTROL_CHARS)
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
# a footnote starts with a mark: * † ‡ § ¶, a superscript or a small number
_FOOTNOTE_MARK = re.compile(r"^(?:[*†‡§¶#]|[⁰¹²³⁴-⁹]+|\(?\d{1,3}[.)]?\s|注\s*\d|※)")
_TERMINAL = tuple(".!?。！？…:;»\"”’)）」』")
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
_CJK_SPACED = re.compile(f"(?<=[{CJK_RANGES}]) (?=[{CJK_RANGES}])")
_HYPHENS = ("-", "\u2010", "\u00ad")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_WORDY = re.compile(r"(?:[^\W\d_]{2,}[\s,.;:'’-]{1,2}){3}|[^\W\d_]{6}")
_SEPARATOR_LINE = re.compile(r"^(.)\1{4,}$")
_UNMAPPED = re.compile(r"\(cid:\d+\)|[\ufffd\ue000-\uf8ff]")
_NOT_ALNUM = re.compile(r"[^\w\s]|_")
_WHITESPACE = re.compile(r"\s")

#: the tags a reader gives the lines it sets apart at a page's top or bottom, by type size vs the body
MARGIN_TAGS = ("small", "body", "large")


# -- the book model ------------------------------------------------------------------------------
@dataclass
class Page:
    """One page: its normalised lines (``""`` a blank line) and what each rule removed from it.

    ``method`` is how the reader got the text (``"text"``, ``"ocr"``; ``None``: unknown). ``top`` and
    ``bottom`` tag the first and last non-blank lines the reader's layout sets apart from the body
    (:data:`MARGIN_TAGS`); ``None`` when the layout is unknown.
    """

    lines: list[str]
    method: str | None = None
    top: list[str] | None = None
    bottom: list[str] | None = None
    removed: str | None = None
    gone: dict[int, str] = field(default_factory=dict)

    def live(self) -> list[int]:
        """Indices of the non-blank lines no rule removed (all of them: none once the page is removed)."""
        if self.removed:
            return []
        return [i for i, ln in enumerate(self.lines) if ln and i not in self.gone]

    def filled(self) -> list[str]:
        return [self.lines[i] for i in self.live()]

    def drop(self, index: int, rule: str) -> None:
        """Remove line ``index`` under ``rule`` (the first rule to remove a line keeps it)."""
        self.gone.setdefault(index, rule)

    def drop_page(self, rule: str) -> None:
        """Remove the whole page under ``rule``: every line still on it is counted for ``rule``."""
        if self.removed:
            return
        for i in self.live():
            self.gone[i] = rule
        self.removed = rule

    def margin(self, side: str) -> list[tuple[int, str]]:
        """``(line index, tag)`` of the live lines the layout sets apart at ``side`` (``top``/``bottom``)."""
        tags = self.top if side == "top" else self.bottom
        if not tags:
            return []
        filled = [i for i, ln in enumerate(self.lines) if ln]
        picked = list(zip(filled[:len(tags)], tags)) if side == "top" else list(
            zip(filled[-len(tags):], tags[-len(filled):]))
        return [(i, t) for i, t in picked if i not in self.gone and not self.removed]

    def kept_lines(self) -> list[str]:
        """The lines left after every rule, blank lines kept as paragraph marks, none at the ends."""
        if self.removed:
            return []
        out = [ln for i, ln in enumerate(self.lines) if i not in self.gone]
        squeezed: list[str] = []
        for ln in out:
            if not ln and (not squeezed or not squeezed[-1]):
                continue
            squeezed.append(ln)
        while squeezed and not squeezed[-1]:
            squeezed.pop()
        return squeezed


def removal_counts(pages: list[Page]) -> Counter[str]:
    """``removed_lines_<rule>``, ``removed_chars_<rule>`` and ``removed_pages_<rule>`` over a book."""
    counts: Counter[str] = Counter()
    for page in pages:
        for i, rule in page.gone.items():
            counts[f"removed_lines_{rule}"] += 1
            counts[f"removed_chars_{rule}"] += len(page.lines[i])
        if page.removed:
            counts[f"removed_pages_{page.removed}"] += 1
    return counts


# -- small helpers -------------------------------------------------------------------------------
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


def line_key(line: str) -> str:
    """Normalised form of a header/footer line: case folded, numbers as '#', punctuation dropped."""
    k = _DIGITS.sub("#", line.casefold())
    k = _ROMAN_TOKEN.sub("#", k)
    return _NON_WORD.sub(" ", k).strip()


def _core(key: str) -> str:
    """A normalised line without its leading numbering (``# the heart`` -> ``the heart``)."""
    return key.lstrip("# ")


def width(line: str) -> int:
    """Display width: CJK characters count twice (they are twice as wide as Latin letters)."""
    return len(line) if line.isascii() else len(line) + len(_CJK_CHAR.findall(line))


def _alnum_share(line: str) -> float:
    visible = len(line) - len(_WHITESPACE.findall(line))
    if not visible:
        return 1.0
    return 1.0 - len(_NOT_ALNUM.findall(line)) / visible


def _bigrams(key: str) -> frozenset[str]:
    return frozenset(key[i:i + 2] for i in range(len(key) - 1))


def _similar(a: str, b: str, threshold: float) -> bool:
    if a == b:
        return True
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return m.real_quick_ratio() >= threshold and m.quick_ratio() >= threshold and m.ratio() >= threshold


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


def is_unmapped_line(line: str) -> bool:
    """A text-layer line that is mostly unmapped glyphs (``(cid:12)``, U+FFFD, private-use characters)."""
    visible = len(line) - len(_WHITESPACE.findall(line))
    return visible > 0 and sum(len(m.group()) for m in _UNMAPPED.finditer(line)) >= 0.5 * visible


# -- rules ---------------------------------------------------------------------------------------
def normalise_lines(page: str, counts: Counter[str], control_chars: bool = True, whitespace: bool = True) -> list[str]:
    """Split a page into stripped lines; drop control characters, expand ligatures, collapse spaces.

    Counts ``control_chars`` (characters removed) and ``whitespace`` (lines changed) in ``counts``.
    """
    if control_chars:
        cleaned = _CONTROL.sub("", page)
        if _LIGATURE.search(cleaned):
            cleaned = cleaned.translate(_LIGATURES)
        if len(cleaned) != len(page):
            counts["control_chars"] += len(page) - len(cleaned)
        page = cleaned
    if whitespace:
        # a text layer that spaces out every Chinese/Japanese character (glyphs placed one by one):
        # close the gaps, but only when most characters are spaced, so "第一章 心血管" keeps its space
        gaps = len(_CJK_SPACED.findall(page))
        if gaps > 8 and gaps > 0.3 * len(_CJK_CHAR.findall(page)):
            page = _CJK_SPACED.sub("", page)
            counts["whitespace"] += gaps
    lines = page.split("\n")
    if whitespace:
        out = []
        for ln in lines:
            new = _SPACES.sub(" ", _ODD_SPACES.sub(" ", ln)).strip()
            if len(new) != len(ln):
                counts["whitespace"] += 1
            out.append(new)
        lines = out
    else:
        lines = [ln.rstrip("\r") if ln.strip() else "" for ln in lines]
    squeezed: list[str] = []  # squeeze blank runs; keep one blank as a paragraph mark
    for ln in lines:
        if not ln.strip() and (not squeezed or not squeezed[-1].strip()):
            continue
        squeezed.append(ln if ln.strip() else "")
    while squeezed and not squeezed[-1]:
        squeezed.pop()
    return squeezed


def drop_ocr_garbage(pages: list[Page], page_share: float = 0.5, assume_ocr: bool = False) -> None:
    """Rule ``ocr_garbage``: symbol noise where noise comes from, never from a good text layer.

    On OCR'd pages (``method == "ocr"``, or every page of unknown origin when ``assume_ocr``), lines
    of symbols are removed (:func:`is_garbage_line`) and a page that is mostly such lines is removed
    whole. On text-layer pages only lines of unmapped glyphs go (:func:`is_unmapped_line`): formulas,
    tables and short lines of a text layer are content.
    """
    for page in pages:
        live = page.live()
        if not live:
            continue
        ocr = page.method == "ocr" or (page.method is None and assume_ocr)
        test = is_garbage_line if ocr else is_unmapped_line
        bad = [i for i in live if test(page.lines[i])]
        if ocr and len(live) >= 3 and len(bad) / len(live) >= page_share:
            page.drop_page("ocr_garbage")
        else:
            for i in bad:
                page.drop(i, "ocr_garbage")


def _edges(page: Page, n: int) -> tuple[list[int], list[int]]:
    live = page.live()
    return live[:n], live[-n:] if len(live) > n else live[n:]


def drop_page_numbers(pages: list[Page], edge: int = 2) -> None:
    """Rule ``page_numbers``: lines among a page's first and last ``edge`` that are a page number."""
    for page in pages:
        top, bottom = _edges(page, edge)
        for i in top + bottom:
            if page_number_value(page.lines[i]) is not None:
                page.drop(i, "page_numbers")


def _toc_like(lines: list[str]) -> bool:
    if not lines:
        return False
    hits = sum(1 for ln in lines if (ln[-1].isdigit() or ln[-1] in "ivxlcIVXLC.…·_") and _TOC_ENTRY.match(ln))
    head = bool(_TOC_HEADINGS.match(lines[0]))
    return (len(lines) >= 4 and hits / len(lines) >= 0.5) or (head and hits / len(lines) >= 0.3)


def _index_like(lines: list[str]) -> bool:
    if not lines:
        return False
    hits = sum(1 for ln in lines if ln[-1] in "0123456789." and _INDEX_ENTRY.match(ln))
    head = bool(_INDEX_HEADINGS.match(lines[0]))
    return (len(lines) >= 8 and hits / len(lines) >= 0.6) or (head and hits / len(lines) >= 0.3)


def drop_front_and_lists(pages: list[Page], toc: bool = True, index: bool = True, front_matter: bool = True,
                         max_front_pages: int = 20, at_book_start: bool = True,
                         first_chapter: int | None = None) -> set[str]:
    """Rules ``toc``, ``index``, ``front_matter``: remove such pages; return the contents' normalised entries.

    Contents pages are found anywhere in the first half (or with their heading), index pages in the
    second half; front matter (short pages, or pages with a copyright mark) only at a book's start and
    before ``first_chapter`` (page index of the first outline entry).
    """
    toc_keys: set[str] = set()
    n = len(pages)
    for i, page in enumerate(pages):
        if page.removed:
            continue
        lines = page.filled()
        headed = bool(lines) and bool(_TOC_HEADINGS.match(lines[0]))
        if toc and _toc_like(lines) and (headed or i < n / 2 or not index):
            page.drop_page("toc")
            for ln in lines:  # every line of a contents page may be an entry (OCR loses leaders)
                toc_keys.add(_core(line_key(ln)).rstrip("# "))
        elif index and (_index_like(lines) or (i >= n / 2 and _toc_like(lines))):
            page.drop_page("index")
    if front_matter and at_book_start and n >= 3:
        for i in range(min(max_front_pages, n - 1, n if first_chapter is None else first_chapter)):
            page = pages[i]
            if page.removed:
                continue
            lines = page.filled()
            w = sum(width(ln) for ln in lines)
            marks = any(_FRONT_MARKS.search(ln) for ln in lines)
            if (len(lines) <= 6 and w < 200) or (marks and w < 2500):
                page.drop_page("front_matter")
            else:
                break
    return toc_keys


def drop_headers_footers(pages: list[Page], zone: int = 2, min_repeats: int = 2, window: int = 8,
                         similarity: float = 0.8, starts: dict[int, str] | None = None,
                         toc_keys: set[str] | None = None) -> None:
    """Rule ``headers_footers``: running headers and footers.

    Candidates: on a page whose layout is known, the lines it sets apart at the top and bottom (never
    a body line; a line in a larger type than the body is a heading and stays); elsewhere the first and
    last ``zone`` lines. A candidate goes when its normalised form (case folded, numbers as ``#``) recurs
    on the same side of ``min_repeats`` pages within ``window`` pages, exactly or fuzzily (``difflib``
    ratio >= ``similarity``, for OCR noise), or when a top line set apart by the layout in a smaller type
    (or the first line of a page of unknown layout, 12 characters or more) repeats a heading printed
    elsewhere in the book (the running header of a chapter too short to repeat it).
    Only hits at the very edge count. ``starts`` (page index -> chapter title key, from the outline) and
    ``toc_keys`` keep a chapter's heading on its first page.
    """
    starts = starts or {}
    live = [i for i, p in enumerate(pages) if p.live()]
    if len(live) < 2:
        return
    required = max(2, min(min_repeats, len(live)))
    position = {p: k for k, p in enumerate(live)}
    cands: list[tuple[int, int, str, str]] = []  # (page, line index, side, key)
    margin_top: dict[tuple[int, int], str] = {}
    for p in live:
        page = pages[p]
        if page.top is not None or page.bottom is not None:
            for li, tag in page.margin("top"):
                if tag != "large":
                    cands.append((p, li, "top", line_key(page.lines[li])))
                    margin_top[(p, li)] = tag
            top_ids = {li for li, _ in page.margin("top")}
            for li, tag in page.margin("bottom"):
                if tag != "large" and li not in top_ids:
                    cands.append((p, li, "bottom", line_key(page.lines[li])))
        else:
            top, bottom = _edges(page, zone)
            cands += [(p, li, "top", line_key(page.lines[li])) for li in top]
            cands += [(p, li, "bottom", line_key(page.lines[li])) for li in bottom if li not in top]
    by_key: dict[tuple[str, str], list[int]] = {}
    for p, _li, side, key in cands:
        if key:
            by_key.setdefault((side, key), []).append(position[p])
    per_page: dict[int, list[tuple[int, str, str]]] = {}
    for p, li, side, key in cands:
        per_page.setdefault(position[p], []).append((li, side, key))
    bigrams = {key: _bigrams(key) for _p, _li, _side, key in cands}
    cand_ids = {(p, li) for p, li, _s, _k in cands}
    # headings printed in the body (not candidates): a running header may repeat one of them
    body_keys: set[str] = set()
    first_line = {p: pages[p].live()[0] for p in live if pages[p].top is None}  # layout unknown
    if margin_top or first_line:
        for p in live:
            for li in pages[p].live():
                ln = pages[p].lines[li]
                if (p, li) not in cand_ids and width(ln) <= 120 and not ln.endswith(_TERMINAL[:4]):
                    body_keys.add(line_key(ln))

    def exact_near(side: str, key: str, me: int) -> set[int]:
        found = by_key[(side, key)]  # positions in increasing order
        return set(found[bisect.bisect_left(found, me - window):bisect.bisect_right(found, me + window)])

    hits: set[tuple[int, int]] = set()
    for p, li, side, key in cands:
        if not key:
            continue
        me = position[p]
        near = exact_near(side, key, me)
        # fuzzy: one match with a line that recurs exactly (an anchor) is enough; without an anchor,
        # one more page is needed, so that similar figure captions are not taken for a header
        anchored = False
        if len(near) < required and len(key) <= 160:
            grams = bigrams[key]
            for q in range(max(0, me - window), min(len(live), me + window + 1)):
                if q in near:
                    continue
                for _lj, side2, key2 in per_page.get(q, ()):
                    if side2 != side or not key2:
                        continue
                    other = bigrams[key2]  # cheap filter: lines with ratio >= 0.8 share most character pairs
                    if len(grams & other) < 0.5 * len(grams | other):
                        continue
                    if _similar(key2, key, similarity):
                        near.add(q)
                        anchored = anchored or len(exact_near(side, key2, q)) >= required
                        break
                if len(near) >= required + (0 if anchored else 1):
                    break
            if not anchored and len(near) < required + 1:
                near = set()
        repeated = len(near) >= required
        running_title = key in body_keys and (margin_top.get((p, li)) == "small" and len(key) >= 4 or (
        first_line.get(p) == li and len(key) >= 12))
        # a chapter's heading is never set smaller than the body: a small line is the running header
        heading = margin_top.get((p, li)) != "small" and _is_chapter_heading(p, li, key, pages, starts, similarity)
        if (repeated or running_title) and not heading:
            hits.add((p, li))
    if toc_keys and not starts:
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
        page = pages[p]
        if page.top is not None or page.bottom is not None:
            top = [li for li, _ in page.margin("top")]
            bottom = [li for li, _ in page.margin("bottom")]
        else:
            top, bottom = _edges(page, zone)
        for li in top:
            if (p, li) not in hits:
                break
            page.drop(li, "headers_footers")
        for li in reversed(bottom):
            if (p, li) not in hits:
                break
            page.drop(li, "headers_footers")


def _is_chapter_heading(p: int, li: int, key: str, pages: list[Page], starts: dict[int, str],
                        similarity: float) -> bool:
    """The first line matching the chapter title on the page where the outline says it starts."""
    title = starts.get(p)
    if not title or not _similar(key, title, similarity):
        return False
    earlier = [line_key(ln) for ln in pages[p].lines[:li] if ln]
    return title not in earlier


def drop_footnotes(pages: list[Page]) -> None:
    """Rule ``footnotes``: the block at a page's bottom that the layout sets apart in a smaller type,
    from its first line with a footnote mark (``*``, ``†``, ``¹``, ``1``) on; pages without a measured
    layout are left alone (no type size to tell a footnote from the body's last lines)."""
    for page in pages:
        bottom = page.margin("bottom")
        start = next((k for k, (li, tag) in enumerate(bottom) if tag == "small"
                      and _FOOTNOTE_MARK.match(page.lines[li])), None)
        if start is None:
            continue
        for li, tag in bottom[start:]:
            if tag == "small":
                page.drop(li, "footnotes")


def _citation_share(lines: list[str]) -> float:
    if not lines:
        return 0.0
    return sum(1 for ln in lines if _YEAR.search(ln) and _CITATION_MARK.search(ln)) / len(lines)


def drop_bibliography(pages: list[Page]) -> None:
    """Rule ``bibliography``: reference lists (from a references heading on, and pages dense with citations)."""
    in_bib = False
    for page in pages:
        if page.removed:
            continue
        live = page.live()
        page_lines = [page.lines[i] for i in live]
        # one regex over the page first: without years in most lines, it cannot be a reference list
        years = len(_YEAR.findall("\n".join(page_lines)))
        share = _citation_share(page_lines) if page_lines and years >= 0.3 * len(page_lines) else 0.0
        if in_bib and share >= 0.3:
            page.drop_page("bibliography")
            continue
        in_bib = False
        start = next((k for k, i in enumerate(live) if _BIB_HEADINGS.match(page.lines[i])), None)
        if start is not None:
            rest = page_lines[start + 1:]
            if not rest or _citation_share(rest) >= 0.3:
                if start == 0:
                    page.drop_page("bibliography")
                else:
                    for i in live[start:]:
                        page.drop(i, "bibliography")
                in_bib = True
        elif len(page_lines) >= 5 and share >= 0.6:
            page.drop_page("bibliography")
            in_bib = True


# -- assembly ------------------------------------------------------------------------------------
def assemble(stream: list[tuple[int, str]], counts: Counter[str], paragraph_separator: str = "\n\n",
             hyphenation: bool = True, join_lines: bool = True) -> tuple[str, dict[int, tuple[int, int]]]:
    """Rules ``hyphenation`` and ``join_lines``: join ``(page, line)`` pairs (``""``: a blank line) into
    paragraphs; returns the text and each page's character span in it."""
    filled = [ln for _, ln in stream if ln]
    vocab: Counter[str] = Counter()
    if hyphenation:
        vocab.update(_WORD.findall("\n".join(filled).casefold()))
    widths = sorted(width(ln) for ln in filled)
    full = widths[int(len(widths) * 0.8)] if widths else 0
    out: list[str] = []
    length = 0
    spans: dict[int, list[int]] = {}
    prev: str | None = None  # previous non-blank line, None after a paragraph break
    for page, line in stream:
        if not line:
            if prev is not None:
                out.append(paragraph_separator)
                length += len(paragraph_separator)
                prev = None
            continue
        piece = line
        if prev is not None:
            joiner = line_joiner(prev, line, full, vocab, counts, paragraph_separator, hyphenation, join_lines)
            if joiner == "\x00":  # hyphen removed
                out[-1] = out[-1][:-1]
                length -= 1
                joiner = ""
            piece = joiner + line
        elif out and not out[-1].endswith(paragraph_separator):
            piece = paragraph_separator + line
        start = length + (len(piece) - len(line))
        out.append(piece)
        length += len(piece)
        span = spans.setdefault(page, [start, length])
        span[1] = length
        prev = line
    return "".join(out).strip(), {p: (s, e) for p, (s, e) in spans.items()}


def line_joiner(prev: str, line: str, full: int, vocab: Counter[str], counts: Counter[str],
                paragraph_separator: str = "\n\n", hyphenation: bool = True, join_lines: bool = True) -> str:
    """What goes between two consecutive lines: a paragraph break, a space, nothing, or ``\\x00`` (drop
    the hyphen that ends ``prev``). ``full`` is the width of a full line, ``vocab`` the book's words.

    The hyphen of a word split at a line end is kept when the hyphenated form occurs elsewhere in the
    book (``anti-inflammatory``), dropped otherwise; a line ending short or with a full stop well short
    of the full width ends its paragraph; CJK characters are joined without a space.
    """
    if hyphenation and prev[-1] in _HYPHENS and len(prev) > 1 and prev[-2].isalpha() \
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
    if not join_lines:
        return "\n"
    if _LIST_ITEM.match(line):
        return paragraph_separator
    cjk_edge = bool(_CJK_CHAR.match(prev[-1])) and bool(_CJK_CHAR.match(line[0]))
    if line[0].isalpha() and line[0].islower() and not cjk_edge:
        counts["join_lines"] += 1
        return " "
    w = width(prev)
    if w < 0.7 * full or (prev.endswith(_TERMINAL) and w < 0.9 * full):
        return paragraph_separator
    counts["join_lines"] += 1
    return "" if cjk_edge or (_CJK_CHAR.match(prev[-1]) and not line[0].isascii()) else " "
