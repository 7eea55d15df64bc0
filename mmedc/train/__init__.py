"""Continued pretraining on mmedc shards: streaming packed data, mixture, trainer, safe checkpoints.

``from mmedc.train import train, load_config`` then ``train(load_config("configs/tiny-cpu.yaml"))``;
or ``mmedc train --config ...`` / ``python pipelines/pretrain.py --config ...``. Heavy dependencies
(torch, transformers, accelerate) are imported on first use.

Modules: ``config`` (TrainConfig, options), ``index`` (shard index, hold-out, mixture), ``tokenize``
(tokenizer, worker pool, tokenizer training), ``data`` (packing, evaluation blocks, batches),
``checkpoint`` (safetensors + JSON checkpoints with a completion marker, export), ``trainer`` (the
loop), ``cli`` (``mmedc train``, ``mmedc train export``).
"""

from __future__ import annotations

from mmedc._lazy import lazy_exports
from mmedc.train.config import TrainConfig, load_config

__all__ = [
    "TrainConfig",
    "load_config",
    "train",
    "export",
    "PackedStream",
    "Packer",
    "DataState",
    "eval_blocks",
    "mixture_rates",
    "train_tokenizer",
    "packed_dataset",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "train": "mmedc.train.trainer",
    "export": "mmedc.train.checkpoint",
    "PackedStream": "mmedc.train.data",
    "Packer": "mmedc.train.data",
    "DataState": "mmedc.train.data",
    "eval_blocks": "mmedc.train.data",
    "packed_dataset": "mmedc.train.data",
    "mixture_rates": "mmedc.train.index",
    "train_tokenizer": "mmedc.train.tokenize",
}, globals())
