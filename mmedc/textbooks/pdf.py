"""``PdfReader``: a datatrove reader that turns PDF textbooks into Documents, OCR'ing scanned pages.

Per page: the text layer is extracted (pypdfium2 by default, pdfplumber on request; see
``docs/textbooks.md`` for the measured comparison), the page is classified as ``text``, ``empty`` or
``scanned`` (:func:`classify_page`), and scanned pages are rendered and OCR'd with Tesseract in the
book's language. One Document per book, or per chapter when the PDF has an outline.

The Document text keeps the page structure: pages are joined with a form feed (``\\f``), so
:class:`~mmedc.textbooks.cleanup.TextbookCleanup` can find running headers and page numbers; its
metadata has ``pages`` (per page: PDF page number, character span, method, printed page number),
``source="textbook"``, ``title``, ``language`` (with ``language_source``) and ``ocr_pages``.

Bad input (not a PDF, corrupt, truncated, encrypted, zero pages, a page that fails) is counted with
``stat_update`` under ``error_<reason>``, logged with the file name and reason, and skipped; the run
goes on. A missing Tesseract language pack is an error at the start of the run.

The file is long (over 500 lines) because the reader is one datatrove block whose steps share its
options and its stats: opening and classifying bad input, book language (option, sidecar, detection),
per-page text layer and layout, the OCR loop with its per-page decisions (stored image or render,
thickening, orientation retry, confidence), and assembling Documents. The OCR engine itself is in
``ocr.py``, the margins in ``layout.py``, the cleanup rules in ``rules.py``.
"""

from __future__ import annotations

import json
import posixpath
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFileLike, DataFolderLike
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.utils.logging import logger

from mmedc.lang import LANGUAGES, normalize_language, resolve_language
from mmedc.textbooks.layout import line_geometry, margins
from mmedc.textbooks.ocr import (
    TESSERACT_LANGS,
    detect_ocr_language,
    detect_text_language,
    installed_languages,
    needs_thickening,
    read_page,
    render_page,
    require_languages,
    stored_page_image,
    thicken_strokes,
    upright,
)
from mmedc.textbooks.rules import find_page_number

ENGINES = ("pypdfium2", "pdfplumber")
PAGE_SEPARATOR = "\f"

_GARBAGE = re.compile(r"\(cid:\d+\)|[\ufffd\ue000-\uf8ff]")
_VISIBLE = re.compile(r"\S")
_ALNUM = re.compile(r"[^\W_]")
# mathematical operators and arrows (Unicode Sm, the common blocks), as one regex: a loop over
# unicodedata.category costs more than reading the page
_MATH = re.compile("[+<=>|~¬±×÷϶\u2032-\u2037\u2044\u2052\u207a-\u207c\u208a-\u208c\u2118\u2140-\u2144"
                   "\u2190-\u21ff\u2200-\u22ff\u2308-\u230b\u27c0-\u27ff\u2900-\u2aff\u2b30-\u2b4c]")
_LEADERS = re.compile(r"([.·…_\-–—=*~ ])\1{2,}|(?:\. ){2,}")


class PdfError(Exception):
    """A PDF that cannot be read; ``reason`` is the stat name (``not_a_pdf``, ``encrypted``, ...)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def classify_page(text: str, has_images: bool = True, min_chars: int = 30, min_alnum_share: float = 0.5,
                  max_garbage_share: float = 0.05) -> tuple[str, str]:
    """Classify a page from its text layer: ``("text"|"scanned"|"empty", reason)``.

    Scanned: fewer than ``min_chars`` visible characters on a page with images, a share of letters
    and digits below ``min_alnum_share`` (a text layer of symbols or a hidden OCR layer gone wrong;
    dot leaders and mathematical symbols do not count against it: contents and formulas are text), or
    more than ``max_garbage_share`` of unmapped glyphs (``(cid:NN)``, U+FFFD, private-use characters).
    A page with little text and no image is ``empty`` (blank pages are not OCR'd).
    """
    visible = len(_VISIBLE.findall(text))
    if visible < min_chars:
        return ("scanned", "few_chars") if has_images else ("empty", "few_chars")
    garbage = sum(len(m.group()) for m in _GARBAGE.finditer(text))
    if garbage / visible > max_garbage_share:
        return "scanned", "garbage"
    # dot leaders of a contents page and the symbols of formulas are text, not a broken layer
    judged = _MATH.sub("", _LEADERS.sub("", text))
    shown = len(_VISIBLE.findall(judged))
    if shown and len(_ALNUM.findall(judged)) / shown < min_alnum_share:
        return "scanned", "low_alnum"
    return "text", "ok"


def _normalise_layer(text: str) -> str:
    # pdfium marks a hyphen it removed at a line end with U+FFFE and drops the line break: put both back
    # so that TextbookCleanup decides on hyphenation the same way for every engine and for OCR
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-\n")
    return unicodedata.normalize("NFC", text).replace("\f", "\n")


def iso_language(lang: str) -> str:
    """First language of a ``+``-joined book language, as ISO 639-1 (``"chi_sim+eng"`` -> ``"zh"``)."""
    return normalize_language(lang.split("+")[0]) or lang


def book_language(lang: str) -> str:
    """A book language (ISO 639-1 or tesseract names, ``+``-joined) as ISO codes: ``"rus+eng"`` -> ``"ru+en"``;
    an unknown code is a ``ValueError`` naming it."""
    if not isinstance(lang, str) or not lang.strip():
        raise ValueError(f"a book language must be a non-empty string, got {lang!r}")
    return "+".join(dict.fromkeys(resolve_language(code.strip()) for code in lang.split("+")))


_PAGES_COUNT_ZERO = re.compile(rb"/Type\s*/Pages\b[^>]*?/Count\s+0\b|/Count\s+0\b[^>]*?/Type\s*/Pages\b")
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def _empty_page_tree(f, max_bytes: int = 1 << 20) -> bool:
    """Whether a PDF pdfium refused is a whole document (a catalog, ``%%EOF`` at its end) with an empty
    page tree (``/Count 0`` and no page object); read at most ``max_bytes`` (a document with no pages
    is small)."""
    try:
        f.seek(0)
        data = f.read(max_bytes + 1)
    except OSError:
        return False
    if len(data) > max_bytes:
        return False
    whole = b"/Catalog" in data and b"%%EOF" in data[-1024:]
    return whole and bool(_PAGES_COUNT_ZERO.search(data)) and not _PAGE_OBJECT.search(data)


def _with_latin(lang: str) -> str | None:
    """``lang`` with English added when it is Cyrillic only (``"ru"`` -> ``"ru+en"``), else ``None``."""
    codes = lang.split("+")
    if "en" in codes or not any(LANGUAGES[c].script == "Cyrillic" for c in codes if c in LANGUAGES):
        return None
    return "+".join([*codes, "en"])


def _has_images(page: Any) -> bool:
    import pypdfium2.raw as pdfium_c

    try:
        return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    except Exception:  # noqa: BLE001 - be conservative: OCR rather than lose a page
        return True


class PdfReader(BaseDiskReader):
    """Read PDF books (a folder, fsspec URL or glob) into Documents; OCR scanned pages.

    Args:
        data_folder: folder of PDFs (local path, ``s3://...``, a DataFolder).
        paths_file: optional file listing the PDFs to read (relative to ``data_folder``).
        glob_pattern: which files to read (default ``**/*.pdf``, case-insensitive on the suffix).
        engine: text-layer engine, ``"pypdfium2"`` (default: faster and as accurate, see the docs) or
            ``"pdfplumber"``.
        ocr: ``"auto"`` (OCR pages classified as scanned), ``"never"``, or ``"always"``.
        language: the books' language, ISO 639-1 (``"fr"``) or tesseract (``"fra"``), ``+``-joined for
            bilingual books (``"en+fr"``), a dict from file name or stem to language, or a callable
            ``path -> lang``; an unknown code is a ``ValueError`` (from a sidecar or the callable: the
            book's language is detected instead, counted as ``error_bad_language``).
        sidecar: read ``<book>.json`` beside a PDF (``{"language": "fr", "title": "..."}``) when present.
        ocr_languages: the languages OCR may use and detection chooses from (ISO or tesseract codes;
            an unknown one is a ``ValueError``); their packs are checked at the start of the run (:class:`~mmedc.textbooks.ocr.MissingLanguagePackError`).
        default_language: OCR language when none is given and detection fails.
        dpi / max_pixels: OCR render resolution and its bound in pixels per page.
        min_page_chars / min_alnum_share / max_garbage_share: page classification thresholds.
        split: ``"book"`` (one Document per file) or ``"chapter"`` (per top-level outline entry when
            the PDF has an outline; pages before the first entry form their own Document).
        ocr_timeout: seconds per page before tesseract is stopped (0: no limit).
        psm: tesseract page segmentation mode (3: automatic layout analysis).
        rotate_pages: run tesseract's orientation detection on each scanned page and turn sideways or
            upside-down pages upright before OCR (costs an OSD pass per page, see the docs).
        rotate_threshold: minimum OSD orientation confidence to rotate a page.
        thicken: thicken thin strokes before OCR in the languages whose model gains from it (Chinese;
            see :func:`~mmedc.textbooks.ocr.thicken_strokes`); such pages carry ``ocr_thickened``.
        layout: measure which lines of a text-layer page stand apart from the body at its top and bottom
            (``margin_top`` / ``margin_bottom`` in the page metadata, :mod:`mmedc.textbooks.layout`), so
            that cleanup takes only those for headers, footers and footnotes (pypdfium2 engine only;
            OCR'd pages get theirs from tesseract's line boxes).
        stored_image: OCR a page that is one page-sized image from that image as stored, at its own
            resolution (no re-render; ``ocr_source: "stored"``), when it is within ``max_pixels`` and
            its resolution is at least ``dpi`` (a lower one is rendered at ``dpi``).
        min_ocr_confidence: an OCR'd page whose mean word confidence (0-100, kept as ``ocr_conf``) is
            below this is not text (a photo, a plate, noise): its text is dropped and counted
            (``pages_ocr_low_confidence``).
        retry_confidence: a page read below this confidence is checked for its orientation (OSD) and,
            when turned, read again upright; the more confident reading is kept
            (``pages_rotated_low_confidence``). Upright pages of real scans read at 85-97, an
            upside-down one at 12 (measured, docs/textbooks.md); 0 turns the retry off.
        latin_retry_share: a Russian page with at least this share of its words read below 50
            confidence (Latin names the Cyrillic model cannot read) is read again with English added
            (``rus+eng``), the more confident reading kept (``ocr_languages`` in the page metadata,
            ``pages_ocr_latin_retry``); pages of plain Russian read at 0.3-0.6%, pages with Latin
            species names at 3-4% (measured); 1 turns it off.
    """

    name = "📕 PDF books"
    _requires_dependencies = ["pypdfium2"]

    def __init__(
        self,
        data_folder: DataFolderLike,
        paths_file: DataFileLike | None = None,
        glob_pattern: str | None = "**/*.[pP][dD][fF]",
        engine: str = "pypdfium2",
        ocr: str = "auto",
        language: str | dict[str, str] | Callable[[str], str | None] | None = None,
        sidecar: bool = True,
        ocr_languages: tuple[str, ...] = tuple(TESSERACT_LANGS),
        default_language: str = "en",
        dpi: int = 300,
        max_pixels: int = 12_000_000,
        min_page_chars: int = 30,
        min_alnum_share: float = 0.5,
        max_garbage_share: float = 0.05,
        split: str = "book",
        ocr_timeout: float = 300,
        psm: int = 3,
        rotate_pages: bool = False,
        rotate_threshold: float = 5.0,
        thicken: bool = True,
        layout: bool = True,
        stored_image: bool = True,
        min_ocr_confidence: float = 40.0,
        retry_confidence: float = 60.0,
        latin_retry_share: float = 0.02,
        limit: int = -1,
        skip: int = 0,
        file_progress: bool = False,
        doc_progress: bool = False,
        default_metadata: dict | None = None,
        recursive: bool = True,
        shuffle_files: bool = False,
    ):
        super().__init__(data_folder, paths_file=paths_file, limit=limit, skip=skip, file_progress=file_progress,
                         doc_progress=doc_progress, default_metadata=default_metadata, recursive=recursive,
                         glob_pattern=glob_pattern, shuffle_files=shuffle_files)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        if ocr not in ("auto", "never", "always"):
            raise ValueError(f"ocr must be 'auto', 'never' or 'always', got {ocr!r}")
        if split not in ("book", "chapter"):
            raise ValueError(f"split must be 'book' or 'chapter', got {split!r}")
        if dpi < 50 or max_pixels < 100_000:
            raise ValueError("dpi must be >= 50 and max_pixels >= 100000")
        self.engine = engine
        self.ocr = ocr
        if isinstance(language, str):
            language = book_language(language)
        elif isinstance(language, dict):
            language = {name: book_language(value) for name, value in language.items()}
        self.language = language
        self.sidecar = sidecar
        if isinstance(ocr_languages, str):
            ocr_languages = tuple(ocr_languages.split("+"))
        self.ocr_languages = tuple(dict.fromkeys(resolve_language(code) for code in ocr_languages))
        if not self.ocr_languages:
            raise ValueError("ocr_languages must name at least one language")
        self.default_language = book_language(default_language)
        self.dpi = dpi
        self.max_pixels = max_pixels
        self.min_page_chars = min_page_chars
        self.min_alnum_share = min_alnum_share
        self.max_garbage_share = max_garbage_share
        self.split = split
        self.ocr_timeout = ocr_timeout
        self.psm = psm
        self.rotate_pages = rotate_pages
        self.rotate_threshold = rotate_threshold
        self.thicken = thicken
        self.layout = layout
        self.stored_image = stored_image
        self.min_ocr_confidence = min_ocr_confidence
        self.retry_confidence = retry_confidence
        self.latin_retry_share = latin_retry_share

    # -- run ---------------------------------------------------------------------------------
    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if self.ocr != "never":
            langs = list(self.ocr_languages)
            if isinstance(self.language, str):
                langs += self.language.split("+")
            elif isinstance(self.language, dict):
                langs += [c for v in self.language.values() for c in v.split("+")]
            require_languages(langs + [self.default_language])
        yield from super().run(data, rank, world_size)

    def read_file(self, filepath: str) -> Iterator[Document]:
        try:
            with self.data_folder.open(filepath, "rb") as f:
                yield from self._read_pdf(f, filepath)
        except PdfError as exc:
            self.stat_update(f"error_{exc.reason}")
            logger.warning(f"{filepath}: skipped ({exc.reason}): {exc}")
        except OSError as exc:
            self.stat_update("error_io")
            logger.warning(f"{filepath}: skipped (io): {exc}")
        except Exception as exc:  # noqa: BLE001 - whatever a broken file triggers, the run goes on
            self.stat_update("error_unexpected")
            logger.exception(f"{filepath}: skipped (unexpected {type(exc).__name__}): {exc}")

    # -- one book ----------------------------------------------------------------------------
    def _open(self, f, filepath: str):
        import pypdfium2 as pdfium

        head = f.read(1024)
        if b"%PDF-" not in head:
            raise PdfError("not_a_pdf", f"no %PDF- header (starts with {head[:16]!r})")
        f.seek(0)
        try:
            pdf = pdfium.PdfDocument(f, autoclose=False)
        except pdfium.PdfiumError as exc:
            msg = str(exc)
            if "password" in msg.lower():
                reason = "encrypted"
            elif _empty_page_tree(f):
                # pdfium refuses a well-formed document whose page tree is empty without setting its
                # error code, so its message repeats whatever error an earlier file left: look ourselves
                reason, msg = "zero_pages", "the document has no pages"
            else:
                reason = "corrupt"
            raise PdfError(reason, msg) from exc
        if len(pdf) == 0:
            pdf.close()
            raise PdfError("zero_pages", "the document has no pages")
        return pdf

    def _book_info(self, filepath: str, pdf) -> dict[str, Any]:
        """Title and language from the options, the sidecar file and the PDF metadata."""
        info: dict[str, Any] = {}
        stem = posixpath.splitext(posixpath.basename(filepath))[0]
        if self.sidecar:
            side = posixpath.splitext(filepath)[0] + ".json"
            if self.data_folder.exists(side):
                try:
                    with self.data_folder.open(side, "r", encoding="utf-8") as f:
                        meta = json.load(f)
                    if not isinstance(meta, dict):
                        raise ValueError("not a JSON object")
                    side_info = {k: v for k, v in meta.items() if v not in (None, "")}
                    if "languages" in side_info and "language" not in side_info:
                        langs = side_info.pop("languages")
                        side_info["language"] = langs if isinstance(langs, str) else "+".join(map(str, langs))
                    if "language" in side_info:
                        if not isinstance(side_info["language"], str):
                            raise ValueError(f"language must be a string, got {side_info['language']!r}")
                        side_info["language_source"] = "sidecar"
                    info.update(side_info)
                except (ValueError, OSError) as exc:
                    self.stat_update("error_sidecar")
                    logger.warning(f"{side}: sidecar ignored: {exc}")
        lang = None
        if callable(self.language):
            lang = self.language(filepath)
        elif isinstance(self.language, dict):
            lang = self.language.get(posixpath.basename(filepath)) or self.language.get(stem)
        elif isinstance(self.language, str):
            lang = self.language
        if lang:
            info["language"], info["language_source"] = lang, "option"
        if "language" in info:
            try:
                info["language"] = book_language(info["language"])
            except ValueError as exc:
                logger.warning(f"{filepath}: {exc}; detecting the language instead")
                self.stat_update("error_bad_language")
                info.pop("language")
                info.pop("language_source", None)
        if not info.get("title"):
            try:
                title = (pdf.get_metadata_dict().get("Title") or "").strip()
            except Exception:  # noqa: BLE001
                title = ""
            info["title"] = title or stem
        return info

    def _outline(self, pdf, n_pages: int) -> dict[int, str]:
        """First page (0-based) -> title of each top-level outline entry."""
        starts: dict[int, str] = {}
        try:
            for mark in pdf.get_toc(max_depth=1):
                dest = mark.get_dest()
                index = dest.get_index() if dest is not None else None
                if index is not None and 0 <= index < n_pages and index not in starts:
                    starts[index] = mark.get_title()
        except Exception as exc:  # noqa: BLE001 - a broken outline only means no chapters
            logger.warning(f"outline unreadable, one document per book: {exc}")
        return starts

    def _chapters(self, starts: dict[int, str], n_pages: int) -> list[tuple[int, int, str | None]]:
        """Page ranges ``(first, last, title)`` (0-based, inclusive) of the top-level outline entries."""
        if self.split != "chapter" or not starts:
            return [(0, n_pages - 1, None)]
        firsts = sorted(starts)
        ranges: list[tuple[int, int, str | None]] = []
        if firsts[0] > 0:
            ranges.append((0, firsts[0] - 1, None))
        for i, first in enumerate(firsts):
            last = firsts[i + 1] - 1 if i + 1 < len(firsts) else n_pages - 1
            ranges.append((first, last, starts[first]))
        return ranges

    def _read_pdf(self, f, filepath: str) -> Iterator[Document]:
        pdf = self._open(f, filepath)
        plumber = None
        try:
            n_pages = len(pdf)
            if self.engine == "pdfplumber":
                import pdfplumber

                f.seek(0)
                try:
                    plumber = pdfplumber.open(f)
                except Exception as exc:  # noqa: BLE001 - pdfminer raises many types
                    raise PdfError("corrupt", f"pdfplumber cannot open it: {exc}") from exc
            info = self._book_info(filepath, pdf)
            self.stat_update("books")
            self.stat_update("pages_in", value=n_pages)
            pages = self._extract_pages(pdf, plumber, filepath, info)
            outline = self._outline(pdf, n_pages)
            for first, last, chapter in self._chapters(outline, n_pages):
                doc = self._make_document(filepath, info, pages[first:last + 1], chapter, n_pages)
                if doc is not None:
                    doc.metadata["outline"] = [{"title": t, "page": i + 1} for i, t in sorted(outline.items())
                                               if first <= i <= last][:2000]
                if doc is not None:
                    yield doc
        finally:
            if plumber is not None:
                plumber.close()
            pdf.close()

    def _layer_text(self, pdf, plumber, i: int) -> tuple[str, bool, tuple[list[str], list[str]] | None]:
        """A page's text layer, whether it has images, and its margins (:func:`~mmedc.textbooks.layout.margins`)."""
        page = pdf[i]
        layout = None
        try:
            if plumber is not None:
                text = plumber.pages[i].extract_text() or ""
                plumber.pages[i].close() if hasattr(plumber.pages[i], "close") else None
            else:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                    if self.layout and text.strip():
                        geometry = line_geometry(textpage, text)
                        layout = margins(geometry) if geometry else None
                finally:
                    textpage.close()
            text = _normalise_layer(text)
            # image objects only matter for a page with little text (scanned or blank?): walking a page's
            # objects is costly on pages with many, so only then
            few = len(_VISIBLE.findall(text, 0, 8 * self.min_page_chars)) < self.min_page_chars
            return text, _has_images(page) if few else True, layout
        finally:
            page.close()

    def _extract_pages(self, pdf, plumber, filepath: str, info: dict[str, Any]) -> list[dict[str, Any]]:
        pages: list[dict[str, Any]] = []
        scanned: list[int] = []
        for i in range(len(pdf)):
            entry: dict[str, Any] = {"page": i + 1, "text": "", "method": "empty"}
            try:
                text, has_images, layout = self._layer_text(pdf, plumber, i)
                kind, reason = classify_page(text, has_images, self.min_page_chars, self.min_alnum_share,
                                             self.max_garbage_share)
                if text.strip():  # kept even when short: OCR replaces it only when it reads something
                    entry["text"], entry["method"] = text, "text"
                    if layout is not None:
                        entry["margin_top"], entry["margin_bottom"] = layout
                if self.ocr == "always" or (kind == "scanned" and self.ocr == "auto"):
                    entry["ocr_reason"] = reason if kind == "scanned" else "forced"
                    scanned.append(i)
                self.stat_update(f"pages_{kind}")
            except Exception as exc:  # noqa: BLE001 - one bad page never stops the book
                self.stat_update("error_page")
                logger.warning(f"{filepath}: page {i + 1} unreadable: {type(exc).__name__}: {exc}")
                entry["method"] = "error"
            pages.append(entry)
        self._resolve_language(pdf, pages, scanned, filepath, info)
        if scanned:
            self._ocr_pages(pdf, pages, scanned, filepath, info)
            self._check_ocr_language(pages, filepath, info)
        for entry in pages:
            lines = [ln.strip() for ln in entry["text"].splitlines() if ln.strip()]
            entry["printed"] = find_page_number(lines[:2] + lines[-2:]) if lines else None
        return pages

    def _check_ocr_language(self, pages: list[dict[str, Any]], filepath: str, info: dict[str, Any]) -> None:
        """Count (``ocr_language_mismatch``) a given language that the OCR'd text contradicts."""
        if info.get("language_source") not in ("option", "sidecar"):
            return
        text = "\n".join(p["text"] for p in pages if p["method"] == "ocr")[:20000]
        if len(text.strip()) < 200:
            return
        found = detect_text_language(text)
        if found and found not in info["language"].split("+"):
            info["ocr_language_detected"] = found
            self.stat_update("ocr_language_mismatch")
            logger.warning(f"{filepath}: OCR'd as {info['language']!r} but its text reads as {found!r}")

    def _resolve_language(self, pdf, pages, scanned: list[int], filepath: str, info: dict[str, Any]):
        if info.get("language"):
            return info["language"]
        layer = "\n".join(p["text"] for p in pages if p["method"] == "text")[:20000]
        lang = None
        if len(layer.strip()) >= 200:
            lang = detect_text_language(layer, self.ocr_languages)
        if lang not in self.ocr_languages:
            lang = None
            for i in scanned[:2] if self.ocr != "never" else ():
                page = pdf[i]
                try:
                    image, _ = render_page(page, min(self.dpi, 200), self.max_pixels)
                finally:
                    page.close()
                lang = detect_ocr_language(image, self.ocr_languages)
                if lang:
                    break
        if lang:
            info["language"], info["language_source"] = lang, "detected"
            self.stat_update("language_detected")
        else:
            info["language"], info["language_source"] = self.default_language, "default"
            self.stat_update("language_default")
            logger.info(f"{filepath}: language not detected, OCR with {self.default_language!r}")
        return info["language"]

    def _page_image(self, pdf, i: int) -> tuple[Any, float, str]:
        """The image to OCR for page ``i``: ``(image, dpi, source)``; ``source`` is ``"stored"`` when the
        page is one page-sized image OCR'd as stored (:func:`~mmedc.textbooks.ocr.stored_page_image`),
        ``"render"`` when the page was rendered."""
        page = pdf[i]
        try:
            if self.stored_image:
                # below the render resolution, a render upsamples to what tesseract reads best
                found = stored_page_image(page, self.max_pixels, dpi_range=(0.95 * self.dpi, 2.5 * self.dpi))
                if found is not None:
                    return found[0], found[1], "stored"
            image, dpi = render_page(page, self.dpi, self.max_pixels)
            return image, dpi, "render"
        finally:
            page.close()

    def _ocr_pages(self, pdf, pages, scanned: list[int], filepath: str, info: dict[str, Any]) -> None:
        lang = info["language"]
        for i in scanned:
            try:
                with self.track_time("ocr"):
                    image, dpi, source = self._page_image(pdf, i)
                    if source == "stored":
                        pages[i]["ocr_source"] = "stored"
                        self.stat_update("pages_ocr_stored_image")
                    if self.rotate_pages:
                        image, turned = upright(image, self.rotate_threshold)
                        if turned:
                            pages[i]["rotated"] = turned
                            self.stat_update("pages_rotated")
                    if self.thicken and needs_thickening(lang):
                        image, thickened = thicken_strokes(image, dpi)
                        if thickened:
                            pages[i]["ocr_thickened"] = True
                            self.stat_update("pages_ocr_thickened")
                    reading, again = read_page(image, lang, psm=self.psm, timeout=self.ocr_timeout, dpi=dpi)
                    if (not self.rotate_pages and reading.confidence is not None
                            and reading.confidence < self.retry_confidence):
                        # a low first-pass confidence is what a sideways or upside-down scan gives: ask
                        # OSD, and keep a turned page's reading when it is more confident
                        turned_image, turned = upright(image, self.rotate_threshold)
                        if turned:
                            second, again2 = read_page(turned_image, lang, psm=self.psm, timeout=self.ocr_timeout,
                                                       dpi=dpi)
                            if (second.confidence or 0) > reading.confidence:
                                reading, again = second, again2
                                pages[i]["rotated"] = turned
                                self.stat_update("pages_rotated_low_confidence")
                    latin = _with_latin(lang)
                    if latin and reading.unsure >= self.latin_retry_share and "eng" in installed_languages():
                        # Latin words (species, drug and gene names) in a Cyrillic page are what the
                        # Cyrillic model reads at low confidence: read again with English added
                        second, again2 = read_page(image, latin, psm=self.psm, timeout=self.ocr_timeout, dpi=dpi)
                        if (second.confidence or 0) > (reading.confidence or 0):
                            reading, again = second, again2
                            pages[i]["ocr_languages"] = latin
                            self.stat_update("pages_ocr_latin_retry")
                    if again:
                        pages[i]["ocr_psm"] = 6
                        self.stat_update("pages_ocr_read_as_block")
                    image.close()
                text = unicodedata.normalize("NFC", reading.text).replace("\f", "\n")
                if reading.confidence is not None:
                    pages[i]["ocr_conf"] = round(reading.confidence, 1)
                if reading.vertical >= 0.15:
                    # vertical writing (Japanese, old Chinese), whole or mixed with horizontal text
                    pages[i]["ocr_vertical"] = round(reading.vertical, 2)
                    mixed = reading.vertical < 0.5
                    self.stat_update("pages_ocr_mixed_vertical" if mixed else "pages_ocr_vertical")
                    logger.warning(f"{filepath}: page {i + 1} has {'some ' if mixed else ''}vertical text "
                                   f"({reading.vertical:.0%} of its characters; read as horizontal lines)")
                if reading.confidence is not None and reading.confidence < self.min_ocr_confidence:
                    # what tesseract reads at this confidence is not text (a photo, a plate, noise)
                    self.stat_update("pages_ocr_low_confidence")
                    logger.info(f"{filepath}: page {i + 1} OCR confidence {reading.confidence:.0f} "
                                f"< {self.min_ocr_confidence}: its text is dropped")
                    pages[i]["ocr_rejected"] = "low_confidence"
                    text = ""
                if text.strip() or not pages[i]["text"].strip():
                    pages[i]["text"], pages[i]["method"] = text, "ocr"
                    if reading.lines is not None and text.strip():
                        layout = margins(reading.lines, small=0.88, large=1.2)
                        if layout is not None:
                            pages[i]["margin_top"], pages[i]["margin_bottom"] = layout
                if dpi < self.dpi - 1 and source == "render":
                    pages[i]["ocr_dpi"] = round(dpi)
                    self.stat_update("pages_downscaled")
                self.stat_update("pages_ocr")
            except RuntimeError as exc:  # pytesseract raises RuntimeError on timeout
                self.stat_update("error_ocr_timeout" if "timeout" in str(exc).lower() else "error_ocr")
                logger.warning(f"{filepath}: page {i + 1} OCR failed: {exc}")
                pages[i]["method"] = "error"
            except Exception as exc:  # noqa: BLE001
                self.stat_update("error_ocr")
                logger.warning(f"{filepath}: page {i + 1} OCR failed: {type(exc).__name__}: {exc}")
                pages[i]["method"] = "error"

    def _make_document(self, filepath: str, info: dict[str, Any], pages: list[dict[str, Any]],
                       chapter: str | None, n_pages: int) -> Document | None:
        parts: list[str] = []
        spans: list[dict[str, Any]] = []
        offset = 0
        for p in pages:
            if parts:
                offset += len(PAGE_SEPARATOR)
            text = p["text"].strip("\n")
            span = {"page": p["page"], "start": offset, "end": offset + len(text), "method": p["method"]}
            if p.get("printed"):
                span["printed"] = p["printed"]
            for key in ("ocr_dpi", "rotated", "ocr_psm", "ocr_thickened", "ocr_conf", "ocr_source", "ocr_vertical",
                        "ocr_rejected", "ocr_languages"):
                if p.get(key):
                    span[key] = p[key]
            if p["method"] in ("text", "ocr") and "margin_top" in p:
                span["margin_top"], span["margin_bottom"] = p["margin_top"], p["margin_bottom"]
            spans.append(span)
            parts.append(text)
            offset += len(text)
        text = PAGE_SEPARATOR.join(parts)
        if not text.strip():
            self.stat_update("dropped_no_text")
            logger.warning(f"{filepath}: pages {pages[0]['page']}-{pages[-1]['page']} have no text")
            return None
        first, last = pages[0]["page"], pages[-1]["page"]
        doc_id = filepath if len(pages) == n_pages else f"{filepath}#pages={first}-{last}"
        metadata: dict[str, Any] = {
            "source": "textbook",
            "title": info["title"],
            "url": self.data_folder.resolve_paths(filepath),
            "language": iso_language(info.get("language") or self.default_language),
            "book_language": info.get("language") or self.default_language,
            "language_source": info.get("language_source", "default"),
            "pages": spans,
            "page_count": n_pages,
            "ocr_pages": sum(1 for p in pages if p["method"] == "ocr"),
            "scanned_pages": sum(1 for p in pages if "ocr_reason" in p),
            "engine": self.engine,
        }
        if chapter is not None or self.split == "chapter":
            metadata["chapter"] = chapter
        for key, value in info.items():
            if key not in ("language", "language_source", "title"):
                metadata.setdefault(key, value)
        return self.get_document_from_dict({"text": text, "id": doc_id, "metadata": metadata}, filepath, doc_id)
