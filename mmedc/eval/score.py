"""Scoring a causal LM on questions: batched log-likelihood of each option, and greedy generation.

Log-likelihood follows lm-evaluation-harness so the figures are comparable: the continuation's tokens
are ``encode(context + continuation)[len(encode(context)):]`` (trailing spaces of the context move to
the continuation), each request is scored as the sum of the continuation tokens' log-probabilities
given everything before them, ``acc`` picks the option with the highest sum, ``acc_norm`` the one with
the highest sum divided by the continuation's length in characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def split_request(tokenizer: Any, context: str, cont: str,
                  ctx_cache: dict[str, list[int]] | None = None) -> tuple[list[int], list[int]]:
    """Token ids of the context and of the continuation, the way lm-evaluation-harness splits them.

    ``ctx_cache``: encodings of contexts already seen (every option of a question shares its context)."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        cont = context[-n_spaces:] + cont
        context = context[:-n_spaces]
    whole = _encode(tokenizer, context + cont)
    if ctx_cache is None:
        ctx = _encode(tokenizer, context)
    elif (ctx := ctx_cache.get(context)) is None:
        ctx = ctx_cache[context] = _encode(tokenizer, context)
    ctx_len = min(len(ctx), len(whole) - 1) if len(whole) > 1 else 0
    bos = getattr(tokenizer, "bos_token_id", None)
    prefix = [bos] if bos is not None else []
    return prefix + whole[:ctx_len], whole[ctx_len:]


def loglikelihoods(
    model: Any,
    tokenizer: Any,
    requests: Sequence[tuple[str, str]],
    batch_size: int = 8,
    max_length: int | None = None,
) -> list[tuple[float, int]]:
    """``(sum of log-probabilities, number of tokens)`` of each continuation given its context.

    Requests are batched longest first (right padding, attention mask); a request longer than
    ``max_length`` (default: the model's ``max_position_embeddings``) loses tokens from the left of
    its context, never of its continuation.
    """
    import torch

    if max_length is None:
        max_length = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    encoded = []
    ctx_cache: dict[str, list[int]] = {}
    for ctx, cont in requests:
        ctx_ids, cont_ids = split_request(tokenizer, ctx, cont, ctx_cache)
        if not cont_ids:
            raise ValueError(f"continuation {cont!r} encodes to no token")
        ids = (ctx_ids + cont_ids)[-(max_length + 1):]
        encoded.append((ids, len(cont_ids)))
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
    results: list[tuple[float, int]] = [(0.0, 0)] * len(encoded)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            inputs = [encoded[i][0][:-1] for i in batch]  # the last token is only predicted
            width = max(len(x) for x in inputs)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, x in enumerate(inputs):
                input_ids[row, : len(x)] = torch.tensor(x)
                mask[row, : len(x)] = 1
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            for row, i in enumerate(batch):
                ids, n_cont = encoded[i]
                n_in = len(ids) - 1
                target = torch.tensor(ids[-n_cont:], device=logits.device)
                rows = logits[row, n_in - n_cont : n_in].float().log_softmax(-1)
                results[i] = (float(rows.gather(-1, target[:, None]).sum()), n_cont)
    return results


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    max_new_tokens: int = 64,
    batch_size: int = 8,
    chat: bool = False,
) -> list[str]:
    """Greedy continuations of ``prompts`` (through the tokenizer's chat template when ``chat``)."""
    import torch

    device = next(model.parameters()).device
    texts = list(prompts)
    if chat:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("chat=True but the tokenizer has no chat template")
        texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                               add_generation_prompt=True) for p in texts]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    bos = getattr(tokenizer, "bos_token_id", None)
    out: list[str] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            chunk = [([bos] if bos is not None and not chat else []) + _encode(tokenizer, t)
                     for t in texts[start:start + batch_size]]
            width = max(len(x) for x in chunk)
            input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, x in enumerate(chunk):  # left padding: every row ends where generation starts
                input_ids[row, width - len(x):] = torch.tensor(x)
                mask[row, width - len(x):] = 1
            gen = model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                                 max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
            for row in range(len(chunk)):
                out.append(tokenizer.decode(gen[row, width:], skip_special_tokens=True))
    return out


def unknown_token_share(tokenizer: Any, texts: Sequence[str]) -> float:
    """Share of tokens that are the tokenizer's unknown token (0 for byte-level tokenizers)."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None:
        return 0.0
    total = hits = 0
    for t in texts:
        ids = _encode(tokenizer, t)
        total += len(ids)
        hits += sum(1 for i in ids if i == unk)
    return hits / total if total else 0.0
