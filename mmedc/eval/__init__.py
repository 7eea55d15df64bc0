"""Evaluation of causal LMs on multiple-choice medical questions (MMedBench-style), per language.

    from mmedc.eval import evaluate
    report = evaluate("runs/tiny/final", ["MMedBench/Test/English.jsonl"], fields="mmedbench")
"""

from __future__ import annotations

from mmedc._lazy import lazy_exports

_EXPORTS = {
    "evaluate": "mmedc.eval.run",
    "evaluate_model": "mmedc.eval.run",
    "format_table": "mmedc.eval.run",
    "main": "mmedc.eval.run",
    "FieldMap": "mmedc.eval.items",
    "MCQItem": "mmedc.eval.items",
    "PRESETS": "mmedc.eval.items",
    "load_items": "mmedc.eval.items",
    "extract_answer": "mmedc.eval.prompts",
    "build_prompt": "mmedc.eval.prompts",
    "loglikelihoods": "mmedc.eval.score",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
