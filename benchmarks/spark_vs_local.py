"""Wall time of the ``filter_web`` recipe: Spark ``local[N]`` against datatrove's local executor with N workers.

Both runs filter the same generated web corpus (the bundled multilingual sample, scaled up to about
``--mb`` megabytes of text) with the same number of tasks, one after the other in this process, and
their outputs are compared row for row. Spark's start-up (JVM, session, first Python workers) is
measured apart from the run itself.

    python benchmarks/spark_vs_local.py                  # ~200 MB, 8 tasks, 2 workers / local[2]
    python benchmarks/spark_vs_local.py --mb 20          # a quick look
    python benchmarks/spark_vs_local.py --rounds 2       # local, Spark, Spark, local: fairer on a busy machine

The generated input is kept in ``--workdir`` and reused by later runs with the same size. Data: none
needed (generated from the bundled sample); it needs the spark extra and Java 17+, and says so in one
line (exit 0) without them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path


def generate_input(folder: Path, mb: float, files: int) -> dict:
    """Write (or reuse) about ``mb`` MB of text as ``files`` Parquet files; return its description."""
    from mmedc.samples.web import DATA_DIR, LANGUAGES, make_web_sample

    languages = [lang for lang in LANGUAGES if (DATA_DIR / f"{lang}.json").is_file()]
    info_path = folder.with_name(folder.name + ".json")  # beside the input: readers read the folder
    wanted = {"mb": mb, "files": files, "languages": languages}
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        if {k: info.get(k) for k in wanted} == wanted:
            return info
    shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    from mmedc.samples.web import build_web_rows

    probe = build_web_rows(100, seed=1, languages=languages)  # UTF-8 bytes per document, CJK included
    per_doc = sum(len((r["text"] or "").encode()) for r in probe) / len(probe)
    needed = max(10, round(mb * 1e6 / per_doc / len(languages)))  # documents per language
    # the sample has a bounded number of distinct documents per seed: join several seeds
    copies = -(-needed // 4000)
    paths = []
    for seed in range(copies):
        part = folder / f"_seed{seed}"
        written = make_web_sample(part, docs_per_lang=-(-needed // copies), seed=seed,
                                  files=max(1, files // copies), languages=languages)
        for p in written:
            paths.append(p.rename(folder / f"seed{seed}_{p.name}"))
        part.rmdir()
    import pyarrow.parquet as pq

    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    text_bytes = 0
    for p in paths:
        for batch in pq.ParquetFile(p).iter_batches(columns=["text"]):
            text_bytes += sum(len(x.encode()) for x in batch.column(0).to_pylist() if x)
    info = {**wanted, "documents": rows, "text_mb": text_bytes / 1e6,
            "disk_mb": sum(p.stat().st_size for p in paths) / 1e6, "generated_s": time.perf_counter() - t}
    info_path.write_text(json.dumps(info))
    return info


def output_digest(folder: Path) -> tuple[int, str]:
    """Row count and an order-independent digest of (id, text) of an output."""
    from mmedc.io.parquet import iter_records

    digests = sorted(hashlib.sha1(f"{r['id']}\0{r['text']}".encode()).hexdigest()
                     for r in iter_records(str(folder), columns=["id", "text"]))
    return len(digests), hashlib.sha1("".join(digests).encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=float, default=200, help="megabytes of input text (default 200)")
    p.add_argument("--files", type=int, default=16, help="input Parquet files")
    p.add_argument("--tasks", type=int, default=8, help="tasks (ranks) for both executors")
    p.add_argument("--workers", type=int, default=2, help="local workers and Spark local[N] cores")
    p.add_argument("--rounds", type=int, default=1,
                   help="runs of each executor, in A-B-B-A order (2+ evens out a machine whose load drifts)")
    p.add_argument("--workdir", default="/tmp/mmedc_bench_spark", help="input (kept) and outputs")
    args = p.parse_args(argv)
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        print("skipped: pyspark is not installed (pip install 'mmedc[spark]')")
        return 0
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        print("skipped: Spark needs Java 17+ (java on PATH or JAVA_HOME)")
        return 0
    # PySpark starts its Python workers with OMP_NUM_THREADS=spark.task.cpus (1); datatrove's local
    # workers inherit the environment. Give the baseline the same, or it measures thread contention.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from mmedc.executors.spark import get_or_create_session
    from mmedc.recipes.filter_web import run_filter_web

    work = Path(args.workdir)
    input_dir = work / "input"
    info = generate_input(input_dir, args.mb, args.files)
    print(f"input: {info['documents']:,} documents, {info['text_mb']:.1f} MB of text "
          f"({info['disk_mb']:.1f} MB zstd Parquet), {args.files} files, languages {','.join(info['languages'])}",
          flush=True)

    # Spark start-up, measured apart: the session (JVM), then a first job (Python worker processes)
    t = time.perf_counter()
    session, _ = get_or_create_session(
        f"local[{args.workers}]", {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"},
        "mmedc-benchmark",
    )
    session_s = time.perf_counter() - t
    t = time.perf_counter()
    session.sparkContext.parallelize(range(args.workers), args.workers).map(lambda x: x).collect()
    workers_s = time.perf_counter() - t

    times: dict[str, list[float]] = {"local": [], "spark": []}
    digests: set[tuple[int, str]] = set()
    try:
        for r in range(args.rounds):
            for executor in ("local", "spark") if r % 2 == 0 else ("spark", "local"):
                out = work / f"out_{executor}"
                shutil.rmtree(out, ignore_errors=True)
                t = time.perf_counter()
                run_filter_web(str(input_dir), str(out), executor=executor, tasks=args.tasks,
                               workers=args.workers, skip_completed=False, spark_master=f"local[{args.workers}]")
                times[executor].append(time.perf_counter() - t)
                digests.add(output_digest(out))
                print(f"round {r + 1}: {executor} {times[executor][-1]:.1f} s", flush=True)
    finally:
        session.stop()

    mb = info["text_mb"]
    local_s, spark_s = sum(times["local"]) / args.rounds, sum(times["spark"]) / args.rounds
    startup = session_s + workers_s
    identical = len(digests) == 1
    rows = next(iter(digests))[0]
    runs = f" (mean of {args.rounds} runs each)" if args.rounds > 1 else ""
    print(f"\n== filter_web: Spark vs local executor{runs} " + "=" * 30)
    print(f"input                    {info['documents']:>10,} docs  {mb:8.1f} MB text")
    print(f"tasks                    {args.tasks:>10}       (local: {args.workers} workers; Spark: local[{args.workers}]; "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})")
    print(f"local executor (baseline){local_s:>10.1f} s     {mb / local_s:6.2f} MB/s   runs: "
          + ", ".join(f"{x:.1f}" for x in times["local"]))
    print(f"Spark run                {spark_s:>10.1f} s     {mb / spark_s:6.2f} MB/s   runs: "
          + ", ".join(f"{x:.1f}" for x in times["spark"]))
    print(f"Spark start-up           {startup:>10.1f} s     (session {session_s:.1f} s, "
          f"first Python workers {workers_s:.1f} s)")
    print(f"ratio Spark / local      {spark_s / local_s:>10.2f} x   (with start-up: "
          f"{(spark_s + startup) / local_s:.2f} x; target <= 1.3 x)")
    print(f"kept rows                {rows:>10,}       every run: {'identical' if identical else 'DIFFERENT'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
