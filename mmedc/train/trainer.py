"""Continued pretraining of a causal LM on mmedc shards: the training loop.

Why accelerate and a short loop rather than HF ``Trainer``: the data is an infinite packed stream with
an exact, cheap resume position (:class:`mmedc.train.data.DataState`); ``Trainer`` resumes an iterable
dataset by replaying (re-tokenizing) every batch before the checkpoint, prefetches ahead of what it
has trained on, and reports neither tokens/s per GPU nor MFU. ``accelerate`` supplies DDP and FSDP2
from ``accelerate launch --config_file`` (or ``torchrun``), mixed precision and trackers (TensorBoard,
Weights & Biases); the model rules are in :mod:`mmedc.train.model`, checkpoints and run identity in
:mod:`mmedc.train.checkpoint` and :mod:`mmedc.train.resume`. Models and schedulers are transformers'
own, so the result loads with ``from_pretrained``.

The loop reads loss and gradient norm on the host only on log steps (one read for all the steps since
the last), prepares the next steps' batches in a background thread (:class:`Prefetcher`), and times
tokens/s over training only (an evaluation or a save restarts the clock).

Loss normalisation: each optimizer step averages the loss over every label token of the step on every
rank (``num_items_in_batch``, a device tensor), so gradient accumulation and data parallelism give the
same update as one big batch.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from datatrove.utils.logging import logger

from mmedc.train import checkpoint as ck
from mmedc.train.config import TrainConfig, run_identity
from mmedc.train.data import (
    Block,
    DataState,
    PackedStream,
    collate,
    collate_varlen,
    eval_blocks,
    label_tokens,
    padding_block,
)
from mmedc.train.index import fingerprint, group_characters, index_row_groups
from mmedc.train.model import (  # noqa: F401 - peak_tflops, flops_per_token: also used from here
    PEAK_TFLOPS,
    build_model,
    build_optimizer,
    build_scheduler,
    check_fp32_buffers,
    compile_layers,
    enable_chunked_loss,
    flops_per_token,
    fsdp_plugin,
    fsdp_requested,
    is_varlen,
    peak_tflops,
    plain_logits,
    restore_fp32_rotary,
    save_dtype,
    sync_every_micro_batch,
)
from mmedc.train.resume import (  # noqa: F401 - list_checkpoints: also used from here
    check_run,
    differences,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    save_model,
    select_checkpoint,
)
from mmedc.train.tokenize import default_workers, load_or_train_tokenizer

# ----------------------------------------------------------------------------------------------------
# batches, prefetch, evaluation


def make_batch(blocks: list[Block], varlen: bool) -> dict[str, Any]:
    """The model batch of a micro-batch: one flattened row for varlen kernels, else stacked rows."""
    return collate_varlen(blocks) if varlen else collate(blocks)


def to_device(batch: dict[str, Any], device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if hasattr(v, "to") else v for k, v in batch.items()}


class Prefetcher:
    """Prepare the next steps' batches (read, tokenize, pack, collate, pin) in a background thread."""

    def __init__(self, make: Callable[[], Any], depth: int = 2):
        self._make, self._q = make, queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mmedc-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = ("ok", self._make())
            except BaseException as e:  # noqa: BLE001 - handed to the training thread
                item = ("error", e)
            while not self._stop.is_set():
                try:
                    self._q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[0] == "error":
                return

    def get(self) -> Any:
        kind, value = self._q.get()
        if kind == "error":
            raise value
        return value

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._q.get(timeout=0.05)
            except queue.Empty:
                pass
            self._thread.join(timeout=0.05)


def evaluate(accelerator, model, eval_data: dict[str, list[Block]], micro_batch_size: int, varlen: bool = False,
             seq_len: int | None = None) -> dict[str, dict[str, float]]:
    """Per-language loss and perplexity over each rank's own evaluation blocks (every rank runs the same
    number of forward passes, as FSDP requires; one host read per language)."""
    import torch
    from accelerate.utils import gather_object

    world = accelerator.num_processes
    langs = sorted(set().union(*gather_object([sorted(eval_data)]))) if world > 1 else sorted(eval_data)
    results = {}
    seq = seq_len or next((len(b[0].input_ids) for b in eval_data.values() if b), 2)
    model.eval()
    with torch.no_grad():
        for lang in langs:
            blocks = eval_data.get(lang, [])
            n_batches = math.ceil(len(blocks) / micro_batch_size)
            if world > 1:
                n_batches = max(gather_object([n_batches]))
            total = torch.zeros(2, dtype=torch.float64, device=accelerator.device)
            for i in range(n_batches):
                chunk = blocks[i * micro_batch_size : (i + 1) * micro_batch_size]
                if not chunk:  # keep collective ops in step with a block that scores nothing
                    chunk = [padding_block(seq)]
                n = label_tokens(chunk)
                batch = to_device(make_batch(chunk, varlen), accelerator.device)
                out = model(**batch, use_cache=False, num_items_in_batch=1)  # the sum over scored tokens
                total[0] += out.loss.double()
                total[1] += n
            total = accelerator.reduce(total, "sum") if world > 1 else total
            loss_sum, count = total.tolist()
            if count:
                loss = loss_sum / count
                results[lang] = {"loss": loss, "ppl": math.exp(min(loss, 50.0)), "tokens": int(count)}
    model.train()
    return results


def load_mcq(config: TrainConfig, is_main: bool) -> list:
    """The multiple-choice questions scored at each evaluation (rejected items are counted and logged)."""
    if not config.mcq_files:
        return []
    from mmedc.eval.items import load_items

    items, rejected = load_items(config.mcq_files)
    if is_main:
        logger.info(f"multiple-choice evaluation: {len(items)} questions from {len(config.mcq_files)} file(s)"
                    + (f", {len(rejected)} rejected (see mmedc eval for the list)" if rejected else ""))
    return items


def evaluate_mcq(accelerator, model, tokenizer, items: list, config: TrainConfig) -> dict[str, Any]:
    """Accuracy per language (log-likelihood of each option, raw and length-normalised) with the model
    being trained; every process scores the same questions (FSDP needs every rank in each forward)."""
    from mmedc.eval.run import evaluate_model

    unwrapped = accelerator.unwrap_model(model)
    with plain_logits(unwrapped):
        r = evaluate_model(unwrapped, tokenizer, items, n_shot=config.mcq_shots, batch_size=config.mcq_batch_size)
    model.train()
    return {"by_language": r["by_language"], "overall": r["overall"]}


# ----------------------------------------------------------------------------------------------------
# reporting


def _trackers(config: TrainConfig) -> str | None:
    if config.report_to == "none":
        return None
    import importlib.util

    package = {"tensorboard": "tensorboard", "wandb": "wandb"}[config.report_to]
    extra = {"tensorboard": "'mmedc[report]'", "wandb": "wandb"}[config.report_to]
    if importlib.util.find_spec(package) is None and not (package == "tensorboard" and importlib.util.find_spec("tensorboardX")):
        raise ImportError(f"report_to {config.report_to} needs the {package} package: `pip install {extra}`")
    return config.report_to


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, float, str, bool)) else json.dumps(v)) for k, v in d.items()}


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
    fsdp = fsdp_requested()
    out_dir = Path(config.output_dir)
    tracker = _trackers(config)
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()  # a second run in one process may use another precision (keeps the process group)
    accelerator = Accelerator(mixed_precision=mp, cpu=not cuda, fsdp_plugin=fsdp_plugin(mp) if fsdp else None,
                              log_with=tracker, project_dir=str(out_dir / "reports") if tracker else None)
    rank, world = accelerator.process_index, accelerator.num_processes

    # the run's identity: what it trains and on which data; an output folder holds one run
    data_fp = fingerprint(index_row_groups(config.shards))
    identity = {**run_identity(config), "data_fingerprint": data_fp, "processes": world}
    check_run(config, identity, accelerator.is_main_process)
    accelerator.wait_for_everyone()
    resume = select_checkpoint(accelerator, config)
    if resume is not None and config.resume == "auto":
        saved = ck.read_json(resume / ck.STATE).get("identity", {})
        diff = differences(saved, identity)
        if diff:
            raise ValueError(f"resume: {resume} belongs to another run ({'; '.join(diff)}); give another "
                             "output_dir, or overwrite: true to start afresh")
    set_seed(config.seed)

    tokenizer = load_or_train_tokenizer(config, accelerator)
    model = build_model(config, tokenizer, fsdp=fsdp)
    n_params = sum(p.numel() for p in model.parameters())
    fpt = flops_per_token(model.config, n_params, config.seq_len)
    if config.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    if config.loss_chunk_tokens and not enable_chunked_loss(model, config.loss_chunk_tokens):
        logger.info(f"loss_chunk_tokens: {model.config.model_type} is not among the models with plain "
                    "lm_head logits; using the model's own loss")
    if config.compile:
        compile_layers(model)
    optimizer = build_optimizer(model, config, fused=cuda)
    scheduler = build_scheduler(optimizer, config)
    model, optimizer = accelerator.prepare(model, optimizer)
    restore_fp32_rotary(accelerator.unwrap_model(model))  # whatever prepare did to buffers
    check_fp32_buffers(accelerator.unwrap_model(model))
    sync_each = sync_every_micro_batch(accelerator.distributed_type)
    varlen = is_varlen(config.attn_implementation)

    start_step, tokens_seen, history, data_state = 0, 0, [], None
    if resume is not None:
        saved = load_checkpoint(accelerator, resume, model, optimizer, scheduler)
        start_step, tokens_seen, history = saved["step"], saved["tokens"], saved.get("history", [])
        data_state = saved["data_states"][rank]
        if accelerator.is_main_process:
            logger.info(f"resuming from {resume} at step {start_step} ({tokens_seen:,} tokens)")
    if tracker:
        accelerator.init_trackers(config.report_project, config=_flat(config.to_dict()))

    workers = default_workers() if config.tokenizer_workers < 0 else config.tokenizer_workers
    stream = PackedStream(
        config.shards, tokenizer, config.seq_len, mixture=config.mixture, mixture_mode=config.mixture_mode,
        seed=config.seed, window_row_groups=config.window_row_groups,
        doc_boundary_attention=config.doc_boundary_attention, workers=workers,
        batch_docs=config.tokenize_batch_docs, rank=rank, world_size=world, state=data_state,
        holdout_fraction=0.0 if config.eval_shards else config.eval_fraction, min_doc_chars=config.min_doc_chars,
        text_column=config.text_column,
    )
    if stream.rates and accelerator.is_main_process:
        logger.info("mixture rates (copies per document): " + ", ".join(f"{k}={v:.3g}" for k, v in sorted(stream.rates.items())))

    mcq = load_mcq(config, accelerator.is_main_process)
    last_mcq: dict = {}
    eval_data = None
    if config.eval_shards or config.eval_fraction > 0:
        eval_paths = config.eval_shards or config.shards
        chars = stream.group_chars or group_characters(eval_paths, scan=False)
        langs = sorted({k.split("/")[0] for k in chars}) if chars else None
        eval_data = eval_blocks(eval_paths, tokenizer, config.seq_len, config.eval_max_tokens,
                                holdout_fraction=0.0 if config.eval_shards else config.eval_fraction, seed=config.seed,
                                doc_boundary_attention=config.doc_boundary_attention, text_column=config.text_column,
                                rank=rank, world_size=world, languages=langs, stats=stream.stats)

    peak = config.peak_tflops or (peak_tflops(torch.cuda.get_device_name()) if cuda else None)
    log_path = out_dir / "log.jsonl"
    step_tokens = config.micro_batch_size * config.grad_accum * config.seq_len * world
    last_eval: dict = {}
    end_step = config.max_steps if config.stop_after_steps is None else min(config.max_steps, config.stop_after_steps)
    blocks_iter = iter(stream)
    per_step = config.micro_batch_size * config.grad_accum
    pin = cuda

    def next_step() -> tuple[list[dict], int, DataState]:
        blocks = [next(blocks_iter) for _ in range(per_step)]
        batches = []
        for k in range(config.grad_accum):
            b = make_batch(blocks[k * config.micro_batch_size : (k + 1) * config.micro_batch_size], varlen)
            batches.append({key: v.pin_memory() if pin and hasattr(v, "pin_memory") else v for key, v in b.items()})
        return batches, label_tokens(blocks), blocks[-1].state

    pending: list[tuple[dict, Any, Any]] = []  # records whose loss and grad norm are still on the device

    def flush() -> None:
        """One host read for the pending steps' losses and grad norms; write their records."""
        if not pending:
            return
        losses = torch.stack([p[1] for p in pending])
        if world > 1:
            losses = accelerator.reduce(losses, "sum")
        norms = torch.stack([p[2].float().reshape(()) for p in pending]).tolist()
        for (rec, _, _), loss, norm in zip(pending, losses.tolist(), norms):
            rec["loss"], rec["grad_norm"] = loss, norm
            history.append(rec)
        if accelerator.is_main_process:
            with open(log_path, "a", encoding="utf-8") as f:
                for rec, _, _ in pending:
                    f.write(json.dumps(rec) + "\n")
        pending.clear()

    model.train()
    prefetch = Prefetcher(next_step, depth=2)
    t_log, tokens_at_log = time.perf_counter(), tokens_seen
    try:
        for step in range(start_step + 1, end_step + 1):
            batches, n_local, data_state = prefetch.get()
            n_global = torch.tensor(n_local, device=accelerator.device, dtype=torch.float32)
            if world > 1:
                n_global = accelerator.reduce(n_global, "sum")
            loss_acc = torch.zeros((), device=accelerator.device, dtype=torch.float32)
            for k, mb in enumerate(batches):
                batch = to_device(mb, accelerator.device)
                sync = sync_each or k == config.grad_accum - 1
                with nullcontext() if sync else accelerator.no_sync(model):
                    out = model(**batch, use_cache=False, num_items_in_batch=n_global)
                    accelerator.backward(out.loss * world)
                loss_acc += out.loss.detach().float()
                del out
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            tokens_seen += step_tokens
            record = {"step": step, "lr": lr, "tokens": tokens_seen}
            if hasattr(grad_norm, "full_tensor"):  # a DTensor under FSDP2
                grad_norm = grad_norm.full_tensor()
            pending.append((record, loss_acc, torch.as_tensor(grad_norm).detach()))
            is_log = step % config.log_every == 0 or step == end_step or step == start_step + 1
            if is_log:
                if cuda:
                    torch.cuda.synchronize()
                now = time.perf_counter()
                if step != start_step + 1:  # the first step includes start-up
                    tps = (tokens_seen - tokens_at_log) / max(now - t_log, 1e-9)
                    record["tokens_per_s"] = tps
                    record["tokens_per_s_per_device"] = tps / world
                    if peak:
                        record["mfu"] = fpt * tps / (peak * 1e12 * world)
                t_log, tokens_at_log = now, tokens_seen
                flush()
                msg = f"step {step}/{config.max_steps} loss {record['loss']:.4f} lr {lr:.3g} grad_norm {record['grad_norm']:.3g}"
                if "tokens_per_s" in record:
                    msg += f" tok/s/device {record['tokens_per_s_per_device']:,.0f}"
                if "mfu" in record:
                    msg += f" MFU {record['mfu']:.1%}"
                if accelerator.is_main_process:
                    logger.info(msg)
                if tracker:
                    accelerator.log({k: v for k, v in record.items() if k in ("loss", "lr", "grad_norm", "tokens",
                                     "tokens_per_s_per_device", "mfu")}, step=step)
            paused = False
            if (eval_data or mcq) and config.eval_every and step % config.eval_every == 0 and step != end_step:
                flush()
                if eval_data:
                    last_eval = evaluate(accelerator, model, eval_data, config.micro_batch_size, varlen, config.seq_len)
                    history[-1]["eval"] = last_eval
                    _report_eval(accelerator, tracker, step, last_eval)
                if mcq:
                    last_mcq = evaluate_mcq(accelerator, model, tokenizer, mcq, config)
                    history[-1]["mcq"] = last_mcq
                    _report_mcq(accelerator, tracker, step, last_mcq)
                paused = True
            if config.save_every and step % config.save_every == 0 and step != end_step:
                flush()
                save_checkpoint(accelerator, model, optimizer, scheduler, tokenizer, config, step, tokens_seen,
                                data_state, history, identity)
                paused = True
            if paused:  # tokens/s counts training only
                if cuda:
                    torch.cuda.synchronize()
                t_log, tokens_at_log = time.perf_counter(), tokens_seen
        flush()
    finally:
        prefetch.close()
        if hasattr(blocks_iter, "close"):
            blocks_iter.close()  # stops the tokenizer processes

    final_step = max(end_step, start_step)
    if eval_data:
        last_eval = evaluate(accelerator, model, eval_data, config.micro_batch_size, varlen, config.seq_len)
        _report_eval(accelerator, tracker, final_step, last_eval)
        if history:
            history[-1]["eval"] = last_eval
    if mcq:
        last_mcq = evaluate_mcq(accelerator, model, tokenizer, mcq, config)
        _report_mcq(accelerator, tracker, final_step, last_mcq)
        if history:
            history[-1]["mcq"] = last_mcq
    ckpt = None
    if config.save_last_checkpoint and (final_step > start_step or resume is None):
        ckpt = save_checkpoint(accelerator, model, optimizer, scheduler, tokenizer, config, final_step, tokens_seen,
                               data_state or stream.start, history, identity)
    final_dir = None
    if config.save_final_model and final_step >= config.max_steps:
        final_dir = out_dir / "final"
        save_model(accelerator, model, tokenizer, final_dir, dtype=save_dtype(config.save_dtype, mp))
    accelerator.end_training()
    return {
        "output_dir": str(out_dir),
        "steps": final_step,
        "resumed_from": str(resume) if resume else None,
        "losses": [h["loss"] for h in history],
        "history": history,
        "eval": last_eval,
        "mcq": last_mcq,
        "tokens": tokens_seen,
        "parameters": n_params,
        "checkpoint": str(ckpt) if ckpt else None,
        "final_model": str(final_dir) if final_dir else None,
        "data_stats": dict(stream.stats),
    }


def _report_eval(accelerator, tracker, step: int, ev: dict) -> None:
    if accelerator.is_main_process:
        logger.info(f"eval @ step {step}: " + ", ".join(f"{k} ppl {v['ppl']:.2f}" for k, v in sorted(ev.items())))
    if tracker:
        accelerator.log({f"eval/{k}/ppl": v["ppl"] for k, v in ev.items()} | {f"eval/{k}/loss": v["loss"] for k, v in ev.items()},
                        step=step)


def _report_mcq(accelerator, tracker, step: int, r: dict) -> None:
    if accelerator.is_main_process:
        logger.info(f"multiple-choice @ step {step}: " + ", ".join(
            f"{k} acc {v['acc']:.3f} (n={v['n']})" for k, v in sorted(r["by_language"].items()))
            + f"; overall {r['overall']['acc']:.3f}")
    if tracker:
        accelerator.log({f"mcq/{k}/acc": v["acc"] for k, v in r["by_language"].items()}
                        | {"mcq/overall/acc": r["overall"]["acc"]}, step=step)


def iter_history(output_dir: str | os.PathLike) -> Iterator[dict]:
    """The records of ``log.jsonl`` (one per step)."""
    with open(Path(output_dir) / "log.jsonl", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)
