"""Continued pretraining of a causal LM on mmedc shards, on transformers + torch + accelerate.

Why accelerate and a short loop rather than HF ``Trainer``: the data is an infinite packed stream with
an exact, cheap resume position (:class:`mmedc.train.data.DataState`); ``Trainer`` resumes an iterable
dataset by replaying (re-tokenizing) every batch before the checkpoint, prefetches ahead of what it
has trained on, and reports neither tokens/s per GPU nor MFU. ``accelerate`` supplies DDP and FSDP2
from ``accelerate launch --config_file`` (or ``torchrun``) and mixed precision; checkpoints are this
package's own (:mod:`mmedc.train.checkpoint`: safetensors and JSON, no pickle, a completion marker).
Models and schedulers are transformers' own, so the result loads with ``from_pretrained``.

What keeps the GPU path right (each has a CPU test in ``tests/train/``):

- weights stay fp32 (master weights) and autocast computes in bf16; under FSDP2 the parameters are
  cast to bf16 for compute by its ``MixedPrecisionPolicy`` while buffers (Llama's rotary ``inv_freq``)
  stay fp32 — :func:`check_fp32_buffers` refuses to train otherwise; FSDP1 (which casts buffers) is refused;
- every attention path keeps documents apart: sdpa/eager/flex get the document mask from the position
  ids, flash-attention gets one flattened row with ``cu_seq_lens`` computed on the host
  (:func:`mmedc.train.data.collate_varlen`);
- ``compile`` compiles each decoder layer in place (:func:`compile_layers`): parameter names keep no
  ``_orig_mod.`` prefix and the mask is built outside the compiled code;
- the loss is a chunked cross-entropy (:func:`chunked_causal_lm_loss`): no fp32 copy of the full
  logits stays alive across backward;
- under FSDP every micro-batch synchronises (``no_sync`` would keep a full unsharded gradient);
- the host reads loss and gradient norm only on log steps; the next step's blocks are prepared in a
  background thread; tokens/s excludes evaluation and saving.

Loss normalisation: each optimizer step averages the loss over every label token of the step on every
rank (``num_items_in_batch``), so gradient accumulation and data parallelism give the same update as
one big batch.
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
from mmedc.train.tokenize import default_workers, load_or_train_tokenizer

# dense bf16 peak TFLOP/s (no sparsity) by device-name substring, for MFU
PEAK_TFLOPS = {
    "H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "H800": 989.0, "GH200": 989.0, "B200": 2250.0,
    "A100": 312.0, "A800": 312.0, "L40S": 362.0, "L4": 121.0, "A10G": 125.0, "A10": 125.0, "4090": 165.0,
    "3090": 71.0, "V100": 125.0, "T4": 65.0,
}

CHECKPOINT_DIR = ck.CHECKPOINT_DIR
RUN_FILE = "run.json"
COMPILE_BACKEND = "inductor"  # torch.compile backend for compile: true


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
# model


def is_varlen(attn_implementation: str | None) -> bool:
    """Whether an attention implementation reads packed sequences from ``cu_seq_lens`` (flash kernels)."""
    return bool(attn_implementation) and "flash" in attn_implementation


def _check_attention(attn: str) -> None:
    if attn.startswith("flash_attention"):
        from transformers.utils import is_flash_attn_2_available

        if not is_flash_attn_2_available():
            raise ImportError(f"attn_implementation {attn} needs flash-attn: `pip install 'mmedc[flash]'`, "
                              "or use sdpa (the default, torch only)")


def build_model(config: TrainConfig, tokenizer, fsdp: bool = False):
    """Load ``model_name_or_path`` or initialise ``config.model`` randomly, with fp32 weights.

    Master weights are fp32 whatever the checkpoint's dtype (bf16 weights would round most AdamW
    updates away at lr 2e-5); autocast computes in bf16. Under FSDP the model loads in its own dtype
    and accelerate upcasts each process's shards to fp32 after sharding (less host memory)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    _check_attention(config.attn_implementation)
    kw: dict[str, Any] = {"attn_implementation": config.attn_implementation}
    if config.model_name_or_path:
        if not fsdp:
            kw["dtype"] = torch.float32
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
    return AutoModelForCausalLM.from_config(model_config, dtype=torch.float32, **kw)


def check_fp32_buffers(model) -> None:
    """Refuse to train when a rotary-position buffer is not fp32 (bf16 ``inv_freq`` moves the angles
    at position 8,191 by up to ~15 rad)."""
    import torch

    for name, buf in model.named_buffers():
        if "inv_freq" in name and buf.dtype != torch.float32:
            raise RuntimeError(f"{name} is {buf.dtype}, must stay float32 (rotary positions); "
                               "use FSDP2 (fsdp_version: 2), whose mixed precision leaves buffers alone")


def decoder_layers(model) -> list:
    """The repeated decoder blocks (the classes transformers lists in ``_no_split_modules``)."""
    names = set(getattr(model, "_no_split_modules", None) or [])
    return [m for m in model.modules() if type(m).__name__ in names]


def compile_layers(model, backend: str | None = None) -> int:
    """``torch.compile`` each decoder layer in place (``Module.compile``): parameter names are unchanged
    (no ``_orig_mod.``), FSDP wraps the same modules, the mask is built outside compiled code."""
    layers = decoder_layers(model)
    if not layers:
        raise ValueError(f"compile: no decoder layers found in {type(model).__name__} (_no_split_modules)")
    for layer in layers:
        layer.compile(backend=backend or COMPILE_BACKEND)
    return len(layers)


def chunked_causal_lm_loss(hidden, weight, labels, num_items_in_batch=None, chunk_tokens: int = 2048, bias=None):
    """Causal-LM cross-entropy over ``hidden @ weight.T`` in chunks of tokens, each recomputed in backward.

    The full logits (tokens x vocabulary, fp32: 4.2 GB for 8,192 tokens at 128k) never exist at once and
    nothing of them is kept for backward: each chunk saves only its slice of the hidden states.
    ``labels`` are unshifted (as the model gets them); ``num_items_in_batch`` (a tensor is fine: no host
    read) divides the sum, else the mean over scored tokens."""
    import torch
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint

    shift = F.pad(labels, (0, 1), value=-100)[..., 1:].reshape(-1).to(hidden.device)
    h = hidden.reshape(-1, hidden.shape[-1])

    def part(hc, yc, w, b):
        logits = F.linear(hc, w, b).float()
        return F.cross_entropy(logits, yc, ignore_index=-100, reduction="sum")

    total = hidden.new_zeros((), dtype=torch.float32)
    for i in range(0, h.shape[0], chunk_tokens):
        total = total + checkpoint(part, h[i : i + chunk_tokens], shift[i : i + chunk_tokens], weight, bias,
                                   use_reentrant=False)
    if num_items_in_batch is None:
        return total / (shift != -100).sum().clamp(min=1)
    if torch.is_tensor(num_items_in_batch):
        num_items_in_batch = num_items_in_batch.to(total.device)
    return total / num_items_in_batch


def enable_chunked_loss(model, chunk_tokens: int) -> None:
    """Make the model's own forward compute :func:`chunked_causal_lm_loss` (inside the forward, so FSDP
    has gathered the output projection): ``lm_head`` passes hidden states through and the loss function
    projects them chunk by chunk. ``out.logits`` then holds hidden states; the saved weights are unchanged."""
    head = model.get_output_embeddings()
    if head is None or not hasattr(head, "weight"):
        raise ValueError(f"loss_chunk_tokens: {type(model).__name__} has no output projection to chunk")
    head.forward = lambda hidden: hidden

    def loss_function(logits, labels, vocab_size=None, num_items_in_batch=None, **_):
        return chunked_causal_lm_loss(logits, head.weight, labels, num_items_in_batch, chunk_tokens,
                                      getattr(head, "bias", None))

    model.loss_function = loss_function


def fsdp_requested() -> bool:
    """Whether ``accelerate launch`` (or the environment) asked for FSDP."""
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() in ("1", "true", "yes")


def fsdp_plugin(mixed_precision: str):
    """accelerate's FSDP plugin from the launch environment, with an explicit FSDP2 mixed-precision
    policy: parameters in bf16 for compute, gradients reduced in fp32, buffers untouched (fp32)."""
    from accelerate.utils import FullyShardedDataParallelPlugin

    plugin = FullyShardedDataParallelPlugin()
    if plugin.fsdp_version != 2:
        raise ValueError("FSDP1 casts buffers (rotary inv_freq) to bf16 and is not supported: set fsdp_version: 2 "
                         "(configs/accelerate_fsdp.yaml)")
    plugin.mixed_precision_policy = fsdp_mixed_precision(mixed_precision)
    return plugin


def fsdp_mixed_precision(mixed_precision: str):
    import torch
    from torch.distributed.fsdp import MixedPrecisionPolicy

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mixed_precision)
    return MixedPrecisionPolicy(param_dtype=dtype, reduce_dtype=torch.float32)


def sync_every_micro_batch(distributed_type: Any) -> bool:
    """FSDP reduce-scatters every micro-batch: ``no_sync`` would keep a full unsharded gradient per GPU
    (+16 GB for 8B). DDP skips the all-reduce until the last micro-batch of a step."""
    return "FSDP" in str(distributed_type)


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
    """Checkpoints with a completion marker, oldest first (see :mod:`mmedc.train.checkpoint`)."""
    return ck.list_checkpoints(output_dir)


def _differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    keys = sorted(set(saved) | set(now))
    return [f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in keys if saved.get(k) != now.get(k)]


def _is_sharded(accelerator) -> bool:
    return sync_every_micro_batch(accelerator.distributed_type)


def save_checkpoint(accelerator, model, optimizer, scheduler, tokenizer, config: TrainConfig, step: int,
                    tokens: int, data_state: DataState, history: list[dict], identity: dict[str, Any]) -> Path:
    """Write ``checkpoints/step-N`` (safetensors + JSON, marker last; see :mod:`mmedc.train.checkpoint`)."""
    from accelerate.utils import gather_object

    root = Path(config.output_dir) / CHECKPOINT_DIR
    final = root / f"step-{step:07d}"
    tmp = root / f".step-{step:07d}.tmp"
    rank, world = accelerator.process_index, accelerator.num_processes
    sharded = _is_sharded(accelerator)
    if accelerator.is_main_process:
        ck.remove(tmp)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    mine: list[str] = []
    unwrapped = accelerator.unwrap_model(model)
    if sharded or accelerator.is_main_process:
        tag = f"-{rank:05d}" if sharded else ""
        tensors = ck.model_tensors(unwrapped)
        meta = {}
        ck.save_tensors(tmp / f"model{tag}.safetensors", tensors)
        mine.append(f"model{tag}.safetensors")
        opt_t, opt_meta = ck.optimizer_payload(optimizer)
        ck.save_tensors(tmp / f"optimizer{tag}.safetensors", opt_t)
        ck.write_json(tmp / f"optimizer{tag}.json", opt_meta)
        mine += [f"optimizer{tag}.safetensors", f"optimizer{tag}.json"]
        if sharded and rank == 0:
            full = unwrapped.state_dict()
            meta["sharded"] = sorted(k for k, v in full.items() if hasattr(v, "to_local")
                                     and tuple(v.to_local().shape) != tuple(v.shape))
            ck.write_json(tmp / "model_sharding.json", meta)
            mine.append("model_sharding.json")
    ck.save_tensors(tmp / f"rng-{rank:05d}.safetensors", ck.rng_tensors())
    mine.append(f"rng-{rank:05d}.safetensors")
    if accelerator.is_main_process:
        ck.write_json(tmp / "scheduler.json", scheduler.state_dict())
        mine.append("scheduler.json")
        unwrapped.config.save_pretrained(tmp)
        mine.append("config.json")
        if (tmp / "generation_config.json").exists():
            mine.append("generation_config.json")
        tokenizer.save_pretrained(tmp / "tokenizer")
        mine += [f"tokenizer/{p.name}" for p in sorted((tmp / "tokenizer").iterdir())]
    described = ck.describe(tmp, mine)
    states = gather_object([data_state.to_dict()])
    all_files = gather_object([described])
    if accelerator.is_main_process:
        state = {"step": step, "tokens": tokens, "data_states": states, "identity": identity,
                 "config": config.to_dict(), "history": history, "world_size": world}
        ck.write_json(tmp / ck.STATE, state)
        files = {k: v for part in all_files for k, v in part.items()}
        files.update(ck.describe(tmp, [ck.STATE]))
        ck.write_marker(tmp, files, world_size=world, sharded=sharded, step=step)
        ck.remove(final)
        os.replace(tmp, final)
        if config.save_total_limit > 0:
            for old in list_checkpoints(config.output_dir)[: -config.save_total_limit]:
                ck.remove(old)
        logger.info(f"saved checkpoint {final}")
    accelerator.wait_for_everyone()
    return final


def _verify_here(accelerator, path: Path) -> str | None:
    """Verify the files this rank will read; every rank learns whether any rank found a problem."""
    from accelerate.utils import gather_object

    try:
        marker = ck.verify(path, names=[])
        ck.verify(path, names=ck.owned_files(marker, accelerator.process_index))
        problem = None
    except ck.CheckpointError as e:
        problem = str(e)
    problems = [p for p in gather_object([problem]) if p] if accelerator.num_processes > 1 else [problem] if problem else []
    return problems[0] if problems else None


def select_checkpoint(accelerator, config: TrainConfig) -> Path | None:
    """The checkpoint to resume: ``resume: auto`` takes the newest intact one (skipping incomplete or
    damaged ones with a one-line warning each); a path must be intact (else :class:`CheckpointError`)."""
    if not config.resume:
        return None
    if config.resume != "auto":
        path = Path(config.resume)
        problem = _verify_here(accelerator, path)
        if problem:
            raise ck.CheckpointError(f"resume: {problem}")
        return path
    for path in reversed(list_checkpoints(config.output_dir)):
        problem = _verify_here(accelerator, path)
        if problem is None:
            return path
        if accelerator.is_main_process:
            logger.warning(f"resume: skipping {problem}; trying the previous checkpoint")
    return None


def load_checkpoint(accelerator, path: Path, model, optimizer, scheduler) -> dict[str, Any]:
    """Restore model, optimizer, scheduler and RNG from a verified checkpoint; return its trainer state."""
    rank = accelerator.process_index
    state = ck.read_json(path / ck.STATE)
    marker = ck.read_json(path / ck.MARKER)
    if int(marker.get("world_size", 1)) != accelerator.num_processes:
        raise ck.CheckpointError(f"checkpoint {path} was written by {marker.get('world_size')} processes, now "
                                 f"{accelerator.num_processes}: resume with the same number")
    tag = f"-{rank:05d}" if marker.get("sharded") else ""
    unwrapped = accelerator.unwrap_model(model)
    ck.load_model_tensors(unwrapped, ck.load_tensors(path / f"model{tag}.safetensors"), str(path / f"model{tag}.safetensors"))
    ck.load_optimizer(optimizer, ck.load_tensors(path / f"optimizer{tag}.safetensors"),
                      ck.read_json(path / f"optimizer{tag}.json"), str(path / f"optimizer{tag}.json"))
    scheduler.load_state_dict(ck.read_json(path / "scheduler.json"))
    ck.load_rng(ck.load_tensors(path / f"rng-{rank:05d}.safetensors"))
    return state


def check_run(config: TrainConfig, identity: dict[str, Any], is_main: bool) -> None:
    """An output folder holds one run: a different request into it is refused (naming the differences)
    unless ``overwrite``, which removes the other run's checkpoints, log, tokenizer and final model."""
    out = Path(config.output_dir)
    record = out / RUN_FILE
    if record.exists():
        saved = ck.read_json(record, limit=16 * 2**20)
        diff = _differences(saved.get("identity", {}), identity)
        if diff and not config.overwrite:
            raise ValueError(f"{out} holds another run ({'; '.join(diff)}): give another output_dir, or "
                             "overwrite: true (--overwrite true) to start afresh")
        if diff and is_main:
            for name in (CHECKPOINT_DIR, "tokenizer", "final"):
                ck.remove(out / name)
            (out / "log.jsonl").unlink(missing_ok=True)
            logger.warning(f"overwrite: removed the previous run in {out} ({'; '.join(diff)})")
    elif config.overwrite and is_main:
        for name in (CHECKPOINT_DIR, "tokenizer", "final"):
            ck.remove(out / name)
        (out / "log.jsonl").unlink(missing_ok=True)
    if is_main:
        from mmedc.io.atomic import atomic_write_text

        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(record, json.dumps({"identity": identity}, indent=1))


def save_model(accelerator, model, tokenizer, path: str | os.PathLike, dtype: Any = None) -> None:
    """Save a ``from_pretrained``-loadable model (safetensors, in ``dtype``) and its tokenizer; gathers
    FSDP shards; written beside ``path`` and renamed when complete."""
    state_dict = accelerator.get_state_dict(model)
    unwrapped = accelerator.unwrap_model(model)
    if accelerator.is_main_process:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        ck.remove(tmp)
        if dtype is not None:
            state_dict = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state_dict.items()}
        unwrapped.save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
        if dtype is not None:  # the config says what the weights are
            cfg = json.loads((tmp / "config.json").read_text())
            cfg["dtype"] = str(dtype).removeprefix("torch.")
            (tmp / "config.json").write_text(json.dumps(cfg, indent=2))
        tokenizer.save_pretrained(tmp)
        ck.remove(path)
        os.replace(tmp, path)
    accelerator.wait_for_everyone()


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


# ----------------------------------------------------------------------------------------------------
# reporting


def _trackers(config: TrainConfig) -> str | None:
    if config.report_to == "none":
        return None
    import importlib.util

    package = {"tensorboard": "tensorboard", "wandb": "wandb"}[config.report_to]
    if importlib.util.find_spec(package) is None and not (package == "tensorboard" and importlib.util.find_spec("tensorboardX")):
        raise ImportError(f"report_to {config.report_to} needs the {package} package: `pip install {package}`")
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
        diff = _differences(saved, identity)
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
    if config.loss_chunk_tokens:
        enable_chunked_loss(model, config.loss_chunk_tokens)
    if config.compile:
        compile_layers(model)
    optimizer = _optimizer(model, config, fused=cuda)
    scheduler = _scheduler(optimizer, config)
    model, optimizer = accelerator.prepare(model, optimizer)
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
            if eval_data and config.eval_every and step % config.eval_every == 0 and step != end_step:
                flush()
                last_eval = evaluate(accelerator, model, eval_data, config.micro_batch_size, varlen, config.seq_len)
                history[-1]["eval"] = last_eval
                _report_eval(accelerator, tracker, step, last_eval)
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
    ckpt = None
    if config.save_last_checkpoint and (final_step > start_step or resume is None):
        ckpt = save_checkpoint(accelerator, model, optimizer, scheduler, tokenizer, config, final_step, tokens_seen,
                               data_state or stream.start, history, identity)
    final_dir = None
    if config.save_final_model and final_step >= config.max_steps:
        final_dir = out_dir / "final"
        save_model(accelerator, model, tokenizer, final_dir, dtype=_save_dtype(config.save_dtype, mp))
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


def _save_dtype(name: str, mixed_precision: str):
    import torch

    if name == "auto":
        return torch.bfloat16 if mixed_precision == "bf16" else torch.float32
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def _report_eval(accelerator, tracker, step: int, ev: dict) -> None:
    if accelerator.is_main_process:
        logger.info(f"eval @ step {step}: " + ", ".join(f"{k} ppl {v['ppl']:.2f}" for k, v in sorted(ev.items())))
    if tracker:
        accelerator.log({f"eval/{k}/ppl": v["ppl"] for k, v in ev.items()} | {f"eval/{k}/loss": v["loss"] for k, v in ev.items()},
                        step=step)


def iter_history(output_dir: str | os.PathLike) -> Iterator[dict]:
    """The records of ``log.jsonl`` (one per step)."""
    with open(Path(output_dir) / "log.jsonl", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)
