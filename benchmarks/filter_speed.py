"""Throughput of MedicalKeywordFilter against the original MMedC keyword rule, on the same documents, one core.

Documents: the evaluation sets of ``filter_quality.py`` (real medical and general text in en, fr, es,
ru; general text and project-written medical text in zh, ja), so every language is timed. Throughput
is UTF-8 megabytes of text per CPU-second of one process (process time, so a busy machine does not
distort it; the filter is single-threaded, run more tasks for more cores). The baseline is the
original MMedC release's rule with its own lists and thresholds (``_seed_rule.py``): as released
(``OriginalRule``, token lookups in a list) and with the same decisions through a token ``Counter``
(``FastOriginalRule``, the stronger baseline; speed-ups are quoted against both). mmedc is timed
through ``MedicalKeywordFilter.filter`` (metadata written) with both automaton engines
(ahocorasick-rs, and the pyahocorasick fallback). Automaton build time (once per language per
process) is reported apart and not included.

The evaluation sets are mostly medical by bytes, while a general web corpus (what filter_web reads)
is a few percent medical, and matching costs more on medical text (more matches): each language is
also timed on its medical and its general documents apart, and the throughput of a web mix
(``--web-share`` of the bytes medical, default 5%) is computed from the two, for mmedc and the rule alike.

    .venv/bin/python benchmarks/filter_speed.py [--data ../shared/data/text] [--repeat 3] [--web-share 0.05]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed_rule import RULE_DIR, FastOriginalRule, OriginalRule, available  # noqa: E402
from datatrove.data import Document  # noqa: E402
from filter_quality import LANGS, build_sets  # noqa: E402

import mmedc.keywords as kw  # noqa: E402


def best_of(fn, repeat: int) -> float:
    """Best CPU time (process time, not wall time) of ``repeat`` runs: MB per CPU-second is
    throughput per core, and it does not count the time the process waits for a core on a busy machine."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def time_texts(texts: list[str], lang: str, engines: list[str], repeat: int) -> dict[str, float]:
    """CPU seconds (best of ``repeat``) of mmedc per engine and of the MMedC rule ("fast": the Counter
    form, "orig": as released), over the same ``texts``."""
    docs = [Document(text=t, id=str(i), metadata={"language": lang}) for i, t in enumerate(texts)]
    secs: dict[str, float] = {}
    for engine in engines:
        os.environ["MMEDC_KEYWORD_ENGINE"] = engine
        kw.clear_matchers()
        flt = kw.MedicalKeywordFilter(languages=[lang])
        assert kw.get_matcher(lang).engine.name == engine

        def run_ours(flt=flt, docs=docs):
            for doc in docs:
                flt.filter(doc)

        secs[engine] = best_of(run_ours, repeat)
    os.environ.pop("MMEDC_KEYWORD_ENGINE", None)
    kw.clear_matchers()
    fast, orig = FastOriginalRule(lang), OriginalRule(lang)
    assert [fast.keep(t) for t in texts] == [orig.keep(t) for t in texts]
    secs["fast"] = best_of(lambda: [fast.keep(t) for t in texts], repeat)
    secs["orig"] = best_of(lambda: [orig.keep(t) for t in texts], 1)
    return secs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "text")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the best is kept")
    ap.add_argument("--web-share", type=float, default=0.05,
                    help="share of medical bytes in the web-mix estimate (CulturaX keeps a few percent)")
    args = ap.parse_args(argv)
    if not args.data.is_dir() or not available():
        print(f"evaluation data not found: {args.data} or {RULE_DIR} (see benchmarks/filter_speed.py); nothing to measure")
        return 0
    sets = build_sets(args.data)
    engines = ["ahocorasick-rs", "pyahocorasick"]
    try:
        import ahocorasick  # noqa: F401
    except ImportError:
        engines = ["ahocorasick-rs"]
    print(f"{'lang':4} {'docs':>5} {'MB':>5} | " + " | ".join(f"{e:>14}" for e in engines)
          + f" | {'MMedC rule':>10} {'as released':>11} | speed-up of mmedc (ahocorasick-rs) vs MMedC rule")
    totals = {e: 0.0 for e in engines + ["fast", "orig"]}
    total_mb = 0.0
    by_class: dict[str, dict[str, float]] = {}  # "<lang>/<medical|general>" -> MB and seconds
    for lang in LANGS:
        texts = [t for t, _, _ in sets[lang]]
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        total_mb += mb
        secs = time_texts(texts, lang, engines, args.repeat)
        for key in totals:
            totals[key] += secs[key]
        ours, fast_s, orig_s = secs[engines[0]], secs["fast"], secs["orig"]
        cells = [f"{mb / secs[e]:9.1f} MB/s" for e in engines]
        print(f"{lang:4} {len(texts):5} {mb:5.2f} | " + " | ".join(cells)
              + f" | {mb / fast_s:5.1f} MB/s {mb / orig_s:6.1f} MB/s | {fast_s / ours:4.1f}x ({orig_s / ours:.1f}x as released)")
        for cls, label in (("medical", 1), ("general", 0)):
            part = [t for t, g, _ in sets[lang] if g == label]
            part_secs = time_texts(part, lang, engines[:1], args.repeat)
            part_secs["MB"] = sum(len(t.encode("utf-8")) for t in part) / 1e6
            by_class[f"{lang}/{cls}"] = part_secs
    cells = [f"{total_mb / totals[e]:9.1f} MB/s" for e in engines]
    ours = totals[engines[0]]
    print(f"{'all':4} {'':5} {total_mb:5.2f} | " + " | ".join(cells)
          + f" | {total_mb / totals['fast']:5.1f} MB/s {total_mb / totals['orig']:6.1f} MB/s |"
          f" {totals['fast'] / ours:4.1f}x ({totals['orig'] / ours:.1f}x as released)")
    share = args.web_share
    print(f"\nby class, and a web mix ({share:.0%} of bytes medical, as in a general web corpus), MB per CPU-second:")
    print(f"{'lang':4} | {'medical: mmedc':>14} {'rule':>6} {'released':>8} | {'general: mmedc':>14} {'rule':>6}"
          f" {'released':>8} | {'web mix: mmedc':>14} {'rule':>6} {'released':>8} | speed-up")
    mix_totals = {"ours": 0.0, "fast": 0.0, "orig": 0.0}
    for lang in LANGS:
        med, gen = by_class[f"{lang}/medical"], by_class[f"{lang}/general"]
        rates = {}
        for key, name in ((engines[0], "ours"), ("fast", "fast"), ("orig", "orig")):
            # seconds per MB of the mix: each class's seconds per MB, weighted by its byte share
            per_mb = share * med[key] / med["MB"] + (1 - share) * gen[key] / gen["MB"]
            rates[name] = (med["MB"] / med[key], gen["MB"] / gen[key], 1 / per_mb)
            mix_totals[name] += per_mb
        o, f, r = rates["ours"], rates["fast"], rates["orig"]
        print(f"{lang:4} | {o[0]:9.1f} MB/s {f[0]:6.1f} {r[0]:8.1f} | {o[1]:9.1f} MB/s {f[1]:6.1f} {r[1]:8.1f} |"
              f" {o[2]:9.1f} MB/s {f[2]:6.1f} {r[2]:8.1f} | {f[2] and o[2] / f[2]:4.1f}x ({o[2] / r[2]:.1f}x as released)")
    n = len(LANGS)
    o, f, r = (n / mix_totals[k] for k in ("ours", "fast", "orig"))
    print(f"{'all':4} | web mix, the six languages in equal bytes: mmedc {o:.1f} MB/s, MMedC rule {f:.1f} MB/s,"
          f" as released {r:.1f} MB/s: {o / f:.1f}x ({o / r:.1f}x as released)")
    every = [t for lang in LANGS for t, _, _ in sets[lang]]
    ref = best_of(lambda: [t.lower() for t in every], args.repeat)
    print(f"machine reference: str.lower() over the same texts runs at {total_mb / ref:.1f} MB/s in this run")
    print("MB/s = UTF-8 megabytes per CPU-second of one process, best of --repeat runs (the rule as released: one run);")
    print("MMedC rule = the release's rule, lists and thresholds; the same decisions as released (checked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
