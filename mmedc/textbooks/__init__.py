"""Textbook ingestion: PDF books (text layer or OCR) to clean Documents.

- :class:`PdfReader` (``pdf.py``) reads a folder of PDFs, OCRs scanned pages (Tesseract, ``ocr.py``),
  measures each page's margins (``layout.py``) and keeps page spans;
- :class:`TextbookCleanup` (``cleanup.py``, the block) removes running headers, page numbers,
  footnotes, front and back matter and OCR noise, and rejoins hyphenated words and broken lines; each
  of its rules is a function in ``rules.py``, testable alone;
- :mod:`mmedc.samples.textbooks` writes sample books (text layer and image-only) for demos and tests.

Names are imported on first use (:mod:`mmedc._lazy`).
"""

from mmedc._lazy import lazy_exports

_EXPORTS = {
    "RULES": "mmedc.textbooks.cleanup",
    "TextbookCleanup": "mmedc.textbooks.cleanup",
    "Page": "mmedc.textbooks.rules",
    "find_page_number": "mmedc.textbooks.rules",
    "is_garbage_line": "mmedc.textbooks.rules",
    "page_number_value": "mmedc.textbooks.rules",
    "TESSERACT_LANGS": "mmedc.textbooks.ocr",
    "MissingLanguagePackError": "mmedc.textbooks.ocr",
    "OcrReading": "mmedc.textbooks.ocr",
    "ocr_image": "mmedc.textbooks.ocr",
    "require_languages": "mmedc.textbooks.ocr",
    "PdfReader": "mmedc.textbooks.pdf",
    "classify_page": "mmedc.textbooks.pdf",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
