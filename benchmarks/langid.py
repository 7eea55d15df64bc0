"""LanguageID against raw fastText ``lid.176.ftz`` ``predict``: accuracy per language and documents/s.

Data: ``../shared/data/text`` (see ``SOURCES.md``): single general sentences (``general/<lang>.txt``),
short documents of three consecutive sentences, and the document sets of ``filter_quality.py``
(medical items and general text joined to 1,200-3,000 characters, long general documents).

Prints, per language: accuracy on single sentences and on documents for mmedc's decision
(:func:`mmedc.langid.predict_language`: one window where one suffices, the kana/Han script rule, the
near-tie preference for the wanted languages) and for raw ``model.predict(text, k=1)`` top-1 in the
same run; then speed: the ``LanguageID`` block (metadata and stats included) against raw ``predict``
on the same documents, in documents per CPU-second of one process (process time: a busy machine
does not distort it; figures are noisy on a shared machine, the ratio is what to read). Raw
``predict`` is given each document with its newlines replaced (it reads one line), as a user would.

``--thresholds`` also prints the per-language confidence thresholds chosen the way FineWeb-2 chooses
its ``language_score`` per language (from the score distribution of the language's own documents):
the 0.5th percentile of the score of correctly identified dev documents, rounded down to 0.05.

    python benchmarks/langid.py [--data ../shared/data/text] [--repeat 3] [--thresholds]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datatrove.data import Document  # noqa: E402
from filter_quality import build_sets  # noqa: E402
from filter_speed import best_of  # noqa: E402

from mmedc.langid import MMEDC_LANGUAGES, LanguageID, load_model, predict_language  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "text")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the best is kept")
    ap.add_argument("--thresholds", action="store_true", help="print per-language thresholds chosen on the data")
    args = ap.parse_args(argv)
    if not (args.data / "general").is_dir():
        print(f"evaluation data not found: {args.data} (see benchmarks/langid.py); nothing to measure")
        return 0
    model = load_model()
    wanted = set(MMEDC_LANGUAGES)
    sets = build_sets(args.data)
    print(f"{'lang':<5}{'sent':>6}{'mmedc':>8}{'raw':>8}{'docs':>7}{'mmedc':>8}{'raw':>8}")
    all_docs: list[str] = []
    all_lines: list[str] = []
    chosen = {}
    for lang in MMEDC_LANGUAGES:
        lines = [x.strip() for x in (args.data / "general" / f"{lang}.txt").open(encoding="utf-8") if x.strip()]
        docs = [" ".join(lines[i : i + 3]) for i in range(0, len(lines) - 2, 3)] + [t for t, _, _ in sets[lang]]
        all_docs += docs
        all_lines += lines
        ours_s = [predict_language(x, prefer=wanted) for x in lines]
        ours_d = [predict_language(x, prefer=wanted) for x in docs]
        raw_s = sum(model.predict(x.replace("\n", " "), k=1)[0][0] == f"__label__{lang}" for x in lines)
        raw_d = sum(model.predict(x.replace("\n", " "), k=1)[0][0] == f"__label__{lang}" for x in docs)
        acc_s = sum(g == lang for g, _ in ours_s) / len(lines)
        acc_d = sum(g == lang for g, _ in ours_d) / len(docs)
        print(f"{lang:<5}{len(lines):>6}{acc_s:>8.4f}{raw_s / len(lines):>8.4f}{len(docs):>7}{acc_d:>8.4f}{raw_d / len(docs):>8.4f}")
        scores = sorted(s for g, s in ours_d if g == lang)
        chosen[lang] = int(scores[int(0.005 * len(scores))] * 20) / 20
    block = LanguageID()
    for name, items in (("sentences", all_lines), ("documents", all_docs)):
        docs = [Document(text=t, id=str(i)) for i, t in enumerate(items)]

        def run_block(docs=docs):
            for d in docs:
                block.filter(d)

        def run_raw(items=items):
            for t in items:
                model.predict(t.replace("\n", " "), k=1)

        ours = best_of(run_block, args.repeat)
        raw = best_of(run_raw, args.repeat)
        print(f"{name}: LanguageID block {len(items) / ours:,.0f} docs/CPU-s, raw predict {len(items) / raw:,.0f}"
              f" docs/CPU-s: LanguageID takes {ours / raw:.2f}x the time of raw predict ({len(items)} texts)")
    if args.thresholds:
        print("thresholds (0.5th percentile of correct documents' scores, rounded down to 0.05):", chosen)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
