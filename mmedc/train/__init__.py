"""Continued pretraining on mmedc shards: streaming packed data, mixture, trainer.

``from mmedc.train import train, load_config`` then ``train(load_config("configs/tiny-cpu.yaml"))``;
or ``mmedc train --config ...`` / ``python pipelines/pretrain.py --config ...``. Heavy dependencies
(torch, transformers, accelerate) are imported on first use.
"""

from __future__ import annotations

from typing import Any

from mmedc.train.config import TrainConfig, load_config

__all__ = [
    "TrainConfig",
    "load_config",
    "train",
    "PackedStream",
    "Packer",
    "DataState",
    "eval_blocks",
    "mixture_rates",
    "train_tokenizer",
    "packed_dataset",
]

_LAZY = {
    "train": "mmedc.train.trainer",
    "PackedStream": "mmedc.train.data",
    "Packer": "mmedc.train.data",
    "DataState": "mmedc.train.data",
    "eval_blocks": "mmedc.train.data",
    "mixture_rates": "mmedc.train.data",
    "train_tokenizer": "mmedc.train.data",
    "packed_dataset": "mmedc.train.data",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mmedc.train' has no attribute {name!r}")
