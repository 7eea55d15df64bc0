"""A recipe's output folder opens as one table with every reader: pyarrow, HF datasets, DuckDB, Spark.

The folders come from real recipe runs (filter_web on the bundled web sample, then the staged dedupe
of that output, which also writes a report), so manifests, run records, logs and reports are there."""

from __future__ import annotations

import os
import shutil

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from mmedc.io.layout import logs_dir, manifest_path, report_path, run_record_path
from mmedc.io.shards import iter_records


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    from mmedc.recipes.dedupe import run_dedupe
    from mmedc.recipes.filter_web import run_filter_web
    from mmedc.samples.web import make_web_sample

    root = tmp_path_factory.mktemp("outputs")
    make_web_sample(root / "in", docs_per_lang=6, files=2, fmt="jsonl")
    web = str(root / "web")
    run_filter_web(str(root / "in"), web, tasks=2, workers=1, max_rows=7)
    dedup = str(root / "dedup")
    run_dedupe([web], dedup, tasks=2, workers=1)
    for path in (manifest_path(web), logs_dir(web), run_record_path(web), manifest_path(dedup), run_record_path(dedup)):
        assert os.path.exists(path), path  # the metadata is there, where readers do not look
    assert os.path.exists(report_path(dedup, "dedupe_report.json"))
    return {"web": web, "dedup": dedup}


def _rows(table_rows):
    return sorted((r["id"], r["text"]) for r in table_rows)


@pytest.fixture(scope="module")
def expected(outputs):
    want = {k: _rows(iter_records(v, columns=["id", "text"])) for k, v in outputs.items()}
    assert all(want.values())
    return want


@pytest.mark.parametrize("kind", ["web", "dedup"])
def test_pyarrow_reads_the_folder(outputs, expected, kind):
    out = outputs[kind]
    assert _rows(ds.dataset(out, format="parquet").to_table(columns=["id", "text"]).to_pylist()) == expected[kind]
    assert _rows(pq.read_table(out, columns=["id", "text"]).to_pylist()) == expected[kind]


@pytest.mark.parametrize("kind", ["web", "dedup"])
def test_duckdb_reads_the_folder(outputs, expected, kind):
    duckdb = pytest.importorskip("duckdb")
    out = outputs[kind]
    for pattern in (f"{out}/*", f"{out}/*.parquet", f"{out}/**/*.parquet"):
        got = duckdb.sql(f"select id, text from read_parquet('{pattern}')").fetchall()
        assert sorted(got) == expected[kind], pattern


@pytest.mark.parametrize("kind", ["web", "dedup"])
def test_hf_datasets_reads_the_folder(outputs, expected, kind, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = outputs[kind]
    a = datasets.load_dataset("parquet", data_dir=out, split="train", cache_dir=str(tmp_path / "c1"))
    b = datasets.load_dataset(out, split="train", cache_dir=str(tmp_path / "c2"))
    for dset in (a, b):
        assert _rows(dset.select_columns(["id", "text"]).to_list()) == expected[kind]


def test_spark_reads_the_folder(outputs, expected):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs java")
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").appName("mmedc-layout-test")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        for kind, out in outputs.items():
            rows = spark.read.parquet(out).select("id", "text").collect()
            assert _rows([r.asDict() for r in rows]) == expected[kind]
    finally:
        spark.stop()
