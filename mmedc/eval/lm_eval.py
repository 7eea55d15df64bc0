"""Task files for lm-evaluation-harness over local MMedBench-format files, with mmedc's prompt.

``write_lm_eval_tasks(files, out_dir)`` writes one YAML task per language (``mmedc_mcq_<lang>``) whose
``doc_to_text`` renders exactly :func:`mmedc.eval.prompts.build_prompt` (zero-shot, ``score="option"``),
whose choices are the option texts and whose ``target_delimiter`` is the language's separator, so
``lm_eval --tasks mmedc_mcq_en --include_path out_dir --model hf --model_args pretrained=M,add_bos_token=True``
gives the ``acc``/``acc_norm`` that ``mmedc eval`` gives (mmedc prepends the tokenizer's BOS token, hence
``add_bos_token=True``; the harness scores every record, mmedc skips and lists unscoreable ones, so the
figures agree on clean files).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mmedc.eval.prompts import LABELS, separator

_TEXT = ("{header}\n\n{question}{colon}{sep}{{{{question}}}}\n"
         "{{% for k, v in options|dictsort %}}{{{{k}}}}. {{{{v}}}}\n{{% endfor %}}{answer}{colon}")


def task_yaml(language: str, data_files: Sequence[str | os.PathLike]) -> str:
    """The YAML text of one task over MMedBench-format jsonl files of one language."""
    import json

    lab = LABELS[language]
    colon = "：" if language in ("zh", "ja") else ":"
    text = _TEXT.format(header=lab.header, question=lab.question, answer=lab.answer, colon=colon,
                        sep=separator(language))
    files = [str(Path(f).resolve()) for f in data_files]
    lines = [
        f"task: mmedc_mcq_{language}",
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        "    test: " + json.dumps(files),
        "test_split: test",
        "output_type: multiple_choice",
        "doc_to_text: " + json.dumps(text, ensure_ascii=False),
        "doc_to_choice: \"{{ options|dictsort|map('last')|list }}\"",
        "doc_to_target: \"{{ (options|dictsort|map('first')|list).index(answer_idx) }}\"",
        "target_delimiter: " + json.dumps(separator(language)),
        "metric_list:",
        "  - metric: acc",
        "  - metric: acc_norm",
        "metadata:",
        "  version: 1.0",
    ]
    return "\n".join(lines) + "\n"


def write_lm_eval_tasks(files_by_language: dict[str, Sequence[str | os.PathLike]], out_dir: str | os.PathLike) -> list[Path]:
    """Write ``mmedc_mcq_<lang>.yaml`` for each language into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lang, files in sorted(files_by_language.items()):
        if lang not in LABELS:
            raise ValueError(f"no prompt labels for language {lang!r}: expected one of {', '.join(LABELS)}")
        for f in files:
            if not Path(f).is_file():
                raise FileNotFoundError(f"{f}: question file not found")
        path = out / f"mmedc_mcq_{lang}.yaml"
        path.write_text(task_yaml(lang, files), encoding="utf-8")
        written.append(path)
    return written
