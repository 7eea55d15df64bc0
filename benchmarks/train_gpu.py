"""GPU training throughput: tokens/s and MFU of a ~1B Llama-style model at 2,048 tokens, bf16.

Needs only the project and a local model config (``configs/llama-1b.yaml``: random init, nothing
downloaded). Two figures from the same run, same model, precision and attention kernel:

- baseline: a bare forward/backward/AdamW loop on random token batches already on the GPU (no data
  pipeline, no trainer): the ceiling for this model and kernel;
- mmedc: ``mmedc.train.train`` end to end on shards written here (streaming, tokenizer processes,
  packing with document boundaries, logging), median over the steps after warm-up.

MFU = (6 N + 12 L d s) x tokens/s / peak (PaLM; N without the input embedding; H100 bf16 dense peak
989 TFLOP/s, looked up from the device name, or ``--peak-tflops``).

    .venv/bin/python benchmarks/train_gpu.py                      # on a GPU machine
    .venv/bin/python benchmarks/train_gpu.py --compile --doc-boundary off   # sdpa without the block mask
    .venv/bin/python benchmarks/train_gpu.py --config configs/tiny-cpu.yaml --steps 8 --warmup 2 --docs-per-lang 200  # CPU smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def model_config(cfg):
    from transformers import AutoConfig

    arch = dict(cfg.model)
    arch.setdefault("vocab_size", cfg.tokenizer_vocab_size)  # what the trainer gets from its tokenizer
    return AutoConfig.for_model(arch.pop("model_type", "llama"), **arch)


def baseline(cfg, steps: int, warmup: int, attn: str | None, compile_: bool, peak: float | None) -> dict:
    """Bare training loop on random tokens: the model's and kernel's ceiling."""
    import torch
    from transformers import AutoModelForCausalLM

    from mmedc.train.trainer import flops_per_token

    cuda = torch.cuda.is_available()
    dev = "cuda" if cuda else "cpu"
    kw = {"attn_implementation": attn} if attn else {}
    model = AutoModelForCausalLM.from_config(model_config(cfg), **kw).to(dev)
    if cfg.gradient_checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    n_params = sum(p.numel() for p in model.parameters())
    fwd = torch.compile(model) if compile_ else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=cuda)
    vocab = model.config.vocab_size
    x = torch.randint(0, vocab, (cfg.micro_batch_size, cfg.seq_len), device=dev)
    amp = torch.autocast(dev, dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    times = []
    for i in range(steps):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(cfg.grad_accum):
            with amp:
                loss = fwd(input_ids=x, labels=x, use_cache=False).loss
            (loss / cfg.grad_accum).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    tokens = cfg.micro_batch_size * cfg.grad_accum * cfg.seq_len
    tps = tokens / statistics.median(times)
    fpt = flops_per_token(model.config, n_params, cfg.seq_len)
    mem = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    del model, fwd, opt
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return {"tokens_per_s": tps, "mfu": fpt * tps / (peak * 1e12) if peak else None, "params": n_params,
            "max_mem_gib": mem}


def mmedc_run(cfg, shards: str, out: str, steps: int, warmup: int) -> dict:
    import torch

    from mmedc.train.trainer import train

    run = dataclasses.replace(
        cfg, shards=[shards], output_dir=out, max_steps=steps, log_every=1, eval_every=0, eval_fraction=0.0,
        eval_shards=[], save_every=0, save_final_model=False, save_last_checkpoint=False, resume=None,
    )
    r = train(run)
    hist = [h for h in r["history"] if h["step"] > warmup and "tokens_per_s" in h]
    tps = statistics.median(h["tokens_per_s"] for h in hist)
    mfus = [h["mfu"] for h in hist if "mfu" in h]
    mem = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    return {"tokens_per_s": tps, "mfu": statistics.median(mfus) if mfus else None, "params": r["parameters"],
            "max_mem_gib": mem, "first_loss": r["losses"][0], "last_loss": r["losses"][-1]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=os.path.join(HERE, "..", "configs", "llama-1b.yaml"))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5, help="steps not timed (allocation, compile, pool start)")
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--micro-batch", type=int, default=None)
    p.add_argument("--grad-accum", type=int, default=None, help="default: the config's")
    p.add_argument("--attn", default="auto",
                   help="auto (flash_attention_2 if installed, else sdpa) | sdpa | flash_attention_2 | eager | config")
    p.add_argument("--doc-boundary", choices=["on", "off", "config"], default="config",
                   help="document-boundary attention in the mmedc run (with sdpa it builds a block mask)")
    p.add_argument("--grad-ckpt", choices=["on", "off", "config"], default="config")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--peak-tflops", type=float, default=None)
    p.add_argument("--docs-per-lang", type=int, default=3000, help="size of the generated shards")
    p.add_argument("--skip-baseline", action="store_true")
    a = p.parse_args(argv)

    import torch

    from mmedc.recipes.pretrain import write_demo_shards
    from mmedc.train.config import load_config
    from mmedc.train.trainer import peak_tflops

    over = {"tokenizer_workers": -1, "compile": a.compile}
    if a.grad_accum:
        over["grad_accum"] = a.grad_accum
    if a.seq_len:
        over["seq_len"] = a.seq_len
    if a.micro_batch:
        over["micro_batch_size"] = a.micro_batch
    if a.attn == "auto":  # flash-attention 2 when installed (varlen: document boundaries for free), else sdpa
        from transformers.utils import is_flash_attn_2_available

        over["attn_implementation"] = "flash_attention_2" if is_flash_attn_2_available() else "sdpa"
    elif a.attn != "config":
        over["attn_implementation"] = a.attn
    if a.doc_boundary != "config":
        over["doc_boundary_attention"] = a.doc_boundary == "on"
    if a.grad_ckpt != "config":
        over["gradient_checkpointing"] = a.grad_ckpt == "on"
    cfg = load_config(a.config, **over)
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name() if cuda else "CPU (no CUDA device: smoke run only, no MFU)"
    peak = a.peak_tflops or (peak_tflops(device) if cuda else None)
    print(f"device: {device}; peak {peak or '-'} TFLOP/s; torch {torch.__version__}")
    print(f"config: {a.config}; seq_len {cfg.seq_len}, micro-batch {cfg.micro_batch_size} x accum {cfg.grad_accum}, "
          f"attn {cfg.attn_implementation or 'default'}, grad ckpt {cfg.gradient_checkpointing}, compile {cfg.compile}, "
          f"doc-boundary {cfg.doc_boundary_attention}")

    rows = []
    if not a.skip_baseline:
        b = baseline(cfg, a.steps, a.warmup, cfg.attn_implementation, cfg.compile, peak)
        rows.append(("baseline: bare loop, random tokens on device", b))
    with tempfile.TemporaryDirectory() as tmp:
        shards = write_demo_shards(os.path.join(tmp, "shards"), docs_per_lang=a.docs_per_lang)
        m = mmedc_run(cfg, shards, os.path.join(tmp, "run"), a.steps, a.warmup)
        rows.append(("mmedc.train.train: shards -> packed stream -> trainer", m))
    print(f"\nmodel: {rows[0][1]['params'] / 1e6:,.1f}M parameters")
    print(f"{'run':<58}{'tokens/s':>12}{'MFU':>8}{'max GiB':>9}")
    for name, r in rows:
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
        mem = f"{r['max_mem_gib']:.1f}" if r["max_mem_gib"] is not None else "-"
        print(f"{name:<58}{r['tokens_per_s']:>12,.0f}{mfu:>8}{mem:>9}")
    print(f"mmedc loss {m['first_loss']:.3f} -> {m['last_loss']:.3f} over {a.steps} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
