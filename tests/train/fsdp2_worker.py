"""Run by ``tests/train/test_sharded_checkpoint.py`` under ``torchrun --nproc_per_node 2`` (gloo, CPU):
FSDP2 shards saved and restored with :mod:`mmedc.train.checkpoint`, then exported whole."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.distributed.fsdp import fully_shard
from transformers import AutoConfig, AutoModelForCausalLM

from mmedc.train import checkpoint as ck
from mmedc.train.model import fsdp_mixed_precision


def build():
    torch.manual_seed(0)
    cfg = AutoConfig.for_model("llama", vocab_size=101, hidden_size=24, intermediate_size=40, num_hidden_layers=2,
                               num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=False)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    policy = fsdp_mixed_precision("no")
    for layer in model.model.layers:
        fully_shard(layer, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    return model, torch.optim.AdamW(model.parameters(), lr=1e-2)


def step(model, opt, seed):
    g = torch.Generator().manual_seed(seed + dist.get_rank())
    x = torch.randint(0, 101, (2, 12), generator=g)
    loss = model(input_ids=x, labels=x).loss
    loss.backward()
    opt.step()
    opt.zero_grad()
    t = loss.detach().clone()
    dist.all_reduce(t)
    return t.item()


def main(out: str) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    out = Path(out)
    model, opt = build()
    for s in range(2):
        step(model, opt, s)
    tag = f"-{rank:05d}"
    ck.save_tensors(out / f"model{tag}.safetensors", ck.model_tensors(model))
    tensors, meta = ck.optimizer_payload(opt)
    ck.save_tensors(out / f"optimizer{tag}.safetensors", tensors)
    ck.write_json(out / f"optimizer{tag}.json", meta)
    full = {k: v.full_tensor() for k, v in model.state_dict().items()}
    if rank == 0:
        sharded = [k for k, v in model.state_dict().items() if tuple(v.to_local().shape) != tuple(v.shape)]
        ck.write_json(out / "model_sharding.json", {"sharded": sorted(sharded)})
        model.config.save_pretrained(out)
        ck.write_json(out / ck.STATE, {"step": 2})
    dist.barrier()
    if rank == 0:
        names = sorted(p.name for p in out.iterdir() if p.is_file())
        ck.write_marker(out, ck.describe(out, names), world_size=world, sharded=True, step=2)
        ck.save_tensors(out.parent / "full.safetensors", {k: v.contiguous() for k, v in full.items()})  # the reference
    dist.barrier()
    expected = step(model, opt, 7)

    fresh, fresh_opt = build()
    marker = ck.verify(out, names=ck.owned_files(ck.read_json(out / ck.MARKER), rank))
    assert marker["sharded"]
    ck.load_model_tensors(fresh, ck.load_tensors(out / f"model{tag}.safetensors"), "test")
    ck.load_optimizer(fresh_opt, ck.load_tensors(out / f"optimizer{tag}.safetensors"),
                      ck.read_json(out / f"optimizer{tag}.json"), "test")
    got = step(fresh, fresh_opt, 7)
    if rank == 0:
        (out.parent / "result.json").write_text(json.dumps({"expected": expected, "got": got}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
    # gloo's threads can abort a finished process during interpreter teardown (SIGABRT, "terminate
    # called without an active exception"): leave without it, as python -m mmedc.train does
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
