"""LanguageID against raw fastText ``lid.176.ftz`` ``predict``: accuracy per language and documents/s.

Data: ``../shared/data/text`` (see ``SOURCES.md``): single general sentences (``general/<lang>.txt``),
short documents of three consecutive sentences, and the document sets of ``filter_quality.py``
(medical items and general text joined to 1,200-3,000 characters, long general documents).

Prints, per language: accuracy on single sentences, on documents, and on the sentences and fragments
that splitting the documents' texts after . ! ? gives (``split``: all of at least 3 characters;
``>=40``: those of 40 characters or more) for mmedc's decision
(:func:`mmedc.langid.predict_language`: one window where one suffices, the kana/Han script rule, the
near-tie preference for the wanted languages, the second lowercased reading of unsure short lines)
and for raw ``model.predict(text, k=1)`` top-1 in the same run; then speed per language and for
all: the ``LanguageID`` block (metadata and stats included) against raw ``predict`` on the same
texts, as the time the block takes over the time raw ``predict`` takes (process time of one
process, best of ``--repeat``: a busy machine does not distort it; absolute rates are noisy on a
shared machine, the ratio is what to read). Raw ``predict`` is given each text with its newlines
replaced (it reads one line), as a user would.

``--extra-sentences DIR`` also scores ``DIR/<lang>.txt`` (one sentence a line; lines that are in
``general/<lang>.txt`` are left out), for example the rest of the Leipzig sentence files that
``general/`` was drawn from (pemistahl/lingua-go ``cmd/language-testdata/sentences``: 1,000 a
language where ``general/`` has about 500), as data of the same kind that no rule was chosen on.

``--thresholds`` also prints the per-language confidence thresholds chosen the way FineWeb-2 chooses
its ``language_score`` per language (from the score distribution of the language's own documents):
the 0.5th percentile of the score of correctly identified dev documents, rounded down to 0.05.

    python benchmarks/langid.py [--data ../shared/data/text] [--repeat 3] [--thresholds]
                                [--extra-sentences DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datatrove.data import Document  # noqa: E402
from filter_quality import MEDICAL_FILES, build_sets, read_jsonl  # noqa: E402
from filter_speed import best_of  # noqa: E402

from mmedc.langid import (  # noqa: E402
    _CJK,
    MMEDC_LANGUAGES,
    SHORT_TEXT,
    UNSURE,
    LanguageID,
    load_model,
    predict_language,
)


def read_lines(path: Path) -> list[str]:
    return [x.strip() for x in path.open(encoding="utf-8") if x.strip()]


def accuracy(model, lines: list[str], lang: str, wanted: set[str]) -> tuple[float, float]:
    """(mmedc, raw top-1) share of ``lines`` identified as ``lang``."""
    ours = sum(predict_language(x, prefer=wanted)[0] == lang for x in lines)
    raw = sum(model.predict(x.replace("\n", " "), k=1)[0][0] == f"__label__{lang}" for x in lines)
    return ours / len(lines), raw / len(lines)


def split_sentences(data: Path, lang: str) -> list[str]:
    """Sentences (and the fragments a splitter makes: names, options, e-mail signatures) of the long
    general documents and the medical items of ``lang``, split after . ! ? and their CJK forms."""
    texts = [r["text"] for r in read_jsonl(data / "general_docs" / f"{lang}.jsonl")]
    for name in MEDICAL_FILES.get(lang, []):
        texts += [r["text"] for r in read_jsonl(data / "medical" / name)]
    out = []
    for text in texts:
        out += [p.strip() for p in re.split(r"(?<=[.!?。！？])\s*", text) if len(p.strip()) >= 3]
    return out


def read_twice(model, lines: list[str]) -> int:
    """Lines that get the second, lowercased reading (unsure, short, with capitals, no Han/kana)."""
    return sum(
        1 for x in lines
        if len(x) <= SHORT_TEXT and x.lower() != x and not _CJK.search(x)
        and model.f.predict(x + "\n", 1, 0.0, "strict")[0][0] < UNSURE
    )


def speed(model, block: LanguageID, items: list[str], repeat: int) -> tuple[float, float]:
    """(block, raw predict) CPU seconds per text, best of ``repeat``."""
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(items)]

    def run_block():
        for d in docs:
            block.filter(d)

    def run_raw():
        for t in items:
            model.predict(t.replace("\n", " "), k=1)

    return best_of(run_block, repeat) / len(items), best_of(run_raw, repeat) / len(items)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "text")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the best is kept")
    ap.add_argument("--thresholds", action="store_true", help="print per-language thresholds chosen on the data")
    ap.add_argument("--extra-sentences", type=Path, default=None,
                    help="folder of <lang>.txt sentence files of the same kind, scored beside the dev sentences")
    args = ap.parse_args(argv)
    if not (args.data / "general").is_dir():
        print(f"evaluation data not found: {args.data} (see benchmarks/langid.py); nothing to measure")
        return 0
    model = load_model()
    wanted = set(MMEDC_LANGUAGES)
    sets = build_sets(args.data)
    extra = args.extra_sentences
    head = f"{'lang':<5}{'sent':>6}{'mmedc':>8}{'raw':>8}{'2nd':>5}{'docs':>7}{'mmedc':>8}{'raw':>8}"
    print(head + f"{'split':>7}{'mmedc':>8}{'raw':>8}{'>=40':>7}{'mmedc':>8}{'raw':>8}"
          + (f"{'extra':>7}{'mmedc':>8}{'raw':>8}" if extra else ""))
    lines_of: dict[str, list[str]] = {}
    docs_of: dict[str, list[str]] = {}
    chosen = {}
    for lang in MMEDC_LANGUAGES:
        lines = read_lines(args.data / "general" / f"{lang}.txt")
        docs = [" ".join(lines[i : i + 3]) for i in range(0, len(lines) - 2, 3)] + [t for t, _, _ in sets[lang]]
        lines_of[lang], docs_of[lang] = lines, docs
        acc_s, raw_s = accuracy(model, lines, lang, wanted)
        acc_d, raw_d = accuracy(model, docs, lang, wanted)
        row = (f"{lang:<5}{len(lines):>6}{acc_s:>8.4f}{raw_s:>8.4f}{read_twice(model, lines):>5}"
               f"{len(docs):>7}{acc_d:>8.4f}{raw_d:>8.4f}")
        split = split_sentences(args.data, lang)
        for part in (split, [x for x in split if len(x) >= 40]):
            acc_p, raw_p = accuracy(model, part, lang, wanted)
            row += f"{len(part):>7}{acc_p:>8.4f}{raw_p:>8.4f}"
        if extra and (extra / f"{lang}.txt").is_file():
            dev = set(lines)
            more = [x for x in read_lines(extra / f"{lang}.txt") if x not in dev]
            if more:
                acc_e, raw_e = accuracy(model, more, lang, wanted)
                row += f"{len(more):>7}{acc_e:>8.4f}{raw_e:>8.4f}"
        print(row)
        scores = sorted(s for g, s in (predict_language(x, prefer=wanted) for x in docs) if g == lang)
        chosen[lang] = int(scores[int(0.005 * len(scores))] * 20) / 20
    block = LanguageID()
    print("speed: time of the LanguageID block / time of raw predict on the same texts (µs a text: block, raw)")
    for name, of in (("sentences", lines_of), ("documents", docs_of)):
        cells = []
        total_ours = total_raw = 0.0
        for lang in MMEDC_LANGUAGES:
            ours, raw = speed(model, block, of[lang], args.repeat)
            total_ours += ours * len(of[lang])
            total_raw += raw * len(of[lang])
            cells.append(f"{lang} {ours / raw:.2f}x ({ours * 1e6:.1f}, {raw * 1e6:.1f})")
        n = sum(len(v) for v in of.values())
        print(f"  {name} ({n}): all {total_ours / total_raw:.2f}x "
              f"({n / total_ours:,.0f} against {n / total_raw:,.0f} texts/CPU-s); " + "; ".join(cells))
    if args.thresholds:
        print("thresholds (0.5th percentile of correct documents' scores, rounded down to 0.05):", chosen)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
