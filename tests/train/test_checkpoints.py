"""Checkpoints hold no pickle, are complete only with their marker, and resume only their own run.

A planted pickle in a checkpoint never runs; an incomplete or damaged newest checkpoint is skipped with
one warning naming it and the previous one is used; a bad checkpoint named with ``--resume`` is a
one-line error naming the file; an output folder holding another run is refused (``overwrite`` starts
afresh); ``mmedc train export`` writes a ``from_pretrained`` folder.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from mmedc.recipes.pretrain import pretrain  # noqa: E402
from mmedc.train import checkpoint as ck  # noqa: E402

from .conftest import opts  # noqa: E402


class _Boom:
    """Unpickling this writes a file: proof that code from the checkpoint ran."""

    def __init__(self, sentinel: str):
        self.sentinel = sentinel

    def __reduce__(self):
        return (Path.write_text, (Path(self.sentinel), "pwned"))


def _logged(level: str = "WARNING"):
    from datatrove.utils.logging import logger

    messages: list[str] = []
    hid = logger.add(lambda m: messages.append(str(m)), level=level)
    return messages, lambda: logger.remove(hid)


@pytest.fixture(scope="module")
def interrupted(shards, tmp_path_factory):
    """A 10-step run stopped after step 6 with checkpoints at 2, 4 and 6 (all kept), and the full run."""
    base = tmp_path_factory.mktemp("ckpt")
    kw = dict(max_steps=10, grad_accum=2, save_every=2, save_total_limit=5)
    full = pretrain(None, **opts(shards, base / "full", **kw))
    pretrain(None, **opts(shards, base / "cut", stop_after_steps=6, **kw))
    assert [p.name for p in ck.list_checkpoints(base / "cut")] == ["step-0000002", "step-0000004", "step-0000006"]
    return base, full, kw


def _copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_checkpoint_files_are_safetensors_and_json_with_a_marker(interrupted):
    base, _, _ = interrupted
    step = base / "cut" / "checkpoints" / "step-0000006"
    names = sorted(p.relative_to(step).as_posix() for p in step.rglob("*") if p.is_file())
    assert all(n.endswith((".safetensors", ".json", ".txt", ".model")) or n.startswith("tokenizer/") for n in names)
    assert not [n for n in names if n.endswith((".pkl", ".bin", ".pt", ".pth"))]
    marker = ck.verify(step)
    assert set(marker["files"]) == set(names) - {ck.MARKER}  # every file is checksummed


def test_planted_pickles_never_run(interrupted, shards, tmp_path, monkeypatch):
    base, full, kw = interrupted
    run = _copy_run(base / "cut", tmp_path / "run")
    sentinel = tmp_path / "pwned.txt"
    step = run / "checkpoints" / "step-0000006"
    payload = pickle.dumps(_Boom(str(sentinel)))
    for name in ("custom_checkpoint_0.pkl", "random_states_0.pkl", "optimizer.bin", "scheduler.bin", "rng.pt"):
        (step / name).write_bytes(payload)
    pickle.loads(payload)  # the payload works when unpickled
    assert sentinel.exists()
    sentinel.unlink()

    def refuse(*a, **k):
        raise AssertionError("a checkpoint was unpickled")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    r = pretrain(None, **opts(shards, run, **kw))
    assert r["resumed_from"].endswith("step-0000006") and not sentinel.exists()
    assert r["losses"] == pytest.approx(full["losses"], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("damage", ["no_marker", "truncated_weights", "truncated_state", "flipped_byte"])
def test_auto_resume_skips_a_damaged_newest_checkpoint(interrupted, shards, tmp_path, damage):
    base, full, kw = interrupted
    run = _copy_run(base / "cut", tmp_path / "run")
    newest = run / "checkpoints" / "step-0000006"
    if damage == "no_marker":  # killed before the marker was written
        (newest / ck.MARKER).unlink()
    elif damage == "truncated_weights":
        data = (newest / "model.safetensors").read_bytes()
        (newest / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif damage == "truncated_state":
        data = (newest / ck.STATE).read_bytes()
        (newest / ck.STATE).write_bytes(data[:100])
    else:
        data = bytearray((newest / "optimizer.safetensors").read_bytes())
        data[-10] ^= 0xFF
        (newest / "optimizer.safetensors").write_bytes(bytes(data))
    messages, stop = _logged()
    try:
        r = pretrain(None, **opts(shards, run, **kw))
    finally:
        stop()
    assert r["resumed_from"].endswith("step-0000004")
    skipped = [m for m in messages if "skipping" in m]
    if damage == "no_marker":  # without a marker it is not a checkpoint (a save that did not finish)
        ignored = [m for m in messages if "ignoring 1 folder" in m]
        assert not skipped and len(ignored) == 1 and "step-0000006" in ignored[0]
    else:
        assert len(skipped) == 1 and "step-0000006" in skipped[0] and len(skipped[0].strip().splitlines()) == 1
        expected = {"truncated_weights": "model.safetensors", "truncated_state": ck.STATE,
                    "flipped_byte": "optimizer.safetensors"}[damage]
        assert expected in skipped[0]
    assert r["losses"] == pytest.approx(full["losses"], rel=1e-5, abs=1e-6)  # nothing lost or repeated


def test_resume_path_to_a_bad_checkpoint_is_a_one_line_error(interrupted, shards, tmp_path, capsys):
    from mmedc.train.cli import main

    base, _, kw = interrupted
    run = _copy_run(base / "cut", tmp_path / "run")
    bad = run / "checkpoints" / "step-0000006"
    data = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(data[:-7])
    with pytest.raises(ck.CheckpointError, match=r"step-0000006.*model\.safetensors"):
        pretrain(None, **opts(shards, run, resume=str(bad), **kw))
    o = opts(shards, run, resume=str(bad), **kw)
    argv = ["--shards", o["shards"][0], "--output-dir", str(run), "--model", json.dumps(o["model"]),
            "--tokenizer-vocab-size", "512", "--seq-len", "32", "--micro-batch-size", "4", "--max-steps", "10",
            "--grad-accum", "2", "--learning-rate", "0.003", "--warmup-ratio", "0.1", "--save-every", "2",
            "--save-total-limit", "5", "--gradient-checkpointing", "false", "--tokenizer-workers", "0",
            "--window-row-groups", "4", "--resume", str(bad)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "step-0000006" in err and "model.safetensors" in err


def test_auto_resume_takes_only_its_own_run(interrupted, shards, other_shards, tmp_path):
    """The issue's case: another run's checkpoint at a later step in the output folder is not resumed."""
    base, _, kw = interrupted
    run = _copy_run(base / "cut", tmp_path / "run")
    with pytest.raises(ValueError, match=r"another run.*max_steps: 10 -> 20"):
        pretrain(None, **opts(shards, run, **{**kw, "max_steps": 20}))
    with pytest.raises(ValueError, match=r"another run.*data_fingerprint"):
        pretrain(None, **opts(other_shards, run, **kw))
    assert [p.name for p in ck.list_checkpoints(run)][-1] == "step-0000006"  # nothing was touched
    # options that only drive the run (logging, saving, workers) are the same run
    r = pretrain(None, **opts(shards, run, **{**kw, "log_every": 3, "stop_after_steps": 7}))
    assert r["resumed_from"].endswith("step-0000006") and r["steps"] == 7
    # overwrite starts afresh
    r = pretrain(None, **opts(other_shards, run, **{**kw, "max_steps": 3, "save_every": 0}), overwrite=True)
    assert r["resumed_from"] is None and [h["step"] for h in r["history"]] == [1, 2, 3]
    assert [p.name for p in ck.list_checkpoints(run)] == ["step-0000003"]


def test_export_writes_a_from_pretrained_folder(interrupted, tmp_path, capsys):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mmedc.train.cli import main

    base, _, _ = interrupted
    step = base / "cut" / "checkpoints" / "step-0000004"
    assert main(["export", str(step), str(tmp_path / "exp4"), "--dtype", "float32"]) == 0
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "exp4")
    saved = load_file(str(step / "model.safetensors"))
    for k, v in saved.items():
        torch.testing.assert_close(model.state_dict()[k], v)
    tok = AutoTokenizer.from_pretrained(tmp_path / "exp4")
    ids = torch.tensor([tok("The patient presented with fever")["input_ids"]])
    assert torch.isfinite(model(input_ids=ids, labels=ids).loss)
    # a run folder: its newest intact checkpoint, bf16 by default
    assert main(["export", str(base / "cut"), str(tmp_path / "exp")]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["checkpoint"].endswith("step-0000006")
    assert {v.dtype for v in load_file(str(tmp_path / "exp" / "model.safetensors")).values()} == {torch.bfloat16}
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "exp").dtype == torch.bfloat16
    # a damaged checkpoint is refused in one line
    bad = tmp_path / "bad"
    shutil.copytree(step, bad)
    (bad / ck.STATE).write_text("{")
    capsys.readouterr()  # (progress bars of the loads above)
    assert main(["export", str(bad), str(tmp_path / "never")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ck.STATE in err and not (tmp_path / "never").exists()


def test_kill_during_a_save_then_resume_loses_and_repeats_nothing(interrupted, shards, tmp_path):
    """kill -9 while a checkpoint is being written (its hidden .tmp folder exists): the next run resumes
    from the last complete one and its losses are the uninterrupted run's."""
    import os
    import signal
    import subprocess
    import sys
    import time

    _, full, kw = interrupted
    o = opts(shards, tmp_path / "k", **kw)
    argv = [sys.executable, "-m", "mmedc.train", "--shards", shards, "--output-dir", o["output_dir"],
            "--model", json.dumps(o["model"]), "--tokenizer-vocab-size", "512", "--seq-len", "32",
            "--micro-batch-size", "4", "--max-steps", "10", "--grad-accum", "2", "--learning-rate", "0.003",
            "--warmup-ratio", "0.1", "--save-every", "2", "--save-total-limit", "5", "--gradient-checkpointing",
            "false", "--tokenizer-workers", "0", "--window-row-groups", "4", "--log-every", "100"]
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    ckpts = tmp_path / "k" / "checkpoints"
    deadline, killed_mid_save = time.time() + 240, False
    try:
        while time.time() < deadline and p.poll() is None:
            complete = ck.list_checkpoints(tmp_path / "k")
            if complete and list(ckpts.glob(".step-*.tmp")):  # a second save under way
                os.killpg(p.pid, signal.SIGKILL)
                killed_mid_save = True
                break
            time.sleep(0.002)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    if not killed_mid_save:
        pytest.skip("the run ended before a save could be interrupted (machine too fast or too slow)")
    before = [c.name for c in ck.list_checkpoints(tmp_path / "k")]
    r = pretrain(None, **o)
    assert r["resumed_from"].endswith(before[-1])
    assert r["losses"] == pytest.approx(full["losses"], rel=1e-5, abs=1e-6)
