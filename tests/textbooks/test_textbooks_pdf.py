"""PdfReader and the textbooks recipe on PDFs generated in the test (text layer and page images)."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from datatrove.data import Document

from mmedc.samples.textbooks import (
    can_render,
    normalise,
    render_pages,
    write_scanned_pdf,
    write_text_pdf,
)
from mmedc.textbooks import MissingLanguagePackError, PdfReader, TextbookCleanup
from mmedc.textbooks import ocr as ocr_mod

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, normalise(a), normalise(b), autojunk=False).ratio()


def read(folder: Path, **kwargs) -> tuple[list[Document], PdfReader]:
    reader = PdfReader(str(folder), **kwargs)
    return list(reader.run()), reader


def stats(step) -> dict:
    return {k: v.total for k, v in step.stats.stats.items()}


@pytest.fixture(scope="module")
def text_books(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("text_books")
    books = {}
    for lang in ("en", "fr", "ru", "zh", "ja"):
        if can_render(lang):
            books[lang] = write_text_pdf(folder / f"book_{lang}.pdf", lang)
    return folder, books


@pytest.fixture(scope="module")
def scanned_book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scanned")
    book = write_scanned_pdf(folder / "scan_fr.pdf", "fr", dpi=200)
    docs, reader = read(folder)
    return book, docs, reader


def test_text_layer_books_clean_to_their_source(text_books):
    folder, books = text_books
    docs, reader = read(folder)
    assert len(docs) == len(books)
    cleanup = TextbookCleanup()
    by_lang = {}
    for doc in docs:
        raw = doc.text
        assert "\f" in raw  # page structure kept for the cleanup
        assert doc.metadata["source"] == "textbook"
        assert doc.metadata["ocr_pages"] == 0
        assert cleanup.filter(doc) is True
        by_lang[doc.metadata["language"]] = (raw, doc)
    assert set(by_lang) == set(books)  # language detected from the text layer of every book
    for lang, book in books.items():
        raw, doc = by_lang[lang]
        assert doc.metadata["title"] == book.title
        assert doc.metadata["language_source"] == "detected"
        before, after = similarity(raw, book.body), similarity(doc.text, book.body)
        assert after > before
        assert after > 0.97, (lang, after, doc.text)
        for word in book.hyphenated:  # every word split at a line end is whole again
            assert word in doc.text, (lang, word)
        for header in book.headers:
            if header != book.title and header not in book.body:
                assert header not in doc.text
        assert book.title not in doc.text  # title page and running header with the book title
        assert "ISBN" not in doc.text and "..... " not in doc.text


def test_page_spans_and_printed_numbers(text_books):
    folder, books = text_books
    docs, _ = read(folder, glob_pattern="book_en.pdf")
    (doc,) = docs
    pages = doc.metadata["pages"]
    assert [p["page"] for p in pages] == list(range(1, books["en"].pages + 1))
    for p in pages:
        assert doc.text[p["start"]:p["end"]] == doc.text.split("\f")[p["page"] - 1]
    printed = [p.get("printed") for p in pages]
    assert printed[:3] == [None, None, None]  # front matter carries no page number
    assert printed[3:] == [str(i) for i in range(2, books["en"].pages - 1)]


def test_split_by_chapter_from_outline(text_books):
    folder, books = text_books
    docs, _ = read(folder, glob_pattern="book_en.pdf", split="chapter")
    chapters = [d.metadata.get("chapter") for d in docs]
    assert chapters == [None] + [title for title, _ in books["en"].chapters] + ["References"]
    assert docs[1].id.endswith(f"#pages={books['en'].chapters[0][1]}-{books['en'].chapters[1][1] - 1}")
    cleaned = [d for d in docs if TextbookCleanup().filter(d) is True]
    assert [d.metadata["chapter"] for d in cleaned] == chapters[1:3]  # front matter and references dropped
    for doc, (title, _) in zip(cleaned, books["en"].chapters):
        assert doc.text.startswith(title + "\n\n")  # the chapter heading is kept, once
        assert doc.text.count(title) == 1


def test_pdfplumber_engine_agrees(text_books):
    folder, books = text_books
    a, _ = read(folder, glob_pattern="book_en.pdf")
    b, _ = read(folder, glob_pattern="book_en.pdf", engine="pdfplumber")
    for doc in a + b:
        TextbookCleanup().filter(doc)
    assert similarity(a[0].text, b[0].text) > 0.99


def test_scanned_book_is_ocrd_and_cleaned(scanned_book):
    book, docs, reader = scanned_book
    (doc,) = docs
    assert doc.metadata["ocr_pages"] == book.pages
    assert doc.metadata["language"] == "fr" and doc.metadata["language_source"] == "sidecar"
    raw = doc.text
    assert TextbookCleanup().filter(doc) is True
    assert similarity(doc.text, book.body) > 0.95
    assert similarity(doc.text, book.body) > similarity(raw, book.body)
    assert stats(reader)["pages_ocr"] == doc.metadata["ocr_pages"]


def test_ocr_language_detected_without_sidecar(tmp_path):
    if not can_render("ja"):
        pytest.skip("no CJK font installed")
    book = write_scanned_pdf(tmp_path / "scan_ja.pdf", "ja", dpi=200, sidecar=False, with_front=False)
    docs, reader = read(tmp_path)
    (doc,) = docs
    assert doc.metadata["language"] == "ja" and doc.metadata["language_source"] == "detected"
    assert not any("ocr_vertical" in p for p in doc.metadata["pages"])  # horizontal text is not flagged
    assert stats(reader).get("pages_ocr_vertical", 0) == 0
    TextbookCleanup().filter(doc)
    assert similarity(doc.text, book.body) > 0.9


def test_language_option_and_bad_sidecar(tmp_path, text_books):
    folder, _ = text_books
    shutil.copy(folder / "book_fr.pdf", tmp_path / "a.pdf")
    (tmp_path / "a.json").write_text("{not json")
    docs, reader = read(tmp_path)
    assert docs[0].metadata["language"] == "fr"  # detected after the broken sidecar was ignored
    assert stats(reader)["error_sidecar"] == 1
    docs, _ = read(tmp_path, language={"a": "es"})
    assert docs[0].metadata["language"] == "es" and docs[0].metadata["language_source"] == "option"
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        PdfReader(str(tmp_path), language="xx")


def test_languages_accept_iso_and_tesseract_codes(tmp_path):
    reader = PdfReader(str(tmp_path), language="fra", ocr_languages=("rus", "eng"), default_language="spa")
    assert reader.language == "fr" and reader.ocr_languages == ("ru", "en") and reader.default_language == "es"
    assert PdfReader(str(tmp_path), language="chi_sim+eng").language == "zh+en"
    assert PdfReader(str(tmp_path), language={"a": "jpn"}).language == {"a": "ja"}
    for bad in ({"ocr_languages": ("rus", "klingon")}, {"language": {"a": "xx"}}, {"default_language": "zz"},
                {"ocr_languages": ()}):
        with pytest.raises(ValueError):
            PdfReader(str(tmp_path), **bad)


def test_russian_scan_detected_with_tesseract_codes(tmp_path):
    """``ocr_languages=("rus", "eng")`` keeps detection on: a Russian scan is read as Russian, not English."""
    book = write_scanned_pdf(tmp_path / "scan_ru.pdf", "ru", dpi=200, sidecar=False, with_front=False)
    docs, reader = read(tmp_path, ocr_languages=("rus", "eng"))
    (doc,) = docs
    assert doc.metadata["language"] == "ru" and doc.metadata["language_source"] == "detected"
    TextbookCleanup().filter(doc)
    assert similarity(doc.text, book.body) > 0.9


def test_forced_language_contradicted_by_the_ocr_is_counted(tmp_path):
    write_scanned_pdf(tmp_path / "scan_fr.pdf", "fr", dpi=200, sidecar=False, with_front=False)
    docs, reader = read(tmp_path, language="es")
    assert docs[0].metadata["ocr_language_detected"] == "fr"
    assert stats(reader)["ocr_language_mismatch"] == 1


def _encrypted_pdf(path: Path) -> None:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("secret", ownerPassword="owner"))
    c.drawString(72, 720, "Confidential text that cannot be read without the password.")
    c.save()


def _zero_page_pdf(path: Path) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.save(str(path))
    pdf.close()


def test_bad_inputs_are_counted_and_skipped(tmp_path, text_books, caplog):
    folder, _ = text_books
    good = tmp_path / "good.pdf"
    shutil.copy(folder / "book_en.pdf", good)
    (tmp_path / "text.pdf").write_text("this is not a PDF at all")
    data = good.read_bytes()
    (tmp_path / "truncated.pdf").write_bytes(data[: len(data) // 3])
    (tmp_path / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    _encrypted_pdf(tmp_path / "encrypted.pdf")
    _zero_page_pdf(tmp_path / "empty.pdf")
    docs, reader = read(tmp_path)
    s = stats(reader)
    assert [d.id for d in docs if d.id.endswith("/good.pdf")] == [f"{tmp_path}/good.pdf"]
    assert s["error_not_a_pdf"] == 1
    assert s["error_encrypted"] == 1
    assert s["error_zero_pages"] == 1
    # pdfium repairs what it can of a truncated file; what it cannot open is "corrupt"
    assert s.get("error_corrupt", 0) + sum(1 for d in docs if d.id.endswith("/truncated.pdf")) >= 1
    assert s.get("error_corrupt", 0) >= 1  # the random bytes
    assert s["input_files"] == 6


def test_bad_input_is_logged_with_file_and_reason(tmp_path):
    from datatrove.utils.logging import logger

    (tmp_path / "notes.pdf").write_text("plain text")
    messages: list[str] = []
    handle = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    try:
        read(tmp_path)
    finally:
        logger.remove(handle)
    assert any("notes.pdf" in m and "not_a_pdf" in m for m in messages)


def test_enormous_page_is_rendered_within_the_pixel_bound(tmp_path):
    from PIL import Image

    img = Image.new("L", (400, 400), 255)
    path = tmp_path / "huge.pdf"
    img.save(path, "PDF", resolution=2.0)  # 200 x 200 inch page: 3.6 billion pixels at 300 dpi
    docs, reader = read(tmp_path, max_pixels=2_000_000, language="en")
    assert docs == []  # a blank page: nothing to keep
    s = stats(reader)
    assert s["pages_ocr"] == 1 and s["pages_downscaled"] == 1


def test_missing_language_pack_is_a_clear_error(tmp_path, monkeypatch, text_books):
    folder, _ = text_books
    monkeypatch.setattr(ocr_mod, "installed_languages", lambda: frozenset({"eng", "osd"}))
    reader = PdfReader(str(folder), ocr_languages=("en", "zh"))
    with pytest.raises(MissingLanguagePackError, match="chi_sim.*apt-get install tesseract-ocr-chi-sim"):
        list(reader.run())
    assert list(PdfReader(str(folder), ocr="never", glob_pattern="book_en.pdf").run())  # no OCR, no check


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ocr_of_rendered_page(lang):
    if not can_render(lang):
        pytest.skip("font missing")
    images, pages, *_ = render_pages(lang, dpi=300, with_front=False)
    truth = "".join(t for t, _ in pages[0].lines)
    text = ocr_mod.ocr_image(images[0], lang)
    assert similarity(text.replace("\n", ""), truth) > 0.97
    if lang == "zh":
        assert " " not in normalise(text).replace(" ", "") and "心血管" in text


def test_short_text_page_without_images_is_kept(tmp_path):
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(tmp_path / "short.pdf"))
    c.drawString(72, 720, "Text1")
    c.showPage()
    c.save()
    docs, reader = read(tmp_path, language="en")
    assert [d.text for d in docs] == ["Text1"]
    assert stats(reader)["pages_empty"] == 1 and "pages_ocr" not in stats(reader)  # nothing to OCR: no image


def test_upside_down_scan_is_turned_upright(tmp_path):
    from mmedc.samples.textbooks import render_text_page

    text = ("Hypertension is the most common chronic condition seen in primary care. Persistent elevation of "
            "arterial pressure damages the vascular endothelium and accelerates atherosclerosis.")
    image, lines = render_text_page(text, "en", dpi=200)
    image.rotate(180).save(tmp_path / "upside_down.pdf", "PDF", resolution=200.0)
    (plain,), _ = read(tmp_path, language="en", retry_confidence=0, min_ocr_confidence=0)
    (fixed,), reader = read(tmp_path, language="en", rotate_pages=True)
    assert similarity(fixed.text, " ".join(lines)) > 0.97
    assert similarity(plain.text, " ".join(lines)) < 0.5
    assert plain.metadata["pages"][0]["ocr_conf"] < 40  # what an upside-down page reads at
    assert fixed.metadata["pages"][0]["rotated"] == 180 and stats(reader)["pages_rotated"] == 1
    # without rotate_pages, the low confidence of the first reading asks for the orientation
    (auto,), reader = read(tmp_path, language="en")
    assert similarity(auto.text, " ".join(lines)) > 0.97
    assert auto.metadata["pages"][0]["rotated"] == 180 and stats(reader)["pages_rotated_low_confidence"] == 1
    assert auto.metadata["pages"][0]["ocr_conf"] > 80


def test_garbage_confidence_page_is_dropped_and_counted(tmp_path):
    """A page of texture (a photo, a plate) gives tesseract words it reads at a garbage confidence."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    texture = Image.fromarray((rng.random((1400, 1000)) * 255).astype("uint8")).filter(ImageFilter.GaussianBlur(2))
    texture = texture.point(lambda v: 0 if v < 118 else 255)
    texture.save(tmp_path / "plate.pdf", "PDF", resolution=200.0)
    docs, reader = read(tmp_path, language="en", retry_confidence=0)
    s = stats(reader)
    assert docs == [] and s["pages_ocr_low_confidence"] == 1 and s["dropped_no_text"] == 1


def test_sidecar_with_wrong_types_is_ignored_not_fatal(tmp_path, text_books):
    folder, _ = text_books
    shutil.copy(folder / "book_en.pdf", tmp_path / "b.pdf")
    (tmp_path / "b.json").write_text('{"language": 12, "title": "Sidecar title"}')
    docs, reader = read(tmp_path)
    assert docs[0].metadata["language"] == "en" and docs[0].metadata["language_source"] == "detected"
    assert docs[0].metadata["title"] != "Sidecar title"  # the whole sidecar was ignored
    assert stats(reader)["error_sidecar"] == 1
    (tmp_path / "b.json").write_text('{"languages": ["en", "fr"], "edition": 3}')
    docs, _ = read(tmp_path)
    assert docs[0].metadata["book_language"] == "en+fr" and docs[0].metadata["edition"] == 3


def test_shredded_ocr_is_read_again_as_one_block(monkeypatch):
    shredded = "\n\n".join(["高血", "压是", "基", "层医疗", "中最常", "见的", "慢性"] * 3)
    coherent = "高血压是基层医疗中最常见的慢性疾病。\n血压长期升高会损伤血管内皮。"
    calls = []

    def fake(image, lang="eng", psm=3, timeout=0, dpi=None, thicken=None):
        calls.append(psm)
        return shredded if psm == 3 else coherent

    monkeypatch.setattr(ocr_mod, "ocr_image", fake)
    assert ocr_mod.line_coherence(shredded) == 0.0 and ocr_mod.line_coherence(coherent) == 1.0
    assert ocr_mod.ocr_page(None, "zh") == (coherent, True) and calls == [3, 6]
    calls.clear()
    monkeypatch.setattr(ocr_mod, "ocr_image", lambda *a, **k: calls.append(k.get("psm")) or coherent)
    assert ocr_mod.ocr_page(None, "zh") == (coherent, False) and calls == [3]  # one pass when coherent


CHINESE = ("高血压是基层医疗中最常见的慢性疾病，长期血压升高会损伤心、脑、肾和血管。"
           "糖尿病患者应定期检查血糖、糖化血红蛋白和尿微量白蛋白，并在医生指导下调整用药。") * 4


def test_min_filter3_is_pillows_min_filter_pixel_for_pixel():
    """The thickening filter is numpy's, for speed: it must give Pillow's MinFilter(3) exactly,
    edges included, on any size (one-pixel images too)."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    for shape in [(1, 1), (1, 7), (5, 1), (2, 3), (64, 97), (301, 211)]:
        image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
        ours = np.asarray(ocr_mod.min_filter3(image))
        assert ours.shape == shape
        assert np.array_equal(ours, np.asarray(image.filter(ImageFilter.MinFilter(3)))), shape


def test_thin_chinese_strokes_are_thickened_and_heavy_ones_left_alone():
    if not can_render("zh"):
        pytest.skip("font missing")
    from PIL import Image, ImageFilter

    from mmedc.samples.textbooks import render_text_page

    page, _ = render_text_page(CHINESE, "zh", dpi=300)
    thin = ocr_mod.stroke_width(page)
    assert 1 <= thin <= 4  # 11 pt Song type at 300 dpi
    thick, done = ocr_mod.thicken_strokes(page, 300)
    assert done and ocr_mod.stroke_width(thick) > thin
    assert sum(thick.histogram()[:128]) > 1.3 * sum(page.histogram()[:128])  # more ink, same page
    heavy = page.filter(ImageFilter.MinFilter(5))  # bold type / ink spread
    assert ocr_mod.stroke_width(heavy) > 5.5 and ocr_mod.thicken_strokes(heavy, 300) == (heavy, False)
    low, _ = render_text_page(CHINESE, "zh", dpi=200)
    assert ocr_mod.thicken_strokes(low, 200)[1] is False  # no gain measured at 200 dpi
    blank = Image.new("L", (300, 300), 255)
    assert ocr_mod.stroke_width(blank) == float("inf") and not ocr_mod.thicken_strokes(blank)[1]
    assert ocr_mod.needs_thickening("zh") and ocr_mod.needs_thickening("en+chi_sim")
    assert not any(ocr_mod.needs_thickening(lang) for lang in ("en", "fr", "es", "ru", "ja"))


def test_ocr_thickens_chinese_pages_only(monkeypatch):
    if not can_render("zh"):
        pytest.skip("font missing")
    from mmedc.samples.textbooks import render_text_page

    seen = []
    monkeypatch.setattr("pytesseract.image_to_string",
                        lambda image, lang, config, timeout: seen.append(ocr_mod.stroke_width(image)) or "")
    page, _ = render_text_page(CHINESE, "zh", dpi=300)
    base = ocr_mod.stroke_width(page)
    ocr_mod.ocr_image(page, "zh")
    ocr_mod.ocr_image(page, "ja")
    ocr_mod.ocr_image(page, "zh", thicken=False)
    ocr_mod.ocr_image(page, "ja", thicken=True)
    assert seen[0] > base and seen[1] == base and seen[2] == base and seen[3] > base


@pytest.mark.parametrize("thicken", [True, False])
def test_reader_records_thickened_pages(tmp_path, monkeypatch, thicken):
    if not can_render("zh"):
        pytest.skip("font missing")
    import mmedc.textbooks.pdf as pdf_mod

    book = write_scanned_pdf(tmp_path / "scan_zh.pdf", "zh", dpi=200, with_front=False)
    widths = []

    def fake_read_page(image, lang, **kwargs):  # the reader decides thickening once, before OCR
        widths.append(ocr_mod.stroke_width(image))
        return ocr_mod.OcrReading("高血压是基层医疗中最常见的慢性疾病。", 90.0), False

    monkeypatch.setattr(pdf_mod, "read_page", fake_read_page)
    docs, reader = read(tmp_path, thicken=thicken)
    spans = docs[0].metadata["pages"]
    assert len(spans) == book.pages and all(s["method"] == "ocr" for s in spans)
    marked = [s for s in spans if s.get("ocr_thickened")]
    assert len(marked) == (book.pages if thicken else 0)
    assert stats(reader).get("pages_ocr_thickened", 0) == len(marked)
    assert all(w >= 5 for w in widths) if thicken else all(w <= 4 for w in widths)


def test_zero_page_pdf_counted_as_such_after_a_corrupt_one(tmp_path):
    """pdfium keeps the error of an earlier file: a zero-page PDF read after a corrupt one is still zero_pages."""
    (tmp_path / "a_garbage.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    _zero_page_pdf(tmp_path / "b_empty.pdf")
    (tmp_path / "c_garbage.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <</Type /Pages /Count 0>> endobj\n" + bytes(range(256)))
    _zero_page_pdf(tmp_path / "d_empty.pdf")
    docs, reader = read(tmp_path)
    s = stats(reader)
    assert docs == []
    assert s["error_zero_pages"] == 2
    assert s["error_corrupt"] == 2


def test_page_sized_image_is_ocrd_as_stored(tmp_path):
    from mmedc.samples.textbooks import render_text_page

    text = ("Hypertension is the most common chronic condition seen in primary care. Persistent elevation of "
            "arterial pressure damages the vascular endothelium and accelerates atherosclerosis.")
    image, lines = render_text_page(text, "en", dpi=300)
    image.save(tmp_path / "scan300.pdf", "PDF", resolution=300.0)
    (stored,), reader = read(tmp_path, language="en")
    (rendered,), _ = read(tmp_path, language="en", stored_image=False)
    page = stored.metadata["pages"][0]
    assert page["ocr_source"] == "stored" and stats(reader)["pages_ocr_stored_image"] == 1
    assert "ocr_source" not in rendered.metadata["pages"][0]
    assert similarity(stored.text, " ".join(lines)) >= similarity(rendered.text, " ".join(lines)) - 0.01
    assert page["ocr_conf"] > 80
    # a 200 dpi image is rendered at the reader's 300 dpi instead (tesseract reads 300 dpi best)
    image200, _ = render_text_page(text, "en", dpi=200)
    (tmp_path / "scan300.pdf").unlink()
    image200.save(tmp_path / "scan200.pdf", "PDF", resolution=200.0)
    (low,), _ = read(tmp_path, language="en")
    assert "ocr_source" not in low.metadata["pages"][0]


def test_roman_numerals_read_as_cyrillic_are_written_back():
    fix = ocr_mod.fix_cyrillic_roman
    assert fix("факторы свертывания (П, УП, Х) и антитромбин Ш.") == "факторы свертывания (II, VII, Х) и антитромбин III."
    assert fix("ХП съезд; ХУП век; в П стадии") == "XII съезд; XVII век; в II стадии"
    for text in ("У больного Х-образные ноги", "Подавляет Шум", "ПШ", "пункт п. 3"):
        assert fix(text) == text  # words, and what is not a numeral, stay


def test_vertical_text_is_detected_and_counted(tmp_path):
    """A page of vertical Japanese (columns right to left) is counted, not silently read as lines."""
    if not can_render("ja"):
        pytest.skip("no CJK font installed")
    from PIL import Image, ImageDraw, ImageFont

    from mmedc.samples.textbooks import cjk_font_path

    font = ImageFont.truetype(cjk_font_path(), 40, index=0)
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    text = "高血圧は日常診療で最も多い慢性疾患であり血圧の上昇は血管の内皮を傷つけて動脈硬化を進める" * 3
    for col in range(12):
        for row in range(30):
            ch = text[(col * 30 + row) % len(text)]
            draw.text((1140 - col * 90, 100 + row * 50), ch, font=font, fill=0)
    page.save(tmp_path / "vertical.pdf", "PDF", resolution=150.0)
    docs, reader = read(tmp_path, language="ja", retry_confidence=0, min_ocr_confidence=0)
    assert stats(reader)["pages_ocr_vertical"] == 1
    assert docs[0].metadata["pages"][0]["ocr_vertical"] >= 0.5
    # the same columns under a block of horizontal lines: mixed, counted apart
    mixed = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(mixed)
    for line in range(18):
        draw.text((60, 60 + line * 52), text[line * 20:(line + 1) * 20], font=font, fill=0)
    for col in range(4):
        for row in range(14):
            draw.text((1140 - col * 90, 1020 + row * 50), text[(col * 14 + row) % len(text)], font=font, fill=0)
    (tmp_path / "vertical.pdf").unlink()
    mixed.save(tmp_path / "mixed.pdf", "PDF", resolution=150.0)
    docs, reader = read(tmp_path, language="ja", retry_confidence=0, min_ocr_confidence=0)
    assert stats(reader).get("pages_ocr_vertical", 0) == 0
    assert stats(reader)["pages_ocr_mixed_vertical"] == 1


def test_latin_names_on_a_russian_page_are_read_with_english(tmp_path):
    """Species and drug names in Latin on a Cyrillic page: the words ``rus`` reads unsure send the page
    to a second reading with English added, kept when more confident."""
    from mmedc.samples.textbooks import render_text_page

    text = ("Возбудители дерматомикозов: Trichophyton rubrum, Trichophyton mentagrophytes, Microsporum canis, "
            "Epidermophyton floccosum. Кандидоз вызывают Candida albicans и Candida glabrata; плесневые грибы "
            "Aspergillus fumigatus и Aspergillus niger поражают лёгкие. Лечение: тербинафин, итраконазол, "
            "флуконазол по схеме, которую назначает врач после посева и микроскопии материала.")
    image, lines = render_text_page(text, "ru", dpi=300)
    image.save(tmp_path / "ru_latin.pdf", "PDF", resolution=300.0)
    (plain,), _ = read(tmp_path, language="ru", latin_retry_share=1.0)
    (doc,), reader = read(tmp_path, language="ru")
    assert stats(reader)["pages_ocr_latin_retry"] == 1
    assert doc.metadata["pages"][0]["ocr_languages"] == "ru+en"
    assert similarity(doc.text, " ".join(lines)) > similarity(plain.text, " ".join(lines))
    assert "Trichophyton rubrum" in doc.text and "Trichophyton rubrum" not in plain.text


def test_ids_are_unique_across_input_folders(text_books, tmp_path):
    """The same file name in two input folders gives two ids (they start with the folder as given)."""
    folder, _ = text_books
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(folder / "book_en.pdf", tmp_path / sub / "book.pdf")
    ids = [d.id for sub in ("a", "b") for d in read(tmp_path / sub)[0]]
    assert ids == [f"{tmp_path}/a/book.pdf", f"{tmp_path}/b/book.pdf"]
