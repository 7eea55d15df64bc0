"""Shared fixtures of the trainer tests: a small multilingual shard folder and tiny-model options."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _torch_on_one_thread(one_torch_thread):
    """Every trainer test module runs torch on one thread (``one_torch_thread``, tests/conftest.py)."""


@pytest.fixture(scope="session")
def shards(tmp_path_factory):
    from mmedc.recipes.pretrain import write_demo_shards

    return write_demo_shards(tmp_path_factory.mktemp("train_shards"), docs_per_lang=40)


@pytest.fixture(scope="session")
def other_shards(tmp_path_factory):
    from mmedc.recipes.pretrain import write_demo_shards

    return write_demo_shards(tmp_path_factory.mktemp("other_shards"), docs_per_lang=30, seed=5)


def opts(shards, out, **kw):
    """Options of a tiny random-init run that trains in about a second."""
    from mmedc.recipes.pretrain import TINY_MODEL

    o = dict(shards=[shards], output_dir=str(out), model=TINY_MODEL, tokenizer_vocab_size=512, seq_len=32,
             micro_batch_size=4, max_steps=8, learning_rate=3e-3, warmup_ratio=0.1, gradient_checkpointing=False,
             tokenizer_workers=0, window_row_groups=4, log_every=100, resume="auto")
    o.update(kw)
    return o


def tiny_llama(vocab: int = 100, attn: str = "sdpa", **kw):
    """A 2-layer Llama with random weights, built in the test (nothing downloaded)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from mmedc.recipes.pretrain import TINY_MODEL

    torch.manual_seed(0)
    arch = {k: v for k, v in TINY_MODEL.items() if k != "model_type"} | kw
    return AutoModelForCausalLM.from_config(AutoConfig.for_model("llama", vocab_size=vocab, **arch),
                                            attn_implementation=attn)
