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

    .venv/bin/python benchmarks/filter_speed.py [--data ../shared/data/text] [--repeat 3]
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "text")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the best is kept")
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
    for lang in LANGS:
        texts = [t for t, _, _ in sets[lang]]
        docs = [Document(text=t, id=str(i), metadata={"language": lang}) for i, t in enumerate(texts)]
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        total_mb += mb
        cells = []
        secs_of = {}
        for engine in engines:
            os.environ["MMEDC_KEYWORD_ENGINE"] = engine
            kw.clear_matchers()
            flt = kw.MedicalKeywordFilter(languages=[lang])
            assert kw.get_matcher(lang).engine.name == engine

            def run_ours(flt=flt, docs=docs):
                for doc in docs:
                    flt.filter(doc)

            secs = secs_of[engine] = best_of(run_ours, args.repeat)
            totals[engine] += secs
            cells.append(f"{mb / secs:9.1f} MB/s")
        os.environ.pop("MMEDC_KEYWORD_ENGINE", None)
        kw.clear_matchers()
        fast, orig = FastOriginalRule(lang), OriginalRule(lang)
        assert [fast.keep(t) for t in texts] == [orig.keep(t) for t in texts]
        fast_s = best_of(lambda texts=texts, r=fast: [r.keep(t) for t in texts], args.repeat)
        orig_s = best_of(lambda texts=texts, r=orig: [r.keep(t) for t in texts], 1)
        totals["fast"] += fast_s
        totals["orig"] += orig_s
        ours = secs_of[engines[0]]
        print(f"{lang:4} {len(texts):5} {mb:5.2f} | " + " | ".join(cells)
              + f" | {mb / fast_s:5.1f} MB/s {mb / orig_s:6.1f} MB/s | {fast_s / ours:4.1f}x ({orig_s / ours:.1f}x as released)")
    cells = [f"{total_mb / totals[e]:9.1f} MB/s" for e in engines]
    ours = totals[engines[0]]
    print(f"{'all':4} {'':5} {total_mb:5.2f} | " + " | ".join(cells)
          + f" | {total_mb / totals['fast']:5.1f} MB/s {total_mb / totals['orig']:6.1f} MB/s |"
          f" {totals['fast'] / ours:4.1f}x ({totals['orig'] / ours:.1f}x as released)")
    every = [t for lang in LANGS for t, _, _ in sets[lang]]
    ref = best_of(lambda: [t.lower() for t in every], args.repeat)
    print(f"machine reference: str.lower() over the same texts runs at {total_mb / ref:.1f} MB/s in this run")
    print("MB/s = UTF-8 megabytes per CPU-second of one process, best of --repeat runs (the rule as released: one run);")
    print("MMedC rule = the release's rule, lists and thresholds; the same decisions as released (checked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
