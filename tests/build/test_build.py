"""The corpus build: a corpus.yaml over the bundled sources builds the same corpus twice, a failed build
resumes to identical output, the yaml is checked before any work, and the output is a Hugging Face
dataset folder with its card and charts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mmedc.decontam import Decontaminate
from mmedc.io.parquet import iter_records
from mmedc.recipes import build
from mmedc.recipes.build import ConfigError, load_config, run_build

SAMPLES = Path(build.__file__).resolve().parent.parent / "samples"
EXAM = {"question": "A 7-year-old boy is brought to the clinic with a three-day history of fever, sore throat and "
                    "tender swelling of both parotid glands; he has not received any childhood vaccinations. "
                    "Which complication should the parents be warned about?",
        "options": {"A": "Orchitis", "B": "Hepatitis"}, "answer": "A"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    from mmedc.samples.make_web import make_web_sample

    root = tmp_path_factory.mktemp("inputs")
    make_web_sample(root / "web", docs_per_lang=12)
    (root / "exam.jsonl").write_text(json.dumps(EXAM) + "\n")
    return root


def write_yaml(folder: Path, inputs: Path, **overrides) -> Path:
    cfg = {
        "name": "test-corpus",
        "output": "out",
        "languages": ["en", "zh", "ja", "fr", "ru", "es"],
        "executor": {"tasks": 2, "workers": 1},
        "sources": {
            "web": [{"input": str(inputs / "web"), "licence": "sample"}],
            "websites": [{"html": "${samples}/site", "base_url": "https://site.example/"}],
            "corpora": [{"name": "notes", "path": "${samples}/corpus/medical_notes.jsonl",
                         "fields": {"text": "body", "id": "note_id", "language": "lang"}, "licence": "sample"}],
        },
        "dedupe": {"boilerplate": {"min_docs": 10}},
        "decontamination": {"benchmarks": [{"name": "exam", "path": str(inputs / "exam.jsonl"),
                                            "fields": ["question", "options", "answer"]}]},
        "shards": {"max_rows": 50},
    }
    for key, value in overrides.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def rows(output: Path) -> list[tuple]:
    return sorted((r["id"], r["text"], r["lang"], r["source"], r["metadata"])
                  for r in iter_records(str(output / "data")))


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("first")
    report = run_build(write_yaml(folder, inputs))
    return folder / "out", report


def test_build_writes_a_dataset_folder_with_card_and_charts(built):
    out, report = built
    got = rows(out)
    assert len(got) == report["card"]["documents"] > 50
    assert {r[3] for r in got} == {"web", "website", "corpus"}
    ids = [r[0] for r in got]
    assert len(ids) == len(set(ids))
    # the planted exam item (in the clinical notes) is gone, and reported by benchmark and source
    assert "notes/note-en-2" not in ids and "notes/note-en-1" in ids
    assert report["decontamination"]["by_benchmark"]["exam"]["by_source"] == {"corpus": 1}
    # every kept document carries its dedup cluster size
    assert all(json.loads(r[4]).get("dedup_cluster_size", 0) >= 1 for r in got)
    readme = (out / "README.md").read_text()
    header = yaml.safe_load(readme.split("---")[1])
    assert header["configs"][0]["data_files"][0]["path"] == "data/*.parquet"
    assert set(header["language"]) == {"en", "zh", "ja", "fr", "ru", "es"}
    assert "| en | corpus |" in readme and "## Decontamination" in readme and "| exam | 1 | 1 | 1 | corpus 1 |" in readme
    for name in ("composition", "lengths", "scores"):
        assert (out / "charts" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_load_dataset_reads_the_folder(built):
    datasets = pytest.importorskip("datasets")
    out, report = built
    ds = datasets.load_dataset(str(out), split="train")
    assert ds.num_rows == report["card"]["documents"]
    assert set(ds.column_names) >= {"id", "text", "lang", "source"}


def test_the_same_yaml_builds_the_same_corpus_again(built, inputs, tmp_path):
    out, _ = built
    again = run_build(write_yaml(tmp_path, inputs))
    assert rows(tmp_path / "out") == rows(out)
    assert again["dedupe"]["removed"] == built[1]["dedupe"]["removed"]


def test_a_failed_build_resumes_with_identical_output(built, inputs, tmp_path, monkeypatch):
    path = write_yaml(tmp_path, inputs)
    original = Decontaminate.filter_batch
    calls = {"n": 0}

    def crash_once(self, batch):
        calls["n"] += 1
        if calls["n"] == 2:  # the second task of the final stage dies half way
            raise RuntimeError("killed")
        return original(self, batch)

    monkeypatch.setattr(Decontaminate, "filter_batch", crash_once)
    with pytest.raises(Exception):  # noqa: B017 - datatrove re-raises the task's failure its own way
        run_build(path)
    assert (tmp_path / "out" / ".mmedc" / "work" / "deduped").is_dir()
    monkeypatch.setattr(Decontaminate, "filter_batch", original)
    run_build(path)
    assert rows(tmp_path / "out") == rows(built[0])


def test_another_request_into_the_same_output_is_refused(built, inputs, tmp_path):
    path = write_yaml(tmp_path, inputs)
    shutil.copytree(built[0], tmp_path / "out")
    cfg = yaml.safe_load(path.read_text())
    cfg["dedupe"]["threshold"] = 0.9
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"dedupe\.threshold: None before, 0\.9 now"):
        run_build(path)


@pytest.mark.parametrize("change, message", [
    ({"sources": {"web": [{"input": "in", "colour": "red"}]}}, r"sources\.web\[0\]: unknown key 'colour'"),
    ({"executor": {"tasks": "two"}}, r"executor\.tasks: expected an integer, got str 'two'"),
    ({"dedupe": {"threshold": "high"}}, r"dedupe\.threshold: expected a number"),
    ({"sources": {"web": [{"input": "no/such/folder"}]}}, r"sources\.web\[0\]\.input: input path .*no/such/folder does not exist"),
    ({"sources": {"corpora": [{"name": "x", "path": "missing.jsonl"}]}}, r"sources\.corpora\[0\]: .*missing\.jsonl"),
    ({"sources": {"web": []}}, r"sources: no source given"),
    ({"languages": ["en", "klingon"]}, r"languages: unknown language 'klingon'"),
    ({"dedupe": {"threshold": 1.5}}, r"threshold must be in \(0, 1\]"),
    ({"decontamination": {"benchmarks": [{"name": "b", "path": "${samples}/benchmarks/demo_exam.jsonl",
                                          "fields": ["question", "explanation"]}]}},
     r"decontamination\.benchmarks\[0\]: .*demo_exam\.jsonl: line 1: benchmark 'b' has no field 'explanation'"),
    ({"frobnicate": 1}, r"top level: unknown key 'frobnicate'"),
    ({"output": None}, r"missing key 'output'"),
])
def test_bad_yaml_is_an_error_naming_the_key_before_any_work(inputs, tmp_path, change, message):
    path = write_yaml(tmp_path, inputs, **change)
    with pytest.raises(ConfigError, match=message) as e:
        run_build(path)
    assert str(path) in str(e.value)
    assert not (tmp_path / "out").exists()


def test_unreachable_hub_corpus_is_an_error_before_any_work(inputs, tmp_path, monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    path = write_yaml(tmp_path, inputs, sources={"corpora": [{"name": "x", "hub": "nobody/nothing"}]})
    with pytest.raises(ConfigError, match=r"sources\.corpora\[0\]: .*'nobody/nothing' is unreachable"):
        load_config(path)


def test_command_line_check_and_build(inputs, tmp_path, capsys):
    from mmedc.recipes.build import main

    path = write_yaml(tmp_path, inputs, decontamination=None, dedupe=False,
                      sources={"corpora": [{"name": "notes", "path": "${samples}/corpus/medical_notes.jsonl",
                                            "fields": {"text": "body", "language": "lang"}}]})
    assert main([str(path), "--check"]) == 0
    assert "ok (1 source(s)" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "corpus: 7 documents" in out
    assert len(rows(tmp_path / "out")) == 7


def test_spark_builds_the_same_rows_as_local(inputs, tmp_path):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime")
    small = {"websites": [{"html": "${samples}/site", "base_url": "https://site.example/"}],
             "corpora": [{"name": "notes", "path": "${samples}/corpus/medical_notes.jsonl",
                          "fields": {"text": "body", "id": "note_id", "language": "lang"}}]}
    local = run_build(write_yaml(tmp_path / "local", inputs, sources=small))
    spark = run_build(write_yaml(tmp_path / "spark", inputs, sources=small,
                                 executor={"executor": "spark", "spark_master": "local[2]", "tasks": 2}))
    assert rows(tmp_path / "spark" / "out") == rows(tmp_path / "local" / "out")
    assert spark["decontamination"]["contaminated"] == local["decontamination"]["contaminated"] == 1


def test_web_source_with_quality_filters_keeps_their_evidence(inputs, tmp_path):
    path = write_yaml(tmp_path, inputs, dedupe=False, decontamination=None,
                      sources={"web": [{"input": str(inputs / "web"), "quality": {"c4": False}}]})
    report = run_build(path)
    got = [json.loads(r[4]) | {"lang": r[2]} for r in rows(tmp_path / "out")]
    assert got and report["sources"][0]["documents"] == len(got)
    spaced = [m for m in got if m["lang"] not in ("zh", "ja")]
    assert spaced and all(m["quality_filters"] == "gopher_repetition,fineweb,gopher_quality" for m in spaced)
    stats = json.loads((tmp_path / "out" / ".mmedc" / "work" / "logs" / "web_0" / "stats.json").read_text())
    assert any("Web quality" in block["name"] for block in stats)


def test_a_build_killed_with_sigkill_resumes_with_identical_output(built, inputs, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    path = write_yaml(tmp_path, inputs)
    env = dict(os.environ, PYTHONPATH=str(Path(build.__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, "-m", "mmedc.recipes.build", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sources = tmp_path / "out" / ".mmedc" / "work" / "sources"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (sources / "websites_0").is_dir():  # the web source is done, the next one is running
            break
        time.sleep(0.05)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed, "the build finished before it could be killed"
    assert not (tmp_path / "out" / "data").exists()
    run_build(path)
    assert rows(tmp_path / "out") == rows(built[0])
