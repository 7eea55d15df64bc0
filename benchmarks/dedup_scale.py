"""Whole-dedupe scale: N documents of about 1 KB through the dedupe recipe; wall time and peak memory.

Generates ``--docs`` single-paragraph documents of about ``--doc-bytes`` bytes from real sentences in
six languages (``--data``), with ``--near-rate`` planted near-copies (one word or character changed)
and ``--exact-rate`` exact copies, as mmedc shards (not timed). Then, timed, with ``--tasks`` /
``--workers`` on the local executor:

- baseline: a copy of the same shards (ShardReader -> ShardedParquetWriter), the I/O floor;
- every stage of the dedupe recipe (boilerplate counts and find, signatures, buckets, clusters, filter).

Peak memory is the largest sum of resident memory over this process and all its children, sampled
every 0.2 s.

    .venv/bin/python benchmarks/dedup_scale.py --docs 1000000 --tasks 2 --workers 2
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from datatrove.data import Document

from mmedc.executors import make_executor
from mmedc.io.parquet import ShardedParquetWriter, ShardReader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dedup_common import DEFAULT_DATA, require_data  # noqa: E402

LANGS = ("en", "fr", "es", "ru", "zh", "ja")


class PeakRSS:
    """Sample the resident memory of this process tree in a thread; ``peak`` in bytes."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def generate(data: Path, out: Path, n: int, doc_bytes: int, near_rate: float, exact_rate: float, seed: int) -> dict:
    rng = random.Random(seed)
    sents = {lang: [s.strip() for s in (data / "general" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
                    if s.strip()] for lang in LANGS}
    planted = {"near": 0, "exact": 0}
    recent: list[Document] = []
    with ShardedParquetWriter(str(out), max_rows=50_000) as w:
        for i in range(n):
            r = rng.random()
            if recent and r < near_rate + exact_rate:
                src = rng.choice(recent)
                text = src.text
                if r < near_rate:
                    k = rng.randrange(len(text) // 2, len(text))
                    text = text[:k] + ("X" if src.metadata["language"] in ("zh", "ja") else " extra ") + text[k:]
                    planted["near"] += 1
                else:
                    planted["exact"] += 1
                doc = Document(text=text, id=f"d{i:08d}", metadata={"language": src.metadata["language"],
                                                                    "source": rng.choice(["web", "website"])})
            else:
                lang = LANGS[i % len(LANGS)]
                sep = "" if lang in ("zh", "ja") else " "
                parts: list[str] = []
                size = 0
                while size < doc_bytes:
                    s = rng.choice(sents[lang])
                    parts.append(s)
                    size += len(s.encode()) + 1
                doc = Document(text=sep.join(parts), id=f"d{i:08d}", metadata={"language": lang, "source": "web"})
                recent.append(doc)
                if len(recent) > 1000:
                    recent.pop(rng.randrange(len(recent)))
            w.write(doc, rank=0)
    return planted


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation texts (default: ../shared/data/text)")
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--doc-bytes", type=int, default=1000)
    ap.add_argument("--near-rate", type=float, default=0.04)
    ap.add_argument("--exact-rate", type=float, default=0.01)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder, removed at the end")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    require_data(args.data)

    from mmedc.recipes.dedupe import dedupe_report, dedupe_stages

    root = args.workdir or Path(tempfile.mkdtemp(prefix="mmedc_dedup_scale_"))
    try:
        t = time.perf_counter()
        inp = root / "input"
        planted = generate(args.data, inp, args.docs, args.doc_bytes, args.near_rate, args.exact_rate, args.seed)
        in_bytes = sum(p.stat().st_size for p in inp.glob("*.parquet"))
        print(f"input: {args.docs:,} documents of ~{args.doc_bytes} B, planted {planted}, "
              f"{in_bytes / 2**20:.0f} MiB of shards; generated in {time.perf_counter() - t:.0f}s")
        print(f"executor: local, tasks={args.tasks}, workers={args.workers}, cores={psutil.cpu_count()}")

        rows = []
        with PeakRSS() as mem:
            t = time.perf_counter()
            make_executor([ShardReader(str(inp)), ShardedParquetWriter(str(root / "copy"))], str(root / "logs_copy"),
                          tasks=args.tasks, workers=args.workers, skip_completed=False).run()
            rows.append(("baseline: read + write the shards", time.perf_counter() - t, mem.peak))
        output, work = str(root / "dedup"), str(root / "work")
        total = 0.0
        peak = 0
        for name, pipeline, single in dedupe_stages([str(inp)], output, work):
            with PeakRSS() as mem:
                t = time.perf_counter()
                make_executor(pipeline, f"{work}/logs/{name}", tasks=1 if single else args.tasks,
                              workers=1 if single else args.workers, skip_completed=False).run()
                dt = time.perf_counter() - t
            rows.append((f"dedupe: {name}", dt, mem.peak))
            total += dt
            peak = max(peak, mem.peak)
        rows.append(("dedupe: all stages", total, peak))
        report = dedupe_report(output, work)

        print(f"\n{'step':<40}{'wall s':>9}{'peak RSS MiB':>14}")
        for name, dt, p in rows:
            print(f"{name:<40}{dt:>9.1f}{p / 2**20:>14.0f}")
        print(f"\ndedupe / copy wall time = {total / rows[0][1]:.1f}x; "
              f"{args.docs / total:,.0f} documents/s end to end")
        print("removed:", json.dumps(report["removed"]), f"out {report['documents_out']:,} of {report['documents_in']:,}")
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
