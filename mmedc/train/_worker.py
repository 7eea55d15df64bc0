"""Tokenization in worker processes. Kept free of heavy imports (only numpy and ``tokenizers``) so a
worker starts in a fraction of a second."""

from __future__ import annotations

import json
import os
from itertools import chain

import numpy as np

_TOKENIZER = None


def init_worker(spec_json: str) -> None:
    """Build the fast tokenizer from its JSON (one Rust thread per process: the processes are the parallelism)."""
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    global _TOKENIZER
    from tokenizers import Tokenizer

    spec = json.loads(spec_json)
    _TOKENIZER = (Tokenizer.from_str(spec["tokenizer_json"]), spec["eos_id"], spec["add_special_tokens"])


def encode(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Tokenize a batch; EOS after each document. Returns (flat int32 tokens, lengths)."""
    tok, eos, special = _TOKENIZER
    encode_batch = getattr(tok, "encode_batch_fast", tok.encode_batch)
    ids = []
    for e in encode_batch(texts, add_special_tokens=special):
        x = e.ids
        if not x or x[-1] != eos:
            x.append(eos)
        ids.append(x)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
    return flat, lengths
