"""A run records what it was asked; the same request resumes, another one is refused or overwrites."""

from __future__ import annotations

import json

import pytest

from mmedc.io.layout import run_record_path
from mmedc.io.shards import iter_records
from mmedc.recipes.common import RunMismatchError
from mmedc.recipes.filter_web import run_filter_web


@pytest.fixture(scope="module")
def web_input(tmp_path_factory):
    from mmedc.samples.web import make_web_sample

    inp = tmp_path_factory.mktemp("in")
    make_web_sample(inp, docs_per_lang=5, files=4, fmt="jsonl")
    return str(inp)


def _ids(out):
    return sorted(r["id"] for r in iter_records(out, columns=["id"]))


def test_record_holds_the_request_and_same_request_resumes(web_input, tmp_path):
    out = str(tmp_path / "web")
    first = run_filter_web(web_input, out, tasks=2, workers=1, languages=["fr", "en"])
    before = _ids(out)
    record = json.loads(open(run_record_path(out)).read())
    assert record["recipe"] == "filter_web" and record["tasks"] == 2 and record["inputs"] == [web_input]
    assert record["options"]["languages"] == ["fr", "en"] and record["options"]["text_key"] == "text"  # defaults too
    assert record["versions"]["datatrove"] and record["completed_at"] and record["rows"] == first["manifest"]["rows"]
    assert first["docs_per_s"] > 0 and first["mb_per_s"] > 0 and first["documents_in"] > first["manifest"]["rows"]
    # the same request (a default given explicitly, workers changed) resumes: all tasks are skipped
    again = run_filter_web(web_input, out, tasks=2, workers=2, languages=("fr", "en"), text_key="text")
    assert _ids(out) == before and again["manifest"]["rows"] == first["manifest"]["rows"] == len(before)
    assert json.loads(open(run_record_path(out)).read())["attempts"] == 2


def test_other_options_are_refused_naming_the_difference(web_input, tmp_path):
    out = str(tmp_path / "web")
    run_filter_web(web_input, out, tasks=2, workers=1, languages=["fr"])
    kept = _ids(out)
    with pytest.raises(RunMismatchError, match=r"options\.languages: was \['fr'\], now \['en'\]") as e:
        run_filter_web(web_input, out, tasks=2, workers=1, languages=["en"])
    assert "overwrite" in str(e.value)
    assert _ids(out) == kept  # nothing was touched
    summary = run_filter_web(web_input, out, tasks=2, workers=1, languages=["en"], overwrite=True)
    langs = {r["lang"] for r in iter_records(out, columns=["lang"])}
    assert langs == {"en"} and summary["manifest"]["rows"] == len(_ids(out))


def test_other_task_count_never_duplicates_rows(web_input, tmp_path):
    out, ref = str(tmp_path / "web"), str(tmp_path / "ref")
    run_filter_web(web_input, out, tasks=2, workers=1)
    with pytest.raises(RunMismatchError, match=r"tasks: was 2, now 4"):
        run_filter_web(web_input, out, tasks=4, workers=1)
    run_filter_web(web_input, out, tasks=4, workers=1, overwrite=True)
    run_filter_web(web_input, ref, tasks=4, workers=1)
    ids = _ids(out)
    assert len(ids) == len(set(ids)) and ids == _ids(ref)


def test_unrecorded_earlier_output_is_refused(web_input, tmp_path):
    from datatrove.data import Document

    from mmedc.io.writer import ShardedParquetWriter

    out = tmp_path / "web"
    with ShardedParquetWriter(str(out)) as w:
        w.write(Document(text="left over", id="old"))
    with pytest.raises(RunMismatchError, match="unrecorded run"):
        run_filter_web(web_input, str(out), tasks=1, workers=1)
    run_filter_web(web_input, str(out), tasks=1, workers=1, overwrite=True)
    assert "old" not in _ids(str(out))


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_folder does not exist"):
        run_filter_web(str(tmp_path / "no_such_folder"), str(tmp_path / "out"), tasks=1, workers=1)


def test_block_counters_by_class(web_input, tmp_path):
    from mmedc.io.readers import CorpusReader
    from mmedc.io.writer import ShardedParquetWriter
    from mmedc.recipes.common import block_counters

    summary = run_filter_web(web_input, str(tmp_path / "web"), tasks=1, workers=1)
    reader = block_counters(summary["stats"], CorpusReader)
    assert reader["documents"] == summary["documents_in"] > 0
    assert block_counters(summary["stats"], ShardedParquetWriter)["documents"] == summary["manifest"]["rows"]


def test_logging_dir_outside_the_output_is_part_of_the_run(web_input, tmp_path):
    out, logs = str(tmp_path / "web"), str(tmp_path / "logs")
    first = run_filter_web(web_input, out, tasks=2, workers=1, logging_dir=logs)
    assert first["logging_dir"] == logs and (tmp_path / "logs" / "completions").is_dir()
    # another output, but the markers of the first run would skip every task: refused
    with pytest.raises(RunMismatchError, match="completion markers in"):
        run_filter_web(web_input, str(tmp_path / "other"), tasks=2, workers=1, logging_dir=logs)
    # overwrite clears the markers too, so the run really runs
    again = run_filter_web(web_input, str(tmp_path / "other"), tasks=2, workers=1, logging_dir=logs, overwrite=True)
    assert again["manifest"]["rows"] == first["manifest"]["rows"] > 0
