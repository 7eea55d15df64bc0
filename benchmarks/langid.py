"""Language-ID accuracy per language and documents/s on ../shared/data/text/general.

Prints, for each of the six languages, accuracy on single sentences and on short documents made of
three consecutive sentences, for mmedc's LanguageID decision (kana/Han script rule + near-tie
preference for the wanted languages) and for raw fastText lid.176.ftz top-1 in the same run.

    python benchmarks/langid.py [--data ../shared/data/text/general]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mmedc.langid import MMEDC_LANGUAGES, load_model, predict_language


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "text" / "general"))
    args = ap.parse_args()
    model = load_model()
    wanted = set(MMEDC_LANGUAGES)
    print(f"{'lang':<5}{'n':>6}{'mmedc sent':>12}{'raw sent':>10}{'mmedc doc3':>12}{'raw doc3':>10}")
    tot = {"m": 0, "r": 0, "md": 0, "rd": 0, "n": 0, "nd": 0}
    elapsed, ndocs = 0.0, 0
    for lang in MMEDC_LANGUAGES:
        lines = [x.strip() for x in open(Path(args.data) / f"{lang}.txt", encoding="utf-8") if x.strip()]
        docs = [" ".join(lines[i : i + 3]) for i in range(0, len(lines) - 2, 3)]
        t = time.perf_counter()
        m = sum(predict_language(x, prefer=wanted)[0] == lang for x in lines)
        md = sum(predict_language(x, prefer=wanted)[0] == lang for x in docs)
        elapsed += time.perf_counter() - t
        ndocs += len(lines) + len(docs)
        r = sum(model.predict(x, k=1)[0][0] == f"__label__{lang}" for x in lines)
        rd = sum(model.predict(x, k=1)[0][0] == f"__label__{lang}" for x in docs)
        for k, v in (("m", m), ("r", r), ("md", md), ("rd", rd), ("n", len(lines)), ("nd", len(docs))):
            tot[k] += v
        print(f"{lang:<5}{len(lines):>6}{m / len(lines):>12.4f}{r / len(lines):>10.4f}{md / len(docs):>12.4f}{rd / len(docs):>10.4f}")
    print(f"{'all':<5}{tot['n']:>6}{tot['m'] / tot['n']:>12.4f}{tot['r'] / tot['n']:>10.4f}"
          f"{tot['md'] / tot['nd']:>12.4f}{tot['rd'] / tot['nd']:>10.4f}")
    print(f"mmedc LanguageID: {ndocs / elapsed:,.0f} documents/s on one core (sentences and 3-sentence documents)")


if __name__ == "__main__":
    main()
