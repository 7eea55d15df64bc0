"""Near-duplicate accuracy: planted near-copies of real texts in six languages, mmedc vs datatrove.

Builds bases from the real texts in ``--data`` (general documents and sentences, medical items), plants
``--variants`` near-copies of each (substitutions, insertions, deletions at a random rate, reordered
paragraphs, an added boilerplate paragraph), and measures the true Jaccard of every pair of a family on
normalised shingle sets (word 5-grams; character 5-grams for zh/ja). Then runs, in the same process,
over ONE mixed-language input:

- mmedc (default ``DedupConfig``)
- datatrove's MinhashDedup stages, default ``MinhashConfig``, English tokenizer (its default)
- datatrove with ``Languages.mandarin_chinese`` (jieba), the comparison the CJK case calls for

and, as datatrove's best case (not one run), datatrove once per language with that language's tokenizer.

A pair counts as found when both documents end in the same cluster. Precision = found pairs with true
J >= 0.8 / (those + found pairs with true J < 0.5); recall = found / all pairs with J >= 0.8; pairs with
0.5 <= J < 0.8 are the grey zone, reported as how many were put together.

    .venv/bin/python benchmarks/dedup_accuracy.py --per-lang 60 --variants 3
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_common import DEFAULT_DATA, LANGS, jaccard, planted_corpus, require_data, run_datatrove, run_mmedc  # noqa: E402

from mmedc.dedup.normalize import shingle_set  # noqa: E402


def evaluate(docs, clusters: dict[str, str], shingles: dict[str, set], family_pairs: dict,
             show: bool = False) -> dict[str, dict]:
    by_id = {d.id: d for d in docs}
    members = defaultdict(list)
    for doc_id, c in clusters.items():
        members[c].append(doc_id)
    found = set()
    for ids in members.values():
        for a, b in itertools.combinations(sorted(ids), 2):
            found.add((a, b))
    stats: dict[str, dict] = {lang: defaultdict(int) for lang in [*LANGS, "all"]}
    for (a, b), j in family_pairs.items():
        lang = by_id[a].metadata["language"]
        hit = (a, b) in found
        for key in (lang, "all"):
            s = stats[key]
            if j >= 0.8:
                s["pos"] += 1
                s["tp"] += hit
            elif j >= 0.5:
                s["grey"] += 1
                s["grey_found"] += hit
            else:
                s["neg_found"] += hit
    for a, b in found:  # pairs across families: true Jaccard measured too
        if (a, b) in family_pairs:
            continue
        j = jaccard(shingles[a], shingles[b])
        lang = by_id[a].metadata["language"]
        for key in (lang, "all"):
            if j >= 0.8:
                stats[key]["pos"] += 1
                stats[key]["tp"] += 1
            elif j >= 0.5:
                stats[key]["grey"] += 1
                stats[key]["grey_found"] += 1
            else:
                stats[key]["neg_found"] += 1
    if show:
        for (a, b), j in sorted(family_pairs.items()):
            hit = (a, b) in found
            if (j >= 0.8 and not hit) or (j < 0.5 and hit):
                print(f"    {'missed' if j >= 0.8 else 'false positive'}: {a} [{by_id[a].metadata['edit']}] ~ "
                      f"{b} [{by_id[b].metadata['edit']}] J={j:.3f}")
    out = {}
    for key, s in stats.items():
        tp, pos, fp = s["tp"], s["pos"], s["neg_found"]
        out[key] = {"precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / pos if pos else 1.0,
                    "pos": pos, "tp": tp, "fp": fp, "grey": s["grey"], "grey_found": s["grey_found"]}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation texts (default: ../shared/data/text)")
    ap.add_argument("--per-lang", type=int, default=60, help="base documents per language")
    ap.add_argument("--variants", type=int, default=3, help="planted near-copies per base")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", action="store_true", help="list mmedc's missed pairs and false positives")
    ap.add_argument("--threshold", type=float, default=None, help="mmedc DedupConfig.threshold (default: its default)")
    ap.add_argument("--num-perm", type=int, default=None, help="mmedc DedupConfig.num_perm")
    ap.add_argument("--mmedc-only", action="store_true", help="skip the datatrove runs (for tuning)")
    ap.add_argument("--no-per-language-datatrove", action="store_true", help="skip datatrove's six per-language runs")
    args = ap.parse_args()
    require_data(args.data)

    t0 = time.perf_counter()
    docs = planted_corpus(args.data, args.per_lang, args.variants, args.seed)
    shingles = {d.id: shingle_set(d.text, d.metadata["language"]) for d in docs}
    fams = defaultdict(list)
    for d in docs:
        fams[d.metadata["family"]].append(d.id)
    family_pairs = {}
    for ids in fams.values():
        for a, b in itertools.combinations(sorted(ids), 2):
            family_pairs[(a, b)] = jaccard(shingles[a], shingles[b])
    hist = defaultdict(int)
    for j in family_pairs.values():
        hist["J>=0.8" if j >= 0.8 else "0.5<=J<0.8" if j >= 0.5 else "J<0.5"] += 1
    n_lang = defaultdict(int)
    for d in docs:
        n_lang[d.metadata["language"]] += 1
    print(f"corpus: {len(docs)} documents ({dict(n_lang)}), {len(family_pairs)} family pairs {dict(hist)}; "
          f"built in {time.perf_counter() - t0:.1f}s")

    from datatrove.utils.typeshelper import Languages

    runs = {}
    t = time.perf_counter()
    from mmedc.dedup import DedupConfig

    overrides = {k: v for k, v in (("threshold", args.threshold), ("num_perm", args.num_perm)) if v is not None}
    config = DedupConfig(**overrides)
    name = f"mmedc {'default' if not overrides else overrides} b,r={config.band_rows}"
    runs[name] = (run_mmedc(docs, config=config), time.perf_counter() - t)
    if args.mmedc_only:
        args.no_per_language_datatrove = True
    t = time.perf_counter()
    if not args.mmedc_only:
        runs["datatrove english (default)"] = (run_datatrove(docs, Languages.english), time.perf_counter() - t)
        t = time.perf_counter()
        runs["datatrove mandarin_chinese"] = (run_datatrove(docs, Languages.mandarin_chinese), time.perf_counter() - t)
    if not args.no_per_language_datatrove:
        tok = {"en": Languages.english, "fr": Languages.french, "es": Languages.spanish, "ru": Languages.russian,
               "zh": Languages.mandarin_chinese, "ja": Languages.japanese}
        merged: dict[str, str] = {}
        t = time.perf_counter()
        for lang in LANGS:
            sub = [d for d in docs if d.metadata["language"] == lang]
            for k, v in run_datatrove(sub, tok[lang]).items():
                merged[k] = f"{lang}:{v}"
        runs["datatrove per-language (6 runs)"] = (merged, time.perf_counter() - t)

    print("\nprecision / recall on pairs with true Jaccard >= 0.8; grey = pairs with 0.5 <= J < 0.8 put together")
    header = f"{'method':<32}{'lang':>5}{'pairs>=0.8':>11}{'precision':>10}{'recall':>8}{'FP(J<0.5)':>10}{'grey found':>15}"
    print(header)
    print("-" * len(header))
    for name, (clusters, secs) in runs.items():
        res = evaluate(docs, clusters, shingles, family_pairs, show=args.show and name.startswith("mmedc"))
        for lang in [*LANGS, "all"]:
            r = res[lang]
            print(f"{name[:31] if lang == 'en' else '':<32}{lang:>5}{r['pos']:>11}{r['precision']:>10.4f}{r['recall']:>8.4f}"
                  f"{r['fp']:>10}{r['grey_found']:>8}/{r['grey']:<6}")
        print(f"{'':<32}time {secs:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
