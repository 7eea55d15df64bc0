"""FSDP2 checkpoints on two CPU processes (gloo): each rank's shards and AdamW state saved in
safetensors, restored into a freshly sharded model (the next step's loss is identical), and
``export`` joins the shards into the full weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_fsdp2_shards_round_trip_and_export(tmp_path):
    from mmedc.train import checkpoint as ck

    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    if not os.path.exists(torchrun):
        pytest.skip("torchrun not installed")
    out = tmp_path / "ckpt"
    out.mkdir()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    p = subprocess.Popen([torchrun, "--standalone", "--nproc_per_node", "2", str(Path(__file__).with_name("fsdp2_worker.py")),
                          str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        _, err = p.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    assert p.returncode == 0, err[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["got"] == pytest.approx(result["expected"], rel=1e-6)
    assert sorted(x.name for x in out.glob("model-*.safetensors")) == ["model-00000.safetensors", "model-00001.safetensors"]
    from safetensors.torch import load_file

    full = load_file(str(tmp_path / "full.safetensors"))  # the full weights, gathered by FSDP2
    ck.export(out, tmp_path / "exported", dtype="float32")

    exported = load_file(str(tmp_path / "exported" / "model.safetensors"))
    assert set(exported) == set(full)
    for k, v in full.items():
        torch.testing.assert_close(exported[k], v, msg=k)
