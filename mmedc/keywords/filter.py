"""``MedicalKeywordFilter``: MMedC's keyword-density rule as a datatrove filter block.

A document is kept when it contains at least ``min_count`` *distinct* medical keywords of its
language, their *density*, ``sum(occurrences x matched length) / len(text)``, reaches ``min_density``
(the two metrics of the MMedC paper), their *coverage* (the share of paragraph-sized windows that
are themselves dense in terms) reaches ``min_coverage`` and their *content* (distinct terms outside
the care-setting and profession categories) reaches ``min_content``. Lists and thresholds ship in
``mmedc/keyword_lists/`` (see :mod:`mmedc.keywords.lists` for the format).

A document of unknown language can be routed by script (:func:`script_candidates`) to the lists it
may belong to, which lets ``filter_web`` run this cheap filter before language ID.
"""

from __future__ import annotations

from importlib.abc import Traversable
from pathlib import Path
from typing import Literal

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger

from mmedc.keywords.lists import (
    available_languages,
    keyword_folder,
    load_content_thresholds,
    load_coverage,
    load_news_report_markers,
    load_news_settings,
    load_research_settings,
    load_thresholds,
    normalize_language,
)
from mmedc.keywords.matcher import (
    KeywordMatcher,
    get_marker_matcher,
    get_matcher,
    prepare_text,
)
from mmedc.lang import LANGUAGES

__all__ = ["MedicalKeywordFilter", "script_candidates"]

# letters by script, to route a document of unknown language to its lists, counted on UTF-8 bytes
# (bytes.count runs at memory speed; a regex over Unicode classes does not): ASCII letters, and the
# lead bytes of two-byte Latin (U+00C0-U+024F: C3-C9), Cyrillic (U+0400-U+04FF: D0-D3) and three-byte
# CJK characters (U+3000-U+9FFF: E3-E9: kana, CJK punctuation and Han)
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_LATIN_LEADS = tuple(range(0xC3, 0xCA))
_CYRILLIC_LEADS = (0xD0, 0xD1, 0xD2, 0xD3)
_CJK_LEADS = tuple(range(0xE3, 0xEA))
_BY_SCRIPT: dict[str, tuple[str, ...]] = {}
for _code, _lang in LANGUAGES.items():
    _BY_SCRIPT[_lang.script] = _BY_SCRIPT.get(_lang.script, ()) + (_code,)


def script_candidates(text: str, sample_chars: int = 1000, min_share: float = 0.2) -> tuple[str, ...]:
    """Languages whose lists a document of unknown language is scored with, by script alone.

    Over the first ``sample_chars`` characters, every script holding at least ``min_share`` of the
    letters counted (Latin, Cyrillic, Han, kana) names its languages: Latin -> en, fr, es; Cyrillic ->
    ru; Han and kana -> zh and ja (Japanese first when there is kana). Letters are counted from their
    UTF-8 bytes (ASCII letters and the lead bytes of each script's characters; CJK punctuation counts
    with Han and kana); an ASCII sample is Latin at once.
    """
    sample = text[:sample_chars]
    if sample.isascii():
        return _BY_SCRIPT.get("Latin", ()) if any(ch.isalpha() for ch in sample) else ()
    data = sample.encode("utf-8", "surrogatepass")  # a lone surrogate counts as no script
    latin = len(data) - len(data.translate(None, _ASCII_LETTERS)) + sum(data.count(b) for b in _LATIN_LEADS)
    cyrillic = sum(data.count(b) for b in _CYRILLIC_LEADS)
    cjk = sum(data.count(b) for b in _CJK_LEADS)
    total = latin + cyrillic + cjk
    if not total:
        return ()
    need = min_share * total
    out: tuple[str, ...] = ()
    if latin >= need:
        out += _BY_SCRIPT.get("Latin", ())
    if cyrillic >= need:
        out += _BY_SCRIPT.get("Cyrillic", ())
    if cjk >= need:
        # both lists: the first that passes keeps the document, and language ID (whose zh/ja decision
        # is mmedc.lang.script_language) has it scored again with its own list if that was the other;
        # kana (U+3040-U+30FF: E3 81-83) only put Japanese first
        kana = data.count(b"\xe3\x81") + data.count(b"\xe3\x82") + data.count(b"\xe3\x83")
        out += ("ja", "zh") if kana else ("zh", "ja")
    return out


class MedicalKeywordFilter(BaseFilter):
    """Keep documents whose medical-keyword count, density and coverage reach their language's thresholds.

    Args:
        languages: languages to score (default: every language with a list in ``keyword_dir``).
        language: score every document as this language, ignoring metadata.
        default_language: used when a document has no ``language`` metadata.
        unknown_language: ``"drop"`` (reason ``unsupported_language``) or ``"keep"`` documents whose
            language has no list (kept unscored).
        thresholds: ``{lang: (min_count, min_density)}`` overriding ``thresholds.json``.
        min_count, min_density: override the thresholds of every language.
        min_coverage: minimum share of the text's windows (about a paragraph each) whose own keyword
            density reaches ``window_density``; rejects general pages that carry a single medical
            paragraph. ``0`` disables it. Defaults, like ``window_bytes`` and ``window_density``,
            come from the ``coverage`` section of ``thresholds.json``.
        min_content: distinct terms needed outside the context categories of ``thresholds.json``
            (care settings and professions: hospital, doctor, nurse), overriding its per-language
            ``min_content``: news of someone's illness names a disease among hospitals and doctors,
            medical text explains with anatomy, drugs, findings and procedures.
        news: the news test of ``thresholds.json``: a document that passes every other test but
            carries at least ``news.min_markers`` distinct news markers (``<lang>.news``: said,
            spokesman, condolences...) needs ``news.extra_content`` more content terms (reason
            ``news_report``), and one with ``news.report_markers`` is a news report whatever its
            terms; matched on those survivors only. ``False`` turns it off.
        research: the research test of ``thresholds.json``: a document that misses a threshold but
            carries at least ``research.min_markers`` distinct markers of a research report
            (``<lang>.research``: the aim of this study, we examined, participants, results:) is
            held to the lower thresholds of that section (``med_kw_research`` says how many it
            carries). Only languages with such a list (en) use it. ``False`` turns it off.
        keyword_dir: folder with ``<lang>.txt`` and ``thresholds.json`` (default: the shipped lists).
        top_k: number of most frequent terms written to ``med_kw_top``.
        route_by_script: a document without a language is scored with the lists of its script
            (:func:`script_candidates`: Latin -> en, fr, es; Cyrillic -> ru; Han/kana -> zh, ja) and
            kept when one of them passes; ``med_kw_lang`` names it. The cheap first stage when the
            language is unknown: language ID then runs on the candidates only.
        keep_scored: a document already scored (``med_kw_lang``) with the language it now has keeps
            that decision without a second pass (the stage after language ID).
        exclusion_writer: datatrove writer receiving dropped documents (with ``filter_reason``).

    Writes ``med_kw_count``, ``med_kw_density``, ``med_kw_content``, ``med_kw_coverage``, ``med_kw_top``
    (``[{"term": ..., "count": ...}, ...]``) and ``med_kw_lang`` (the list used) to each scored document's
    metadata, ``med_kw_news`` and ``med_kw_research`` where those tests ran. Drop reasons: ``empty``,
    ``invalid_text``, ``no_language``, ``unsupported_language``, ``too_few_keywords``,
    ``low_density``, ``low_coverage``, ``few_content_terms``, ``news_report``.
    """

    name = "🩺 Medical keywords"

    def __init__(
        self,
        languages: list[str] | tuple[str, ...] | None = None,
        language: str | None = None,
        default_language: str | None = None,
        unknown_language: Literal["drop", "keep"] = "drop",
        thresholds: dict[str, tuple[int, float]] | None = None,
        min_count: int | None = None,
        min_density: float | None = None,
        min_coverage: float | None = None,
        min_content: int | None = None,
        news: bool = True,
        research: bool = True,
        window_bytes: int | None = None,
        window_density: float | None = None,
        keyword_dir: str | Path | Traversable | None = None,
        top_k: int = 10,
        route_by_script: bool = False,
        keep_scored: bool = False,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.route_by_script = route_by_script
        self.keep_scored = keep_scored
        if unknown_language not in ("drop", "keep"):
            raise ValueError(f"unknown_language must be 'drop' or 'keep', not {unknown_language!r}")
        self.keyword_dir = str(keyword_dir) if keyword_dir else None
        folder = keyword_folder(self.keyword_dir)
        available = available_languages(self.keyword_dir)
        if languages is None:
            languages = available
        self.languages = tuple(normalize_language(lang) or "" for lang in languages)
        missing = [lang for lang in self.languages if lang not in available]
        if missing:
            raise FileNotFoundError(f"no keyword list for {missing} in {folder}")
        self.language = normalize_language(language)
        self.default_language = normalize_language(default_language)
        for lang in (self.language, self.default_language):
            if lang and lang not in self.languages:
                raise ValueError(f"language {lang!r} is not among the scored languages {self.languages}")
        self.unknown_language = unknown_language
        table = load_thresholds(self.keyword_dir) if (min_count is None or min_density is None) else {}
        table.update({normalize_language(k) or k: tuple(v) for k, v in (thresholds or {}).items()})
        self.thresholds: dict[str, tuple[int, float]] = {}
        for lang in self.languages:
            if lang not in table and (min_count is None or min_density is None):
                raise ValueError(f"no thresholds for {lang!r}: add it to thresholds.json or pass thresholds=")
            count, density = table.get(lang, (0, 0.0))
            self.thresholds[lang] = (
                int(count if min_count is None else min_count),
                float(density if min_density is None else min_density),
            )
        content = load_content_thresholds(self.keyword_dir)
        self.min_content = {lang: int(content.get(lang, 0) if min_content is None else min_content)
                            for lang in self.languages}
        self.news_markers, self.news_extra = load_news_settings(self.keyword_dir) if news else (0, 0)
        self.news_report = load_news_report_markers(self.keyword_dir) if news else 0
        self.research = load_research_settings(self.keyword_dir) if research else None
        self.research_voice = frozenset(self.research["voice_categories"]) if self.research else frozenset()
        coverage = load_coverage(self.keyword_dir)
        self.min_coverage = float(coverage["min_coverage"] if min_coverage is None else min_coverage)
        self.window_bytes = int(coverage["window_bytes"] if window_bytes is None else window_bytes)
        self.window_density = float(coverage["window_density"] if window_density is None else window_density)
        if self.window_bytes < 1 or not 0 <= self.min_coverage <= 1:
            raise ValueError("window_bytes must be >= 1 and min_coverage within [0, 1]")
        self.top_k = top_k
        # parse every list now: a broken list fails at construction, not in a worker
        for lang in self.languages:
            get_matcher(lang, self.keyword_dir)
        self._matchers: dict[str, KeywordMatcher] = {}  # this block's matchers, looked up once
        self._markers: dict[tuple[str, str], KeywordMatcher | None] = {}  # (kind, lang): news, research

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_matchers"], state["_markers"] = {}, {}  # a worker takes the process-wide ones
        return state

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not isinstance(text, str):
            source = doc.metadata.get("file_path") or doc.metadata.get("url") or "unknown file"
            logger.warning(f"{source}: document {doc.id!r} has {type(text).__name__} text, not str; dropped")
            return False, "invalid_text"
        meta = doc.metadata
        declared = meta.get("language")
        lang = self.language or (_NORMALIZED.get(declared) if declared.__class__ is str else None)
        if lang is None and not self.language:
            lang = normalize_language(declared) or self.default_language
        if lang is None and self.route_by_script:
            if not text.strip():
                return False, "empty"
            return self._routed(doc, text)
        if lang is None:
            if self.unknown_language == "keep":
                return True
            return False, "no_language"
        if lang not in self.languages:
            if self.unknown_language == "keep":
                return True
            return False, "unsupported_language"
        if self.keep_scored and meta.get("med_kw_lang") == lang:
            return True  # scored with this very list and kept by it upstream
        if not text.strip():
            return False, "empty"
        return self._decide(doc, text, lang)

    def _decide(
        self, doc: Document, text: str, lang: str, prepared: tuple[bytes, int] | None = None
    ) -> bool | tuple[bool, str]:
        """Score ``text`` with ``lang``'s list and decide; ``prepared`` is the text normalised and
        encoded once (:func:`prepare_text`), so several lists and the news markers share it."""
        matcher = self._matchers.get(lang)
        if matcher is None:
            matcher = self._matchers[lang] = get_matcher(lang, self.keyword_dir)
        data, chars = prepared or prepare_text(text)
        score = matcher.score_normalized(data, chars, self.top_k, self.window_bytes, self.window_density)
        meta = doc.metadata
        meta["med_kw_lang"] = lang
        meta["med_kw_count"] = score.count
        meta["med_kw_content"] = score.content
        meta["med_kw_density"] = round(score.density, 6)
        meta["med_kw_coverage"] = round(score.coverage, 4)
        meta["med_kw_top"] = [{"term": t, "count": c} for t, c in score.top_terms]  # structs: every datatrove writer stores them
        self.stat_update(_STAT_KEYS.get(lang) or f"lang_{lang}")
        min_count, min_density = self.thresholds[lang]
        reason = None
        if score.count < min_count:
            reason = "too_few_keywords"
        elif score.density < min_density:
            reason = "low_density"
        elif score.coverage < self.min_coverage:
            reason = "low_coverage"
        elif score.content < self.min_content[lang]:
            reason = "few_content_terms"
        if reason is not None and not self._research_report(meta, data, lang, score):
            return False, reason
        if self.news_markers or self.news_report:
            markers = self._marker_matcher("news", lang)
            if markers is not None:
                found = markers.distinct(data)
                meta["med_kw_news"] = found
                few_content = score.content < self.min_content[lang] + self.news_extra
                if (self.news_markers and found >= self.news_markers and few_content) or (
                    self.news_report and found >= self.news_report
                ):
                    return False, "news_report"
        return True

    def _marker_matcher(self, kind: str, lang: str) -> KeywordMatcher | None:
        """This block's matcher of ``lang``'s ``<lang>.<kind>`` markers, looked up once (None without a list)."""
        key = (kind, lang)
        if key not in self._markers:
            self._markers[key] = get_marker_matcher(lang, kind, self.keyword_dir)
        return self._markers[key]

    def _research_report(self, meta: dict, data: bytes, lang: str, score) -> bool:
        """Whether a document that missed a threshold is a research report that reaches the lower ones
        of ``thresholds.json``'s ``research`` section: a report of a study (its aims, methods and
        results: ``<lang>.research``) is medical text with fewer disease or drug names than a textbook."""
        spec = self.research
        if spec is None or score.count < spec["min_count"] or score.content < spec["min_content"]:
            return False
        if score.density < spec["min_density"] or score.coverage < spec["min_coverage"]:
            return False
        markers = self._marker_matcher("research", lang)
        if markers is None:
            return False
        found = markers.families(data)
        meta["med_kw_research"] = len(found)
        # the authors' own voice (aims, methods, headings) tells a report from news about a study
        voice = sum(1 for f in found if markers.keyword_list.entries[f].category in self.research_voice)
        return len(found) >= spec["min_markers"] and voice >= spec["min_voice_markers"]

    def _routed(self, doc: Document, text: str) -> bool | tuple[bool, str]:
        """Score with each candidate list of the document's script; the first that passes decides."""
        candidates = [lang for lang in script_candidates(text) if lang in self.languages]
        if not candidates:
            return False, "no_candidate_language"
        self.stat_update("routed_by_script")
        first: tuple[bool, str] | None = None
        saved: dict | None = None
        prepared = prepare_text(text)
        for lang in candidates:
            verdict = self._decide(doc, text, lang, prepared)
            if verdict is True:
                return True
            if first is None:
                first = verdict  # type: ignore[assignment]
                saved = {k: doc.metadata[k] for k in _EVIDENCE}
        if saved is not None:
            doc.metadata.update(saved)  # evidence of the first candidate (the script's main language)
        return first  # type: ignore[return-value]


_STAT_KEYS = {code: f"lang_{code}" for code in LANGUAGES}
# the language codes documents usually carry, normalised once
_NORMALIZED = {code: code for code in LANGUAGES}
_EVIDENCE = ("med_kw_lang", "med_kw_count", "med_kw_content", "med_kw_density", "med_kw_coverage", "med_kw_top")
