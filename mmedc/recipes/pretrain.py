"""Recipe ``pretrain``: continue pretraining a causal LM on mmedc shards.

Three doors, one function: ``mmedc.recipes.pretrain.pretrain(config)`` (library),
``python pipelines/pretrain.py --config configs/tiny-cpu.yaml`` and ``mmedc train --config ...`` /
``mmedc run pretrain --config ...`` (both call :func:`main`). Many GPUs:
``accelerate launch --config_file configs/accelerate_fsdp.yaml pipelines/pretrain.py --config ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
from typing import Any

from mmedc.train.config import TrainConfig, load_config

# the architecture of the tiny CPU model (demo, tests, configs/tiny-cpu.yaml): 0.16M parameters at vocab 1024
TINY_MODEL: dict[str, Any] = {
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 176,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "tie_word_embeddings": True,
}


def pretrain(config: TrainConfig | str | os.PathLike | None = None, **overrides: Any) -> dict[str, Any]:
    """Train from a :class:`TrainConfig`, or a config file path plus keyword overrides."""
    from mmedc.train.trainer import train

    if not isinstance(config, TrainConfig):
        config = load_config(config, **overrides)
    elif overrides:
        config = dataclasses.replace(config, **overrides).validate()
    return train(config)


run_pretrain = pretrain  # the recipe shape's name


def build_parser() -> argparse.ArgumentParser:
    """The options of ``mmedc train`` (generated from :class:`TrainConfig`)."""
    from mmedc.train.cli import build_parser as _build

    return _build()


def main(argv: list[str] | None = None) -> int:
    """``mmedc train`` / ``mmedc run pretrain`` / ``pipelines/pretrain.py``: see :mod:`mmedc.train.cli`."""
    from mmedc.train.cli import main as _main

    return _main(argv)


# --------------------------------------------------------------------------------------------------
# demo

_DEMO_TEXT = {
    "en": ["The patient presented with fever, cough and shortness of breath; chest X-ray showed pneumonia.",
           "Metformin is the first-line treatment for type 2 diabetes and lowers hepatic glucose production.",
           "Hypertension increases the risk of stroke, myocardial infarction and chronic kidney disease."],
    "zh": ["患者出现发热、咳嗽和呼吸困难，胸部X光显示肺炎。", "二甲双胍是2型糖尿病的一线治疗药物。",
           "高血压会增加中风、心肌梗死和慢性肾病的风险。"],
    "ja": ["患者は発熱、咳、息切れを訴え、胸部X線で肺炎が認められた。", "メトホルミンは2型糖尿病の第一選択薬である。",
           "高血圧は脳卒中や心筋梗塞のリスクを高める。"],
    "fr": ["Le patient présentait de la fièvre, une toux et une dyspnée ; la radiographie montrait une pneumonie.",
           "La metformine est le traitement de première intention du diabète de type 2.",
           "L'hypertension augmente le risque d'accident vasculaire cérébral et d'infarctus du myocarde."],
    "ru": ["У пациента были лихорадка, кашель и одышка; рентген грудной клетки показал пневмонию.",
           "Метформин является препаратом первой линии при сахарном диабете 2 типа.",
           "Артериальная гипертензия повышает риск инсульта и инфаркта миокарда."],
    "es": ["El paciente presentaba fiebre, tos y disnea; la radiografía de tórax mostró neumonía.",
           "La metformina es el tratamiento de primera línea de la diabetes tipo 2.",
           "La hipertensión aumenta el riesgo de ictus, infarto de miocardio y enfermedad renal crónica."],
}


def write_demo_shards(folder: str | os.PathLike, docs_per_lang: int = 60, seed: int = 0) -> str:
    """Write a small multilingual medical corpus as mmedc shards (for the demo when no shards are given)."""
    import random

    from datatrove.data import Document

    from mmedc.io import ShardedParquetWriter, merge_manifests

    rng = random.Random(seed)
    folder = os.fspath(folder)
    docs = []
    for lang, sents in _DEMO_TEXT.items():
        for i in range(docs_per_lang):
            text = " ".join(rng.choice(sents) for _ in range(rng.randint(2, 6)))
            docs.append(Document(text=text, id=f"demo-{lang}-{i}",
                                 metadata={"language": lang, "language_score": 1.0, "source": "corpus"}))
    rng.shuffle(docs)  # like web shards: languages mixed
    with ShardedParquetWriter(folder, max_rows=100, row_group_rows=25) as w:
        for doc in docs:
            w.write(doc, rank=0)
    merge_manifests(folder)
    return folder


def demo(workdir: pathlib.Path, shards: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    """Train the tiny random-init Llama-style model for a few steps on ``shards`` (default: a small
    built-in multilingual corpus) and return its losses. Keyword arguments that are training options
    override the demo's; others (executor options of the other recipes) are ignored."""
    workdir = pathlib.Path(workdir)
    if not shards:
        shards = [write_demo_shards(workdir / "pretrain_demo_shards")]
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    options: dict[str, Any] = {
        "shards": [os.fspath(s) for s in shards],
        "output_dir": os.fspath(workdir / "pretrain"),
        "model": TINY_MODEL,
        "tokenizer_vocab_size": 1024,
        "tokenizer_train_docs": 2000,
        "seq_len": 128,
        "micro_batch_size": 8,
        "max_steps": 30,
        "learning_rate": 3e-3,
        "warmup_ratio": 0.1,
        "gradient_checkpointing": False,
        "tokenizer_workers": 0,
        "eval_fraction": 0.05,
        "eval_max_tokens": 20_000,
        "log_every": 10,
        "window_row_groups": 8,
        "resume": None,
    }
    options.update({k: v for k, v in kw.items() if k in fields})
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model gains nothing from intra-op threads; they thrash on busy CPUs
    try:
        result = pretrain(None, **options)
    finally:
        torch.set_num_threads(threads)
    losses = result["losses"]
    return {
        "output": result["final_model"],
        "shards": options["shards"],
        "steps": result["steps"],
        "tokens": result["tokens"],
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "losses": losses,
        "eval_ppl": {k: v["ppl"] for k, v in (result["eval"] or {}).items()},
    }


if __name__ == "__main__":
    raise SystemExit(main())
