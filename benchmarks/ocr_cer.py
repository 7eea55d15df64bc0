"""OCR quality and speed: character error rate (CER) and pages/s per core.

Measures, in one run:
1. CER on ``phototest.tif`` (a real scan, tesseract's own test page) against its gold text, and on
   its rotated copies, as is (baseline) and after :func:`mmedc.textbooks.ocr.upright` (OSD);
   and on the rendered pages shrunk to 70%, tesseract's layout analysis alone (baseline) vs
   :func:`mmedc.textbooks.ocr.ocr_page`, which reads a page shredded into fragments again as one block;
2. CER on pages rendered at 300 dpi from real sentences in en, fr, es, ru, zh, ja
   (``text/general/<lang>.txt``, Leipzig corpora) with the fonts the sample books use;
   baselines in the same run: tesseract's raw output, before mmedc removes the spaces it inserts
   between Chinese/Japanese characters, and mmedc without stroke thickening (the previous setting);
   and the same pages at 200 dpi;
2c. Chinese in the four Noto CJK faces (Serif/Sans, Regular/Bold) and as binarised 200 dpi scans,
   with and without stroke thickening (:func:`mmedc.textbooks.ocr.thicken_strokes`), on other
   sentences than section 2 (pages ``--pages`` onwards);
2d. with ``--candidates``: the other settings tried for Chinese, against mmedc's, on the same pages:
   400 dpi, ``chi_sim+chi_tra`` (when the pack is installed), psm 6, ``preserve_interword_spaces``,
   Sauvola binarisation, no thickening;
3. similarity to their source text of the six scanned sample books (image-only PDFs), OCR'd by
   PdfReader, raw and after TextbookCleanup;
4. OCR pages/s on one core (``OMP_THREAD_LIMIT=1``, what every mmedc task runs) vs tesseract's default
   threading, on the rendered pages; and on the Chinese pages alone, with and without thickening.

CER = Levenshtein distance / reference length, after joining lines (no space between CJK characters,
full-width punctuation included, at a line break) and collapsing whitespace in both texts; full- and half-width forms (``！``/``!``)
count as one character (NFKC), the strict figure is printed beside it. Real data: ``../shared/data`` (override with ``--data``).

    .venv/bin/python benchmarks/ocr_cer.py [--data ../shared/data] [--pages 2]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

LANGS = ("en", "fr", "es", "ru", "zh", "ja")


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])\s*\n\s*(?=[{_CJK}])")


def norm(text: str, nfkc: bool) -> str:
    """Join lines (without a space between CJK characters), collapse whitespace; NFKC if asked.

    Lines are joined before NFKC: NFKC turns a full-width comma ending a line into an ASCII one, which
    would then be joined to the next line with a space that counts as an error.
    """
    text = _CJK_BREAK.sub("", text.strip())
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", text)


def cer(hyp: str, ref: str, nfkc: bool = True) -> float:
    """Character error rate. ``nfkc``: full- and half-width forms of a character count as the same."""
    h, r = norm(hyp, nfkc), norm(ref, nfkc)
    return levenshtein(h, r) / max(1, len(r))


def raw_tesseract(image, lang: str) -> str:
    """tesseract's output as is (the baseline: no CJK space removal)."""
    import pytesseract

    from mmedc.textbooks.ocr import tesseract_lang

    return pytesseract.image_to_string(image, lang=tesseract_lang(lang), config="--psm 3")


def page_text(data: Path, lang: str, page: int) -> str:
    sentences = [s.strip() for s in (data / "text" / "general" / f"{lang}.txt").read_text().splitlines() if s.strip()]
    sep = "" if lang in ("zh", "ja") else " "
    start = page * 12
    return sep.join(sentences[start:start + 12])


def chinese_faces(data: Path, first: int, n: int) -> None:
    """CER of Chinese pages in the four Noto CJK faces, rendered at 300 dpi and as binarised 200 dpi scans
    (read at 300 dpi, as PdfReader renders them), thickened (mmedc) vs not (baseline)."""
    from PIL import Image

    from mmedc.samples import textbooks as sample
    from mmedc.textbooks.ocr import ocr_image, stroke_width

    folder = Path(sample.cjk_font_path() or "").parent
    faces = [f for f in ("NotoSerifCJK-Regular", "NotoSerifCJK-Bold", "NotoSansCJK-Regular", "NotoSansCJK-Bold")
             if (folder / f"{f}.ttc").exists()]
    print(f"\nChinese, pages {first + 1}-{first + n} of the sentences, per typeface: CER not thickened (baseline)"
          " vs thickened when thin (mmedc)")
    print(f"{'face':<22}{'page':<16}{'stroke px':>10}{'baseline':>10}{'mmedc':>8}")
    original = sample.cjk_font_path
    try:
        for face in faces:
            sample.cjk_font_path = lambda face=face: str(folder / f"{face}.ttc")  # render_text_page's font
            for kind in ("300 dpi render", "200 dpi scan"):
                err = {"base": 0.0, "mmedc": 0.0}
                chars, widths = 0, []
                for p in range(first, first + n):
                    if kind == "300 dpi render":
                        image, lines = sample.render_text_page(page_text(data, "zh", p), "zh", dpi=300)
                    else:
                        image, lines = sample.render_text_page(page_text(data, "zh", p), "zh", dpi=200)
                        image = image.point(lambda v: 255 if v > 128 else 0)
                        image = image.resize((image.width * 3 // 2, image.height * 3 // 2), Image.BICUBIC)
                    truth = "".join(lines)
                    widths.append(stroke_width(image))
                    chars += len(truth)
                    err["base"] += cer(ocr_image(image, "zh", dpi=300, thicken=False), truth) * len(truth)
                    err["mmedc"] += cer(ocr_image(image, "zh", dpi=300), truth) * len(truth)
                print(f"{face:<22}{kind:<16}{sum(widths) / len(widths):>10.1f}{err['base'] / chars:>10.2%}"
                      f"{err['mmedc'] / chars:>8.2%}")
    finally:
        sample.cjk_font_path = original


def chinese_candidates(data: Path, n: int) -> None:
    """CER and s/page of the candidate OCR settings for Chinese pages (300 dpi renders unless stated)."""
    import pytesseract

    from mmedc.samples.textbooks import render_text_page
    from mmedc.textbooks.ocr import clean_ocr_text, installed_languages, ocr_image

    def tess(lang: str, config: str):
        return lambda image: clean_ocr_text(pytesseract.image_to_string(image, lang=lang, config=config))

    candidates = [
        ("mmedc: chi_sim, psm 3, thickened when thin", 300, lambda image: ocr_image(image, "zh", dpi=300)),
        ("not thickened (previous setting)", 300, tess("chi_sim", "--psm 3 --dpi 300")),
        ("400 dpi", 400, tess("chi_sim", "--psm 3 --dpi 400")),
        ("400 dpi, thickened", 400, lambda image: ocr_image(image, "zh", dpi=400)),
        ("psm 6 (one block)", 300, tess("chi_sim", "--psm 6 --dpi 300")),
        ("preserve_interword_spaces=1", 300, tess("chi_sim", "--psm 3 --dpi 300 -c preserve_interword_spaces=1")),
        ("Sauvola binarisation", 300, tess("chi_sim", "--psm 3 --dpi 300 -c thresholding_method=2")),
    ]
    if "chi_tra" in installed_languages():
        candidates.insert(4, ("chi_sim+chi_tra", 300, tess("chi_sim+chi_tra", "--psm 3 --dpi 300")))
    rendered = {dpi: [render_text_page(page_text(data, "zh", p), "zh", dpi=dpi) for p in range(n)] for dpi in (300, 400)}
    print(f"\nChinese candidates, pages 1-{n} of the sentences")
    print(f"{'setting':<46}{'CER':>8}{'s/page':>8}")
    for label, dpi, read in candidates:
        err, chars, secs = 0.0, 0, 0.0
        for image, lines in rendered[dpi]:
            truth = "".join(lines)
            t = time.perf_counter()
            text = read(image)
            secs += time.perf_counter() - t
            err += cer(text, truth) * len(truth)
            chars += len(truth)
        print(f"{label:<46}{err / chars:>8.2%}{secs / n:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--pages", type=int, default=2, help="rendered pages per language")
    ap.add_argument("--faces-pages", type=int, default=3, help="Chinese pages per typeface in section 2c")
    ap.add_argument("--candidates", type=int, default=0, metavar="N",
                    help="compare the candidate Chinese settings on N pages (section 2d; off by default)")
    ap.add_argument("--speed-seconds", type=float, default=8.0, help="time budget of each speed measurement")
    ap.add_argument("--no-books", dest="books", action="store_false", help="skip the scanned sample books")
    args = ap.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"skipped: no evaluation data at {args.data} (the repository's ../shared/data; pass --data)")
        return 0
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from PIL import Image

    from mmedc.samples.textbooks import can_render, render_text_page
    from mmedc.textbooks.ocr import ocr_image

    data = Path(args.data)
    print(f"tesseract {subprocess.run(['tesseract', '--version'], capture_output=True, text=True).stdout.split()[1]}")

    # 1. the real scan
    gold = (data / "ocr" / "phototest.gold.txt").read_text()
    img = Image.open(data / "ocr" / "phototest.tif")
    t = time.perf_counter()
    out = ocr_image(img, "en")
    print(f"\nphototest.tif ({img.size[0]}x{img.size[1]}): CER {cer(out, gold):.2%}  ({time.perf_counter() - t:.2f} s)")

    # 1b. the same scan turned sideways and upside down: OCR as is (baseline) vs after OSD rotation
    from mmedc.textbooks.ocr import upright

    for name in ("phototest-rotated-L.png", "phototest-rotated-R.png", "phototest-rotated-180.png"):
        turned = Image.open(data / "ocr" / name).convert("L")
        plain = cer(ocr_image(turned, "en"), gold)
        fixed_img, degrees = upright(turned)
        print(f"{name}: CER as is {plain:.2%}, after upright() ({degrees} deg) {cer(ocr_image(fixed_img, 'en'), gold):.2%}")

    # 2. rendered pages in six languages
    print(f"\nrendered A5 pages, 11 pt, {args.pages} page(s) per language")
    print(f"{'lang':<5}{'chars':>7}{'CER 300dpi':>12}{'strict':>8}{'baseline raw':>14}{'not thickened':>15}"
          f"{'CER 200dpi':>12}{'s/page':>8}")
    pages = []
    worst = 0.0
    for lang in LANGS:
        if not can_render(lang):
            print(f"{lang:<5} skipped: no font")
            continue
        tot = {"chars": 0, "e300": 0.0, "strict": 0.0, "raw": 0.0, "thin": 0.0, "e200": 0.0, "t": 0.0}
        for p in range(args.pages):
            text = page_text(data, lang, p)
            image, lines = render_text_page(text, lang, dpi=300)
            truth = ("" if lang in ("zh", "ja") else " ").join(lines)
            pages.append((image, lang))
            t = time.perf_counter()
            hyp = ocr_image(image, lang)
            tot["t"] += time.perf_counter() - t
            raw = raw_tesseract(image, lang)
            low, low_lines = render_text_page(text, lang, dpi=200)  # its own truth: lines may wrap differently
            low_truth = ("" if lang in ("zh", "ja") else " ").join(low_lines)
            n = len(truth)
            tot["chars"] += n
            tot["e300"] += cer(hyp, truth) * n
            tot["strict"] += cer(hyp, truth, nfkc=False) * n
            tot["raw"] += cer(raw, truth) * n
            tot["thin"] += cer(ocr_image(image, lang, thicken=False), truth) * n
            tot["e200"] += cer(ocr_image(low, lang), low_truth) * n
        c = tot["chars"]
        worst = max(worst, tot["e300"] / c)
        print(f"{lang:<5}{c:>7}{tot['e300'] / c:>12.2%}{tot['strict'] / c:>8.2%}{tot['raw'] / c:>14.2%}"
              f"{tot['thin'] / c:>15.2%}{tot['e200'] / c:>12.2%}{tot['t'] / args.pages:>8.2f}")
    print(f"worst language at 300 dpi: CER {worst:.2%} (target <= 2%)")

    # 2c. Chinese in other typefaces and as binarised scans, with and without stroke thickening
    if can_render("zh"):
        chinese_faces(data, args.pages, args.faces_pages)
        if args.candidates:
            chinese_candidates(data, args.candidates)

    # 2b. the same pages shrunk to 70% (a 210 dpi scan): tesseract's layout analysis (psm 3, baseline)
    # vs ocr_page, which reads a shredded page again as one block
    from mmedc.textbooks.ocr import ocr_page

    print("\nfirst page per language shrunk to 70% (210 dpi): CER with psm 3 alone vs ocr_page(),"
          " not thickened / thickened when thin (Chinese)")
    for image, lang in pages[::args.pages]:
        small = image.resize((int(image.width * 0.7), int(image.height * 0.7)), Image.LANCZOS)
        truth = ("" if lang in ("zh", "ja") else " ").join(render_text_page(page_text(data, lang, 0), lang)[1])
        row = []
        for thicken in (False, None):
            text, again = ocr_page(small, lang, thicken=thicken)
            row.append(f"psm 3 {cer(ocr_image(small, lang, thicken=thicken), truth):6.2%}  ocr_page "
                       f"{cer(text, truth):6.2%}{' (again)' if again else '        '}")
        print(f"  {lang}: " + "  |  ".join(row))

    # 3. whole scanned books: PdfReader (render + OCR) -> TextbookCleanup, similarity to the book's source
    if args.books:
        import difflib
        import shutil
        import tempfile

        from datatrove.utils.logging import logger

        from mmedc.samples.textbooks import normalise, write_scanned_pdf
        from mmedc.textbooks import PdfReader, TextbookCleanup

        logger.remove()
        print("\nscanned sample books (image-only PDFs, 200 dpi scans): similarity to the source text")
        print(f"{'lang':<5}{'pages':>6}{'raw OCR':>10}{'cleaned':>10}{'s/page':>8}")
        work = Path(tempfile.mkdtemp(prefix="mmedc_ocr_books_"))
        try:
            for lang in LANGS:
                if not can_render(lang):
                    continue
                folder = work / lang
                folder.mkdir()
                book = write_scanned_pdf(folder / f"scan_{lang}.pdf", lang, dpi=200, sidecar=False)
                t = time.perf_counter()
                (doc,) = list(PdfReader(str(folder), language=lang).run())
                secs = time.perf_counter() - t
                raw = doc.text.replace("\f", "\n")
                TextbookCleanup().filter(doc)

                def sim(a: str, truth: str = book.body) -> float:
                    return difflib.SequenceMatcher(None, normalise(a), normalise(truth), autojunk=False).ratio()

                print(f"{lang:<5}{book.pages:>6}{sim(raw):>10.3f}{sim(doc.text):>10.3f}{secs / book.pages:>8.2f}")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # 4. speed: one thread (mmedc's setting) vs tesseract's default threading; Chinese pages with and
    # without stroke thickening
    import pickle

    print("\nOCR speed on the rendered pages (300 dpi)")
    chinese = [pg for pg in pages if pg[1] == "zh"]
    runs = [("all pages, OMP_THREAD_LIMIT=1 (per core)", "1", pages, "None"),
            ("all pages, tesseract default threads", None, pages, "None")]
    if chinese:
        runs += [("zh pages, not thickened (baseline)", "1", chinese, "False"),
                 ("zh pages, thickened when thin (mmedc)", "1", chinese, "None")]
    for label, env, subset, thicken in runs:
        code = (
            "import os,sys,time,pickle;from mmedc.textbooks.ocr import ocr_image;"
            "pages=pickle.load(sys.stdin.buffer);n=0;t=time.perf_counter();b=float(sys.argv[1])\n"
            "while time.perf_counter()-t<b:\n"
            f" img,lang=pages[n%len(pages)];ocr_image(img,lang,thicken={thicken});n+=1\n"
            "print(n, time.perf_counter()-t)"
        )
        env_vars = dict(os.environ)
        env_vars.pop("OMP_THREAD_LIMIT", None)
        if env:
            env_vars["OMP_THREAD_LIMIT"] = env
        res = subprocess.run([sys.executable, "-c", code, str(args.speed_seconds)], input=pickle.dumps(subset),
                             capture_output=True, env=env_vars, check=True)
        n, secs = res.stdout.decode().split()
        print(f"  {label:<42}{int(n) / float(secs):6.2f} pages/s  ({n} pages in {float(secs):.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
