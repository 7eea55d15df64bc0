"""The model side of training: loading with fp32 master weights, attention paths, per-layer compile,
the chunked loss, FSDP2 mixed precision, optimizer and schedule, MFU arithmetic.

Each function here is one correctness rule of the GPU path, tested on CPU in ``tests/train/``:

- weights stay fp32 (master weights) and autocast computes in bf16; under FSDP2 the parameters are
  cast to bf16 for compute by its ``MixedPrecisionPolicy`` while buffers (Llama's rotary ``inv_freq``)
  stay fp32 — :func:`check_fp32_buffers` refuses to train otherwise; FSDP1 (which casts buffers) is refused;
- flash-attention reads packed sequences from ``cu_seq_lens`` (:func:`is_varlen`; the batch is one
  flattened row, :func:`mmedc.train.data.collate_varlen`); sdpa, eager and flex attention get the
  document mask from the position ids; sdpa (torch only) is the default, flash-attn is optional;
- ``compile`` compiles each decoder layer in place (:func:`compile_layers`): parameter names keep no
  ``_orig_mod.`` prefix and the mask is built outside compiled code;
- the loss is a chunked cross-entropy (:func:`chunked_causal_lm_loss`): no fp32 copy of the full
  logits stays alive across backward;
- under FSDP every micro-batch synchronises (:func:`sync_every_micro_batch`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mmedc.train.config import TrainConfig

# dense bf16 peak TFLOP/s (no sparsity) by device-name substring, for MFU
PEAK_TFLOPS = {
    "H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "H800": 989.0, "GH200": 989.0, "B200": 2250.0,
    "A100": 312.0, "A800": 312.0, "L40S": 362.0, "L4": 121.0, "A10G": 125.0, "A10": 125.0, "4090": 165.0,
    "3090": 71.0, "V100": 125.0, "T4": 65.0,
}

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
        model = AutoModelForCausalLM.from_pretrained(config.model_name_or_path, **kw)
        restore_fp32_rotary(model)
        return model
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


def restore_fp32_rotary(model) -> int:
    """Recompute in fp32 every rotary ``inv_freq`` that is not fp32 (a model loaded or cast in bf16
    casts its buffers too; casting back would keep the bf16 rounding). Returns how many were redone."""
    import torch

    redone = 0
    for module in model.modules():
        buf = getattr(module, "inv_freq", None)
        if buf is None or buf.dtype == torch.float32 or not hasattr(module, "config"):
            continue
        rope_type = getattr(module, "rope_type", "default")
        if rope_type == "default" and hasattr(module, "compute_default_rope_parameters"):
            fn = module.compute_default_rope_parameters
        else:
            from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

            fn = ROPE_INIT_FUNCTIONS[rope_type]
        inv_freq, _ = fn(module.config, device=buf.device)
        module.inv_freq = inv_freq.to(torch.float32)
        if hasattr(module, "original_inv_freq"):
            module.original_inv_freq = module.inv_freq.clone()
        redone += 1
    return redone


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


# causal LMs whose logits are exactly ``lm_head(hidden)`` (no soft-capping or scaling after the head)
CHUNKED_LOSS_MODELS = frozenset({"llama", "mistral", "qwen2", "qwen3", "phi3", "olmo2"})


def enable_chunked_loss(model, chunk_tokens: int) -> bool:
    """Make the model's own forward compute :func:`chunked_causal_lm_loss` (inside the forward, so FSDP
    has gathered the output projection): ``lm_head`` passes hidden states through and the loss function
    projects them chunk by chunk. ``out.logits`` then holds hidden states; the saved weights are unchanged.

    Only for :data:`CHUNKED_LOSS_MODELS` (others may transform the logits after the head, e.g. Gemma's
    soft-capping); returns whether it was enabled."""
    if getattr(model.config, "model_type", None) not in CHUNKED_LOSS_MODELS:
        return False
    head = model.get_output_embeddings()
    if head is None or not hasattr(head, "weight"):
        raise ValueError(f"loss_chunk_tokens: {type(model).__name__} has no output projection to chunk")
    head.forward = lambda hidden: hidden

    def loss_function(logits, labels, vocab_size=None, num_items_in_batch=None, **_):
        return chunked_causal_lm_loss(logits, head.weight, labels, num_items_in_batch, chunk_tokens,
                                      getattr(head, "bias", None))

    model.loss_function = loss_function
    return True


@contextmanager
def plain_logits(model) -> Iterator[None]:
    """Within this block the model returns real logits again (for scoring multiple-choice options)."""
    head = model.get_output_embeddings()
    override = head.__dict__.pop("forward", None) if head is not None else None
    try:
        yield
    finally:
        if override is not None:
            head.forward = override


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


def build_optimizer(model, config: TrainConfig, fused: bool):
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


def build_scheduler(optimizer, config: TrainConfig):
    from transformers import get_scheduler

    warmup = math.ceil(config.warmup_ratio * config.max_steps)
    name, extra = config.lr_scheduler, None
    if name == "cosine" and config.min_lr_ratio > 0:
        name, extra = "cosine_with_min_lr", {"min_lr_rate": config.min_lr_ratio}
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=config.max_steps,
                         scheduler_specific_kwargs=extra)


def save_dtype(name: str, mixed_precision: str):
    import torch

    if name == "auto":
        return torch.bfloat16 if mixed_precision == "bf16" else torch.float32
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]
