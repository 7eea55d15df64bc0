"""Training configuration: one dataclass, loaded from YAML/JSON, overridden from the command line.

Precedence: dataclass defaults < ``--config`` file < command-line options. The defaults are the MMedC
settings (learning rate 2e-5, cosine schedule, 1% warm-up, weight decay 0.01, bf16 on GPU, gradient
checkpointing); a config file only says what differs. Every field is also a command-line option
(``max_steps`` -> ``--max-steps``), generated from the dataclass: each field's help text lives in its
``field(metadata={"help": ...})``, its default is written once. Dict-valued fields (``model``,
``mixture``) take JSON on the command line (``--mixture '{"en": 0.5, "zh": 0.5}'``).

Why not :mod:`mmedc.options` (the recipes' generator): it makes booleans ``--flag/--no-flag``, lists
comma-separated and dicts ``KEY=VALUE``; the trainer's options (``--gradient-checkpointing false``,
``--shards a b``, JSON dicts) are a published command line, kept as they are, and an option given
neither on the command line nor in the file must stay absent so the file's value wins.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import typing
from dataclasses import dataclass, field
from typing import Any


def _opt(default: Any, help: str) -> Any:  # noqa: A002 - the argparse word
    """A field with its help text; mutable defaults get a factory."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Everything a pretraining run needs (``mmedc train --help`` and ``docs/trainer.md`` list them)."""

    # --- data ------------------------------------------------------------------------------------
    shards: list[str] = _opt([], "mmedc shard folders, globs or files (local or fsspec URLs)")
    eval_shards: list[str] = _opt([], "held-out shards for per-language perplexity; empty: hold out eval_fraction")
    eval_fraction: float = _opt(0.0, "share of documents (by id hash) held out of training for evaluation when no eval_shards")
    seq_len: int = _opt(2048, "tokens per training block")
    mixture: dict[str, float] = _opt({}, "target share of each group, keys lang/source, lang, source or *; empty: natural mix")
    mixture_mode: str = _opt("proportion", "proportion: weights are target shares of characters; rate: epochs per group")
    seed: int = _opt(42, "seed of order, mixture, hold-out and model init")
    window_row_groups: int = _opt(16, "row groups read and shuffled together (the shuffle window)")
    doc_boundary_attention: bool = _opt(True, "attention and position ids restart at each document inside a block")
    tokenizer_workers: int = _opt(-1, "tokenizer processes (0: in the training process; -1: half the usable CPUs, at most 8)")
    tokenize_batch_docs: int = _opt(256, "documents per tokenizer task")
    min_doc_chars: int = _opt(1, "skip documents shorter than this")
    text_column: str = _opt("text", "shard column with the text")

    # --- model and tokenizer ---------------------------------------------------------------------
    model_name_or_path: str | None = _opt(None, "a local path or hub name to continue pretraining; None: random init from model")
    model: dict[str, Any] = _opt({}, "architecture for random init (model_type + config fields, e.g. LlamaConfig)")
    tokenizer: str | None = _opt(None, "tokenizer path or name; None: the model's, or one trained on the shards")
    tokenizer_vocab_size: int = _opt(4096, "size of the tokenizer trained on the shards (random init only)")
    tokenizer_train_docs: int = _opt(20_000, "documents sampled to train that tokenizer")
    attn_implementation: str = _opt("sdpa", "sdpa (torch only), eager, or flash_attention_2/3 (flash-attn installed; batches flattened to one row)")

    # --- optimisation (MMedC defaults) -----------------------------------------------------------
    learning_rate: float = _opt(2e-5, "peak learning rate (MMedC: 2e-5)")
    lr_scheduler: str = _opt("cosine", "transformers scheduler name (cosine, linear, constant_with_warmup, ...)")
    warmup_ratio: float = _opt(0.01, "warm-up steps as a share of max_steps (MMedC: 0.01)")
    min_lr_ratio: float = _opt(0.0, "cosine floor as a share of the peak learning rate")
    weight_decay: float = _opt(0.01, "AdamW weight decay, not on norms and biases (MMedC: 0.01)")
    adam_beta1: float = _opt(0.9, "AdamW beta1")
    adam_beta2: float = _opt(0.95, "AdamW beta2")
    adam_epsilon: float = _opt(1e-8, "AdamW epsilon")
    max_grad_norm: float = _opt(1.0, "gradient clipping norm")
    max_steps: int = _opt(1000, "optimizer steps (the schedule's length)")
    micro_batch_size: int = _opt(4, "blocks per forward pass per process")
    grad_accum: int = _opt(1, "micro-batches per optimizer step")
    mixed_precision: str = _opt("auto", "auto (bf16 on a GPU that has it, else fp32), bf16, fp16 or no; weights stay fp32")
    gradient_checkpointing: bool = _opt(True, "recompute activations in backward (less memory, ~30% more compute)")
    tf32: bool = _opt(True, "TF32 matmuls on NVIDIA GPUs")
    compile: bool = _opt(False, "torch.compile each decoder layer in place (saved weights keep their names)")
    loss_chunk_tokens: int = _opt(2048, "tokens per chunk of the cross-entropy (no full fp32 logits kept); 0: the model's loss")

    # --- run -------------------------------------------------------------------------------------
    output_dir: str = _opt("runs/pretrain", "checkpoints, final model, tokenizer and log.jsonl")
    log_every: int = _opt(10, "steps between log lines and host reads of loss and grad norm (every step goes to log.jsonl)")
    eval_every: int = _opt(0, "steps between evaluations (0: only at the end)")
    eval_max_tokens: int = _opt(200_000, "tokens evaluated per language")
    mcq_files: list[str] = _opt([], "MMedBench-style multiple-choice jsonl files scored (accuracy per language) at each evaluation")
    mcq_shots: int = _opt(0, "few-shot examples per multiple-choice question")
    mcq_batch_size: int = _opt(8, "sequences per forward pass when scoring multiple-choice options")
    save_every: int = _opt(0, "steps between checkpoints (0: only at the end)")
    save_total_limit: int = _opt(2, "checkpoints kept (oldest removed)")
    save_dtype: str = _opt("auto", "dtype of the final model: auto (bfloat16 when training in bf16, else float32), bfloat16, float16, float32")
    resume: str | None = _opt("auto", "auto: newest intact checkpoint of this same run in output_dir; a checkpoint path; or no")
    overwrite: bool = _opt(False, "start afresh in an output_dir that holds another run (its checkpoints are removed)")
    save_final_model: bool = _opt(True, "save a from_pretrained-loadable model in output_dir/final at the end")
    save_last_checkpoint: bool = _opt(True, "write a resumable checkpoint when the run ends (benchmarks turn it off)")
    report_to: str = _opt("none", "none, tensorboard or wandb (the package must be installed)")
    report_project: str = _opt("mmedc", "project name for the reporting backend")
    peak_tflops: float | None = _opt(None, "accelerator peak for MFU; None: looked up from the device name")
    stop_after_steps: int | None = _opt(None, "end the run after this many steps (as if killed), keeping the schedule of max_steps")

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
        if self.save_dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise ValueError(f"config: save_dtype must be auto|bfloat16|float16|float32, got {self.save_dtype!r}")
        if self.report_to not in ("none", "tensorboard", "wandb"):
            raise ValueError(f"config: report_to must be none|tensorboard|wandb, got {self.report_to!r}")
        if self.micro_batch_size < 1 or self.grad_accum < 1 or self.max_steps < 1:
            raise ValueError("config: micro_batch_size, grad_accum and max_steps must be >= 1")
        if self.log_every < 1:
            raise ValueError(f"config: log_every must be >= 1, got {self.log_every}")
        if self.loss_chunk_tokens < 0:
            raise ValueError(f"config: loss_chunk_tokens must be >= 0, got {self.loss_chunk_tokens}")
        if self.model_name_or_path is None and not self.model:
            raise ValueError("config: give 'model_name_or_path' (continue pretraining) or 'model' (random init)")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Options that change how a run is driven, logged or saved, not what it trains: a run resumed with other
# values of these is the same run. Every other option is part of the run's identity (with the data).
RUN_CONTROL = frozenset({
    "shards", "eval_shards", "eval_every", "eval_max_tokens", "mcq_files", "mcq_shots", "mcq_batch_size", "tokenizer_workers", "tokenize_batch_docs",
    "attn_implementation", "gradient_checkpointing", "tf32", "compile", "loss_chunk_tokens", "output_dir",
    "log_every", "save_every", "save_total_limit", "save_dtype", "resume", "overwrite", "save_final_model",
    "save_last_checkpoint", "report_to", "report_project", "peak_tflops", "stop_after_steps",
})


def run_identity(config: TrainConfig) -> dict[str, Any]:
    """The options that define what a run trains (the shards count through the data fingerprint,
    so a moved folder is the same data)."""
    return {k: v for k, v in config.to_dict().items() if k not in RUN_CONTROL}


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainConfig)}


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or JSON config into a dict, checking its keys."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(16 * 2**20)  # a config is small; bound what is read
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
    unknown = sorted(set(data) - _field_names())
    if unknown:
        raise ValueError(f"config {path}: unknown keys {unknown}")
    return _normalise(data)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    for key in ("shards", "eval_shards", "mcq_files"):  # a single path is a list of one
        if isinstance(data.get(key), str):
            data[key] = [data[key]]
    if isinstance(data.get("resume"), str) and data["resume"].lower() in ("no", "none", "false"):
        data["resume"] = None
    if data.get("resume") is False:
        data["resume"] = None
    return data


# ----------------------------------------------------------------------------------------------------
# command line, generated from the dataclass


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and one option per :class:`TrainConfig` field (absent from the namespace unless
    given, so a config file's value is kept); help from each field's metadata, with its default."""
    parser.add_argument("--config", help="YAML or JSON config file (options below override it)")
    g = parser.add_argument_group("training options (override the config file)")
    types = _field_types()
    for f in dataclasses.fields(TrainConfig):
        opt = "--" + f.name.replace("_", "-")
        t = types[f.name]
        origin = typing.get_origin(t)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        doc = f"{f.metadata.get('help', '').rstrip('.')} (default: {default})".replace("%", "%%")
        if t is bool:
            g.add_argument(opt, type=_parse_bool, default=argparse.SUPPRESS, metavar="BOOL", help=doc)
        elif origin is list:
            g.add_argument(opt, nargs="+", default=argparse.SUPPRESS, help=doc)
        elif origin is dict:
            g.add_argument(opt, type=_parse_json_dict, default=argparse.SUPPRESS, metavar="JSON", help=doc)
        else:
            g.add_argument(opt, type=_scalar_parser(t), default=argparse.SUPPRESS, help=doc)


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
    for name in _field_names():
        if hasattr(args, name):  # given on the command line (options default to "absent")
            data[name] = getattr(args, name)
    return TrainConfig(**_normalise(data)).validate()


def load_config(path: str | os.PathLike | None = None, **overrides: Any) -> TrainConfig:
    """Library entry: config file (optional) plus keyword overrides -> validated :class:`TrainConfig`."""
    data = load_config_file(path) if path else {}
    unknown = sorted(set(overrides) - _field_names())
    if unknown:
        raise ValueError(f"unknown training options {unknown}")
    data.update(overrides)
    return TrainConfig(**_normalise(data)).validate()
