"""The filter_web recipe end to end: two tasks, rejected output for audit, resume after a killed task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pyarrow.parquet as pq
import pytest

from mmedc.io.parquet import iter_records
from mmedc.langid import MMEDC_LANGUAGES
from mmedc.recipes.filter_web import run_filter_web
from mmedc.samples.make_web import make_web_sample


@pytest.fixture(scope="module")
def web_input(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web_in")
    make_web_sample(folder, docs_per_lang=12, files=4)
    return folder


def _rows(folder):
    return sorted(iter_records(str(folder)), key=lambda r: r["id"])


def test_two_tasks_end_to_end(web_input, tmp_path):
    out, rej = tmp_path / "kept", tmp_path / "rejected"
    summary = run_filter_web(str(web_input), str(out), rejected_output=str(rej), tasks=2, workers=2)
    kept, rejected = _rows(out), _rows(rej)
    inputs = list(iter_records(str(web_input), columns=["id", "text", "label"]))
    readable = [r for r in inputs if isinstance(r["text"], str) and r["text"].strip()]
    assert kept and rejected
    assert len(kept) + len(rejected) == len(readable)  # nothing lost silently
    assert {r["id"] for r in kept}.isdisjoint({r["id"] for r in rejected})
    assert all(r["lang"] in MMEDC_LANGUAGES and r["source"] == "web" for r in kept)
    assert all(r["med_kw_count"] is not None and r["med_kw_density"] > 0 for r in kept)
    import json

    reasons = {json.loads(r["metadata"]).get("filter_reason") for r in rejected}
    assert reasons and None not in reasons
    # the filter mostly agrees with the sample's labels
    label = {r["id"]: r["label"] for r in inputs}
    precision = sum(label[r["id"]] == "medical" for r in kept) / len(kept)
    assert precision >= 0.9
    assert summary["manifest"]["rows"] == len(kept)
    assert {e["lang"] for e in summary["manifest"]["by_lang_source"]} <= set(MMEDC_LANGUAGES)
    reader_stats = next(v for k, v in summary["stats"].items() if "Corpus reader" in k)
    assert reader_stats["empty"] >= 1  # the sample's empty rows were counted, not silently lost


SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from datatrove.pipeline.base import PipelineStep
    from mmedc.executors import make_executor
    from mmedc.recipes.filter_web import filter_web_pipeline

    class KillOnce(PipelineStep):
        name = "kill once"
        def __init__(self, marker):
            super().__init__()
            self.marker = marker
        def run(self, data, rank=0, world_size=1):
            for i, doc in enumerate(data):
                if rank == 1 and i == 7 and not os.path.exists(self.marker):
                    open(self.marker, "w").close()
                    os.kill(os.getpid(), signal.SIGKILL)
                yield doc

    if __name__ == "__main__":
        inp, out, marker = sys.argv[1:4]
        pipeline = filter_web_pipeline(inp, out, max_rows=2)
        pipeline.insert(-1, KillOnce(marker))
        make_executor(pipeline, logging_dir=out + "/_logs", tasks=2, workers=1).run()
    """
)


def _run_script(*args, log):
    """Run the script in its own process group; return (exit code, log text). The group is killed
    afterwards: a SIGKILLed run leaves datatrove's multiprocess manager behind."""
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, *map(str, args)], stdout=f, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=300)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return code, open(log).read()


def test_resume_after_killed_task_matches_uninterrupted_run(web_input, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    ref_marker = tmp_path / "ref.marker"
    ref_marker.touch()  # the reference run is never killed
    code, log = _run_script(script, web_input, tmp_path / "ref", ref_marker, log=tmp_path / "ref.log")
    assert code == 0, log[-2000:]

    out, marker = tmp_path / "out", tmp_path / "kill.marker"
    code, log = _run_script(script, web_input, out, marker, log=tmp_path / "first.log")
    assert code == -9 and marker.exists(), log[-2000:]  # killed mid-way through rank 1
    assert (out / "_logs" / "completions" / "00000").exists()
    assert not (out / "_logs" / "completions" / "00001").exists()
    partial = list(out.glob("00001_*.parquet"))  # rank 1 had finished some shards before it died
    assert partial

    code, log = _run_script(script, web_input, out, marker, log=tmp_path / "second.log")
    assert code == 0, log[-2000:]
    assert "Skipping 1 already completed tasks" in log  # rank 0 was not redone
    got, want = _rows(out), _rows(tmp_path / "ref")
    assert len({r["id"] for r in got}) == len(got)
    assert got == want
    assert not list(out.glob("*.tmp"))
    for shard in out.glob("*.parquet"):
        assert pq.ParquetFile(shard).metadata.num_rows <= 2
