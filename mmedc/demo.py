"""``mmedc demo``: every source on the bundled samples, then dedupe, statistics and a tiny training run.

1. general web: a multilingual sample (medical and non-medical, six languages) -> language ID ->
   medical keyword filter -> shards; the filter is scored against the sample's labels
2. textbooks: two generated books (a text-layer PDF and a scanned one) -> PDF text / OCR -> cleanup
3. websites: a fixture site served on loopback -> polite crawl to WARC -> extraction -> filters
4. dedupe across the three sources
5. statistics (table + composition chart) and a few steps of continued pretraining of a tiny model

Everything runs offline on the project's own sample data.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from mmedc.recipes import get_recipe


def _label_scores(summary: dict[str, Any]) -> dict[str, float]:
    """Precision/recall of the web filter against the sample's labels. Pages that are general with
    one medical paragraph (kind ``mixed``) are labelled general; how many were kept is reported apart."""
    from mmedc.io.shards import iter_records

    kept = {r["id"] for r in iter_records(summary["output"], columns=["id"])} if summary["manifest"]["rows"] else set()
    kinds = {r["id"]: r["kind"] for r in iter_records(summary["input"], columns=["id", "kind"])}
    tp = sum(1 for i in kept if kinds.get(i) == "medical")
    pos = sum(1 for v in kinds.values() if v == "medical")
    mixed_kept = sum(1 for i in kept if kinds.get(i) == "mixed")
    return {"precision": tp / max(1, len(kept)), "precision_without_mixed": tp / max(1, len(kept) - mixed_kept),
            "recall": tp / max(1, pos), "mixed_kept": mixed_kept, "kept": len(kept), "input": len(kinds)}


@contextlib.contextmanager
def _stderr_to(path: Path | None):
    """Send file descriptor 2 (datatrove's per-task logs, worker processes included) to ``path``."""
    if path is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _step(title: str):
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)), flush=True)
    return time.perf_counter()


def run_demo(workdir: str | Path = "demo_output", executor: str = "local", tasks: int = 2, workers: int = 2,
             quick: bool = False, verbose: bool = False) -> dict[str, Any]:
    """Run the demo in ``workdir`` (recreated) and return a summary; prints as it goes. The blocks'
    logs go to ``<workdir>/demo.log`` unless ``verbose``."""
    workdir = Path(workdir).resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    log = None if verbose else workdir / "demo.log"
    if log is not None:
        print(f"block logs and per-step statistics: {log}")
    with _stderr_to(log):
        return _run_steps(workdir, executor, tasks, workers, quick)


def _run_steps(workdir: Path, executor: str, tasks: int, workers: int, quick: bool) -> dict[str, Any]:
    ex = {"executor": executor, "tasks": tasks, "workers": workers}
    report: dict[str, Any] = {"workdir": str(workdir)}

    t = _step("1/5 general web: language ID + medical keyword filter")
    web = get_recipe("filter_web").demo(workdir, **ex)
    get_recipe("filter_web").print_summary(web)
    report["web"] = {"kept": web["manifest"]["rows"], **_label_scores(web)}
    w = report["web"]
    print(f"  against the sample's labels: precision {w['precision']:.3f} ({w['precision_without_mixed']:.3f} "
          f"leaving out {w['mixed_kept']} kept general page(s) with a medical paragraph), recall {w['recall']:.3f}"
          f"  ({time.perf_counter() - t:.1f}s)")
    sources = [web["output"]]

    t = _step("2/5 textbooks: PDF text layer + OCR + cleanup")
    books = get_recipe("textbooks").demo(workdir, ocr=not quick, **ex)
    print(f"  {books.get('documents', '?')} book document(s) -> {books['output']}  ({time.perf_counter() - t:.1f}s)")
    report["textbooks"] = {k: v for k, v in books.items() if isinstance(v, (int, float, str))}
    sources.append(books["output"])

    t = _step("3/5 websites: crawl a fixture site on loopback, extract, filter")
    site = get_recipe("websites").demo(workdir, **ex)
    print(f"  {site.get('documents', '?')} page document(s) -> {site['output']}  ({time.perf_counter() - t:.1f}s)")
    report["websites"] = {k: v for k, v in site.items() if isinstance(v, (int, float, str))}
    sources.append(site["output"])

    t = _step("4/5 dedupe across sources (exact + MinHash)")
    dd = get_recipe("dedupe").demo(workdir, input_dirs=sources, **ex)
    print(f"  {dd.get('documents_in', '?')} -> {dd.get('documents_out', '?')} documents -> {dd['output']}"
          f"  ({time.perf_counter() - t:.1f}s)")
    report["dedupe"] = {k: v for k, v in dd.items() if isinstance(v, (int, float, str))}

    t = _step("5/5 statistics and continued pretraining")
    from mmedc.stats import format_stats, write_report

    stats = write_report(dd["output"], workdir / "report")
    print(format_stats(stats))
    report["stats"] = stats["totals"]
    if not quick:
        tr = get_recipe("pretrain").demo(workdir, shards=[dd["output"]])
        losses = tr.get("losses") or []
        if losses:
            print(f"  tiny model, {len(losses)} steps on CPU: loss {losses[0]:.3f} -> {losses[-1]:.3f}")
        report["train"] = {k: v for k, v in tr.items() if isinstance(v, (int, float, str))}
    print(f"  ({time.perf_counter() - t:.1f}s)")

    (workdir / "report").mkdir(exist_ok=True)
    (workdir / "report" / "demo_summary.json").write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    print(f"\ncorpus: {dd['output']}\nreport: {workdir / 'report'} (demo_summary.json, stats.json, composition.png)")
    return report
