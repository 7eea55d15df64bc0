"""The GPU path's correctness rules, each checked on CPU with a tiny model built in the test.

fp32 buffers and master weights, the document boundary on every attention path offered (sdpa, eager,
and the varlen route flash-attention takes), per-layer compile with a reloadable final model, the
chunked cross-entropy, FSDP's synchronisation rule, host reads only on log steps, sdpa by default,
the CPUs a process may use, the bf16 final save, and an evaluation split that no rank scans whole.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from mmedc.recipes.pretrain import pretrain  # noqa: E402
from mmedc.train.data import Block, DataState, Packer, collate, collate_varlen  # noqa: E402

from .conftest import opts, tiny_llama  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


# --- fp32 buffers and master weights --------------------------------------------------------------


def test_master_weights_and_inv_freq_stay_fp32_from_a_bf16_checkpoint(tmp_path):
    from mmedc.train.config import load_config
    from mmedc.train.model import build_model, check_fp32_buffers

    m = tiny_llama().to(torch.bfloat16)
    m.save_pretrained(tmp_path / "bf16")
    assert m.model.embed_tokens.weight.dtype == torch.bfloat16
    cfg = load_config(None, shards=["x"], model_name_or_path=str(tmp_path / "bf16"))
    model = build_model(cfg, tokenizer=None)
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # AdamW updates fp32 weights
    assert model.model.rotary_emb.inv_freq.dtype == torch.float32
    check_fp32_buffers(model)
    exact = model.model.rotary_emb.inv_freq.clone()
    model.model.rotary_emb.inv_freq = model.model.rotary_emb.inv_freq.to(torch.bfloat16)
    with pytest.raises(RuntimeError, match="inv_freq.*float32"):
        check_fp32_buffers(model)
    from mmedc.train.model import restore_fp32_rotary

    bf = tiny_llama().to(torch.bfloat16)  # .to() casts buffers: the bf16-policy failure mode
    assert bf.model.rotary_emb.inv_freq.dtype == torch.bfloat16
    assert restore_fp32_rotary(bf) == 1
    torch.testing.assert_close(bf.model.rotary_emb.inv_freq, exact, rtol=0, atol=0)  # recomputed, not cast back
    check_fp32_buffers(bf)


def test_fsdp2_policy_keeps_inv_freq_fp32_after_sharding(monkeypatch):
    """FSDP2 with the trainer's policy on a one-process gloo group: parameters compute in bf16,
    the rotary buffer stays fp32; FSDP1 (which casts buffers) is refused."""
    import torch.distributed as dist
    from torch.distributed.fsdp import fully_shard

    from mmedc.train.model import check_fp32_buffers, fsdp_mixed_precision, fsdp_plugin

    policy = fsdp_mixed_precision("bf16")
    assert policy.param_dtype == torch.bfloat16 and policy.reduce_dtype == torch.float32
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(29600 + os.getpid() % 300))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        model = tiny_llama()
        for layer in model.model.layers:
            fully_shard(layer, mp_policy=policy)
        fully_shard(model, mp_policy=policy)
        x = torch.randint(0, 100, (2, 16))
        out = model(input_ids=x, labels=x)
        out.loss.backward()
        assert out.logits.dtype == torch.bfloat16  # computed in bf16
        assert model.model.embed_tokens.weight.dtype == torch.float32  # fp32 shards (master weights)
        assert model.model.rotary_emb.inv_freq.dtype == torch.float32
        check_fp32_buffers(model)
    finally:
        dist.destroy_process_group()
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    monkeypatch.setenv("FSDP_VERSION", "1")
    with pytest.raises(ValueError, match="fsdp_version: 2"):
        fsdp_plugin("bf16")
    monkeypatch.setenv("FSDP_VERSION", "2")
    assert fsdp_plugin("bf16").mixed_precision_policy.reduce_dtype == torch.float32


# --- document boundaries on every attention path --------------------------------------------------


def _packed_rows():
    """Two blocks of 32: row 0 holds documents of 10 and 22 tokens, row 1 of 5, 20 and 7."""
    docs = [np.arange(3, 13), np.arange(40, 62), np.arange(70, 75), np.arange(20, 40), np.arange(80, 87)]
    p = Packer(32, doc_boundary_attention=True)
    blocks = [Block(ids, pos, labels, DataState()) for i, d in enumerate(docs) for ids, pos, labels, _ in p.add(i, d)]
    assert len(blocks) == 2
    return docs, blocks


def _alone(model, doc):
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(doc)[None], use_cache=False).logits[0]


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_boundary_with_several_rows(attn):
    """sdpa and eager: a micro-batch of two rows, each document's logits equal its logits alone."""
    model = tiny_llama(attn=attn).eval()
    docs, blocks = _packed_rows()
    batch = collate(blocks)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        crossing = model(input_ids=batch["input_ids"], use_cache=False).logits
    spans = [(0, 0, 10), (0, 10, 32), (1, 0, 5), (1, 5, 25), (1, 25, 32)]
    for doc, (row, a, b) in zip(docs, spans):
        torch.testing.assert_close(packed[row, a:b], _alone(model, doc), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(crossing[0, 10:], _alone(model, docs[1]), atol=1e-3)  # plain causal crosses


def _varlen_reference(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """What flash-attention's varlen kernel computes: causal attention inside each cu_seq_lens segment
    of a one-row batch; without cu_seq_lens, plain causal attention over the row (as flash does)."""
    import torch.nn.functional as F

    groups = query.shape[1] // key.shape[1]
    key, value = key.repeat_interleave(groups, 1), value.repeat_interleave(groups, 1)
    cu = kwargs.get("cu_seq_lens_q")
    if cu is None:
        out = F.scaled_dot_product_attention(query, key, value, is_causal=True, scale=scaling)
    else:
        assert query.shape[0] == 1, "varlen kernels take one row"
        assert cu.dtype == torch.int32 and kwargs["max_length_q"] == int(torch.diff(cu).max())
        parts = [F.scaled_dot_product_attention(query[:, :, a:b], key[:, :, a:b], value[:, :, a:b], is_causal=True,
                                                scale=scaling) for a, b in zip(cu[:-1].tolist(), cu[1:].tolist())]
        out = torch.cat(parts, dim=2)
    return out.transpose(1, 2).contiguous(), None


def test_boundary_on_the_varlen_path():
    """flash-attention's route: the micro-batch flattened into one row with cu_seq_lens from the host;
    checked with a reference kernel of the same interface (flash-attn itself needs a GPU)."""
    from transformers import AttentionInterface

    from mmedc.train.model import is_varlen
    from mmedc.train.trainer import make_batch

    assert is_varlen("flash_attention_2") and is_varlen("flash_attention_3") and not is_varlen("sdpa")
    AttentionInterface.register("mmedc_varlen_reference", _varlen_reference)
    model = tiny_llama(attn="mmedc_varlen_reference").eval()
    docs, blocks = _packed_rows()
    batch = make_batch(blocks, varlen=True)
    assert batch["input_ids"].shape == (1, 64)
    assert batch["cu_seq_lens_q"].tolist() == [0, 10, 32, 37, 57, 64]
    assert batch["labels"][0, 32] == -100  # the first token of block 2 is not predicted from block 1
    with torch.no_grad():
        flat = model(**{k: v for k, v in batch.items() if k != "labels"}, use_cache=False).logits[0]
        rows = model(**{k: v for k, v in collate(blocks).items() if k != "labels"}, use_cache=False).logits
    for doc, (a, b) in zip(docs, [(0, 10), (10, 32), (32, 37), (37, 57), (57, 64)]):
        torch.testing.assert_close(flat[a:b], _alone(model, doc), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(rows[0, 10:], _alone(model, docs[1]), atol=1e-3)  # two rows: it crosses
    # the loss over the flat row equals the loss over the rows (same scored tokens)
    ref = tiny_llama().eval()
    with torch.no_grad():
        a = ref(**collate(blocks), use_cache=False).loss
        b = ref(input_ids=batch["input_ids"], position_ids=batch["position_ids"], labels=batch["labels"],
                use_cache=False).loss
    torch.testing.assert_close(a, b)


def test_collate_varlen_without_boundaries_starts_a_sequence_per_block():
    ids = np.arange(8)
    blocks = [Block(ids, np.arange(8), ids.copy(), DataState()), Block(ids + 8, np.arange(8), ids + 8, DataState())]
    b = collate_varlen(blocks)
    assert b["cu_seq_lens_q"].tolist() == [0, 8, 16] and b["max_length_q"] == 8


# --- compile, chunked loss ------------------------------------------------------------------------


def test_compiled_run_saves_plain_names_and_its_final_model_reloads(shards, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    r = pretrain(None, **opts(shards, tmp_path / "c", max_steps=3, compile=True, save_final_model=True))
    ckpt = Path(r["checkpoint"])
    trained = load_file(str(ckpt / "model.safetensors"))
    assert not [k for k in trained if "_orig_mod" in k]
    final = load_file(str(Path(r["final_model"]) / "model.safetensors"))
    assert set(final) <= set(trained) | {"lm_head.weight"} and not [k for k in final if "_orig_mod" in k]
    model = AutoModelForCausalLM.from_pretrained(r["final_model"], dtype=torch.float32)
    for k, v in trained.items():
        torch.testing.assert_close(model.state_dict()[k], v)  # the trained weights, not a fresh init


def test_chunked_loss_equals_the_models_loss_and_keeps_no_full_logits():
    from mmedc.train.model import chunked_causal_lm_loss, enable_chunked_loss

    vocab, n_tokens = 500, 2 * 48
    x = torch.randint(0, vocab, (2, 48))
    labels = x.clone()
    labels[0, 5] = labels[1, 0] = -100
    ref = tiny_llama(vocab=vocab)
    ref_loss = ref(input_ids=x, labels=labels).loss
    ref_loss.backward()
    model = tiny_llama(vocab=vocab)
    assert enable_chunked_loss(model, chunk_tokens=16)
    sizes = []

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(input_ids=x, labels=labels).loss
    loss.backward()
    torch.testing.assert_close(loss, ref_loss)
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    assert max(sizes) < n_tokens * vocab  # no tensor of the full logits is saved for backward
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        sizes.clear()
        ref(input_ids=x, labels=labels)
    assert max(sizes) >= n_tokens * vocab  # the model's own loss keeps them
    # a device tensor for num_items_in_batch: the sum divided by it
    h, w = torch.randn(1, 10, 8), torch.randn(30, 8)
    y = torch.randint(0, 30, (1, 10))
    s = chunked_causal_lm_loss(h, w, y, torch.tensor(1.0), chunk_tokens=3)
    full = torch.nn.functional.cross_entropy((h[0, :-1] @ w.T), y[0, 1:], reduction="sum")
    torch.testing.assert_close(s, full)
    # a model that transforms its logits after the head keeps its own loss
    from transformers import AutoConfig, AutoModelForCausalLM

    gemma = AutoModelForCausalLM.from_config(AutoConfig.for_model(
        "gemma2", vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=8))
    assert not enable_chunked_loss(gemma, chunk_tokens=16)


# --- synchronisation and host reads ---------------------------------------------------------------


def test_fsdp_synchronises_every_micro_batch():
    from accelerate.utils import DistributedType

    from mmedc.train.model import sync_every_micro_batch

    assert sync_every_micro_batch(DistributedType.FSDP)
    assert not sync_every_micro_batch(DistributedType.MULTI_GPU)
    assert not sync_every_micro_batch(DistributedType.NO)


def _count_host_reads(monkeypatch):
    """Count tensor-to-host reads made by the training loop's own code (mmedc/train/trainer.py)."""
    counts = Counter()
    trainer_file = str(ROOT / "mmedc" / "train" / "trainer.py")
    for name in ("item", "tolist", "__float__", "__int__", "__bool__"):
        orig = getattr(torch.Tensor, name)

        def wrapper(self, *a, _orig=orig, _name=name, **kw):
            if sys._getframe(1).f_code.co_filename == trainer_file:
                counts[_name] += 1
            return _orig(self, *a, **kw)

        monkeypatch.setattr(torch.Tensor, name, wrapper)
    return counts


def test_host_reads_only_on_log_steps(shards, tmp_path, monkeypatch):
    counts = _count_host_reads(monkeypatch)
    r = pretrain(None, **opts(shards, tmp_path / "a", max_steps=12, log_every=4, grad_accum=2,
                              save_last_checkpoint=False, save_final_model=False))
    sparse = sum(counts.values())
    assert len(r["losses"]) == 12 and all(isinstance(v, float) for v in r["losses"])
    counts.clear()
    pretrain(None, **opts(shards, tmp_path / "b", max_steps=12, log_every=1, grad_accum=2,
                          save_last_checkpoint=False, save_final_model=False))
    every = sum(counts.values())
    assert sparse <= 2 * 4  # log steps 1, 4, 8, 12: one read of losses and one of grad norms each
    assert every >= 2 * 12  # the counter sees the reads when every step logs


# --- defaults and environment ---------------------------------------------------------------------


def test_sdpa_by_default_and_every_shipped_config_loads(monkeypatch):
    from mmedc.train.config import TrainConfig, load_config_file
    from mmedc.train.model import build_model

    assert TrainConfig().attn_implementation == "sdpa"
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        if path.name.startswith("accelerate"):
            continue
        data = load_config_file(path)
        assert data.get("attn_implementation", "sdpa") in ("sdpa", "eager"), path.name  # torch only
    from transformers.utils import is_flash_attn_2_available

    if not is_flash_attn_2_available():
        cfg = TrainConfig(shards=["x"], model={"hidden_size": 8}, attn_implementation="flash_attention_2")
        with pytest.raises(ImportError, match=r"mmedc\[flash\]"):
            build_model(cfg, tokenizer=None)


def test_tokenizer_workers_follow_the_cpus_this_process_may_use(monkeypatch):
    from mmedc.train import tokenize

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert tokenize.usable_cpus() == 4 and tokenize.default_workers() == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert tokenize.default_workers() == 1


def test_bf16_training_keeps_fp32_checkpoints_and_saves_a_bf16_final_model(shards, tmp_path):
    from safetensors.torch import load_file

    r = pretrain(None, **opts(shards, tmp_path / "bf", max_steps=2, mixed_precision="bf16"))
    ckpt = load_file(str(Path(r["checkpoint"]) / "model.safetensors"))
    assert {v.dtype for v in ckpt.values()} == {torch.float32}  # master weights
    final = load_file(str(Path(r["final_model"]) / "model.safetensors"))
    assert {v.dtype for v in final.values()} == {torch.bfloat16}
    r32 = pretrain(None, **opts(shards, tmp_path / "fp", max_steps=1))
    assert {v.dtype for v in load_file(str(Path(r32["final_model"]) / "model.safetensors")).values()} == {torch.float32}


def test_eval_split_is_read_by_ranks_in_parts_and_stops_when_full(tmp_path):
    from datatrove.data import Document

    from mmedc.io import ShardedParquetWriter
    from mmedc.train.data import eval_blocks
    from mmedc.train.tokenize import train_tokenizer

    folder = tmp_path / "many"
    with ShardedParquetWriter(str(folder), max_rows=20, row_group_rows=10) as w:
        for i in range(200):
            lang = ["en", "fr"][i % 2]
            w.write(Document(text=f"{lang} patient {i} fever cough treatment dose", id=f"d{i}",
                             metadata={"language": lang, "source": "web"}), rank=0)
    tok = train_tokenizer(str(folder), vocab_size=300, max_docs=200)
    n_files = 10
    per_rank = []
    for rank in (0, 1):
        st = Counter()
        ev = eval_blocks(str(folder), tok, 16, max_tokens_per_lang=10**9, rank=rank, world_size=2, stats=st,
                         doc_boundary_attention=False)
        per_rank.append((st, ev))
        assert st["eval_files_read"] == n_files // 2  # each rank reads its half
    full = sum(int((b.labels != -100).sum()) for _, ev in per_rank for blocks in ev.values() for b in blocks)
    alone = eval_blocks(str(folder), tok, 16, max_tokens_per_lang=10**9, doc_boundary_attention=False)
    assert full == sum(int((b.labels != -100).sum()) for blocks in alone.values() for b in blocks)
    st = Counter()
    eval_blocks(str(folder), tok, 16, max_tokens_per_lang=40, languages=["en", "fr"], stats=st)
    assert st["eval_files_read"] < n_files and st["eval_files_skipped"] > 0  # stopped when both were full


# --- prefetch and timing --------------------------------------------------------------------------


def test_prefetcher_keeps_order_passes_errors_and_stops():
    from mmedc.train.trainer import Prefetcher

    it = iter(range(5))
    p = Prefetcher(lambda: next(it), depth=2)
    assert [p.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(StopIteration):
        p.get()  # the producer's error reaches the training thread
    p.close()
    q = Prefetcher(lambda: 1, depth=2)
    q.close()
    assert not q._thread.is_alive()


def test_tokens_per_s_leaves_out_saving(shards, tmp_path, monkeypatch):
    import time

    from mmedc.train import trainer

    real_save = trainer.save_checkpoint

    def slow_save(*a, **k):
        time.sleep(2.0)
        return real_save(*a, **k)

    monkeypatch.setattr(trainer, "save_checkpoint", slow_save)
    r = pretrain(None, **opts(shards, tmp_path / "t", max_steps=6, log_every=2, save_every=2))
    step4 = next(h for h in r["history"] if h["step"] == 4)
    # the interval 2 -> 4 began after the 2 s save at step 2: 2 steps x 128 tokens in well under 2 s
    assert step4["tokens_per_s"] > 2 * 4 * 32 / 2.0
