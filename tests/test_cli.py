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
    from mmedc.samples.web import make_web_sample

    make_web_sample(tmp_path / "in", docs_per_lang=4, files=2, fmt="jsonl")
    r = _run("run", "filter_web", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
             "--tasks", "2", "--workers", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "kept" in r.stdout and (tmp_path / "out" / ".mmedc" / "manifest.json").exists()
    r = _run("inspect", str(tmp_path / "out"), "-n", "0")
    assert r.returncode == 0 and f"run filter_web over {tmp_path / 'in'}, 2 task(s), completed" in r.stdout
    assert _run("run", "no_such_pipeline").returncode == 2
    assert "filter_web" in _run("run", "--help").stdout
    assert _run("inspect", str(tmp_path / "nothing_here")).returncode == 1


def _one_line_error(r, *needles):
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("mmedc: error: "), r.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in r.stderr


def test_library_errors_are_one_line_naming_file_and_reason(tmp_path, shards):
    import pyarrow as pa
    import pyarrow.parquet as pq

    missing = tmp_path / "no_such_input"
    _one_line_error(_run("run", "filter_web", "--input", str(missing), "--output", str(tmp_path / "o")),
                    str(missing), "does not exist")
    _one_line_error(_run("inspect", str(tmp_path / "no_such_folder")), "no_such_folder", "does not exist")
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), plain)
    _one_line_error(_run("stats", str(plain)), str(plain), "not an mmedc shard", "lang")
    r = _run("stats", str(plain), "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr and "ValueError" in r.stderr


def test_rerun_with_other_options_is_refused_then_overwritten(tmp_path):
    from mmedc.samples.web import make_web_sample

    make_web_sample(tmp_path / "in", docs_per_lang=3, files=1, fmt="jsonl")
    base = ["run", "filter_web", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--workers", "1"]
    assert _run(*base, "--tasks", "1", "--languages", "fr").returncode == 0
    _one_line_error(_run(*base, "--tasks", "2", "--languages", "fr"), str(tmp_path / "out"), "tasks: was 1, now 2",
                    "--overwrite")
    r = _run(*base, "--tasks", "2", "--languages", "en", "--overwrite")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "docs/s" in r.stdout and "MB/s" in r.stdout


@pytest.mark.parametrize("recipe", ["filter_web", "textbooks", "websites", "dedupe"])
def test_recipe_help_shows_defaults(recipe):
    import argparse

    from mmedc.recipes import get_recipe

    parser = get_recipe(recipe).build_parser()
    text = " ".join(parser.format_help().split())
    formatter = parser._get_formatter()
    for action in parser._actions:
        if (action.option_strings and action.default not in (None, False, argparse.SUPPRESS, "", [])
                and not isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._HelpAction))):
            shown = formatter._expand_help(action)
            assert "default" in shown, (recipe, action.option_strings)
            if "%(default)s" in formatter._get_help_string(action):
                assert str(action.default) in shown
    if recipe == "dedupe":
        assert "--threshold THRESHOLD" in parser.format_help() and "(default: 0.72)" in text


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
