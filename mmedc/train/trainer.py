"""Continued pretraining of a causal LM on mmedc shards, on transformers + torch + accelerate.

Why accelerate and a short loop rather than HF ``Trainer``: the data is an infinite packed stream with
an exact, cheap resume position (:class:`mmedc.train.data.DataState`); ``Trainer`` resumes an iterable
dataset by replaying (re-tokenizing) every batch before the checkpoint, prefetches ahead of what it
has trained on, and reports neither tokens/s per GPU nor MFU. ``accelerate`` still supplies everything
hard: DDP, FSDP and DeepSpeed from ``accelerate launch --config_file`` (or ``torchrun``), mixed
precision, checkpoint state (model in safetensors, optimizer, scheduler and RNG states). Models,
schedulers and saving are transformers' own, so the result loads with ``from_pretrained``.

Loss normalisation: each optimizer step averages the loss over every label token of the step on every
rank (``num_items_in_batch``), so gradient accumulation and data parallelism give the same update as
one big batch.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from datatrove.utils.logging import logger

from mmedc.train.config import TrainConfig
from mmedc.train.data import DataState, PackedStream, collate, default_workers, eval_blocks, train_tokenizer

# dense bf16 peak TFLOP/s (no sparsity) by device-name substring, for MFU
PEAK_TFLOPS = {
    "H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "H800": 989.0, "GH200": 989.0, "B200": 2250.0,
    "A100": 312.0, "A800": 312.0, "L40S": 362.0, "L4": 121.0, "A10G": 125.0, "A10": 125.0, "4090": 165.0,
    "3090": 71.0, "V100": 125.0, "T4": 65.0,
}

CHECKPOINT_DIR = "checkpoints"


def peak_tflops(device_name: str | None) -> float | None:
    """Dense bf16 peak of a GPU by name (``None`` when unknown, e.g. CPU)."""
    if not device_name:
        return None
    for key, val in PEAK_TFLOPS.items():
        if key.lower() in device_name.lower():
            return val
    return None


def flops_per_token(model_config: Any, n_params: int, seq_len: int) -> float:
    """Training FLOPs per token (PaLM appendix B): ``6 N + 12 L d s`` with N the parameters without the
    input embedding (the output projection is a matmul and counts), L layers, d hidden size, s sequence.
    Recomputation from gradient checkpointing is not counted (MFU, not hardware FLOPs utilisation)."""
    embed = model_config.vocab_size * model_config.hidden_size
    tied = getattr(model_config, "tie_word_embeddings", False)
    n = n_params - (0 if tied else embed)
    return 6.0 * n + 12.0 * model_config.num_hidden_layers * model_config.hidden_size * seq_len


# ----------------------------------------------------------------------------------------------------
# model and tokenizer


def load_or_train_tokenizer(config: TrainConfig, accelerator=None):
    """The tokenizer: the one named, the model's, or (random init) one trained on the shards and kept in
    ``<output_dir>/tokenizer`` so a resumed run tokenizes identically."""
    from transformers import AutoTokenizer

    if config.tokenizer:
        return AutoTokenizer.from_pretrained(config.tokenizer)
    if config.model_name_or_path:
        return AutoTokenizer.from_pretrained(config.model_name_or_path)
    tok_dir = Path(config.output_dir) / "tokenizer"
    is_main = accelerator is None or accelerator.is_main_process
    if not (tok_dir / "tokenizer.json").exists() and is_main:
        t0 = time.time()
        tok = train_tokenizer(config.shards, config.tokenizer_vocab_size, config.tokenizer_train_docs, config.text_column)
        tmp = tok_dir.with_name("tokenizer.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tok.save_pretrained(tmp)
        os.replace(tmp, tok_dir) if not tok_dir.exists() else None
        logger.info(f"trained a {len(tok)}-token byte-level BPE tokenizer on the shards in {time.time() - t0:.1f}s")
    if accelerator is not None:
        accelerator.wait_for_everyone()
    return AutoTokenizer.from_pretrained(tok_dir)


def build_model(config: TrainConfig, tokenizer):
    """Load ``model_name_or_path``, or initialise the architecture in ``config.model`` randomly."""
    from transformers import AutoConfig, AutoModelForCausalLM

    kw = {}
    if config.attn_implementation:
        kw["attn_implementation"] = config.attn_implementation
    if config.model_name_or_path:
        return AutoModelForCausalLM.from_pretrained(config.model_name_or_path, **kw)
    arch = dict(config.model)
    model_type = arch.pop("model_type", "llama")
    arch.setdefault("vocab_size", len(tokenizer))
    if arch["vocab_size"] < len(tokenizer):
        raise ValueError(f"model.vocab_size {arch['vocab_size']} < tokenizer size {len(tokenizer)}")
    arch.setdefault("max_position_embeddings", max(config.seq_len, 2048))
    for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
        if getattr(tokenizer, name, None) is not None:
            arch.setdefault(name, getattr(tokenizer, name))
    model_config = AutoConfig.for_model(model_type, **arch)
    return AutoModelForCausalLM.from_config(model_config, **kw)


def _optimizer(model, config: TrainConfig, fused: bool):
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() or name.endswith(".bias") else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    kw = {"fused": True} if fused else {}
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
                             eps=config.adam_epsilon, **kw)


def _scheduler(optimizer, config: TrainConfig):
    from transformers import get_scheduler

    warmup = math.ceil(config.warmup_ratio * config.max_steps)
    name, extra = config.lr_scheduler, None
    if name == "cosine" and config.min_lr_ratio > 0:
        name, extra = "cosine_with_min_lr", {"min_lr_rate": config.min_lr_ratio}
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=config.max_steps,
                         scheduler_specific_kwargs=extra)


# ----------------------------------------------------------------------------------------------------
# checkpoints


def list_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints (``checkpoints/step-N`` with a ``trainer_state.json``), oldest first."""
    root = Path(output_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    done = [p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp")
            and (p / "trainer_state.json").exists()]
    return sorted(done, key=lambda p: int(p.name.split("-")[1]))


def _resolve_resume(config: TrainConfig) -> Path | None:
    if not config.resume:
        return None
    if config.resume == "auto":
        found = list_checkpoints(config.output_dir)
        return found[-1] if found else None
    p = Path(config.resume)
    if not (p / "trainer_state.json").exists():
        raise FileNotFoundError(f"resume: {p} is not a complete checkpoint (no trainer_state.json)")
    return p


def _save_checkpoint(accelerator, config: TrainConfig, step: int, tokens: int, data_state: DataState,
                     history: list[dict]) -> Path:
    from accelerate.utils import gather_object

    root = Path(config.output_dir) / CHECKPOINT_DIR
    final = root / f"step-{step:07d}"
    tmp = root / f"step-{step:07d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=True)
    states = gather_object([data_state.to_dict()])
    if accelerator.is_main_process:
        state = {"step": step, "tokens": tokens, "data_states": states, "config": config.to_dict(),
                 "history": history}
        (tmp / "trainer_state.json").write_text(json.dumps(state, indent=1))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)  # a killed save never looks complete
        for old in list_checkpoints(config.output_dir)[: -config.save_total_limit or None]:
            if config.save_total_limit > 0:
                shutil.rmtree(old, ignore_errors=True)
        logger.info(f"saved checkpoint {final}")
    accelerator.wait_for_everyone()
    return final


def save_model(accelerator, model, tokenizer, path: str | os.PathLike) -> None:
    """Save a ``from_pretrained``-loadable model (safetensors) and its tokenizer (works under FSDP)."""
    state_dict = accelerator.get_state_dict(model)
    unwrapped = accelerator.unwrap_model(model)
    if accelerator.is_main_process:
        unwrapped.save_pretrained(path, state_dict=state_dict, safe_serialization=True)
        tokenizer.save_pretrained(path)
    accelerator.wait_for_everyone()


# ----------------------------------------------------------------------------------------------------
# evaluation


def evaluate(accelerator, model, eval_data: dict[str, list], micro_batch_size: int) -> dict[str, dict[str, float]]:
    """Per-language loss and perplexity over pre-packed blocks, split across ranks (every rank runs the
    same number of forward passes, as FSDP requires)."""
    import torch

    results = {}
    model.eval()
    world, rank = accelerator.num_processes, accelerator.process_index
    with torch.no_grad():
        for lang in sorted(eval_data):
            blocks = eval_data[lang]
            per_rank = math.ceil(len(blocks) / world)
            mine = blocks[rank * per_rank : (rank + 1) * per_rank]
            total = torch.zeros(2, dtype=torch.float64, device=accelerator.device)
            for i in range(0, per_rank, micro_batch_size):
                chunk = mine[i : i + micro_batch_size]
                dummy = chunk == []
                if dummy:  # keep collective ops in step: a fully masked block
                    chunk = [blocks[0]]
                batch = {k: v.to(accelerator.device) for k, v in collate(chunk).items()}
                if dummy:
                    batch["labels"].fill_(-100)
                n = int((batch["labels"][:, 1:] != -100).sum())
                out = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                            labels=batch["labels"], use_cache=False)
                if n:
                    total[0] += out.loss.double() * n
                    total[1] += n
            total = accelerator.reduce(total, "sum")
            loss_sum, count = float(total[0]), int(total[1])
            if count:
                loss = loss_sum / count
                results[lang] = {"loss": loss, "ppl": math.exp(min(loss, 50.0)), "tokens": count}
    model.train()
    return results


# ----------------------------------------------------------------------------------------------------
# training


def train(config: TrainConfig) -> dict[str, Any]:
    """Run (or resume) continued pretraining; return losses, eval results and output paths.

    Launch on many GPUs with ``accelerate launch --config_file configs/accelerate_fsdp.yaml -m mmedc.train
    --config ...`` (or ``torchrun``); on one device, call it directly.
    """
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    config.validate()
    cuda = torch.cuda.is_available()
    mp = config.mixed_precision
    if mp == "auto":
        mp = "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
    if cuda and config.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    accelerator = Accelerator(mixed_precision=mp, cpu=not cuda)  # cpu=True: gloo when launched on CPUs
    out_dir = Path(config.output_dir)
    if accelerator.is_main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)

    tokenizer = load_or_train_tokenizer(config, accelerator)
    model = build_model(config, tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    fpt = flops_per_token(model.config, n_params, config.seq_len)
    if config.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    if config.compile:
        model = torch.compile(model)
    optimizer = _optimizer(model, config, fused=cuda)
    scheduler = _scheduler(optimizer, config)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    resume = _resolve_resume(config)
    start_step, tokens_seen, history, data_state = 0, 0, [], None
    if resume is not None:
        accelerator.load_state(str(resume))
        saved = json.loads((resume / "trainer_state.json").read_text())
        start_step, tokens_seen, history = saved["step"], saved["tokens"], saved.get("history", [])
        states = saved["data_states"]
        if len(states) != accelerator.num_processes:
            raise ValueError(f"checkpoint {resume} was written by {len(states)} processes, now "
                             f"{accelerator.num_processes}: resume with the same number")
        data_state = states[accelerator.process_index]
        if saved.get("config", {}).get("max_steps") not in (None, config.max_steps):
            logger.warning(f"resuming with max_steps {config.max_steps}, checkpoint was written with "
                           f"{saved['config']['max_steps']}: the learning-rate schedule will not match")
        if accelerator.is_main_process:
            logger.info(f"resuming from {resume} at step {start_step} ({tokens_seen:,} tokens)")

    workers = default_workers() if config.tokenizer_workers < 0 else config.tokenizer_workers
    stream = PackedStream(
        config.shards, tokenizer, config.seq_len, mixture=config.mixture, mixture_mode=config.mixture_mode,
        seed=config.seed, window_row_groups=config.window_row_groups,
        doc_boundary_attention=config.doc_boundary_attention, workers=workers,
        batch_docs=config.tokenize_batch_docs, rank=accelerator.process_index,
        world_size=accelerator.num_processes, state=data_state,
        holdout_fraction=0.0 if config.eval_shards else config.eval_fraction, min_doc_chars=config.min_doc_chars,
        text_column=config.text_column,
    )
    if stream.rates:
        logger.info("mixture rates (copies per document): " + ", ".join(f"{k}={v:.3g}" for k, v in sorted(stream.rates.items())))

    eval_data = None
    if config.eval_shards or config.eval_fraction > 0:
        eval_data = eval_blocks(config.eval_shards or config.shards, tokenizer, config.seq_len, config.eval_max_tokens,
                                holdout_fraction=0.0 if config.eval_shards else config.eval_fraction, seed=config.seed,
                                doc_boundary_attention=config.doc_boundary_attention, text_column=config.text_column)
        logger.info("evaluation tokens per language: " + ", ".join(
            f"{k}={sum(int((b.labels != -100).sum()) for b in v):,}" for k, v in sorted(eval_data.items())))

    peak = config.peak_tflops or (peak_tflops(torch.cuda.get_device_name()) if cuda else None)
    log_path = out_dir / "log.jsonl"
    world = accelerator.num_processes
    step_tokens = config.micro_batch_size * config.grad_accum * config.seq_len * world
    last_eval: dict = {}
    end_step = config.max_steps if config.stop_after_steps is None else min(config.max_steps, config.stop_after_steps)
    blocks_iter = iter(stream)
    model.train()
    t_log, tokens_at_log = time.perf_counter(), 0
    try:
        for step in range(start_step + 1, end_step + 1):
            blocks = [next(blocks_iter) for _ in range(config.micro_batch_size * config.grad_accum)]
            data_state = blocks[-1].state
            n_local = sum(int((b.labels[1:] != -100).sum()) for b in blocks)
            n_global = accelerator.reduce(torch.tensor(n_local, device=accelerator.device), "sum").item() if world > 1 else n_local
            loss_acc = torch.zeros((), device=accelerator.device, dtype=torch.float32)
            for k in range(config.grad_accum):
                mb = blocks[k * config.micro_batch_size : (k + 1) * config.micro_batch_size]
                batch = {key: v.to(accelerator.device, non_blocking=True) for key, v in collate(mb).items()}
                sync = k == config.grad_accum - 1
                with nullcontext() if sync else accelerator.no_sync(model):
                    out = model(**batch, use_cache=False, num_items_in_batch=n_global)
                    accelerator.backward(out.loss * world)
                loss_acc += out.loss.detach().float()
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            tokens_seen += step_tokens
            loss = (accelerator.reduce(loss_acc, "sum") if world > 1 else loss_acc).item()
            record = {"step": step, "loss": loss, "lr": lr, "grad_norm": float(grad_norm), "tokens": tokens_seen}
            if step % config.log_every == 0 or step == end_step or step == start_step + 1:
                if cuda:
                    torch.cuda.synchronize()
                now = time.perf_counter()
                tps = (tokens_seen - tokens_at_log) / max(now - t_log, 1e-9) if tokens_at_log or step > start_step + 1 else None
                if tps is not None:
                    record["tokens_per_s"] = tps
                    record["tokens_per_s_per_device"] = tps / world
                    if peak:
                        record["mfu"] = fpt * tps / (peak * 1e12 * world)
                t_log, tokens_at_log = now, tokens_seen
                msg = f"step {step}/{config.max_steps} loss {loss:.4f} lr {lr:.3g} grad_norm {float(grad_norm):.3g}"
                if "tokens_per_s" in record:
                    msg += f" tok/s {record['tokens_per_s']:,.0f}"
                if "mfu" in record:
                    msg += f" MFU {record['mfu']:.1%}"
                if accelerator.is_main_process:
                    logger.info(msg)
            if eval_data and config.eval_every and step % config.eval_every == 0 and step != end_step:
                last_eval = evaluate(accelerator, model, eval_data, config.micro_batch_size)
                record["eval"] = last_eval
                if accelerator.is_main_process:
                    _log_eval(step, last_eval)
            history.append(record)
            if accelerator.is_main_process:
                with open(log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            if config.save_every and step % config.save_every == 0 and step != end_step:
                _save_checkpoint(accelerator, config, step, tokens_seen, data_state, history)
    finally:
        if hasattr(blocks_iter, "close"):
            blocks_iter.close()  # stops the tokenizer processes

    final_step = max(end_step, start_step)
    if eval_data:
        last_eval = evaluate(accelerator, model, eval_data, config.micro_batch_size)
        if accelerator.is_main_process:
            _log_eval(final_step, last_eval)
        if history:
            history[-1]["eval"] = last_eval
    ckpt = None
    if config.save_last_checkpoint and (final_step > start_step or resume is None):
        ckpt = _save_checkpoint(accelerator, config, final_step, tokens_seen, data_state or stream.start, history)
    final_dir = None
    if config.save_final_model and final_step >= config.max_steps:
        final_dir = out_dir / "final"
        save_model(accelerator, model, tokenizer, final_dir)
    accelerator.end_training()
    return {
        "output_dir": str(out_dir),
        "steps": final_step,
        "resumed_from": str(resume) if resume else None,
        "losses": [h["loss"] for h in history],
        "history": history,
        "eval": last_eval,
        "tokens": tokens_seen,
        "parameters": n_params,
        "checkpoint": str(ckpt) if ckpt else None,
        "final_model": str(final_dir) if final_dir else None,
        "data_stats": dict(stream.stats),
    }


def _log_eval(step: int, ev: dict) -> None:
    logger.info(f"eval @ step {step}: " + ", ".join(f"{k} ppl {v['ppl']:.2f}" for k, v in sorted(ev.items())))
