"""Textbook ingestion: PDF books (text layer or OCR) to clean Documents.

- :class:`PdfReader` reads a folder of PDFs, OCRs scanned pages (Tesseract) and keeps page spans;
- :class:`TextbookCleanup` removes running headers, page numbers, front and back matter and OCR
  noise, and rejoins hyphenated words and broken lines;
- :mod:`mmedc.textbooks.sample` writes sample books (text layer and image-only) for demos and tests.
"""

from mmedc.textbooks.cleanup import (
    RULES,
    TextbookCleanup,
    find_page_number,
    is_garbage_line,
    page_number_value,
)
from mmedc.textbooks.ocr import TESSERACT_LANGS, MissingLanguagePackError, ocr_image, require_languages
from mmedc.textbooks.pdf import PdfReader, classify_page

__all__ = [
    "RULES",
    "TESSERACT_LANGS",
    "MissingLanguagePackError",
    "PdfReader",
    "TextbookCleanup",
    "classify_page",
    "find_page_number",
    "is_garbage_line",
    "ocr_image",
    "page_number_value",
    "require_languages",
]
