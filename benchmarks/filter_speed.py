"""Throughput of MedicalKeywordFilter against the original MMedC keyword rule, on the same documents, one core.

Documents: the evaluation sets of ``filter_quality.py`` (real medical and general text in en, fr, es,
ru; general text and project-written medical text in zh, ja), so every language is timed. Throughput
is UTF-8 megabytes of text per CPU-second of one process (process time, so a busy machine does not
distort it; the filter is single-threaded, run more tasks for more cores). The MMedC rule is given the same keyword lists. mmedc is timed with both
automaton engines (ahocorasick-rs when installed, and the pyahocorasick fallback). Automaton build
time (once per language per process) is reported apart and not included.

    .venv/bin/python benchmarks/filter_speed.py [--data ../shared/data/text] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed_rule import SeedRule  # noqa: E402
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
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per measurement; the best is kept")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"evaluation data not found: {args.data}", file=sys.stderr)
        return 2
    sets = build_sets(args.data)
    engines = ["ahocorasick-rs", "pyahocorasick"]
    try:
        import ahocorasick_rs  # noqa: F401
    except ImportError:
        engines = ["pyahocorasick"]
    print(f"{'lang':4} {'docs':>5} {'MB':>6} | " + " | ".join(f"{e:>14} MB/s (build s)" for e in engines)
          + f" | {'MMedC rule MB/s':>9} | speed-up vs MMedC rule")
    totals = {e: 0.0 for e in engines + ["seed"]}
    total_mb = 0.0
    for lang in LANGS:
        texts = [t for t, _, _ in sets[lang]]
        docs = [Document(text=t, id=str(i), metadata={"language": lang}) for i, t in enumerate(texts)]
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        total_mb += mb
        cells = []
        for engine in engines:
            os.environ["MMEDC_KEYWORD_ENGINE"] = engine
            kw._MATCHERS.clear()
            flt = kw.MedicalKeywordFilter(languages=[lang])
            t0 = time.perf_counter()
            assert kw.get_matcher(lang).engine.name == engine
            build = time.perf_counter() - t0

            def run_ours(flt=flt, docs=docs):
                for doc in docs:
                    flt.filter(doc)

            secs = best_of(run_ours, args.repeat)
            totals[engine] += secs
            cells.append(f"{mb / secs:19.1f} ({build:4.2f})")
        os.environ.pop("MMEDC_KEYWORD_ENGINE", None)
        kw._MATCHERS.clear()
        seed = SeedRule(lang)

        def run_seed(texts=texts, seed=seed):
            for t in texts:
                seed.keep(t)

        secs = best_of(run_seed, args.repeat)
        totals["seed"] += secs
        ratio = " / ".join(f"{e}: {secs / (mb / float(c.split('(')[0])):.1f}x" for e, c in zip(engines, cells))
        print(f"{lang:4} {len(texts):5} {mb:6.2f} | " + " | ".join(cells) + f" | {mb / secs:9.1f} | {ratio}")
    cells = [f"{total_mb / totals[e]:19.1f}       " for e in engines]
    ratio = " / ".join(f"{e}: {totals['seed'] / totals[e]:.1f}x" for e in engines)
    print(f"{'all':4} {'':5} {total_mb:6.2f} | " + " | ".join(cells) + f" | {total_mb / totals['seed']:9.1f} | {ratio}")
    # general web text (most of what a web filter reads) has far fewer matches than medical text
    general = {lang: [t for t, label, _ in sets[lang] if label == 0] for lang in LANGS}
    gmb = sum(len(t.encode("utf-8")) for ts in general.values() for t in ts) / 1e6
    parts = []
    for engine in engines:
        os.environ["MMEDC_KEYWORD_ENGINE"] = engine
        kw._MATCHERS.clear()
        flt = kw.MedicalKeywordFilter()
        gdocs = [Document(text=t, id=str(i), metadata={"language": lang})
                 for lang, ts in general.items() for i, t in enumerate(ts)]
        for doc in gdocs[:50]:
            flt.filter(doc)  # build the automata before timing

        def run_general(flt=flt, gdocs=gdocs):
            for doc in gdocs:
                flt.filter(doc)

        parts.append(f"{engine} {gmb / best_of(run_general, args.repeat):.1f} MB/s")
    os.environ.pop("MMEDC_KEYWORD_ENGINE", None)
    kw._MATCHERS.clear()
    seeds = {lang: SeedRule(lang) for lang in LANGS}
    seed_secs = best_of(lambda: [seeds[lang].keep(t) for lang, ts in general.items() for t in ts], args.repeat)
    print(f"general (non-medical) documents only, all languages, {gmb:.2f} MB: " + ", ".join(parts)
          + f", MMedC rule {gmb / seed_secs:.1f} MB/s")
    every = [t for lang in LANGS for t, _, _ in sets[lang]]
    ref = best_of(lambda: [t.lower() for t in every], args.repeat)
    print(f"machine reference: str.lower() over the same texts runs at {total_mb / ref:.1f} MB/s in this run")
    print("MB/s = UTF-8 megabytes per CPU-second of one process, best of --repeat runs; mmedc timed through")
    print("MedicalKeywordFilter.filter (metadata included); the MMedC rule is given the same keyword lists")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
