"""Which readers open an mmedc output folder as one table: pyarrow, DuckDB, HF datasets, Spark.

Runs ``filter_web`` on the bundled web sample and the staged ``dedupe`` on its output (which also
writes a report), then opens each output *folder* (not a ``*.parquet`` glob) with every reader and
prints ``ok`` when it reads exactly the rows of the shards. No data is needed beyond the package.

    python benchmarks/output_readers.py
    PYTHONPATH=/path/to/an/older/checkout python benchmarks/output_readers.py   # the same, older layout

Spark is tried when ``pyspark`` and ``java`` are there; HF datasets runs offline.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile
import warnings


def readers(out: str, cache: str) -> dict:
    import duckdb
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    tries = {
        "pyarrow.dataset(dir)": lambda: ds.dataset(out, format="parquet").count_rows(),
        "pq.read_table(dir)": lambda: pq.read_table(out).num_rows,
        "duckdb read_parquet('dir/*')": lambda: duckdb.sql(f"select count(*) from read_parquet('{out}/*')").fetchall()[0][0],
        "duckdb read_parquet('dir/*.parquet')":
            lambda: duckdb.sql(f"select count(*) from read_parquet('{out}/*.parquet')").fetchall()[0][0],
    }
    try:
        import datasets

        tries["datasets parquet, data_dir=dir"] = lambda: datasets.load_dataset(
            "parquet", data_dir=out, split="train", cache_dir=cache + "1").num_rows
        tries["datasets load_dataset(dir)"] = lambda: datasets.load_dataset(out, split="train", cache_dir=cache + "2").num_rows
    except ImportError:
        pass
    if shutil.which("java"):
        try:
            from pyspark.sql import SparkSession

            def spark_rows():
                spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
                return spark.read.parquet(out).count()

            tries["spark.read.parquet(dir)"] = spark_rows
        except ImportError:
            pass
    return tries


def main() -> int:
    warnings.filterwarnings("ignore")
    os.environ["HF_HUB_OFFLINE"] = "1"
    import pyarrow.parquet as pq

    from mmedc.recipes.dedupe import run_dedupe
    from mmedc.recipes.filter_web import run_filter_web
    from mmedc.samples.web import make_web_sample

    root = tempfile.mkdtemp(prefix="mmedc_readers_")
    try:
        make_web_sample(f"{root}/in", docs_per_lang=6, files=2, fmt="jsonl")
        run_filter_web(f"{root}/in", f"{root}/web", tasks=2, workers=1, max_rows=7)
        run_dedupe([f"{root}/web"], f"{root}/dedup", tasks=2, workers=1)
        lines, good, total = [], 0, 0
        for kind in ("web", "dedup"):
            out = f"{root}/{kind}"
            want = sum(pq.ParquetFile(f).metadata.num_rows for f in glob.glob(f"{out}/*.parquet"))
            for name, read in readers(out, f"{root}/hf_{kind}").items():
                try:
                    got = read()
                    verdict = "ok" if got == want else f"{got} rows, shards hold {want}"
                except Exception as e:  # noqa: BLE001 - the point is to see which fail
                    verdict = f"fails ({type(e).__name__})"
                good += verdict == "ok"
                total += 1
                lines.append(f"{kind:6} {name:38} {verdict}")
        print("\n".join(lines), file=sys.stdout)
        print(f"\n{good}/{total} reader x output pairs read every row")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
