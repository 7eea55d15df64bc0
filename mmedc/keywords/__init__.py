"""Medical keyword lists, matching and the ``MedicalKeywordFilter`` block (MMedC's keyword-density rule).

* :mod:`mmedc.keywords.lists`: the list format, its parser, the shipped lists and thresholds;
* :mod:`mmedc.keywords.matcher`: the Aho-Corasick pass with word boundaries, stems and coverage;
* :mod:`mmedc.keywords.filter`: the datatrove filter block.

Every public name is importable from ``mmedc.keywords`` as before the split.
"""

from __future__ import annotations

from mmedc.keywords.filter import MedicalKeywordFilter, script_candidates
from mmedc.keywords.lists import (
    KEYWORD_DIR,
    SUPPORTED_LANGUAGES,
    UNSEGMENTED,
    WINDOW_BYTES,
    WINDOW_DENSITY,
    KeywordEntry,
    KeywordList,
    available_languages,
    load_content_thresholds,
    load_context_categories,
    load_coverage,
    load_keyword_list,
    load_marker_list,
    load_news_list,
    load_news_report_markers,
    load_news_settings,
    load_research_settings,
    load_thresholds,
    normalize_language,
    parse_keyword_list,
)
from mmedc.keywords.matcher import (
    _MATCHERS,
    PLURAL_SUFFIXES,
    KeywordMatcher,
    KeywordScore,
    clear_matchers,
    get_marker_matcher,
    get_matcher,
    get_news_matcher,
    normalize_text,
    prepare_text,
    score_text,
)

__all__ = [
    "KEYWORD_DIR",
    "PLURAL_SUFFIXES",
    "SUPPORTED_LANGUAGES",
    "UNSEGMENTED",
    "WINDOW_BYTES",
    "WINDOW_DENSITY",
    "KeywordEntry",
    "KeywordList",
    "KeywordMatcher",
    "KeywordScore",
    "MedicalKeywordFilter",
    "available_languages",
    "clear_matchers",
    "get_marker_matcher",
    "get_matcher",
    "get_news_matcher",
    "load_content_thresholds",
    "load_context_categories",
    "load_coverage",
    "load_keyword_list",
    "load_marker_list",
    "load_news_list",
    "load_news_report_markers",
    "load_news_settings",
    "load_research_settings",
    "load_thresholds",
    "normalize_language",
    "normalize_text",
    "parse_keyword_list",
    "prepare_text",
    "score_text",
    "script_candidates",
]
_ = _MATCHERS  # the process-wide matcher cache, reachable as mmedc.keywords._MATCHERS
