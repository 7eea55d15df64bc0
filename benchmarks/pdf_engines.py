"""Text-layer engines (pypdfium2 vs pdfplumber), and what TextbookCleanup adds, on real and generated PDFs.

Measures, in one run, for each engine through :class:`mmedc.textbooks.PdfReader` (``ocr="never"``):
1. similarity (difflib ratio on whitespace-normalised text) to the expected text:
   - ``pdf/pdfminer``: the text pdfminer's own tests expect (``expected_text.json``);
   - ``pdf/pypdf/001-trivial``: the body of its LaTeX source (the only sample whose ``.tex`` holds
     the text; the others expand ``\\blindtext``/``\\lipsum`` macros);
   - the generated sample books (en, fr, es, ru, zh, ja: title page, contents, running headers,
     page numbers, hyphenation, references) against the text they were made from;
   each raw (the engine's page text) and after :class:`~mmedc.textbooks.TextbookCleanup`;
2. pages/s of the text layer, raw and with cleanup (the cost of cleanup in %), on all those PDFs.

pdfplumber is the baseline engine, raw text the baseline for cleanup.

    .venv/bin/python benchmarks/pdf_engines.py [--data ../shared/data] [--seconds 3]
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ENGINES = ("pdfplumber", "pypdfium2")


def similarity(a: str, b: str) -> float:
    from mmedc.samples.textbooks import normalise

    return difflib.SequenceMatcher(None, normalise(a.replace("\f", "\n")), normalise(b), autojunk=False).ratio()


def recall(a: str, b: str) -> float:
    """Share of the expected text ``b`` found, in order, in ``a`` (for an expected text that is a prefix)."""
    from mmedc.samples.textbooks import normalise

    a, b = normalise(a.replace("\f", "\n")), normalise(b)
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    return sum(m.size for m in blocks) / max(1, len(b))


def tex_body(path: Path) -> str:
    tex = path.read_text()
    body = tex.split(r"\begin{document}", 1)[1].split(r"\end{document}", 1)[0]
    return re.sub(r"\\[a-zA-Z]+(\[[^]]*\])?(\{[^}]*\})?", " ", body)


def read_all(folder: Path, engine: str):
    from mmedc.textbooks import PdfReader

    return list(PdfReader(str(folder), engine=engine, ocr="never", language="en").run())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--seconds", type=float, default=3.0, help="time budget of each speed measurement")
    args = ap.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"skipped: no evaluation data at {args.data} (the repository's ../shared/data; pass --data)")
        return 0
    from datatrove.utils.logging import logger

    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    from mmedc.samples.textbooks import LANGUAGES, can_render, write_text_pdf
    from mmedc.textbooks import TextbookCleanup

    data = Path(args.data) / "pdf"
    work = Path(tempfile.mkdtemp(prefix="mmedc_pdf_bench_"))
    try:
        # the evaluation sets: name -> (folder with one pdf, expected text, kind)
        cases: list[tuple[str, Path, str, str]] = []
        expected = json.loads((data / "pdfminer" / "expected_text.json").read_text())
        for name, text in sorted(expected.items()):
            src = data / "pdfminer" / name
            if src.exists() and "_no_boxes" not in name:
                d = work / f"pdfminer_{src.stem}"
                d.mkdir()
                shutil.copy(src, d / src.name)
                # pdfminer's test checks only the start of this file's text: score the share found
                label = f"pdfminer/{name}" + (" (recall)" if "corrupted" in name else "")
                cases.append((label, d, text, "real"))
        d = work / "pypdf_trivial"
        d.mkdir()
        shutil.copy(data / "pypdf" / "001-trivial" / "minimal-document.pdf", d)
        cases.append(("pypdf/001-trivial (.tex)", d, tex_body(data / "pypdf" / "001-trivial" / "minimal-document.tex"),
                      "real"))
        for lang in LANGUAGES:
            if can_render(lang):
                d = work / f"sample_{lang}"
                d.mkdir()
                book = write_text_pdf(d / f"book_{lang}.pdf", lang)
                cases.append((f"sample book {lang} ({book.pages} p.)", d, book.body, "generated"))
        speed_dir = work / "all"
        speed_dir.mkdir()
        for _, d, _, _ in cases:
            for pdf in d.glob("*.pdf"):
                shutil.copy(pdf, speed_dir / f"{d.name}_{pdf.name}")
        for pdf in (data / "pypdf").rglob("*.pdf"):
            shutil.copy(pdf, speed_dir / pdf.name)

        # 1. quality
        print(f"{'document':<46}" + "".join(f"{e + ' raw':>16}{e + ' clean':>17}" for e in ENGINES))
        means: dict[tuple[str, str, str], list[float]] = {}
        for name, folder, truth, kind in cases:
            row = f"{name:<46}"
            for engine in ENGINES:
                docs = read_all(folder, engine)
                raw = "\n".join(doc.text for doc in docs)
                cleanup = TextbookCleanup()
                cleaned = "\n".join(doc.text for doc in docs if cleanup.filter(doc) is True)
                score = recall if name.endswith("(recall)") else similarity
                a, b = score(raw, truth), score(cleaned, truth)
                means.setdefault((kind, engine, "raw"), []).append(a)
                means.setdefault((kind, engine, "clean"), []).append(b)
                row += f"{a:>16.3f}{b:>17.3f}"
            print(row)
        for kind in ("real", "generated"):
            row = f"{'mean, ' + kind:<46}"
            for engine in ENGINES:
                for stage in ("raw", "clean"):
                    vals = means[(kind, engine, stage)]
                    row += f"{sum(vals) / len(vals):>{16 if stage == 'raw' else 17}.3f}"
            print(row)

        # 2. speed
        n_files = len(list(speed_dir.glob("*.pdf")))
        print(f"\ntext-layer speed on {n_files} PDFs (all of the above and every pdf/pypdf sample), one core")
        base = None
        for engine in ENGINES:
            pages = 0
            t_read = t_clean = 0.0
            start = time.perf_counter()
            while time.perf_counter() - start < args.seconds or pages == 0:
                t = time.perf_counter()
                docs = read_all(speed_dir, engine)
                t_read += time.perf_counter() - t
                cleanup = TextbookCleanup()
                t = time.perf_counter()
                for doc in docs:
                    cleanup.filter(doc)
                t_clean += time.perf_counter() - t
                pages += sum(doc.metadata["page_count"] for doc in docs)
            raw_ps, clean_ps = pages / t_read, pages / (t_read + t_clean)
            base = base or raw_ps
            print(f"  {engine:<11} raw {raw_ps:8.1f} pages/s ({raw_ps / base:4.1f}x pdfplumber)   with cleanup "
                  f"{clean_ps:8.1f} pages/s ({clean_ps / raw_ps - 1:+.1%})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
