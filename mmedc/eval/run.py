"""``mmedc eval``: accuracy of a causal LM on multiple-choice medical questions, per language.

Loads a model (a transformers folder or hub name, or a trainer output folder: its ``final/`` model),
reads question files through a field preset, scores every item by log-likelihood (``acc`` and the
length-normalised ``acc_norm``) or by generation with answer extraction, and writes a JSON with the
model, the data files and their hashes, the prompt format, every rejected item and the per-language
table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datatrove.utils.logging import logger

from mmedc.eval.items import FieldMap, MCQItem, Rejected, file_sha256, load_items
from mmedc.eval.prompts import PROMPT_FORMAT, build_prompt, continuation, extract_answer
from mmedc.eval.score import generate, loglikelihoods, unknown_token_share

UNK_WARN_SHARE = 0.01


def select_shots(items: Sequence[MCQItem], item: MCQItem, n_shot: int, pool: Sequence[MCQItem] | None = None) -> list[MCQItem]:
    """The first ``n_shot`` items of the same language from ``pool`` (default: ``items``), never the item itself."""
    if n_shot <= 0:
        return []
    return _pick_shots(_shot_candidates(pool if pool is not None else items, n_shot), item, n_shot)


def _pick_shots(candidates: dict[str, list[MCQItem]], item: MCQItem, n_shot: int) -> list[MCQItem]:
    return [s for s in candidates.get(item.language, []) if s.id != item.id][:n_shot]


def _shot_candidates(source: Sequence[MCQItem], n_shot: int) -> dict[str, list[MCQItem]]:
    """Per language, the first ``n_shot + 1`` items (one more than needed: an item is never its own shot)."""
    first: dict[str, list[MCQItem]] = defaultdict(list)
    for s in source:
        if len(first[s.language]) <= n_shot:
            first[s.language].append(s)
    return first


def evaluate_model(
    model: Any,
    tokenizer: Any,
    items: Sequence[MCQItem],
    mode: str = "loglikelihood",
    score: str = "option",
    n_shot: int = 0,
    shots: Sequence[MCQItem] | None = None,
    batch_size: int = 8,
    max_length: int | None = None,
    max_new_tokens: int = 64,
    chat: bool = False,
) -> dict[str, Any]:
    """Score already loaded ``model``/``tokenizer`` on ``items``; return the per-language table and predictions.

    The trainer calls this during training with its own model; :func:`evaluate` wraps it for files.
    """
    if mode not in ("loglikelihood", "generate"):
        raise ValueError(f"unknown mode {mode!r}: expected 'loglikelihood' or 'generate'")
    predictions: list[dict[str, Any]] = []
    candidates = _shot_candidates(shots if shots is not None else items, n_shot) if n_shot > 0 else {}
    prompts = [build_prompt(it, _pick_shots(candidates, it, n_shot), score) for it in items]
    if mode == "loglikelihood":
        requests = [(p, continuation(it, j, score)) for p, it in zip(prompts, items) for j in range(len(it.options))]
        scores = loglikelihoods(model, tokenizer, requests, batch_size=batch_size, max_length=max_length)
        k = 0
        for it in items:
            lls = scores[k:k + len(it.options)]
            k += len(it.options)
            lens = [len(continuation(it, j, score).strip()) or 1 for j in range(len(it.options))]
            pick = max(range(len(lls)), key=lambda j: lls[j][0])
            pick_norm = max(range(len(lls)), key=lambda j: lls[j][0] / lens[j])
            predictions.append({"id": it.id, "language": it.language, "answers": sorted(it.answers),
                                "pred": pick, "pred_norm": pick_norm,
                                "loglikelihoods": [round(s, 4) for s, _ in lls],
                                "correct": pick in it.answers, "correct_norm": pick_norm in it.answers})
    else:
        outputs = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size, chat=chat)
        for it, text in zip(items, outputs):
            pick = extract_answer(text, it)
            predictions.append({"id": it.id, "language": it.language, "answers": sorted(it.answers),
                                "pred": pick, "rationale": text, "correct": pick is not None and pick in it.answers,
                                "unparsed": pick is None})
    by_lang: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[dict]] = defaultdict(list)
    for p in predictions:
        groups[p["language"]].append(p)
    for lang, preds in sorted(groups.items()):
        row: dict[str, Any] = {"n": len(preds), "acc": sum(p["correct"] for p in preds) / len(preds)}
        if mode == "loglikelihood":
            row["acc_norm"] = sum(p["correct_norm"] for p in preds) / len(preds)
        else:
            row["unparsed"] = sum(p["unparsed"] for p in preds)
        by_lang[lang] = row
    n = len(predictions)
    overall: dict[str, Any] = {"n": n, "acc": sum(p["correct"] for p in predictions) / n if n else 0.0}
    if by_lang:
        overall["acc_macro"] = sum(r["acc"] for r in by_lang.values()) / len(by_lang)
    if mode == "loglikelihood" and n:
        overall["acc_norm"] = sum(p["correct_norm"] for p in predictions) / n
        overall["acc_norm_macro"] = sum(r["acc_norm"] for r in by_lang.values()) / len(by_lang)
    return {"by_language": by_lang, "overall": overall, "predictions": predictions}


def resolve_model_path(model: str | os.PathLike) -> str:
    """A transformers folder as given; a trainer output folder -> its ``final/`` model; else a hub name."""
    path = Path(model)
    if (path / "config.json").is_file():
        return str(path)
    if (path / "final" / "config.json").is_file():
        return str(path / "final")
    if path.exists():
        raise FileNotFoundError(f"{path}: no model here (no config.json, and no final/config.json of a trainer run)")
    return str(model)  # a hub name: transformers resolves it (or says it cannot)


def load_model(model: str, device: str = "auto", dtype: str = "auto") -> tuple[Any, Any, str]:
    """``(model, tokenizer, resolved path)``; device ``auto`` = CUDA when available."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model_path(model)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    torch_dtype = {"auto": (torch.bfloat16 if device.startswith("cuda") else torch.float32),
                   "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    tok = AutoTokenizer.from_pretrained(path)
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype).to(device)
    return lm, tok, path


def evaluate(
    model: str | os.PathLike,
    files: str | Sequence[str],
    fields: FieldMap | str = "mmedbench",
    language: str | None = None,
    mode: str = "loglikelihood",
    score: str = "option",
    n_shot: int = 0,
    shots_file: str | None = None,
    batch_size: int = 8,
    max_length: int | None = None,
    max_new_tokens: int = 64,
    chat: bool = False,
    limit: int | None = None,
    device: str = "auto",
    dtype: str = "auto",
    output: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on question ``files``; return (and write to ``output``, a JSON path) the results."""
    files = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    items, rejected = load_items(files, fields, language=language)
    if limit:
        items = _limit_per_language(items, limit)
    shots = load_items(shots_file, fields, language=language)[0] if shots_file else None
    for r in rejected[:20]:
        logger.warning(f"{r.file}:{r.line}: not scored ({r.reason}: {r.detail})")
    if len(rejected) > 20:
        logger.warning(f"... and {len(rejected) - 20} more items not scored")
    if not items:
        raise ValueError(f"no scoreable item in {', '.join(map(str, files))} ({len(rejected)} rejected)")
    lm, tok, path = load_model(str(model), device=device, dtype=dtype)
    unk = {}
    for lang in sorted({it.language for it in items}):
        share = unknown_token_share(tok, [it.question + " " + " ".join(it.options) for it in items if it.language == lang][:200])
        unk[lang] = round(share, 4)
        if share > UNK_WARN_SHARE:
            logger.warning(f"the tokenizer of {path} encodes {share:.1%} of {lang} question tokens as unknown: "
                           "its scores in that language measure the tokenizer, not the model")
    started = time.perf_counter()
    res = evaluate_model(lm, tok, items, mode=mode, score=score, n_shot=n_shot, shots=shots,
                         batch_size=batch_size, max_length=max_length, max_new_tokens=max_new_tokens, chat=chat)
    report = {
        "model": path,
        "files": [{"path": str(f), "sha256": file_sha256(f)} for f in files],
        "fields": fields if isinstance(fields, str) else fields.__dict__,
        "mode": mode, "score": score, "n_shot": n_shot, "chat": chat,
        "prompt_format": PROMPT_FORMAT,
        "seconds": round(time.perf_counter() - started, 2),
        "unknown_token_share": unk,
        "rejected": {"count": len(rejected), "items": [r.__dict__ for r in rejected]},
        **res,
    }
    if output:
        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def _limit_per_language(items: list[MCQItem], limit: int) -> list[MCQItem]:
    seen: dict[str, int] = defaultdict(int)
    kept = []
    for it in items:
        if seen[it.language] < limit:
            kept.append(it)
            seen[it.language] += 1
    return kept


def format_table(report: dict[str, Any]) -> str:
    """The per-language table as Markdown."""
    ll = report.get("mode") == "loglikelihood"
    head = "| language | n | acc |" + (" acc_norm |" if ll else " unparsed |")
    lines = [head, "|---|---|---|---|"]
    for lang, row in report["by_language"].items():
        lines.append(f"| {lang} | {row['n']} | {row['acc']:.4f} | " + (f"{row['acc_norm']:.4f} |" if ll else f"{row['unparsed']} |"))
    o = report["overall"]
    lines.append(f"| all | {o['n']} | {o['acc']:.4f} | " + (f"{o['acc_norm']:.4f} |" if ll else " |"))
    if "acc_macro" in o:
        lines.append(f"| macro | | {o['acc_macro']:.4f} | " + (f"{o['acc_norm_macro']:.4f} |" if ll else " |"))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mmedc eval", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="transformers model folder, hub name, or trainer output folder")
    p.add_argument("--data", nargs="+", required=True, help="question files (jsonl, json, csv, tsv, parquet)")
    p.add_argument("--fields", default="mmedbench", help="field preset: mmedbench, medqa, medmcqa, medmcqa_hf, "
                   "headqa, frenchmedmcqa, igakuqa, rumeddanet, or a JSON FieldMap ('{\"question\": \"q\", ...}')")
    p.add_argument("--language", default=None, help="language of items whose record and file name do not say it")
    p.add_argument("--mode", default="loglikelihood", choices=("loglikelihood", "generate"))
    p.add_argument("--score", default="option", choices=("option", "letter"),
                   help="log-likelihood of the option text or of its letter")
    p.add_argument("--shots", type=int, default=0, help="few-shot examples per question (same language)")
    p.add_argument("--shots-file", default=None, help="file to draw few-shot examples from (default: the data)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-length", type=int, default=None, help="tokens per request at most (default: the model's)")
    p.add_argument("--max-new-tokens", type=int, default=64, help="generation length (mode generate)")
    p.add_argument("--chat", action="store_true", help="wrap prompts in the tokenizer's chat template")
    p.add_argument("--limit", type=int, default=None, help="items per language at most")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"))
    p.add_argument("--output", default=None, help="results JSON path")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fields: FieldMap | str = args.fields
    if args.fields.lstrip().startswith("{"):
        fields = FieldMap(**json.loads(args.fields))
    report = evaluate(args.model, args.data, fields=fields, language=args.language, mode=args.mode,
                      score=args.score, n_shot=args.shots, shots_file=args.shots_file, batch_size=args.batch_size,
                      max_length=args.max_length, max_new_tokens=args.max_new_tokens, chat=args.chat,
                      limit=args.limit, device=args.device, dtype=args.dtype, output=args.output)
    print(format_table(report))
    if report["rejected"]["count"]:
        reasons = defaultdict(int)
        for r in report["rejected"]["items"]:
            reasons[r["reason"]] += 1
        print("not scored: " + ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())), file=sys.stderr)
    if args.output:
        print(f"results -> {args.output}")
    return 0


__all__ = ["Rejected", "build_parser", "evaluate", "evaluate_model", "format_table", "load_model", "main",
           "resolve_model_path", "select_shots"]
