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
from mmedc.samples.web import make_web_sample


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


# ---- order by cost -----------------------------------------------------------------------------


def _chain(steps, docs):
    data = iter(docs)
    for step in steps:
        data = step.run(data)
    return list(data)


def _sample_docs(with_language_folder: bool):
    from datatrove.data import Document

    from mmedc.samples.web import build_web_rows

    rows = [r for r in build_web_rows(docs_per_lang=24) if isinstance(r.get("text"), str) and r["text"].strip()]
    folder = "{}/part-0.parquet"
    return [
        Document(text=r["text"], id=f"{r['id']}-{i}",
                 metadata={"file_path": folder.format(r["label_lang"]) if with_language_folder else "part-0.parquet"})
        for i, r in enumerate(rows)
    ]


@pytest.mark.parametrize("known", [True, False], ids=["language_known", "language_unknown"])
def test_cost_order_keeps_what_language_id_first_keeps(known):
    from mmedc.recipes.filter_web import filter_web_pipeline

    before = _chain(filter_web_pipeline("in", "out", order="lid_first")[1:-1], _sample_docs(known))
    steps = filter_web_pipeline("in", "out", order="cost")[1:-1]
    after = _chain(steps, _sample_docs(known))
    assert before and {d.id for d in after} == {d.id for d in before}
    by_id = {d.id: d for d in before}
    for d in after:  # same language and the same evidence
        b = by_id[d.id].metadata
        assert (d.metadata["language"], d.metadata["med_kw_count"], d.metadata["med_kw_density"]) == (
            b["language"], b["med_kw_count"], b["med_kw_density"])
    declare, first, lid, _again = steps
    # language ID ran on the keyword filter's survivors only
    assert lid.stats["total"].total == first.stats["forwarded"].total < first.stats["total"].total
    if known:
        assert declare.stats["declared"].total == first.stats["total"].total
    else:
        assert first.stats["routed_by_script"].total == first.stats["total"].total


def test_declared_language_column_path_and_mismatch():
    from datatrove.data import Document

    from mmedc.langid import DeclareLanguage, LanguageID

    docs = [
        Document(text="x", id="col", metadata={"language": "ru", "file_path": "en/a.parquet"}),
        Document(text="x", id="path", metadata={"file_path": "en/a.parquet"}),
        Document(text="x", id="none", metadata={"file_path": "web/a.parquet"}),
    ]
    out = {d.id: d.metadata.get("language") for d in _chain([DeclareLanguage()], docs)}
    assert out == {"col": "ru", "path": "en", "none": None}
    # the input folder itself may be the language folder: the pattern sees root + file_path
    doc = Document(text="x", id="root", metadata={"file_path": "part.parquet"})
    assert _chain([DeclareLanguage(root="/data/CulturaX/fr")], [doc])[0].metadata["language"] == "fr"
    assert _chain([DeclareLanguage(language="zh-CN")], [Document(text="x", id="f")])[0].metadata["language"] == "zh"
    with pytest.raises(ValueError, match="named group"):
        DeclareLanguage(path_pattern=r"/(\w\w)/")
    # a document declared French but written in English is dropped by the check, with its reason
    check = LanguageID(check_declared=True)
    en = Document(text="The weather was lovely and we walked along the river until the sun went down.",
                  id="e", metadata={"language": "fr"})
    assert check.filter(en) == (False, "language_mismatch")
    assert en.metadata["declared_language"] == "fr" and en.metadata["language"] == "en"


def test_progress_line_has_rate_and_eta(tmp_path):
    import pyarrow as pa

    from mmedc.recipes.filter_web import Progress

    pq.write_table(pa.table({"text": ["a" * 1000] * 40}), tmp_path / "part.parquet")
    step = Progress(str(tmp_path), every_s=0.0)
    assert step._total(0, 1) == 40
    line = Progress.line(10, 10_000, 2.0, 40)
    assert "5 docs/s" in line and "0.01 MB/s" in line and "25% of 40 rows" in line and "ETA 0m06s" in line
    from datatrove.data import Document

    docs = [Document(text="a" * 1000, id=str(i)) for i in range(300)]
    assert len(list(step.run(iter(docs)))) == 300
