"""Page layout from a text layer: which lines at a page's top and bottom stand apart from the body.

A running header, a footer, a page number or a footnote is set apart from the body by vertical space
and, often, by a smaller type; a body line is not. :func:`margins` measures that on the lines of a
pypdfium2 text page (one baseline and type size per line, so a page costs a few dozen calls, not one
per character) and returns, for the first and last lines set apart, a tag: ``"small"``, ``"body"`` or
``"large"`` (type size against the body's). :class:`~mmedc.textbooks.cleanup.TextbookCleanup` takes only
those lines as header, footer and footnote candidates, so body lines at a page's edge are never removed.

Written here because pypdfium2 gives glyph positions but no notion of page regions; pdfplumber's
layout analysis is many times slower (see ``docs/textbooks.md``).
"""

from __future__ import annotations

import ctypes
import re
import statistics
from typing import Any

from mmedc.textbooks.rules import CONTROL_CHARS

# pdfium writes U+FFFE for a hyphen it removed at a line end, and drops the line break: a break too
_CONTROL = re.compile(CONTROL_CHARS)
_BREAK = re.compile("\r\n|\n|\r|\ufffe")


def line_geometry(textpage: Any, text: str) -> list[tuple[float, float]] | None:
    """``(baseline y, type size)`` of each non-blank line of ``text`` (a pypdfium2 page's full text range).

    ``None`` when the text does not map one to one onto the page's characters (characters outside the
    Basic Multilingual Plane shift the indices).
    """
    import pypdfium2.raw as pdfium_c

    if len(text) != textpage.count_chars():
        return None
    x, y = ctypes.c_double(), ctypes.c_double()
    out: list[tuple[float, float]] = []
    pos = 0
    for m in [*_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        line = text[pos:end]
        stripped = line.lstrip()
        if _CONTROL.sub("", stripped).strip():  # non-blank as cleanup sees it, so the counts agree
            i = pos + len(line) - len(stripped)
            # a character in the middle of the line: the first may be a drop cap or a bullet
            j = i + min(len(stripped.rstrip()) // 2, 8)
            if text[j].isspace():
                j = i
            if not pdfium_c.FPDFText_GetCharOrigin(textpage, j, x, y):
                return None
            out.append((y.value, float(pdfium_c.FPDFText_GetFontSize(textpage, j))))
        pos = m.end() if m else len(text)
    return out


def _tag(size: float, body: float, small: float, large: float) -> str:
    if size < small * body:
        return "small"
    if size > large * body:
        return "large"
    return "body"


def margins(geometry: list[tuple[float, float]], gap: float = 1.45, max_top: int = 3,
            max_bottom: int = 6, small: float = 0.93, large: float = 1.12) -> tuple[list[str], list[str]] | None:
    """Tags of the lines set apart at the top and at the bottom of a page, from :func:`line_geometry`.

    The first ``k`` lines (``k <= max_top``) are set apart when all of them lie above every later line
    by more than ``gap`` times the body's line pitch; of those, the ``k`` with the widest space below it
    is taken (the body starts after the widest gap: a header above a chapter heading above the body,
    not a paragraph space). Likewise at the bottom (footnotes above a page number). ``None``
    when the page has too few lines to tell the body's pitch, or its lines do not run top to bottom.
    A line is ``small`` below ``small`` times the body's type size, ``large`` above ``large`` times it
    (OCR'd line heights are noisier than a text layer's type sizes: the reader widens both for them).
    """
    n = len(geometry)
    if n < 4:
        return None
    ys = [g[0] for g in geometry]
    if sum(1 for a, b in zip(ys, ys[1:]) if a >= b) < 0.8 * (n - 1):
        return None  # lines not in reading order top to bottom: the layout cannot be read this way
    body_size = statistics.median(g[1] for g in geometry)
    steps = sorted(a - b for a, b in zip(ys, ys[1:]) if 0 < a - b < 3 * max(body_size, 1.0))
    if len(steps) < 2:
        return None
    pitch = steps[len(steps) // 4]  # the line pitch: paragraph gaps and headings only make steps longer
    need = gap * pitch
    top: list[str] = []
    widest = need
    for k in range(1, min(max_top, n - 3) + 1):
        space = min(ys[:k]) - max(ys[k:])
        if space > widest:
            top, widest = [_tag(s, body_size, small, large) for _, s in geometry[:k]], space
    bottom: list[str] = []
    widest = need
    for k in range(1, min(max_bottom, n - 3) + 1):
        space = min(ys[:-k]) - max(ys[-k:])
        if space > widest:
            bottom, widest = [_tag(s, body_size, small, large) for _, s in geometry[-k:]], space
    return top, bottom
