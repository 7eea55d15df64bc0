"""Prompt format for multiple-choice questions in the six languages, and answer extraction.

One format for every model and both scoring modes, written down in the results so a figure says how it
was obtained::

    {header}

    [{context label}: {context}]
    {question label}: {question}
    A. {option}
    B. {option}
    {answer label}:{continuation}

Few-shot examples come before the question in the same format with their answers filled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmedc.eval.items import LETTERS, MCQItem
from mmedc.lang import UNSEGMENTED_LANGUAGES


@dataclass(frozen=True)
class Labels:
    header: str
    context: str
    question: str
    answer: str


LABELS: dict[str, Labels] = {
    "en": Labels("The following are multiple choice questions about medicine.", "Context", "Question", "Answer"),
    "zh": Labels("以下是关于医学的单项选择题。", "背景", "问题", "答案"),
    "ja": Labels("以下は医学に関する多肢選択問題です。", "文脈", "問題", "答え"),
    "fr": Labels("Voici des questions à choix multiples sur la médecine.", "Contexte", "Question", "Réponse"),
    "ru": Labels("Ниже приведены вопросы с несколькими вариантами ответа по медицине.", "Контекст", "Вопрос", "Ответ"),
    "es": Labels("Las siguientes son preguntas de opción múltiple sobre medicina.", "Contexto", "Pregunta", "Respuesta"),
}

PROMPT_FORMAT = ("{header}\\n\\n[{context}: ...\\n]{question}: ...\\nA. ...\\nB. ...\\n{answer}:{continuation}; "
                 "continuation = ' <option text>' (score=option) or ' <letter>' (score=letter), no space for zh/ja")


def separator(language: str) -> str:
    """What goes between the answer label and the answer: a space, except in unsegmented scripts."""
    return "" if language in UNSEGMENTED_LANGUAGES else " "


def question_block(item: MCQItem) -> str:
    """The item without its answer, ending with the answer label."""
    lab = LABELS.get(item.language, LABELS["en"])
    colon = "：" if item.language in ("zh", "ja") else ":"
    lines = []
    if item.context:
        lines.append(f"{lab.context}{colon}{separator(item.language)}{item.context}")
    lines.append(f"{lab.question}{colon}{separator(item.language)}{item.question}")
    lines += [f"{LETTERS[i]}. {opt}" for i, opt in enumerate(item.options)]
    lines.append(f"{lab.answer}{colon}")
    return "\n".join(lines)


def continuation(item: MCQItem, index: int, score: str = "option") -> str:
    """The answer text scored for option ``index``: its text or its letter, after the separator."""
    if score == "letter":
        return separator(item.language) + LETTERS[index]
    if score == "option":
        return separator(item.language) + item.options[index]
    raise ValueError(f"unknown score mode {score!r}: expected 'option' or 'letter'")


def build_prompt(item: MCQItem, shots: list[MCQItem] = (), score: str = "option") -> str:
    """Header, the few-shot examples with their answers, then the question up to the answer label."""
    lab = LABELS.get(item.language, LABELS["en"])
    parts = [lab.header]
    for shot in shots:
        parts.append(question_block(shot) + continuation(shot, shot.answer, score))
    parts.append(question_block(item))
    return "\n\n".join(parts)


_KEYWORD = (r"(?:answer|the answer is|correct answer|réponse|la réponse est|respuesta|la respuesta es|ответ|"
            r"правильный ответ|答案|答案是|正确答案|答え|正解|解答|回答)")
_AFTER_KEYWORD = re.compile(_KEYWORD + r"\s*(?:is|est|es|—|-|是|は|为|為)?\s*[:：]?\s*[\(（\[]?\s*([A-J])(?![A-Za-z])",
                            re.IGNORECASE)
_LEADING = re.compile(r"^\s*[\(（\[]?([A-J])(?:[\)）\].:：、,，\s]|$)")


def extract_answer(text: str, item: MCQItem) -> int | None:
    """The option a generated answer names: a letter after an answer phrase (six languages), a leading
    letter, or the text of an option (the first one mentioned); ``None`` when it names none."""
    n = len(item.options)
    for m in _AFTER_KEYWORD.finditer(text):
        idx = LETTERS.index(m.group(1).upper())
        if idx < n:
            return idx
    m = _LEADING.match(text)
    if m and LETTERS.index(m.group(1).upper()) < n:
        return LETTERS.index(m.group(1).upper())
    lowered = text.lower()
    best: tuple[int, int] | None = None  # (position, -length)
    pick = None
    for i, opt in enumerate(item.options):
        o = opt.strip().lower()
        if not o:
            continue
        pos = lowered.find(o)
        if pos >= 0 and (best is None or (pos, -len(o)) < best):
            best, pick = (pos, -len(o)), i
    return pick
