"""Training configuration: one dataclass, loaded from YAML/JSON, overridden from the command line.

Precedence: dataclass defaults < ``--config`` file < command-line options. The defaults are the MMedC
settings (learning rate 2e-5, cosine schedule, 1% warm-up, weight decay 0.01, bf16 on GPU, gradient
checkpointing); a config file only says what differs. Every field is also a command-line option
(``max_steps`` -> ``--max-steps``); dict-valued fields (``model``, ``mixture``) take JSON on the
command line (``--mixture '{"en": 0.5, "zh": 0.5}'``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import typing
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainConfig:
    """Everything a pretraining run needs; each option is described in ``_FIELD_HELP`` (``--help``)
    and ``docs/trainer.md``."""

    # --- data ------------------------------------------------------------------------------------
    shards: list[str] = field(default_factory=list)
    eval_shards: list[str] = field(default_factory=list)
    eval_fraction: float = 0.0
    seq_len: int = 2048
    mixture: dict[str, float] = field(default_factory=dict)
    mixture_mode: str = "proportion"
    seed: int = 42
    window_row_groups: int = 16
    doc_boundary_attention: bool = True
    tokenizer_workers: int = -1
    tokenize_batch_docs: int = 256
    min_doc_chars: int = 1
    text_column: str = "text"

    # --- model and tokenizer ---------------------------------------------------------------------
    model_name_or_path: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    tokenizer: str | None = None
    tokenizer_vocab_size: int = 4096
    tokenizer_train_docs: int = 20_000
    attn_implementation: str | None = None

    # --- optimisation (MMedC defaults) -----------------------------------------------------------
    learning_rate: float = 2e-5
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.01
    min_lr_ratio: float = 0.0
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    max_steps: int = 1000
    micro_batch_size: int = 4
    grad_accum: int = 1
    mixed_precision: str = "auto"
    gradient_checkpointing: bool = True
    tf32: bool = True
    compile: bool = False

    # --- run -------------------------------------------------------------------------------------
    output_dir: str = "runs/pretrain"
    log_every: int = 10
    eval_every: int = 0
    eval_max_tokens: int = 200_000
    save_every: int = 0
    save_total_limit: int = 2
    resume: str | None = "auto"
    save_final_model: bool = True
    save_last_checkpoint: bool = True
    peak_tflops: float | None = None
    stop_after_steps: int | None = None

    def validate(self) -> TrainConfig:
        if not self.shards:
            raise ValueError("config: 'shards' is empty; give at least one mmedc shard folder")
        if self.seq_len < 2:
            raise ValueError(f"config: seq_len must be >= 2, got {self.seq_len}")
        if self.mixture_mode not in ("proportion", "rate"):
            raise ValueError(f"config: mixture_mode must be 'proportion' or 'rate', got {self.mixture_mode!r}")
        if any(w < 0 for w in self.mixture.values()):
            raise ValueError(f"config: mixture weights must be >= 0, got {self.mixture}")
        if self.mixture and not any(w > 0 for w in self.mixture.values()):
            raise ValueError("config: every mixture weight is 0")
        if not 0.0 <= self.eval_fraction < 1.0:
            raise ValueError(f"config: eval_fraction must be in [0, 1), got {self.eval_fraction}")
        if self.mixed_precision not in ("auto", "bf16", "fp16", "no"):
            raise ValueError(f"config: mixed_precision must be auto|bf16|fp16|no, got {self.mixed_precision!r}")
        if self.micro_batch_size < 1 or self.grad_accum < 1 or self.max_steps < 1:
            raise ValueError("config: micro_batch_size, grad_accum and max_steps must be >= 1")
        if self.model_name_or_path is None and not self.model:
            raise ValueError("config: give 'model_name_or_path' (continue pretraining) or 'model' (random init)")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or JSON config into a dict, checking its keys."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ValueError(f"config {path}: cannot read ({e.strerror})") from e
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as e:  # noqa: BLE001 - yaml and json raise different types
        raise ValueError(f"config {path}: not valid {'YAML' if path.endswith(('yaml', 'yml')) else 'JSON'}: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"config {path}: expected a mapping at the top level, got {type(data).__name__}")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"config {path}: unknown keys {unknown}")
    for key in ("shards", "eval_shards"):  # a single path is a list of one
        if isinstance(data.get(key), str):
            data[key] = [data[key]]
    return data


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and one option per :class:`TrainConfig` field (absent from the namespace unless given)."""
    parser.add_argument("--config", help="YAML or JSON config file (options below override it)")
    g = parser.add_argument_group("training options (override the config file)")
    types = _field_types()
    for f in dataclasses.fields(TrainConfig):
        opt = "--" + f.name.replace("_", "-")
        t = types[f.name]
        origin = typing.get_origin(t)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        doc = f"{_FIELD_HELP.get(f.name, '').rstrip('.')} (default: {default})".replace("%", "%%")
        if t is bool:
            g.add_argument(opt, type=_parse_bool, default=argparse.SUPPRESS, metavar="BOOL", help=doc)
        elif origin is list:
            g.add_argument(opt, nargs="+", default=argparse.SUPPRESS, help=doc)
        elif origin is dict:
            g.add_argument(opt, type=_parse_json_dict, default=argparse.SUPPRESS, metavar="JSON", help=doc)
        else:
            g.add_argument(opt, type=_scalar_parser(t), default=argparse.SUPPRESS, help=doc)


_FIELD_HELP: dict[str, str] = {
    "shards": 'mmedc shard folders, globs or files (local or fsspec URLs).',
    "eval_shards": 'held-out shards for per-language perplexity; empty: hold out eval_fraction of shards.',
    "eval_fraction": 'fraction of documents (by id hash) held out of training for evaluation when no eval_shards.',
    "seq_len": 'tokens per training block',
    "mixture": 'target share of each group, keys lang/source, lang, source or *; empty: natural mix.',
    "mixture_mode": 'proportion: weights are target shares of characters; rate: weights are epochs per group.',
    "seed": 'seed of order, mixture, hold-out and model init',
    "window_row_groups": 'row groups read and shuffled together (the shuffle window).',
    "doc_boundary_attention": 'reset position ids at document starts so attention does not cross documents.',
    "tokenizer_workers": 'processes that tokenize (0: in the training process; -1: half the CPU cores, at most 8).',
    "tokenize_batch_docs": 'documents per tokenizer task',
    "min_doc_chars": 'skip documents shorter than this',
    "text_column": 'shard column with the text',
    "model_name_or_path": 'a local path or hub name to continue pretraining; None: random init from model.',
    "model": 'architecture for random init (LlamaConfig fields); used when model_name_or_path is None.',
    "tokenizer": "tokenizer path or name; None: the model's, or one trained on the shards for random init.",
    "tokenizer_vocab_size": 'size of the tokenizer trained on the shards (random init only)',
    "tokenizer_train_docs": 'documents sampled to train that tokenizer',
    "attn_implementation": "sdpa, eager, flash_attention_2...; None: transformers' default.",
    "learning_rate": 'peak learning rate (MMedC: 2e-5)',
    "lr_scheduler": 'transformers scheduler name (cosine, linear, constant_with_warmup, ...)',
    "warmup_ratio": 'warm-up steps as a share of max_steps (MMedC: 0.01)',
    "min_lr_ratio": 'cosine floor as a share of the peak learning rate',
    "weight_decay": 'AdamW weight decay, not on norms and biases (MMedC: 0.01)',
    "adam_beta1": 'AdamW beta1',
    "adam_beta2": 'AdamW beta2',
    "adam_epsilon": 'AdamW epsilon',
    "max_grad_norm": 'gradient clipping norm',
    "max_steps": "optimizer steps (the schedule's length)",
    "micro_batch_size": 'blocks per forward pass per process',
    "grad_accum": 'micro-batches per optimizer step',
    "mixed_precision": 'auto (bf16 on a GPU that has it, else fp32), bf16, fp16 or no.',
    "gradient_checkpointing": 'recompute activations in backward (less memory, ~30% more compute)',
    "tf32": 'TF32 matmuls on NVIDIA GPUs',
    "compile": 'torch.compile the model',
    "output_dir": 'checkpoints, final model, tokenizer and log.jsonl',
    "log_every": 'steps between log lines (every step goes to log.jsonl)',
    "eval_every": 'steps between evaluations (0: only at the end).',
    "eval_max_tokens": 'tokens evaluated per language.',
    "save_every": 'steps between checkpoints (0: only at the end).',
    "save_total_limit": 'checkpoints kept (oldest removed)',
    "resume": 'auto: newest complete checkpoint in output_dir if any; a path; or None/no.',
    "save_final_model": 'save a from_pretrained-loadable model in output_dir/final at the end',
    "save_last_checkpoint": 'write a resumable checkpoint when the run ends (benchmarks turn it off).',
    "peak_tflops": 'accelerator peak for MFU; None: looked up from the device name.',
    "stop_after_steps": 'end the run after this many steps (as if killed), keeping the schedule of max_steps.',
}


def _parse_bool(v: str) -> bool:
    low = v.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {v!r}")


def _parse_json_dict(v: str) -> dict:
    try:
        d = json.loads(v)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {v!r} ({e})") from e
    if not isinstance(d, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {v!r}")
    return d


def _scalar_parser(t: Any):
    args = [a for a in typing.get_args(t) if a is not type(None)] or [t]
    base = args[0]

    def parse(v: str):
        if v.lower() in ("none", "null"):
            return None
        return base(v)

    parse.__name__ = getattr(base, "__name__", "value")
    return parse


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Merge defaults, the ``--config`` file and command-line options into a validated config."""
    data: dict[str, Any] = load_config_file(args.config) if getattr(args, "config", None) else {}
    for f in dataclasses.fields(TrainConfig):
        if hasattr(args, f.name):  # given on the command line (options default to "absent")
            data[f.name] = getattr(args, f.name)
    if isinstance(data.get("resume"), str) and data["resume"].lower() in ("no", "none", "false"):
        data["resume"] = None
    return TrainConfig(**data).validate()


def load_config(path: str | os.PathLike | None = None, **overrides: Any) -> TrainConfig:
    """Library entry: config file (optional) plus keyword overrides -> validated :class:`TrainConfig`."""
    data = load_config_file(path) if path else {}
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"unknown training options {unknown}")
    data.update(overrides)
    if isinstance(data.get("shards"), str):
        data["shards"] = [data["shards"]]
    if isinstance(data.get("eval_shards"), str):
        data["eval_shards"] = [data["eval_shards"]]
    return TrainConfig(**data).validate()
