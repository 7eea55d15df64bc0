"""Multiple-choice medical questions: loading, field mappings for the usual benchmarks, validation.

Every file format a user has (jsonl, json, CSV, Parquet) is read into :class:`MCQItem` records through
a :class:`FieldMap`; presets cover MMedBench, MedQA, MedMCQA, HEAD-QA, FrenchMedMCQA, IgakuQA and
RuMedDaNet-style files. An item that cannot be scored (no options, an answer out of range, a language
outside the table) is never scored silently: it is returned in the rejected list with its file, line
and reason, and counted.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmedc.lang import MMEDC_LANGUAGES, normalize_language

LETTERS = "ABCDEFGHIJ"

# MMedBench names its files by language
_FILE_LANGUAGE = {"english": "en", "chinese": "zh", "japanese": "ja", "french": "fr", "russian": "ru",
                  "spanish": "es"}


@dataclass(frozen=True)
class FieldMap:
    """Where each part of an item lives in a record.

    ``options``: a key holding a dict (``{"A": "...", ...}``) or a list (of strings, or of dicts with
    ``option_text_key``/``option_id_key``), or a list of keys (``["opa", "opb", ...]``, one option per
    column). ``answer``: a key holding a letter (``"B"``, ``"b"``), an index (``answer_base`` says whether
    0 or 1 is the first option), the option text, an option id (``option_id_key``), or a list of those
    (several correct answers: a pick of any of them counts as correct). ``fixed_options``: the same options
    for every item (yes/no questions). ``language``: a key with the language, else the ``language`` given
    to :func:`load_items`, else a language name in the file name (MMedBench's ``English.jsonl``).
    """

    question: str = "question"
    options: str | Sequence[str] | None = "options"
    answer: str = "answer_idx"
    language: str | None = "language"
    context: str | None = None
    id: str | None = None
    answer_base: int = 0
    fixed_options: Sequence[str] | None = None
    option_text_key: str = "text"
    option_id_key: str | None = None


PRESETS: dict[str, FieldMap] = {
    # MMedBench and MedQA (US/MCMLE/TWMLE jsonl): options {"A": ...}, answer_idx "A"
    "mmedbench": FieldMap(),
    "medqa": FieldMap(),
    # MedMCQA (original json): opa..opd, cop 1-4; the Hugging Face copy counts from 0 (answer_base=0)
    "medmcqa": FieldMap(options=("opa", "opb", "opc", "opd"), answer="cop", answer_base=1),
    "medmcqa_hf": FieldMap(options=("opa", "opb", "opc", "opd"), answer="cop", answer_base=0),
    # HEAD-QA: answers [{"aid": 1, "atext": ...}], ra = the aid of the right one
    "headqa": FieldMap(question="qtext", options="answers", answer="ra", option_text_key="atext",
                       option_id_key="aid"),
    # FrenchMedMCQA: answer_a..answer_e, correct_answers ["a", "c"]
    "frenchmedmcqa": FieldMap(options=("answer_a", "answer_b", "answer_c", "answer_d", "answer_e"),
                              answer="correct_answers"),
    # IgakuQA: problem_text, choices [...], answer ["a"]
    "igakuqa": FieldMap(question="problem_text", options="choices", answer="answer"),
    # RuMedDaNet: context + question, answer "да" / "нет"
    "rumeddanet": FieldMap(context="context", options=None, answer="answer", fixed_options=("да", "нет")),
}


@dataclass
class MCQItem:
    """One scoreable question: its options, the index(es) of the right answer(s), and its language."""

    id: str
    question: str
    options: list[str]
    answers: frozenset[int]
    language: str
    context: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answer(self) -> int:
        """The first right answer (most benchmarks have exactly one)."""
        return min(self.answers)


@dataclass
class Rejected:
    """An item that was not scored, and why (``no_question``, ``no_options``, ``answer_out_of_range``,
    ``unknown_language``, ``bad_record``)."""

    file: str
    line: int
    reason: str
    detail: str = ""


def file_sha256(path: str | os.PathLike) -> str:
    """Hash of a data file, kept in the results so a figure names exactly what it measured."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _records(path: Path) -> Iterable[tuple[int, Any]]:
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield i, json.loads(line)
                    except json.JSONDecodeError as e:
                        yield i, ValueError(f"not JSON: {e.msg}")
    elif suffix == ".json":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        rows = data if isinstance(data, list) else data.get("data", data.get("questions", []))
        for i, row in enumerate(rows, 1):
            yield i, row
    elif suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ","), 2):
                yield i, row
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        for i, row in enumerate(pq.read_table(path).to_pylist(), 1):
            yield i, row
    else:
        raise ValueError(f"{path}: unknown question-file format {suffix!r} (expected .jsonl, .json, .csv, .tsv "
                         "or .parquet)")


def _options(record: dict, fmap: FieldMap) -> tuple[list[str], list[Any]]:
    """Option texts and the ids an answer may name (letters, option ids)."""
    if fmap.fixed_options is not None:
        return [str(o) for o in fmap.fixed_options], []
    if fmap.options is None:
        return [], []
    if not isinstance(fmap.options, str):
        texts = [record.get(k) for k in fmap.options]
        return [str(t) for t in texts if t not in (None, "")], []
    raw = record.get(fmap.options)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)  # CSV cells holding JSON
        except json.JSONDecodeError:
            return [], []
    if isinstance(raw, dict):
        keys = sorted(raw, key=lambda k: str(k))
        return [str(raw[k]) for k in keys if raw[k] not in (None, "")], [str(k) for k in keys if raw[k] not in (None, "")]
    if isinstance(raw, list):
        if raw and isinstance(raw[0], dict):
            texts = [str(o.get(fmap.option_text_key, "")) for o in raw]
            ids = [o.get(fmap.option_id_key) for o in raw] if fmap.option_id_key else []
            return texts, ids
        return [str(o) for o in raw if o not in (None, "")], []
    return [], []


def _answer_indices(value: Any, options: list[str], ids: list[Any], fmap: FieldMap) -> set[int] | None:
    """Indices named by ``value``; ``None`` when it names none of the options."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)  # CSV cells holding a JSON list of answers
        except json.JSONDecodeError:
            pass
    if isinstance(value, (list, tuple, set, frozenset)):
        found: set[int] = set()
        for v in value:
            one = _answer_indices(v, options, ids, fmap)
            if one is None:
                return None
            found |= one
        return found or None
    if value is None or value == "":
        return None
    if ids:
        for i, opt_id in enumerate(ids):
            if str(opt_id).strip().lower() == str(value).strip().lower():
                return {i}
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        idx = int(value) - fmap.answer_base
        return {idx} if 0 <= idx < len(options) else None
    text = str(value).strip()
    if len(text) == 1 and text.upper() in LETTERS:
        idx = LETTERS.index(text.upper())
        return {idx} if idx < len(options) else None
    for i, opt in enumerate(options):
        if opt.strip().lower() == text.lower():
            return {i}
    return None


def _file_language(path: Path) -> str | None:
    stem = path.stem.lower()
    for name, code in _FILE_LANGUAGE.items():
        if name in stem:
            return code
    return None


def load_items(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    fields: FieldMap | str = "mmedbench",
    language: str | None = None,
    languages: Sequence[str] = MMEDC_LANGUAGES,
) -> tuple[list[MCQItem], list[Rejected]]:
    """Read question files into items; return ``(items, rejected)``.

    ``fields``: a :class:`FieldMap` or a preset name (:data:`PRESETS`). ``language``: the language of
    items whose record and file name do not say it. ``languages``: the languages that may be scored.
    A missing file is a ``FileNotFoundError`` naming it; a preset that does not exist a ``ValueError``.
    """
    if isinstance(fields, str):
        if fields not in PRESETS:
            raise ValueError(f"unknown field preset {fields!r}: expected one of {', '.join(sorted(PRESETS))}")
        fields = PRESETS[fields]
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    items: list[MCQItem] = []
    rejected: list[Rejected] = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: question file not found")
        file_lang = _file_language(path)
        for line, record in _records(path):
            if isinstance(record, Exception) or not isinstance(record, dict):
                rejected.append(Rejected(str(path), line, "bad_record", str(record)[:200]))
                continue
            question = str(record.get(fields.question) or "").strip()
            if not question:
                rejected.append(Rejected(str(path), line, "no_question", f"field {fields.question!r} empty or missing"))
                continue
            options, ids = _options(record, fields)
            if len(options) < 2:
                rejected.append(Rejected(str(path), line, "no_options",
                                         f"{len(options)} option(s) from field {fields.options!r}"))
                continue
            answers = _answer_indices(record.get(fields.answer), options, ids, fields)
            if not answers:
                rejected.append(Rejected(str(path), line, "answer_out_of_range",
                                         f"{fields.answer}={record.get(fields.answer)!r} with {len(options)} options"))
                continue
            raw_lang = (record.get(fields.language) if fields.language else None) or language or file_lang
            lang = normalize_language(raw_lang) if raw_lang else None
            if lang not in languages:
                rejected.append(Rejected(str(path), line, "unknown_language", f"language {raw_lang!r}"))
                continue
            item_id = str(record.get(fields.id)) if fields.id and record.get(fields.id) is not None else f"{path.name}:{line}"
            context = str(record.get(fields.context) or "").strip() if fields.context else ""
            items.append(MCQItem(item_id, question, options, frozenset(answers), lang, context, str(path)))
    return items, rejected
