"""Textbooks on real text: body similarity, CER and lines removed per rule, against the raw engines.

Measures, in one run (data: ``../shared/data``, see its ``SOURCES.md``; override with ``--data``):

1. **text layer**, ``pdf/scanbook_dev/<lang>/text.pdf`` (six books typeset from real medical and
   general text, body-only gold): character error rate (CER) and body similarity of the raw
   pypdfium2 text (baseline) and of PdfReader + TextbookCleanup; lines removed by each rule;
2. **LaTeX**, ``pdf/pypdf``: ``001-trivial`` against the body of its ``.tex``; on the books whose
   ``.tex`` expands macros (``blindtext``, ``lipsum``: no text to compare), the lines removed by each rule
   and the share of the raw text's characters cleanup keeps;
3. **a text-layer book with formulas, dosage tables, lab values, short lines and a reference list**,
   generated here with reportlab (running headers, page numbers, footnotes): body lines lost, lines
   removed by each rule (only headers, footers, page numbers, footnotes and the references should go);
4. **scans**, ``pdf/scanbook_dev/<lang>/scan.pdf`` (the same pages as 300 dpi noisy JPEG images), on
   the first ``--scan-pages`` pages of each book: tesseract alone on the stored page images (baseline:
   ``image_to_string`` in the book's language, psm 3) vs PdfReader + TextbookCleanup, CER of the pages'
   body, line-end hyphens joined on both sides; OCR seconds per page on one core, both; with
   ``--compare-render``, PdfReader on pages re-rendered at 300 dpi instead of the stored images;
5. **phototest.tif** (``ocr/``) as an image and as a one-image PDF: tesseract alone vs PdfReader;
6. **speed**: text-layer pages/s on one core, raw pypdfium2 (baseline) vs PdfReader + TextbookCleanup;
7. **OCR speed**: seconds per page on one core, tesseract alone vs mmedc's per-page OCR, interleaved.

CER = Levenshtein distance / gold length after NFC and whitespace normalisation (zh, ja: all
whitespace removed), the scanbook README's metric. Similarity = ``difflib`` ratio on the same text.
Figures vary with the load of the machine; speed is reported as a ratio against the baseline timed
in the same run.

    .venv/bin/python benchmarks/textbooks_real.py [--data ../shared/data] [--scan-pages 2] [--no-scan]
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

LANGS = ("en", "es", "fr", "ru", "zh", "ja")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core per tesseract, as every mmedc task runs it


def norm(text: str, lang: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\f", "\n"))
    return re.sub(r"\s+", "" if lang in ("zh", "ja") else " ", text).strip()


def cer(hyp: str, gold: str, lang: str) -> float:
    from rapidfuzz.distance import Levenshtein

    h, g = norm(hyp, lang), norm(gold, lang)
    return Levenshtein.distance(h, g) / max(1, len(g))


def similarity(hyp: str, gold: str, lang: str) -> float:
    return difflib.SequenceMatcher(None, norm(hyp, lang), norm(gold, lang), autojunk=False).ratio()


def join_hyphens(text: str) -> str:
    """Join words split at line ends (``dur-\\ning`` -> ``during``): what the baselines get too."""
    return re.sub(r"(?<=[^\W\d_])[-\u00ad]\n(?=[^\W\d_])", "", text)


def removed_by_rule(counts: dict) -> dict[str, int]:
    return {k[len("removed_lines_"):]: v for k, v in sorted(counts.items()) if k.startswith("removed_lines_")}


def quiet() -> None:
    from datatrove.utils.logging import logger

    logger.remove()
    logger.add(sys.stderr, level="ERROR")


def read_book(folder: Path, name: str, lang: str | None, **kwargs):
    from mmedc.textbooks import PdfReader

    reader = PdfReader(str(folder), glob_pattern=name, language=lang, **kwargs)
    return list(reader.run()), reader


# -- 1. text layer ---------------------------------------------------------------------------------
def text_layer(data: Path) -> dict:
    from mmedc.textbooks import TextbookCleanup

    base = data / "pdf" / "scanbook_dev"
    print("\n1. text layer, pdf/scanbook_dev/<lang>/text.pdf: raw pypdfium2 (baseline) vs PdfReader + TextbookCleanup")
    print(f"{'lang':<6}{'CER raw':>9}{'CER mmedc':>11}{'sim raw':>9}{'sim mmedc':>11}  lines removed by rule")
    out = {}
    for lang in LANGS:
        if not (base / lang / "text.pdf").exists():
            continue
        gold = (base / lang / "gold.txt").read_text(encoding="utf-8")
        (doc,), _ = read_book(base / lang, "text.pdf", lang, ocr="never")
        raw = join_hyphens(doc.text)
        TextbookCleanup().filter(doc)
        row = {"cer_raw": cer(raw, gold, lang), "cer": cer(doc.text, gold, lang),
               "sim_raw": similarity(raw, gold, lang), "sim": similarity(doc.text, gold, lang),
               "removed": removed_by_rule(doc.metadata["cleanup"])}
        out[lang] = row
        print(f"{lang:<6}{row['cer_raw']:>9.4f}{row['cer']:>11.4f}{row['sim_raw']:>9.4f}{row['sim']:>11.4f}  "
              f"{row['removed']}")
    return out


# -- 2. LaTeX --------------------------------------------------------------------------------------
def tex_body(path: Path) -> str:
    tex = path.read_text(encoding="utf-8")
    body = tex.split(r"\begin{document}", 1)[1].split(r"\end{document}", 1)[0]
    return re.sub(r"\\[a-zA-Z]+(\[[^]]*\])?(\{[^}]*\})?", " ", body)


def latex(data: Path) -> dict:
    from mmedc.textbooks import TextbookCleanup

    base = data / "pdf" / "pypdf"
    print("\n2. LaTeX and Google Docs PDFs, pdf/pypdf: raw pypdfium2 (baseline) vs PdfReader + TextbookCleanup")
    out = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for pdf in sorted(folder.glob("*.pdf")):
            (doc,), _ = read_book(folder, pdf.name, "en", ocr="never")
            raw = doc.text
            TextbookCleanup().filter(doc)
            row: dict = {"pages": doc.metadata["page_count"], "removed": removed_by_rule(doc.metadata["cleanup"]),
                         "kept_chars": len(norm(doc.text, "en")) / max(1, len(norm(raw, "en")))}
            tex = pdf.with_suffix(".tex")
            if tex.exists() and "lipsum" not in tex.read_text() and "blindtext" not in tex.read_text():
                body = tex_body(tex)
                row["sim_raw"], row["sim"] = similarity(raw, body, "en"), similarity(doc.text, body, "en")
            out[pdf.name] = row
            sims = f"similarity to .tex body raw {row['sim_raw']:.4f} mmedc {row['sim']:.4f}; " if "sim" in row else ""
            print(f"  {pdf.name:<28} {row['pages']:>3} pages: {sims}chars kept {row['kept_chars']:.3f}; "
                  f"lines removed {row['removed']}")
    return out


# -- 3. a generated book with formulas -------------------------------------------------------------
FORMULA_BODY = [
    ("heading", "2.3 Acid-base balance"),
    ("text", "The Henderson-Hasselbalch equation relates the pH of blood to the ratio of bicarbonate to"),
    ("text", "dissolved carbon dioxide, and it is the basis of every acid-base interpretation at the bedside:"),
    ("formula", "pH = 6.1 + log10 ( [HCO3-] / (0.03 × PaCO2) )"),
    ("text", "The anion gap separates the metabolic acidoses into two groups of different causes."),
    ("formula", "AG = Na+ − (Cl− + HCO3−)"),
    ("formula", "= 140 − (104 + 24) = 12"),
    ("text", "Reference values in adults:"),
    ("table", "Na+ 135–145 mmol/L"),
    ("table", "K+ 3.5–5.0 mmol/L"),
    ("table", "Cl− 98–106 mmol/L"),
    ("table", "HCO3− 22–26 mmol/L"),
    ("table", "pH 7.35–7.45"),
    ("text", "Doses of sodium bicarbonate are calculated from the base deficit and the body weight:"),
    ("formula", "dose (mmol) = 0.3 × weight (kg) × base deficit"),
    ("table", "• 1 mmol/kg i.v. over 10 min"),
    ("table", "• then 0.5 mmol/kg"),
    ("table", "Σ ≤ 2 mmol/kg/24 h"),
    ("formula", "∂C/∂t = D ∇²C"),
    ("formula", "|x| ≤ 1"),
    ("table", "—"),
    ("text", "Short lines, symbols and numbers are part of the body text of a clinical book."),
]


def formula_book(path: Path, pages: int = 12) -> list[str]:
    """Write a text-layer book (reportlab) whose body is full of formulas, tables and short lines;
    returns the body lines (what must survive cleanup)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    from mmedc.textbooks.sample import latin_font_path

    font = "Helvetica"
    if latin_font_path():
        pdfmetrics.registerFont(TTFont("DejaVu", latin_font_path()))
        font = "DejaVu"
    c = canvas.Canvas(str(path), pagesize=(420, 595))
    body: list[str] = []
    for p in range(pages):
        c.setFont(font, 8)
        c.drawCentredString(210, 570, "Clinical Chemistry for Physicians" if p % 2 else "Chapter 2. Acid-base balance")
        y = 540
        for kind, line in FORMULA_BODY:
            line = line if kind != "heading" else f"2.{p + 1} Acid-base balance, case {p + 1}"
            c.setFont(font, 12 if kind == "heading" else 10)
            c.drawString(40, y, line)
            body.append(line)
            y -= 20 if kind == "heading" else 13
        if p % 3 == 1:
            c.setFont(font, 7.5)
            c.drawString(40, 70, "* Values differ between laboratories; use the local reference range.")
        c.setFont(font, 8)
        c.drawCentredString(210, 40, str(p + 101))
        c.showPage()
    c.save()
    return body


def formulas() -> dict:
    from mmedc.textbooks import TextbookCleanup

    print("\n3. generated text-layer book with formulas, tables and lab values (12 pages, 22 body lines each)")
    with tempfile.TemporaryDirectory() as tmp:
        body = formula_book(Path(tmp) / "formulas.pdf")
        (doc,), _ = read_book(Path(tmp), "formulas.pdf", "en", ocr="never")
        raw = doc.text
        TextbookCleanup().filter(doc)
    kept_raw = sum(1 for ln in body if ln in raw)
    kept = sum(1 for ln in body if ln in doc.text)
    lost = [ln for ln in body if ln not in doc.text]
    removed = removed_by_rule(doc.metadata["cleanup"])
    print(f"  body lines in the raw text {kept_raw}/{len(body)}, after cleanup {kept}/{len(body)}; "
          f"lines removed by rule {removed}")
    if lost:
        print(f"  lost: {Counter(lost).most_common(5)}")
    return {"body_lines": len(body), "kept": kept, "kept_raw": kept_raw, "removed": removed}


# -- 4. scans --------------------------------------------------------------------------------------
def pages_gold(pages_json: dict, pages: list[int], gold: str) -> str:
    """The body of some pages: their lines, line-end hyphens joined as the book's gold text joins them."""
    lines = [ln for p in pages for ln in pages_json["pages"][p]["body_lines"]]
    out = lines[0] if lines else ""
    for line in lines[1:]:
        if out.endswith("-") and line[:1].isalpha():
            head = re.findall(r"[^\W\d_]+-$", out)
            tail = re.match(r"[^\W\d_]+", line)
            if head and tail and (head[0][:-1] + tail.group()) in gold:
                out = out[:-1] + line
                continue
            out += line
            continue
        out += "\n" + line
    return out


def tesseract_alone(image, lang: str) -> str:
    import pytesseract

    from mmedc.lang import tesseract_code

    return pytesseract.image_to_string(image, lang=tesseract_code(lang), config="--psm 3")


def stored_image(pdf_path: Path, page: int):
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(str(pdf_path))
    obj = next(pdf[page].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
    return obj.get_bitmap(render=False).to_pil().convert("L")


def scans(data: Path, n_pages: int, compare_render: bool = False, langs: tuple[str, ...] = LANGS) -> dict:
    import pypdfium2 as pdfium

    from mmedc.textbooks import TextbookCleanup

    base = data / "pdf" / "scanbook_dev"
    print(f"\n4. scans, pdf/scanbook_dev/<lang>/scan.pdf, the first {n_pages} page(s) of each book (a book's running"
          " headers need more than one page): tesseract alone on the stored images (baseline) vs PdfReader +"
          " TextbookCleanup; CER of the pages' body, line-end hyphens joined on both sides; OCR s/page on one core")
    head = f"{'lang':<6}{'CER tesseract':>14}{'CER mmedc':>11}"
    head += f"{'CER render':>12}" if compare_render else ""
    print(head + f"{'s/page tess':>13}{'s/page mmedc':>14}  ocr confidence per page")
    out = {}
    for lang in langs:
        scan = base / lang / "scan.pdf"
        if not scan.exists():
            continue
        gold = (base / lang / "gold.txt").read_text(encoding="utf-8")
        meta = json.loads((base / lang / "pages.json").read_text(encoding="utf-8"))
        src = pdfium.PdfDocument(str(scan))
        picked = list(range(min(n_pages, len(src))))
        ref = pages_gold(meta, picked, gold)
        t0 = time.perf_counter()
        base_text = "\n".join(tesseract_alone(stored_image(scan, p), lang) for p in picked)
        t_base = (time.perf_counter() - t0) / len(picked)
        row = {"pages": len(picked), "cer_tesseract": cer(join_hyphens(base_text), ref, lang), "s_tesseract": t_base}
        with tempfile.TemporaryDirectory() as tmp:
            sample = pdfium.PdfDocument.new()
            sample.import_pages(src, picked)
            sample.save(str(Path(tmp) / "sample.pdf"))
            for label, options in (("", {}), ("_render", {"stored_image": False})):
                if label and not compare_render:
                    continue
                t0 = time.perf_counter()
                (doc,), reader = read_book(Path(tmp), "sample.pdf", lang, **options)
                elapsed = (time.perf_counter() - t0) / len(picked)
                confs = [p.get("ocr_conf") for p in doc.metadata["pages"]]
                TextbookCleanup(front_matter=False).filter(doc)
                row[f"cer{label}"] = cer(doc.text, ref, lang)
                row[f"s_mmedc{label}"] = elapsed
                row[f"conf{label}"] = confs
                row[f"removed{label}"] = removed_by_rule(doc.metadata["cleanup"])
        out[lang] = row
        line = f"{lang:<6}{row['cer_tesseract']:>14.4f}{row['cer']:>11.4f}"
        line += f"{row['cer_render']:>12.4f}" if compare_render else ""
        print(line + f"{row['s_tesseract']:>13.2f}{row['s_mmedc']:>14.2f}  {row['conf']}")
    return out


# -- 5. phototest ----------------------------------------------------------------------------------
def phototest(data: Path) -> dict:
    from PIL import Image

    from mmedc.textbooks import PdfReader

    tif = data / "ocr" / "phototest.tif"
    if not tif.exists():
        return {}
    gold = (data / "ocr" / "phototest.gold.txt").read_text(encoding="utf-8")
    image = Image.open(tif)
    dpi = image.info.get("dpi", (300, 300))[0] or 300
    base = cer(join_hyphens(tesseract_alone(image.convert("L"), "en")), gold, "en")
    with tempfile.TemporaryDirectory() as tmp:
        image.convert("L").save(Path(tmp) / "phototest.pdf", resolution=float(dpi))
        docs = list(PdfReader(tmp, language="en").run())
        pdf_cer = cer(join_hyphens(docs[0].text), gold, "en")
        method = docs[0].metadata["pages"][0]
    print(f"\n5. phototest.tif: CER tesseract alone on the image {base:.4f}; PdfReader on a one-image PDF of it "
          f"{pdf_cer:.4f} ({ {k: v for k, v in method.items() if k.startswith('ocr')} })")
    return {"cer_tesseract": base, "cer_pdf": pdf_cer}


# -- 6. speed --------------------------------------------------------------------------------------
def speed(data: Path, seconds: float) -> dict:
    import pypdfium2 as pdfium

    from mmedc.textbooks import TextbookCleanup

    files = [data / "pdf" / "scanbook_dev" / lang / "text.pdf" for lang in LANGS]
    files = [f for f in files if f.exists()]

    def raw_pass() -> int:
        n = 0
        for f in files:
            pdf = pdfium.PdfDocument(str(f))
            for page in pdf:
                tp = page.get_textpage()
                tp.get_text_range()
                tp.close()
                n += 1
            pdf.close()
        return n

    from mmedc.textbooks import PdfReader

    readers = [PdfReader(str(f.parent), glob_pattern=f.name, language=f.parent.name, ocr="never") for f in files]
    cleanup = TextbookCleanup()

    def mmedc_pass() -> int:
        n = 0
        for reader in readers:
            for doc in reader.run():
                cleanup.filter(doc)
                n += doc.metadata["page_count"]
        return n

    rates = {}
    for name, fn in (("raw", raw_pass), ("mmedc", mmedc_pass)):
        pages, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            pages += fn()
        rates[name] = pages / (time.perf_counter() - start)
    print(f"\n6. text-layer pages/s on one core: raw pypdfium2 {rates['raw']:.0f}, PdfReader + TextbookCleanup "
          f"{rates['mmedc']:.0f} ({rates['mmedc'] / rates['raw']:.2f}x the raw engine's rate; machine shared, "
          "absolute figures noisy)")
    return rates


def ocr_speed(data: Path, rounds: int = 2, langs: tuple[str, ...] = ("en", "ru", "zh")) -> dict:
    """OCR seconds per page on one core, interleaved so that the machine's load drifts over both alike:
    tesseract alone on the stored image vs what PdfReader does per scanned page (image as stored,
    thickening decision, one tesseract run for text, confidence and line boxes, a second one only where
    a signal asks for it)."""
    import pypdfium2 as pdfium

    from mmedc.textbooks import PdfReader

    out = {}
    print(f"\n7. OCR s/page on one core (page 3 of each scan, {rounds} interleaved rounds): tesseract alone on the"
          " image taken out of the PDF vs PdfReader's page OCR")
    for lang in langs:
        path = data / "pdf" / "scanbook_dev" / lang / "scan.pdf"
        if not path.exists():
            continue
        times = {"tesseract": 0.0, "mmedc": 0.0}
        reader = PdfReader(str(path.parent), language=lang)
        for _ in range(rounds):
            t0 = time.perf_counter()  # the baseline takes the image out of the PDF too
            tesseract_alone(stored_image(path, 2), lang)
            times["tesseract"] += time.perf_counter() - t0
            pdf = pdfium.PdfDocument(str(path))
            pages = [{"page": 3, "text": "", "method": "empty"}] * 3
            t0 = time.perf_counter()
            reader._ocr_pages(pdf, pages, [2], path.name, {"language": lang})
            times["mmedc"] += time.perf_counter() - t0
        per = {k: v / rounds for k, v in times.items()}
        out[lang] = per
        print(f"  {lang}: tesseract alone {per['tesseract']:.2f}, mmedc {per['mmedc']:.2f} "
              f"({per['mmedc'] / per['tesseract'] - 1:+.1%})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    parser.add_argument("--scan-pages", type=int, default=3, help="pages OCR'd per book, from its first (of 8)")
    parser.add_argument("--compare-render", action="store_true",
                        help="also OCR the scans re-rendered at 300 dpi instead of the stored images")
    parser.add_argument("--no-scan", action="store_true", help="skip the OCR sections (slow on few cores)")
    parser.add_argument("--scan-langs", default=",".join(LANGS), help="languages of the scan section (en,ru,...)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time for each speed measurement")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "pdf" / "scanbook_dev").exists():
        print(f"no data at {data}/pdf/scanbook_dev (see ../shared/data/SOURCES.md); nothing measured")
        return 0
    try:
        import rapidfuzz  # noqa: F401
    except ImportError:
        print("this benchmark needs rapidfuzz (pip install 'mmedc[dev]'); nothing measured")
        return 0
    quiet()
    results = {"text_layer": text_layer(data), "latex": latex(data), "formulas": formulas()}
    if not args.no_scan:
        results["scans"] = scans(data, args.scan_pages, args.compare_render, tuple(args.scan_langs.split(",")))
        results["phototest"] = phototest(data)
        results["ocr_speed"] = ocr_speed(data)
    results["speed"] = speed(data, args.seconds)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
