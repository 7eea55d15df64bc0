"""Reporting to TensorBoard (when installed) and a clear error naming the package when it is not."""

from __future__ import annotations

import importlib.util

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from mmedc.recipes.pretrain import pretrain  # noqa: E402

from .conftest import opts  # noqa: E402


def test_tensorboard_gets_loss_throughput_and_eval(shards, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    pretrain(None, **opts(shards, tmp_path / "tb", max_steps=4, log_every=2, report_to="tensorboard",
                          eval_fraction=0.1, eval_max_tokens=500, save_final_model=False))
    events = list((tmp_path / "tb" / "reports").rglob("events.out.tfevents.*"))
    assert events
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"loss", "lr", "grad_norm", "tokens_per_s_per_device"} <= tags
    assert [e.step for e in acc.Scalars("loss")] == [1, 2, 4]  # the log steps
    assert any(t.startswith("eval/") and t.endswith("/ppl") for t in tags)


def test_missing_backend_is_named(shards, tmp_path):
    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed")
    with pytest.raises(ImportError, match="pip install wandb"):
        pretrain(None, **opts(shards, tmp_path / "wb", max_steps=1, report_to="wandb"))
