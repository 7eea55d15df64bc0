"""filter_web end to end, MB/s per core, against the original MMedC script's rule over the same input.

Input: generated CulturaX-shaped Parquet (columns ``text``, ``timestamp``, ``url``, ``source``; one
folder per language, ``<lang>/<lang>_part_NNNNN.parquet``, as CulturaX is laid out), built from the
bundled web sample (``mmedc.samples.web``, project-written paragraphs in the six languages):
documents of 2-5 paragraphs, about ``--medical-share`` of them medical (a general web crawl is mostly
not medical), the rest general and health-adjacent pages. ``--mb`` sets the size (the issue's figure
is for >= 200 MB; the default is short for a shared machine).

Runs, on the same files, one task and one worker in this process, timed in CPU seconds of the process
(start-up and the writing of kept shards included; the input generation not):

* ``filter_web`` language known (the language folders: keyword filter first, language ID on survivors);
* ``filter_web`` language unknown (``language_from_path=None``: lists by script, language ID on candidates);
* ``filter_web --order lid_first`` (language ID on every document first, the former order);
* the MMedC release's script over each language folder (``pd.read_parquet(...)["text"]``, then
  ``match_keywords`` per text, with its own lists and thresholds: ``_seed_rule.OriginalRule``, and the
  same decisions through a token ``Counter``, ``FastOriginalRule``). It knows the language (one run per
  language) and does no language ID.

MB/s = UTF-8 megabytes of input text per CPU-second; the machine is shared, so read the ratios.

    python benchmarks/filter_web_speed.py [--mb 20] [--medical-share 0.05] [--work /tmp/fw_bench]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from mmedc.lang import MMEDC_LANGUAGES  # noqa: E402


def make_input(folder: Path, mb: float, medical_share: float, rows_per_file: int = 5000) -> float:
    """Write CulturaX-shaped files of about ``mb`` MB of text; return the MB of text written."""
    from mmedc.samples.web import build_web_rows

    per_lang = mb * 1e6 / len(MMEDC_LANGUAGES)
    total = 0
    for lang in MMEDC_LANGUAGES:
        out = folder / lang
        out.mkdir(parents=True, exist_ok=True)
        rows: list[dict] = []
        size, seed, part = 0, 0, 0
        n_med = n_all = 0
        while size < per_lang:
            for r in build_web_rows(docs_per_lang=200, seed=seed, languages=[lang], bad_rows=False):
                if r["label"] == "medical" and n_med > medical_share * n_all:
                    continue
                n_med += r["label"] == "medical"
                n_all += 1
                rows.append({"text": r["text"], "timestamp": r["timestamp"], "url": r["url"], "source": r["source"]})
                size += len(r["text"].encode("utf-8"))
                if len(rows) >= rows_per_file:
                    pq.write_table(pa.Table.from_pylist(rows), out / f"{lang}_part_{part:05d}.parquet", compression="zstd")
                    rows, part = [], part + 1
                if size >= per_lang:
                    break
            seed += 1
        if rows:
            pq.write_table(pa.Table.from_pylist(rows), out / f"{lang}_part_{part:05d}.parquet", compression="zstd")
        total += size
    return total / 1e6


def timed(fn) -> tuple[float, object]:
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def run_recipe(inp: Path, out: Path, **kw) -> int:
    from mmedc.recipes.filter_web import run_filter_web

    shutil.rmtree(out, ignore_errors=True)
    summary = run_filter_web(str(inp), str(out), tasks=1, workers=1, skip_completed=False, **kw)
    return int(summary["manifest"]["rows"])


def kept_ids(out: Path) -> set[str]:
    from mmedc.io.parquet import iter_records

    return {r["id"] for r in iter_records(str(out), columns=["id"])}


def run_release_script(inp: Path, fast: bool) -> int:
    import pandas as pd
    from _seed_rule import FastOriginalRule, OriginalRule

    kept = 0
    for lang in MMEDC_LANGUAGES:
        rule = (FastOriginalRule if fast else OriginalRule)(lang)
        for path in sorted((inp / lang).glob("*.parquet")):
            for text in pd.read_parquet(path)["text"]:
                kept += rule.keep(text)
    return kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=20.0, help="MB of text to generate (the issue's size: 200)")
    ap.add_argument("--medical-share", type=float, default=0.05, help="share of medical documents in the input")
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    args = ap.parse_args(argv)
    from _seed_rule import RULE_DIR, available

    logging.getLogger().setLevel(logging.WARNING)
    from datatrove.utils.logging import logger

    logger.remove()
    work = args.work or Path(tempfile.mkdtemp(prefix="filter_web_bench_"))
    inp = work / "CulturaX"
    shutil.rmtree(inp, ignore_errors=True)
    mb = make_input(inp, args.mb, args.medical_share)
    print(f"input: {mb:.1f} MB of text in {len(list(inp.rglob('*.parquet')))} Parquet files under {inp}"
          f" (medical share ~{args.medical_share:.0%})")
    results = []
    for name, fn in (
        ("filter_web, language known", lambda: run_recipe(inp, work / "known")),
        ("filter_web, language unknown", lambda: run_recipe(inp, work / "unknown", language_from_path=None)),
        ("filter_web --order lid_first", lambda: run_recipe(inp, work / "lid_first", order="lid_first")),
    ):
        secs, kept = timed(fn)
        results.append((name, secs, kept))
    if available():
        for name, fast in (("MMedC release script (as released)", False), ("MMedC release rule, Counter", True)):
            secs, kept = timed(lambda fast=fast: run_release_script(inp, fast))
            results.append((name, secs, kept))
    else:
        print(f"{RULE_DIR} not found: the MMedC release's rule is not measured")
    sets = {name: kept_ids(work / name) for name in ("known", "unknown", "lid_first")}
    same = sets["known"] == sets["unknown"] == sets["lid_first"]
    print(f"kept sets of the three filter_web orders identical: {same}"
          + ("" if same else f" (known^lid_first {len(sets['known'] ^ sets['lid_first'])},"
                              f" unknown^lid_first {len(sets['unknown'] ^ sets['lid_first'])})"))
    base = {name: secs for name, secs, _ in results}
    ref = base.get("MMedC release script (as released)")
    print(f"{'run':38} {'CPU s':>7} {'MB/s':>7} {'kept':>6}  ratio vs lid_first" + ("  vs MMedC as released" if ref else ""))
    for name, secs, kept in results:
        line = f"{name:38} {secs:7.2f} {mb / secs:7.2f} {kept:6}  {base['filter_web --order lid_first'] / secs:5.2f}x"
        if ref:
            line += f"  {ref / secs:5.2f}x"
        print(line)
    print("MB/s = MB of input text per CPU-second of this process (one task, one worker; start-up included)")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
