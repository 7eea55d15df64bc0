"""The mmedc command: run, inspect, stats (with its chart), and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from datatrove.data import Document

from mmedc.io.parquet import ShardedParquetWriter

MMEDC = [sys.executable, "-m", "mmedc.cli"]


def _run(*args, timeout=300):
    return subprocess.run([*MMEDC, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def shards(tmp_path):
    docs = [
        Document(text="肺炎 " * 50, id="zh1", metadata={"language": "zh", "source": "textbook"}),
        Document(text="The patient has pneumonia. " * 20, id="en1", metadata={"language": "en", "source": "web"}),
        Document(text="Le patient a une pneumonie. " * 20, id="fr1", metadata={"language": "fr", "source": "web"}),
    ]
    list(ShardedParquetWriter(str(tmp_path / "s")).run(iter(docs)))
    return tmp_path / "s"


def test_inspect(shards):
    r = _run("inspect", str(shards), "-n", "2")
    assert r.returncode == 0, r.stderr
    assert "3 rows in 1 shard(s)" in r.stdout
    assert "by language:" in r.stdout and "zh=1" in r.stdout and "textbook=1" in r.stdout
    assert "med_kw_density: float" in r.stdout  # the schema is printed


def test_stats_writes_table_and_chart(shards, tmp_path):
    r = _run("stats", str(shards), "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    stats = json.loads((tmp_path / "rep" / "stats.json").read_text())
    by = {(x["lang"], x["source"]): x for x in stats["rows"]}
    assert by[("zh", "textbook")]["tokens"] == 100  # 50 x two Han characters, one token each
    assert stats["totals"]["documents"] == 3
    png = (tmp_path / "rep" / "composition.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_run_filter_web_and_errors(tmp_path):
    from mmedc.samples.make_web import make_web_sample

    make_web_sample(tmp_path / "in", docs_per_lang=4, files=2, fmt="jsonl")
    r = _run("run", "filter_web", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
             "--tasks", "2", "--workers", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "kept" in r.stdout and (tmp_path / "out" / ".mmedc" / "manifest.json").exists()
    assert _run("run", "no_such_pipeline").returncode == 2
    assert "filter_web" in _run("run", "--help").stdout
    assert _run("inspect", str(tmp_path / "nothing_here")).returncode == 1


def test_public_api_is_flat_and_light():
    code = (
        "import sys, mmedc\n"
        "assert 'torch' not in sys.modules and 'pyspark' not in sys.modules\n"
        "names = [getattr(mmedc, n) for n in mmedc.__all__]\n"
        "from datatrove.pipeline.base import PipelineStep\n"
        "assert issubclass(mmedc.MedicalKeywordFilter, PipelineStep) and issubclass(mmedc.PdfReader, PipelineStep)\n"
        "assert 'torch' not in sys.modules and 'pyspark' not in sys.modules\n"
        "print(len(names))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) >= 20
