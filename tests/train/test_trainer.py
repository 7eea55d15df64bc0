"""Trainer on CPU: loss falls, resume reproduces the uninterrupted run, the model loads back, config/CLI."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from mmedc.recipes.pretrain import TINY_MODEL, main, pretrain  # noqa: E402
from mmedc.train.config import load_config  # noqa: E402

from .conftest import opts  # noqa: E402

_opts = opts


def test_loss_falls_and_model_loads_back(shards, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    r = pretrain(None, **_opts(shards, tmp_path / "run", max_steps=60, eval_fraction=0.1, eval_max_tokens=2000,
                               micro_batch_size=8, learning_rate=5e-3, gradient_checkpointing=True))
    losses = r["losses"]
    assert len(losses) == 60
    assert sum(losses[-5:]) / 5 < losses[0] - 1.5
    assert set(r["eval"]) == {"en", "zh", "ja", "fr", "ru", "es"}
    assert all(v["ppl"] < 200 for v in r["eval"].values())  # uniform over the vocabulary: 512
    assert (tmp_path / "run" / "final" / "model.safetensors").exists()
    assert list((tmp_path / "run" / "checkpoints").glob("step-*/model.safetensors"))
    model = AutoModelForCausalLM.from_pretrained(r["final_model"])
    tok = AutoTokenizer.from_pretrained(r["final_model"])
    ids = torch.tensor([tok("患者出现发热 The patient presented with fever")["input_ids"]])
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss.item()
    assert loss < 6.0  # the trained weights came back (a random model scores ~ln(512) = 6.2)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, 61))
    assert "tokens_per_s" in log[-1] and log[-1]["tokens"] == 60 * 8 * 32


def test_resume_reproduces_uninterrupted_losses(shards, tmp_path):
    full = pretrain(None, **_opts(shards, tmp_path / "full", max_steps=10, grad_accum=2))
    first = pretrain(None, **_opts(shards, tmp_path / "cut", max_steps=10, grad_accum=2, stop_after_steps=6))
    assert first["steps"] == 6 and first["final_model"] is None
    second = pretrain(None, **_opts(shards, tmp_path / "cut", max_steps=10, grad_accum=2))
    assert second["resumed_from"].endswith("step-0000006")
    assert second["losses"][:6] == pytest.approx(first["losses"])
    assert second["losses"] == pytest.approx(full["losses"], rel=1e-5, abs=1e-6)
    assert second["history"][-1]["lr"] == pytest.approx(full["history"][-1]["lr"])


def test_config_file_overrides_and_cli(shards, tmp_path, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(
        "shards: " + shards + "\n"
        f"output_dir: {tmp_path / 'cli'}\n"
        "model: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2}\n"
        "seq_len: 32\nmax_steps: 100\nlearning_rate: 0.001\ntokenizer_vocab_size: 300\n"
        "tokenizer_workers: 0\ngradient_checkpointing: false\n"
    )
    c = load_config(cfg, max_steps=3)
    assert c.max_steps == 3 and c.learning_rate == 1e-3 and c.shards == [shards]
    assert c.weight_decay == 0.01 and c.lr_scheduler == "cosine" and c.warmup_ratio == 0.01  # MMedC defaults
    assert main(["--config", str(cfg), "--max-steps", "2", "--mixture", '{"en": 1, "zh": 1}', "--dry-run"]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert merged["max_steps"] == 2 and merged["mixture"] == {"en": 1, "zh": 1} and merged["seq_len"] == 32
    assert main(["--config", str(cfg), "--max-steps", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2 and summary["final_model"]


def test_bad_config_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("shards: [x]\nmodel: {}\nlearning_rat: 1\n")
    with pytest.raises(ValueError, match=r"bad\.yaml.*learning_rat"):
        load_config(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json: not valid JSON"):
        load_config(broken)
    with pytest.raises(ValueError, match="model_name_or_path"):
        load_config(None, shards=["x"])
    with pytest.raises(SystemExit):
        main(["--max-steps", "2"])  # no shards: a usage error, not a traceback


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_block_attention_stays_inside_documents(attn):
    """With position ids restarting at a document, its logits in a packed block equal its logits alone."""
    import numpy as np
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from mmedc.train.data import Block, DataState, Packer, collate

    torch.manual_seed(0)
    arch = {k: v for k, v in TINY_MODEL.items() if k != "model_type"}
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model("llama", vocab_size=100, **arch),
                                             attn_implementation=attn).eval()
    a, b = np.arange(3, 13), np.arange(40, 62)  # two documents, 10 and 22 tokens
    packer = Packer(32, doc_boundary_attention=True)
    assert list(packer.add(0, a)) == []
    (ids, pos, labels, _), = packer.add(1, b)
    batch = collate([Block(ids, pos, labels, DataState())])
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone = model(input_ids=torch.from_numpy(b)[None], use_cache=False).logits[0]
        crossing = model(input_ids=batch["input_ids"], use_cache=False).logits[0]  # plain causal packing
    torch.testing.assert_close(packed[10:], alone, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(crossing[10:], alone, atol=1e-3)  # without it, document b sees document a
    assert labels[10] == -100 and (labels[11:] == b[1:]).all()


def test_two_process_resume_matches(shards, tmp_path):
    """torchrun with 2 CPU processes (gloo): per-rank data positions are saved, and a run resumed from
    a mid-run checkpoint continues with the losses of the uninterrupted run."""
    import os
    import shutil
    import signal
    import subprocess
    import sys

    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    if not os.path.exists(torchrun):
        pytest.skip("torchrun not installed")

    def launch(out):
        cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "mmedc.train", "--shards", shards,
               "--output-dir", str(out), "--model", json.dumps(TINY_MODEL), "--tokenizer-vocab-size", "300",
               "--seq-len", "32", "--micro-batch-size", "2", "--grad-accum", "2", "--max-steps", "4",
               "--save-every", "2", "--learning-rate", "0.003", "--tokenizer-workers", "0",
               "--window-row-groups", "2", "--gradient-checkpointing", "false", "--save-final-model", "false"]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)
        try:
            _, err = p.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # torchrun and its workers
            p.communicate()
            raise
        assert p.returncode == 0, err[-3000:]
        return [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]

    full = launch(tmp_path / "full")
    state = json.loads((tmp_path / "full/checkpoints/step-0000002/trainer_state.json").read_text())
    assert [s["rank"] for s in state["data_states"]] == [0, 1]
    assert state["tokens"] == 2 * 2 * 2 * 32 * 2  # steps x micro x accum x seq x processes
    cut = tmp_path / "cut"
    (cut / "checkpoints").mkdir(parents=True)
    shutil.copytree(tmp_path / "full/checkpoints/step-0000002", cut / "checkpoints/step-0000002")
    shutil.copytree(tmp_path / "full/tokenizer", cut / "tokenizer")
    resumed = launch(cut)
    assert [r["step"] for r in resumed] == [3, 4]
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in full[2:]], rel=1e-5)


def test_multiple_choice_evaluation_during_training(shards, tmp_path):
    """MMedBench-style questions scored at each evaluation and at the end, with real logits (the chunked
    loss is switched off for scoring): the same accuracy as scoring the saved final model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mmedc.eval.items import load_items
    from mmedc.eval.run import evaluate_model

    items = [
        {"question": "Which hormone lowers blood glucose?", "options": {"A": "insulin", "B": "glucagon"},
         "answer_idx": "A", "language": "en"},
        {"question": "Which organ produces bile?", "options": {"A": "kidney", "B": "liver", "C": "spleen"},
         "answer_idx": "B", "language": "en"},
        {"question": "哪种激素降低血糖？", "options": {"A": "胰高血糖素", "B": "胰岛素"}, "answer_idx": "B", "language": "zh"},
        {"question": "¿Qué vitamina previene el escorbuto?", "options": {"A": "vitamina A", "B": "vitamina C"},
         "answer_idx": "B", "language": "es"},
    ]
    path = tmp_path / "mcq.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in items) + "\n", encoding="utf-8")
    r = pretrain(None, **_opts(shards, tmp_path / "m", max_steps=4, eval_every=2, mcq_files=[str(path)],
                               save_dtype="float32"))
    assert set(r["mcq"]["by_language"]) == {"en", "zh", "es"} and r["mcq"]["overall"]["n"] == 4
    assert "mcq" in next(h for h in r["history"] if h["step"] == 2) and "mcq" in r["history"][-1]
    model = AutoModelForCausalLM.from_pretrained(r["final_model"])
    tok = AutoTokenizer.from_pretrained(r["final_model"])
    ref = evaluate_model(model, tok, load_items([path])[0])
    assert r["mcq"]["by_language"] == ref["by_language"]
