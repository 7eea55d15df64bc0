"""Quality filters for raw web text: datatrove's Gopher, C4 and FineWeb filters, per-language settings.

CulturaX (MMedC's web source) is already cleaned, so these are off by default; turn them on for a raw
crawl (``quality: true`` on a web source of the build, or :class:`WebQualityFilter` in a pipeline).

One block, :class:`WebQualityFilter`, routes every document to the filters of its ``language``
(datatrove's filters take one language each) and applies them in FineWeb-2's order: Gopher
repetition, FineWeb quality, Gopher quality; C4 quality for English only (FineWeb applied it to
English, FineWeb-2 did not apply it to other languages). Settings, and where they come from:

- French, Russian, Spanish, Chinese, Japanese: FineWeb-2's published per-language values
  (``huggingface/fineweb-2``, ``configs/{fra_Latn,rus_Cyrl,spa_Latn,cmn_Hani,jpn_Jpan}.yml``, used as in
  its ``fineweb-2-pipeline.py``: paragraph repetition off, ``char_duplicates_ratio=0.1``,
  ``short_line_thr`` off, ``min_stop_words=2``) in :data:`FINEWEB2_SETTINGS`;
- English: FineWeb's values, which are datatrove's defaults (C4 with ``filter_no_terminal_punct=False``).

Words: datatrove splits words with spaCy (jieba for Chinese, SudachiPy for Japanese). For the
space-separated languages this block passes datatrove a small regular-expression tokenizer
(:class:`RegexWordTokenizer`: words and punctuation marks as separate tokens, as spaCy's rule-based
tokenizer does) so no spaCy model is needed. Chinese and Japanese need a word segmenter for the
word-based thresholds to mean what FineWeb-2 measured: they use datatrove's own tokenizers when
``spacy`` and ``jieba`` / ``sudachipy`` are installed, and are otherwise passed on unfiltered and
counted (``skipped_no_segmenter``), with one warning.

Evidence: a kept document gets ``quality_filters`` (the filters it passed); a dropped one
``quality_reason`` (``<filter>:<datatrove reason>``) and, with an ``exclusion_writer``, ``filter_reason``.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.logging import logger
from datatrove.utils.word_tokenizers import WordTokenizer

from mmedc.lang import normalize_language

FILTERS = ("gopher_repetition", "fineweb", "gopher_quality", "c4")

#: FineWeb-2's per-language values (configs/<lang>_<script>.yml of huggingface/fineweb-2)
FINEWEB2_SETTINGS: dict[str, dict[str, Any]] = {
    "fr": {"dup_line_frac": 0.264, "dup_n_grams": [(5, 0.15), (6, 0.141), (7, 0.131), (8, 0.121), (9, 0.111), (10, 0.1)],
           "top_n_grams": [(2, 0.161), (3, 0.149), (4, 0.134)], "line_punct_thr": 0.1, "new_line_ratio": 0.185,
           "min_avg_word_length": 2, "max_avg_word_length": 11, "max_non_alpha_words_ratio": 0.812,
           "stopwords": ["de", "la", "le", "et", "à", "en", "l'", "des", "du", "les", "est", "d'", "un", "une", "il",
                         "dans", "par", "au"]},
    "ru": {"dup_line_frac": 0.322, "dup_n_grams": [(5, 0.168), (6, 0.156), (7, 0.145), (8, 0.133), (9, 0.121), (10, 0.109)],
           "top_n_grams": [(2, 0.184), (3, 0.164), (4, 0.146)], "line_punct_thr": 0.231, "new_line_ratio": 0.139,
           "min_avg_word_length": 3, "max_avg_word_length": 11, "max_non_alpha_words_ratio": 0.713,
           "stopwords": ["в", "и", "на", "с", "года", "по", "году", "из", "был", "к", "не", "от", "что", "за", "для",
                         "его", "как", "а", "он", "также", "до", "после"]},
    "es": {"dup_line_frac": 0.265, "dup_n_grams": [(5, 0.152), (6, 0.137), (7, 0.123), (8, 0.114), (9, 0.107), (10, 0.099)],
           "top_n_grams": [(2, 0.077), (3, 0.097), (4, 0.112)], "line_punct_thr": 0.3, "new_line_ratio": 0.171,
           "min_avg_word_length": 4, "max_avg_word_length": 14, "max_non_alpha_words_ratio": 0.825,
           "stopwords": ["de", "la", "en", "el", "y", "a", "que", "del", "los", "se", "por", "un", "con", "una", "las",
                         "su"]},
    "zh": {"dup_line_frac": 0.287, "dup_n_grams": [(5, 0.198), (6, 0.182), (7, 0.167), (8, 0.154), (9, 0.14), (10, 0.127)],
           "top_n_grams": [(2, 0.256), (3, 0.201), (4, 0.171)], "line_punct_thr": 0.106, "new_line_ratio": 0.178,
           "min_avg_word_length": 1, "max_avg_word_length": 5, "max_non_alpha_words_ratio": 0.735,
           "stopwords": ["的", "年", "在", "月", "是", "和", "日", "了", "於", "·", "為", "有", "被", "人", "中", "为", "他",
                         "與", "後", "也", "而", "由"]},
    "ja": {"dup_line_frac": 0.375, "dup_n_grams": [(5, 0.307), (6, 0.283), (7, 0.264), (8, 0.248), (9, 0.234), (10, 0.223)],
           "top_n_grams": [(2, 0.121), (3, 0.129), (4, 0.145)], "line_punct_thr": 0.167, "new_line_ratio": 0.162,
           "min_avg_word_length": 1, "max_avg_word_length": 5, "max_non_alpha_words_ratio": 0.759,
           "stopwords": ["の", "に", "を", "は", "た", "て", "が", "と", "で", "年", "し", "・", "月", "れ", "さ"]},
}
_SEGMENTER = {"zh": ("jieba",), "ja": ("sudachipy",)}
_DATATROVE_CODE = {"zh": "zh", "ja": "ja"}


class RegexWordTokenizer(WordTokenizer):
    """Words (letters/digits, inner apostrophes kept) and punctuation marks as tokens; sentences end
    at ``.!?`` (and their CJK forms) followed by space or a line break."""

    _WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
    _SENT_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")

    def word_tokenize(self, text: str) -> list[str]:
        return self._WORD.findall(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return [s.strip() for s in self._SENT_END.split(text) if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        spans, start = [], 0
        for m in self._SENT_END.finditer(text):
            if m.start() > start:
                spans.append((start, m.start()))
            start = m.end()
        if start < len(text):
            spans.append((start, len(text)))
        return spans


def quality_options(value: bool | dict[str, bool]) -> dict[str, bool]:
    """The filters to run from ``true`` (all four) or a mapping like ``{c4: false}``."""
    if value is True:
        return dict.fromkeys(FILTERS, True)
    if value is False:
        return dict.fromkeys(FILTERS, False)
    if not isinstance(value, dict):
        raise TypeError(f"quality: expected true, false or a mapping of {', '.join(FILTERS)}, got {value!r}")
    unknown = sorted(set(value) - set(FILTERS) - {"gopher_quality"})
    if unknown:
        raise ValueError(f"quality: unknown filter {unknown[0]!r} (known: {', '.join(FILTERS)})")
    return {f: bool(value.get(f, True)) for f in FILTERS}


def _segmenter_available(lang: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("spacy", *_SEGMENTER[lang]))


def language_filters(lang: str, enabled: dict[str, bool]) -> list[tuple[str, BaseFilter]] | None:
    """``[(name, datatrove filter)]`` for one language, or ``None`` when its words cannot be split."""
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    if lang in _SEGMENTER:
        if not _segmenter_available(lang):
            return None
        tok: Any = _DATATROVE_CODE[lang]
    else:
        tok = RegexWordTokenizer(lang)
    s = FINEWEB2_SETTINGS.get(lang)
    out: list[tuple[str, BaseFilter]] = []
    if enabled["gopher_repetition"]:
        out.append(("gopher_repetition", GopherRepetitionFilter(language=tok) if s is None else GopherRepetitionFilter(
            language=tok, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0, dup_line_frac=s["dup_line_frac"],
            top_n_grams=tuple(map(tuple, s["top_n_grams"])), dup_n_grams=tuple(map(tuple, s["dup_n_grams"])))))
    if enabled["fineweb"]:
        out.append(("fineweb", FineWebQualityFilter(language=tok) if s is None else FineWebQualityFilter(
            language=tok, short_line_thr=999, char_duplicates_ratio=0.1, line_punct_thr=s["line_punct_thr"],
            new_line_ratio=s["new_line_ratio"])))
    if enabled["gopher_quality"]:
        out.append(("gopher_quality", GopherQualityFilter(language=tok) if s is None else GopherQualityFilter(
            language=tok, max_avg_word_length=s["max_avg_word_length"], min_avg_word_length=s["min_avg_word_length"],
            stop_words=s["stopwords"], max_non_alpha_words_ratio=s["max_non_alpha_words_ratio"], min_stop_words=2)))
    if enabled["c4"] and s is None:  # FineWeb's English pipeline; FineWeb-2 skipped C4 elsewhere
        out.append(("c4", C4QualityFilter(filter_no_terminal_punct=False, language=tok)))
    return out


class WebQualityFilter(BaseFilter):
    """Gopher / FineWeb / C4 quality filters with each document's language's settings (see module doc)."""

    name = "🧹 Web quality (Gopher, FineWeb, C4)"

    def __init__(self, gopher_repetition: bool = True, fineweb: bool = True, gopher_quality: bool = True,
                 c4: bool = True, default_language: str = "en", exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.enabled = {"gopher_repetition": gopher_repetition, "fineweb": fineweb, "gopher_quality": gopher_quality,
                        "c4": c4}
        self.default_language = default_language
        self._filters: dict[str, list[tuple[str, BaseFilter]] | None] = {}
        for lang in _SEGMENTER:
            if not _segmenter_available(lang):
                logger.warning(f"quality filters: no word segmenter for {lang} (pip install spacy "
                               f"{' '.join(_SEGMENTER[lang])}); {lang} documents pass unfiltered")

    def filters_for(self, lang: str) -> list[tuple[str, BaseFilter]] | None:
        if lang not in self._filters:
            self._filters[lang] = language_filters(lang, self.enabled)
        return self._filters[lang]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if not isinstance(doc.text, str):
            return False, "non_string_text"
        lang = normalize_language(doc.metadata.get("language")) or self.default_language
        filters = self.filters_for(lang)
        if filters is None:
            self.stat_update("skipped_no_segmenter", f"skipped_{lang}")
            return True
        passed = []
        for name, f in filters:
            ok, reason = f.filter(doc), None
            if isinstance(ok, tuple):
                ok, reason = ok
            if not ok:
                doc.metadata["quality_reason"] = f"{name}:{reason or 'rejected'}"
                self.stat_update(f"{name}_{lang}")
                return False, f"{name}:{reason or 'rejected'}"
            passed.append(name)
        doc.metadata["quality_filters"] = ",".join(passed)
        return True


def quality_blocks(value: bool | dict[str, bool], exclusion_writer=None) -> list[BaseFilter]:
    """The block list for a web source's ``quality`` option (empty when off)."""
    opts = quality_options(value)
    return [WebQualityFilter(**opts, exclusion_writer=exclusion_writer)] if any(opts.values()) else []
