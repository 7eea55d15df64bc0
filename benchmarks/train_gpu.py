"""GPU training throughput and memory: tokens/s per GPU and MFU of a ~1B Llama-style model in bf16,
and the 8B recipe's memory fit, measured (not estimated), in one prepared run.

Each phase runs in its own process (clean GPU memory, one failure does not stop the rest) and its
figures are written to ``--out`` (JSON) as soon as it ends, so a time-out keeps what finished:

1. ``data``: shards with realistic document lengths (log-normal, median ~2,000 characters, tail to
   60,000; multilingual medical sentences), a byte-level BPE trained on them, and the packed blocks
   (2,048 tokens, document boundaries) that every later phase trains on;
2. ``1b`` / ``1b-compiled``: the same model, attention (sdpa), document mask and blocks, two ways:
   - baseline: a bare loop a user would write (HF model with its own loss, fp32 weights + bf16
     autocast, fused AdamW, batches already on the GPU, no data pipeline, no logging);
   - mmedc: ``mmedc.train.train`` end to end (shards -> tokenizer processes -> packing -> trainer,
     chunked loss, prefetch, logging every 5 steps), median tokens/s over the log intervals after warm-up;
   ``-compiled`` compiles each decoder layer in both (``torch.compile``, the trainer's ``compile: true``);
3. ``8b``: Llama-3-8B's architecture (random init, nothing downloaded) at 8,192 tokens, micro-batch 1,
   gradient checkpointing, fp32 master weights + AdamW, one GPU: the peak memory of real training
   steps (does the whole state fit on one), tokens/s and MFU; an out-of-memory is recorded as a result;
4. ``fsdp2``: the trainer under FSDP2 (``torchrun``, all visible GPUs): a few steps, a sharded
   checkpoint, a resume and an export (the multi-GPU code path, its tokens/s per GPU and memory);
5. ``flash``: both again with ``flash_attention_2`` (one flattened row, ``cu_seq_lens``), if installed;

MFU = (6 N + 12 L d s) x tokens/s / peak (PaLM; N without the input embedding; the dense bf16 peak
looked up from the device name, e.g. H100/H200 989 TFLOP/s, or ``--peak-tflops``). Reference:
torchtitan, Llama-3-8B, FSDP2, 8,192 tokens: 5,762 tokens/s per H100, 6,667 with torch.compile.

    python benchmarks/train_gpu.py --out $OUT/train_gpu.json                 # on a GPU machine (~10 min)
    python benchmarks/train_gpu.py --phases data,1b,1b-compiled --work /tmp/tg --out $OUT/tg.json   # two calls:
    python benchmarks/train_gpu.py --phases 8b,fsdp2,flash --work /tmp/tg --out $OUT/tg.json       # adds to the first
    python benchmarks/train_gpu.py --config configs/tiny-cpu.yaml --steps 8 --warmup 3 --docs 300 \\
        --phases data,1b --out /tmp/train_gpu.json                            # CPU smoke run (no MFU)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PHASES = ("data", "1b", "1b-compiled", "8b", "fsdp2", "flash")  # in order of priority
LLAMA3_8B = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
             "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "rope_theta": 500000.0,
             "max_position_embeddings": 8192, "tie_word_embeddings": False}


# ----------------------------------------------------------------------------------------------------
# data


def write_shards(folder: str, docs: int, seed: int = 0) -> str:
    """Multilingual medical documents with log-normal lengths (median ~2,000 characters)."""
    import random

    from datatrove.data import Document

    from mmedc.io import ShardedParquetWriter, merge_manifests
    from mmedc.recipes.pretrain import _DEMO_TEXT

    rng = random.Random(seed)
    langs = sorted(_DEMO_TEXT)
    with ShardedParquetWriter(folder, max_rows=2000, row_group_rows=200) as w:
        for i in range(docs):
            lang = langs[i % len(langs)]
            target = min(60_000, max(200, int(rng.lognormvariate(7.6, 1.0))))
            parts, n = [], 0
            while n < target:
                s = rng.choice(_DEMO_TEXT[lang]) + f" ({rng.randint(1, 999)})"
                parts.append(s)
                n += len(s) + 1
            w.write(Document(text=" ".join(parts), id=f"bench-{i}",
                             metadata={"language": lang, "language_score": 1.0, "source": "corpus"}), rank=0)
    merge_manifests(folder)
    return folder


def phase_data(a, work: str) -> dict:
    from mmedc.train.config import load_config
    from mmedc.train.data import PackedStream
    from mmedc.train.tokenize import train_tokenizer

    cfg = load_config(a.config, shards=["x"])
    t0 = time.perf_counter()
    shards = write_shards(os.path.join(work, "shards"), a.docs)
    tok = train_tokenizer(shards, vocab_size=min(cfg.tokenizer_vocab_size, 32000), max_docs=5000)
    tok_dir = os.path.join(work, "tokenizer")
    tok.save_pretrained(tok_dir)
    stream = PackedStream(shards, tok, cfg.seq_len, seed=1, workers=0, epochs=1)
    n_blocks, docs_per_block = 0, []
    for b in stream:
        n_blocks += 1
        docs_per_block.append(int((b.position_ids == 0).sum()))
        if n_blocks >= 2000:
            break
    return {"shards": shards, "tokenizer": tok_dir, "documents": a.docs, "tokens": int(stream.stats["tokens"]),
            "seq_len": cfg.seq_len, "blocks_seen": n_blocks,
            "doc_pieces_per_block_median": statistics.median(docs_per_block) if docs_per_block else None,
            "seconds": round(time.perf_counter() - t0, 1)}


# ----------------------------------------------------------------------------------------------------
# one configuration: baseline loop and the trainer on the same blocks


def _cfg(a, data: dict, out: str, **over):
    from mmedc.train.config import load_config

    base = dict(shards=[data["shards"]], tokenizer=data["tokenizer"], output_dir=out, tokenizer_workers=-1,
                log_every=5, eval_every=0, eval_fraction=0.0, eval_shards=[], save_every=0, save_final_model=False,
                save_last_checkpoint=False, resume=None, overwrite=True, max_steps=a.steps)
    if a.micro_batch:
        base["micro_batch_size"] = a.micro_batch
    if a.grad_accum:
        base["grad_accum"] = a.grad_accum
    base.update(over)
    return load_config(a.config, **base)


def _peak(a):
    import torch

    from mmedc.train.model import peak_tflops

    if a.peak_tflops:
        return a.peak_tflops
    return peak_tflops(torch.cuda.get_device_name()) if torch.cuda.is_available() else None


def baseline(a, cfg, compiled: bool) -> dict:
    """A bare training loop over the same packed blocks (on the device before timing)."""
    import torch
    from transformers import AutoTokenizer

    from mmedc.train.data import PackedStream
    from mmedc.train.model import build_model, compile_layers, flops_per_token, is_varlen
    from mmedc.train.trainer import make_batch

    cuda = torch.cuda.is_available()
    dev = "cuda" if cuda else "cpu"
    tok = AutoTokenizer.from_pretrained(cfg.tokenizer)
    model = build_model(cfg, tok).to(dev)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    if compiled:
        compile_layers(model)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=cuda)
    varlen = is_varlen(cfg.attn_implementation)
    per_step = cfg.micro_batch_size * cfg.grad_accum
    stream = iter(PackedStream(cfg.shards, tok, cfg.seq_len, seed=cfg.seed, workers=0))
    steps = []
    for _ in range(min(a.steps, 8)):  # a few distinct steps, cycled
        blocks = [next(stream) for _ in range(per_step)]
        steps.append([{k: (v.to(dev) if hasattr(v, "to") else v) for k, v in
                       make_batch(blocks[i : i + cfg.micro_batch_size], varlen).items()}
                      for i in range(0, per_step, cfg.micro_batch_size)])
    amp = torch.autocast(dev, dtype=torch.bfloat16, enabled=cuda)
    times = []
    for i in range(a.steps):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        for mb in steps[i % len(steps)]:
            with amp:
                loss = model(**mb, use_cache=False).loss
            (loss / cfg.grad_accum).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
    tokens = per_step * cfg.seq_len
    tps = tokens / statistics.median(times)
    peak = _peak(a)
    fpt = flops_per_token(model.config, n_params, cfg.seq_len)
    return {"tokens_per_s_per_gpu": tps, "mfu": fpt * tps / (peak * 1e12) if peak else None, "params": n_params,
            "max_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None, "last_loss": float(loss)}


def trainer(a, cfg) -> dict:
    import torch

    from mmedc.train.trainer import train

    t0 = time.perf_counter()
    r = train(cfg)
    hist = [h for h in r["history"] if h["step"] > a.warmup and "tokens_per_s_per_device" in h]
    mfus = [h["mfu"] for h in hist if "mfu" in h]
    return {"tokens_per_s_per_gpu": statistics.median(h["tokens_per_s_per_device"] for h in hist) if hist else None,
            "mfu": statistics.median(mfus) if mfus else None, "params": r["parameters"],
            "max_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
            "first_loss": r["losses"][0], "last_loss": r["losses"][-1], "seconds": round(time.perf_counter() - t0, 1)}


def phase_pair(a, data: dict, work: str, which: str, **over) -> dict:
    """Run one side (``which``: baseline or mmedc) of a configuration."""
    cfg = _cfg(a, data, os.path.join(work, f"run-{which}"), **over)
    res = baseline(a, cfg, compiled=cfg.compile) if which == "baseline" else trainer(a, cfg)
    res.update({"attn": cfg.attn_implementation, "compile": cfg.compile, "seq_len": cfg.seq_len,
                "micro_batch": cfg.micro_batch_size, "grad_accum": cfg.grad_accum,
                "gradient_checkpointing": cfg.gradient_checkpointing, "doc_boundary": cfg.doc_boundary_attention})
    return res


# ----------------------------------------------------------------------------------------------------
# FSDP2 and the 8B fit (subprocesses under torchrun)


def _gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _torchrun(args: list[str], env_extra: dict, timeout: int) -> tuple[int, str]:
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    n = max(1, _gpus())
    env = {**os.environ, **env_extra, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([torchrun, "--standalone", "--nproc_per_node", str(n), *args], capture_output=True, text=True,
                       env=env, timeout=timeout)
    return p.returncode, (p.stdout + p.stderr)[-4000:]


FSDP_ENV = {"ACCELERATE_USE_FSDP": "true", "FSDP_VERSION": "2", "FSDP_AUTO_WRAP_POLICY": "TRANSFORMER_BASED_WRAP",
            "FSDP_TRANSFORMER_CLS_TO_WRAP": "LlamaDecoderLayer", "FSDP_RESHARD_AFTER_FORWARD": "true",
            "FSDP_STATE_DICT_TYPE": "SHARDED_STATE_DICT", "ACCELERATE_MIXED_PRECISION": "bf16"}


def phase_fsdp2(a, data: dict, work: str) -> dict:
    out = os.path.join(work, "fsdp2")
    common = ["-m", "mmedc.train", "--config", a.config, "--shards", data["shards"], "--tokenizer", data["tokenizer"],
              "--output-dir", out, "--log-every", "5", "--save-every", "5", "--save-final-model", "false"]
    rc1, log1 = _torchrun(common + ["--max-steps", str(a.steps), "--stop-after-steps", "10"], FSDP_ENV, a.phase_timeout)
    rc2, log2 = _torchrun(common + ["--max-steps", str(a.steps), "--stop-after-steps", "12"], FSDP_ENV, a.phase_timeout)
    res = {"gpus": _gpus(), "first_run_rc": rc1, "resume_rc": rc2}
    try:
        from mmedc.train.checkpoint import export, list_checkpoints
        from mmedc.train.trainer import iter_history

        hist = list(iter_history(out))
        tps = [h["tokens_per_s_per_device"] for h in hist if "tokens_per_s_per_device" in h and h["step"] > a.warmup]
        res["tokens_per_s_per_gpu"] = statistics.median(tps) if tps else None
        res["mfu"] = statistics.median([h["mfu"] for h in hist if "mfu" in h] or [0]) or None
        res["steps_logged"] = [h["step"] for h in hist]
        res["checkpoints"] = [p.name for p in list_checkpoints(out)]
        export(list_checkpoints(out)[-1], os.path.join(work, "fsdp2-export"))
        res["export"] = "ok"
    except Exception as e:  # noqa: BLE001 - a figure of the benchmark, not a crash
        res["error"] = f"{type(e).__name__}: {e}"
    if rc1 or rc2:
        res["log_tail"] = (log1 if rc1 else log2)[-2000:]
    return res


def phase_8b(a, data: dict, work: str) -> dict:
    """Real training steps of the 8B architecture; OOM is a result, not a crash."""
    import torch

    cfg = _cfg(a, data, os.path.join(work, "run-8b"), model=LLAMA3_8B, model_name_or_path=None, seq_len=8192,
               micro_batch_size=1, grad_accum=1, gradient_checkpointing=True, max_steps=a.steps_8b,
               log_every=1, mixed_precision="bf16" if torch.cuda.is_available() else "no")
    try:
        res = trainer(argparse.Namespace(**{**vars(a), "warmup": 1}), cfg)
        res["fits"] = True
    except torch.cuda.OutOfMemoryError as e:
        res = {"fits": False, "error": str(e).splitlines()[0]}
    res["max_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    res["gpu_mem_gib"] = torch.cuda.get_device_properties(0).total_memory / 2**30 if torch.cuda.is_available() else None
    res["processes"] = 1
    return res


# ----------------------------------------------------------------------------------------------------
# driver


def run_phase(a, name: str, work: str, results: dict) -> dict:
    data = results.get("data", {})
    if name == "data":
        return phase_data(a, work)
    if name in ("1b", "1b-compiled", "flash"):
        over = {"compile": name == "1b-compiled"}
        if name == "flash":
            from transformers.utils import is_flash_attn_2_available

            if not is_flash_attn_2_available():
                return {"skipped": "flash-attn is not installed"}
            over["attn_implementation"] = "flash_attention_2"
        return {side: phase_pair(a, data, work, side, **over) for side in ("baseline", "mmedc")}
    if name == "fsdp2":
        if not _gpus():
            return {"skipped": "no GPU"}
        return phase_fsdp2(a, data, work)
    if name == "8b":
        if not _gpus():
            return {"skipped": "no GPU (the 8B fit is measured on one)"}
        return phase_8b(a, data, work)
    raise ValueError(name)


def summary(results: dict) -> str:
    lines = []
    env = results.get("env", {})
    lines.append(f"device: {env.get('device')}; peak {env.get('peak_tflops')} TFLOP/s; torch {env.get('torch')}")
    for name in ("1b", "1b-compiled", "flash"):
        r = results.get(name) or {}
        if "baseline" in r and "mmedc" in r:
            b, m = r["baseline"], r["mmedc"]
            ratio = m["tokens_per_s_per_gpu"] / b["tokens_per_s_per_gpu"] if b.get("tokens_per_s_per_gpu") and m.get("tokens_per_s_per_gpu") else None
            fmt = lambda x: f"{x:.1%}" if x else "-"  # noqa: E731
            lines.append(f"{name:<12} baseline {b['tokens_per_s_per_gpu']:>10,.0f} tok/s/GPU MFU {fmt(b['mfu'])} | "
                         f"mmedc {m['tokens_per_s_per_gpu'] or 0:>10,.0f} MFU {fmt(m['mfu'])} | mmedc/baseline "
                         f"{ratio:.2f}" if ratio else f"{name}: {r}")
        elif r:
            lines.append(f"{name:<12} {json.dumps(r)[:300]}")
    for name in ("fsdp2", "8b"):
        if results.get(name):
            lines.append(f"{name:<12} {json.dumps(results[name])[:400]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=os.path.join(ROOT, "configs", "llama-1b.yaml"))
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, from {','.join(PHASES)}")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5, help="steps not timed (allocation, compile, pool start)")
    p.add_argument("--steps-8b", type=int, default=4)
    p.add_argument("--micro-batch", type=int, default=None)
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per step (default 1: steps are short)")
    p.add_argument("--docs", type=int, default=6000, help="documents in the generated shards")
    p.add_argument("--peak-tflops", type=float, default=None)
    p.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "train_gpu.json"))
    p.add_argument("--work", default=None, help="folder for shards and runs (default: a temporary one)")
    p.add_argument("--phase-timeout", type=int, default=420)
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one phase in this process
    a = p.parse_args(argv)
    sys.path.insert(0, ROOT)

    if a.one:  # child: one phase, result to stdout as the last line
        results = json.load(open(a.out)) if os.path.exists(a.out) else {}
        res = run_phase(a, a.one, a.work, results)
        print("RESULT " + json.dumps(res))
        return 0

    import torch

    from mmedc.train.model import peak_tflops

    cuda = torch.cuda.is_available()
    results: dict = {}
    if os.path.exists(a.out):  # a second call (same --out and --work) adds phases to the first one's
        with open(a.out) as f:
            results = json.load(f)
    results |= {"env": {"device": torch.cuda.get_device_name() if cuda else "CPU (smoke run: no MFU)",
                       "gpus": torch.cuda.device_count() if cuda else 0, "torch": torch.__version__,
                       "peak_tflops": a.peak_tflops or (peak_tflops(torch.cuda.get_device_name()) if cuda else None),
                       "config": os.path.relpath(a.config, ROOT), "steps": a.steps, "warmup": a.warmup}}
    work = a.work or tempfile.mkdtemp(prefix="mmedc-train-gpu-")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)

    def save():
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)

    save()
    for name in [x for x in a.phases.split(",") if x]:
        if name == "data" and os.path.isdir(results.get("data", {}).get("shards", "")):
            print("[data] kept from the previous call", flush=True)
            continue
        t0 = time.perf_counter()
        cmd = [sys.executable, os.path.abspath(__file__), "--one", name, "--work", work, *(argv or sys.argv[1:])]
        cmd += ["--out", a.out]
        try:
            pr = subprocess.run(cmd, capture_output=True, text=True, timeout=a.phase_timeout)
            lines = [x for x in pr.stdout.splitlines() if x.startswith("RESULT ")]
            results[name] = json.loads(lines[-1][7:]) if lines else {"error": f"exit {pr.returncode}",
                                                                     "log_tail": (pr.stdout + pr.stderr)[-3000:]}
        except subprocess.TimeoutExpired:
            results[name] = {"error": f"timed out after {a.phase_timeout}s"}
        results[name]["phase_seconds"] = round(time.perf_counter() - t0, 1)
        save()
        print(f"[{name}] {json.dumps(results[name])[:600]}", flush=True)
    print("\n" + summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
