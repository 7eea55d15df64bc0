"""Document-level precision / recall / F1 of MedicalKeywordFilter against the original MMedC keyword rule.

Positives: medical items of ``shared/data/text/medical`` (exam questions, PubMed abstracts, medical
passages) joined into 1,200-3,000-character documents. Negatives: general sentences of
``text/general`` joined the same way, plus the long non-medical documents of ``text/general_docs``
(the ``hard`` ones mention health, biology, food or injuries). Chinese and Japanese have no medical
data there, so their positives (and some hard negatives) are project-written (``_cjk_eval.py``).

mmedc is the full filter decision (``MedicalKeywordFilter``: count, density, coverage, content and
the news test, with the shipped lists and thresholds). Beside it, in the same run, the original MMedC release's rule with its own lists and
thresholds (``../shared/data/mmedc_release_rule/``, see ``_seed_rule.py``). ``hardFP`` is the
health-adjacent non-medical documents kept (news of an illness or injury, food, sport, biology) over
their number: the issue's goal is at most 2% in every language.

    .venv/bin/python benchmarks/filter_quality.py [--data ../shared/data/text] [--seeds 5] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cjk_eval import JA_GENERAL, JA_MEDICAL, ZH_GENERAL, ZH_MEDICAL  # noqa: E402
from _seed_rule import RULE_DIR, FastOriginalRule, available  # noqa: E402
from datatrove.data import Document  # noqa: E402

from mmedc.keywords import (  # noqa: E402
    MedicalKeywordFilter,
    get_matcher,
    load_content_thresholds,
    load_coverage,
    load_thresholds,
)

LANGS = ("en", "zh", "ja", "fr", "ru", "es")
MEDICAL_FILES = {
    "en": ["en_medqa.jsonl", "en_pubmedqa.jsonl"],
    "fr": ["fr_frenchmedmcqa.jsonl"],
    "ru": ["ru_rumeddanet.jsonl"],
    "es": ["es_headqa.jsonl"],
}
PROJECT_WRITTEN = {"zh": (ZH_MEDICAL, ZH_GENERAL), "ja": (JA_MEDICAL, JA_GENERAL)}


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def join_items(items: list[str], rng: random.Random, lo: int = 1200, hi: int = 3000, sep: str = " ") -> list[str]:
    """Join shuffled items into documents of lo..hi characters (an item longer than hi is its own doc)."""
    items = [t.strip() for t in items if t and t.strip()]
    rng.shuffle(items)
    docs: list[str] = []
    cur: list[str] = []
    size = 0
    target = rng.randint(lo, hi)
    for item in items:
        if cur and size + len(sep) + len(item) > hi:
            if size >= lo:
                docs.append(sep.join(cur))
            cur, size, target = [], 0, rng.randint(lo, hi)
        cur.append(item)
        size += len(item) + (len(sep) if size else 0)
        if size >= target:
            docs.append(sep.join(cur))
            cur, size, target = [], 0, rng.randint(lo, hi)
    if size >= lo:
        docs.append(sep.join(cur))
    return docs


def build_sets(data: Path, seed: int = 0) -> dict[str, list[tuple[str, int, str]]]:
    """{lang: [(text, label, kind)]}; label 1 = medical; kind names where the document came from."""
    sets: dict[str, list[tuple[str, int, str]]] = {}
    for lang in LANGS:
        rng = random.Random(f"{seed}-{lang}")
        sep = "" if lang in ("zh", "ja") else " "
        rows: list[tuple[str, int, str]] = []
        for name in MEDICAL_FILES.get(lang, []):
            items = [r["text"] for r in read_jsonl(data / "medical" / name)]
            rows += [(d, 1, name.split(".")[0]) for d in join_items(items, rng, sep=sep)]
        sentences = (data / "general" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
        rows += [(d, 0, "general_sentences") for d in join_items(sentences, rng, sep=sep)]
        for r in read_jsonl(data / "general_docs" / f"{lang}.jsonl"):
            rows.append((r["text"], 0, "general_docs_hard" if r.get("hard") else "general_docs"))
        if lang in PROJECT_WRITTEN:
            med, gen = PROJECT_WRITTEN[lang]
            rows += [(t, 1, "project_written_medical") for t in med]
            rows += [(t, 0, "project_written_general") for t in gen]
        sets[lang] = rows
    return sets


def prf(pred: list[bool], gold: list[int]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum((not p) and g for p, g in zip(pred, gold))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def sweep(lang: str, scores: list[tuple[int, float]], gold: list[int]) -> None:
    """Print F1 over a grid of thresholds (to see how flat the optimum is)."""
    best = []
    for c in range(1, 11):
        for d in [x / 1000 for x in range(5, 121, 5)]:
            pred = [s[0] >= c and s[1] >= d for s in scores]
            best.append((prf(pred, gold)[2], c, d))
    best.sort(reverse=True)
    print(f"  {lang} sweep top-8 (F1, min_count, min_density): "
          + ", ".join(f"({f:.3f},{c},{d:.3f})" for f, c, d in best[:8]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "text")
    ap.add_argument("--seed", type=int, default=0, help="first random seed for joining items into documents")
    ap.add_argument("--seeds", type=int, default=1, help="build the sets with this many seeds and pool them")
    ap.add_argument("--sweep", action="store_true", help="also print F1 over a threshold grid")
    ap.add_argument("--errors", type=int, default=0, help="print this many misclassified docs per language")
    args = ap.parse_args(argv)
    if not args.data.is_dir() or not available():
        print(f"evaluation data not found: {args.data} or {RULE_DIR} (see benchmarks/filter_quality.py); nothing to measure")
        return 0
    thresholds = load_thresholds()
    contents = load_content_thresholds()
    cov = load_coverage()
    seeds = list(range(args.seed, args.seed + args.seeds))
    print(f"{'lang':4} {'docs':>5} {'med':>4} | {'mmedc P':>7} {'R':>6} {'F1':>6} {'hardFP':>7} |"
          f" {'MMedC P':>7} {'R':>6} {'F1':>6} {'hardFP':>7}")
    all_sets = [build_sets(args.data, s) for s in seeds]
    for lang in LANGS:
        matcher = get_matcher(lang)
        seed = FastOriginalRule(lang)
        min_count, min_density = thresholds[lang]
        gold: list[int] = []
        scores: list[tuple[int, float]] = []
        covered: list[bool] = []
        content_of: list = []
        theirs: list[bool] = []
        hard: list[bool] = []
        rows: list[tuple[str, int, str]] = []
        for sets in all_sets:
            rows += sets[lang]
        for text, label, kind in rows:
            gold.append(label)
            s = matcher.score(text, top_k=0, window_bytes=int(cov["window_bytes"]), window_density=cov["window_density"])
            scores.append((s.count, s.density))
            covered.append(s.coverage >= cov["min_coverage"] and s.content >= contents.get(lang, 0))
            content_of.append(s)
            theirs.append(seed.keep(text))
            hard.append(kind.endswith("hard") or kind == "project_written_general")
        flt = MedicalKeywordFilter(languages=[lang])  # the whole decision, the news test included
        ours = [flt.filter(Document(text=t, id=str(i), metadata={"language": lang})) is True
                for i, (t, _, _) in enumerate(rows)]
        if args.sweep:  # the min_content grid at the shipped count, density and coverage
            cells = []
            for mc in (0, 2, 3, 4, 5):
                pred = [x.passes(min_count, min_density, cov["min_coverage"], mc) for x in content_of]
                hk = sum(p_ and h for p_, h in zip(pred, hard))
                cells.append(f"min_content {mc}: F1 {prf(pred, gold)[2]:.3f} hard {hk}/{sum(hard)}")
            print(f"  {lang} " + " | ".join(cells))
        p, r, f = prf(ours, gold)
        sp, sr, sf = prf(theirs, gold)
        hard_n = sum(hard)
        hard_ours = sum(o and h for o, h in zip(ours, hard))
        hard_seed = sum(t and h for t, h in zip(theirs, hard))
        print(f"{lang:4} {len(rows):5} {sum(gold):4} | {p:7.3f} {r:6.3f} {f:6.3f} {hard_ours:3}/{hard_n:<3} |"
              f" {sp:7.3f} {sr:6.3f} {sf:6.3f} {hard_seed:3}/{hard_n:<3}")
        if args.sweep:
            sweep(lang, scores, gold)  # count and density only
        if args.errors:
            shown = 0
            for (text, label, kind), pred, (c, d) in zip(rows, ours, scores):
                if pred != bool(label) and shown < args.errors:
                    shown += 1
                    print(f"    miss {kind} gold={label} count={c} density={d:.3f}: {text[:160]!r}")
    print("hardFP: health-adjacent (hard) or project-written non-medical documents kept / their number")
    print("MMedC: the original release's rule with its own lists and thresholds (benchmarks/_seed_rule.py)")
    print("positives for zh/ja are project-written (benchmarks/_cjk_eval.py); other languages are real data")
    bundled_sample(thresholds, cov)
    news_pages(args.data.parent / "web" / "aeb" / "ground-truth.json")
    return 0


def news_pages(path: Path) -> None:
    """Third check, out of the dev sets: the article text of real web pages (``web/aeb``, mostly news,
    some health pages; no medical labels), in the six languages by language ID. Prints what the full
    filter (news test included) and the MMedC rule keep, with the URLs, to be read by a person."""
    if not path.is_file():
        return
    from mmedc.langid import predict_language

    pages = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for item in pages.values():
        text = item.get("articleBody") or ""
        lang = predict_language(text)[0] if len(text) >= 200 else ""
        if lang in LANGS:
            rows.append((lang, text, item.get("url", "")))
    flt = MedicalKeywordFilter()
    ours = [flt.filter(Document(text=t, id=u, metadata={"language": lang})) is True for lang, t, u in rows]
    rules = {lang: FastOriginalRule(lang) for lang in {r[0] for r in rows}}
    theirs = [rules[lang].keep(t) for lang, t, _ in rows]
    by_lang = {lang: sum(1 for r in rows if r[0] == lang) for lang in LANGS}
    print(f"\nreal web pages ({path.parent.name}: article text, mostly news; no labels): {len(rows)} pages "
          f"({', '.join(f'{k} {v}' for k, v in by_lang.items() if v)}); kept by mmedc {sum(ours)}, "
          f"by the MMedC rule {sum(theirs)}")
    for (lang, _t, url), o, t in zip(rows, ours, theirs):
        if o or t:
            print(f"  {'mmedc' if o else '     '} {'MMedC' if t else '     '} {lang} {url[:100]}")


def bundled_sample(thresholds: dict[str, tuple[int, float]], cov: dict[str, float]) -> None:
    """Second check on mmedc's bundled web sample (project-written, by another author, all six
    languages): its ``mixed`` pages (one medical paragraph among general ones) are labelled general."""
    try:
        from mmedc.samples.web import build_web_rows
    except ImportError:
        return
    rows = [r for r in build_web_rows() if r["label"] != "bad" and r.get("text")]
    print("\nbundled web sample (mmedc/samples/web, project-written; 'mixed' pages count as general)")
    print(f"{'lang':4} {'docs':>5} {'med':>4} | {'mmedc P':>7} {'R':>6} {'F1':>6} {'mixedFP':>7} |"
          f" {'MMedC P':>7} {'R':>6} {'F1':>6} {'mixedFP':>7}")
    for lang in LANGS:
        sub = [r for r in rows if r["label_lang"] == lang]
        if not sub:
            continue
        matcher, seed = get_matcher(lang), FastOriginalRule(lang)
        min_count, min_density = thresholds[lang]
        gold = [int(r["label"] == "medical") for r in sub]
        ours = [
            matcher.score(r["text"], 0, int(cov["window_bytes"]), cov["window_density"]).passes(
                min_count, min_density, cov["min_coverage"], load_content_thresholds().get(lang, 0)
            )
            for r in sub
        ]
        theirs = [seed.keep(r["text"]) for r in sub]
        mixed = [r["kind"] == "mixed" for r in sub]
        p, r_, f = prf(ours, gold)
        sp, sr, sf = prf(theirs, gold)
        print(f"{lang:4} {len(sub):5} {sum(gold):4} | {p:7.3f} {r_:6.3f} {f:6.3f} {sum(o and m for o, m in zip(ours, mixed)):3}/{sum(mixed):<3} |"
              f" {sp:7.3f} {sr:6.3f} {sf:6.3f} {sum(t and m for t, m in zip(theirs, mixed)):3}/{sum(mixed):<3}")


if __name__ == "__main__":
    raise SystemExit(main())
