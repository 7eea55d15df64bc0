"""Medical keyword lists and the ``MedicalKeywordFilter`` block (MMedC's keyword-density rule).

A document is kept when it contains at least ``min_count`` *distinct* medical terms of its language
and their *density*, ``sum(occurrences x matched length) / len(text)``, reaches ``min_density``
(the two metrics of the MMedC paper). Lists and thresholds ship in ``mmedc/keyword_lists/``.

List format (``<lang>.txt``, UTF-8, one entry a line, ``#`` starts a comment, ``# == name ==``
opens a category)::

    myocardial infarction      whole words; per-language plural endings are accepted (en: s, es)
    cardiolog*                 stem: the term must start a word, any word ending may follow
    рак{,а,у,ом,е,и,ов,ами,ах} explicit endings, expanded to one entry per form (one distinct term)
    !computer virus            ordinary phrase containing a term: matched, consumes the text, never counted

Matching is one pass of a pyahocorasick automaton over the lowercased text (no regex pass, no pass
per keyword), written here because no library offers word-bounded, inflection-aware, CJK-aware
multi-pattern matching with leftmost-longest resolution:

* space-separated languages (en, fr, es, ru): a match counts only when it starts a word and ends one
  (or is a ``*`` stem, or ends with one of the language's plural endings);
* Chinese and Japanese (no spaces): leftmost-longest matching over the terms *and* the ``!`` entries
  (common ordinary words that contain a term, e.g. 发烧友 "enthusiast" contains 发烧 "fever"),
  terms shorter than two characters are refused, so a short term inside a longer ordinary word does
  not count.

Overlapping candidates are resolved leftmost-longest in both modes (``blood pressure`` wins over
``blood``). Automata are built lazily, once per language per process; the filter pickles without
them (datatrove ships blocks to workers by pickling).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger

__all__ = [
    "KEYWORD_DIR",
    "SUPPORTED_LANGUAGES",
    "KeywordEntry",
    "KeywordList",
    "KeywordMatcher",
    "KeywordScore",
    "MedicalKeywordFilter",
    "get_matcher",
    "load_keyword_list",
    "load_thresholds",
    "score_text",
]

KEYWORD_DIR = Path(str(resources.files("mmedc") / "keyword_lists"))
SUPPORTED_LANGUAGES = ("en", "zh", "ja", "fr", "ru", "es")

# languages written without spaces between words: substring matching with leftmost-longest resolution
UNSEGMENTED = frozenset({"zh", "ja", "th", "lo", "km", "my"})
# plural / inflection endings accepted after a whole-word term (stems and brace forms cover the rest)
PLURAL_SUFFIXES: dict[str, tuple[str, ...]] = {
    "en": ("s", "es"),
    "fr": ("s", "x"),
    "es": ("s", "es"),
}
# language codes as other tools write them -> the list they use
_LANG_ALIASES = {"zh-cn": "zh", "zh-tw": "zh", "zh-hans": "zh", "zh-hant": "zh", "jp": "ja"}

_BRACES = re.compile(r"^(?P<head>[^{}]*)\{(?P<alts>[^{}]*)\}(?P<tail>[^{}]*)$")
_CATEGORY = re.compile(r"^#\s*==\s*(?P<name>.+?)\s*==\s*$")


def normalize_language(lang: str | None) -> str | None:
    """Map ``zh-CN``, ``zh_Hant``, ``JA`` ... to the list code (``zh``, ``ja``); ``None`` stays ``None``."""
    if not lang:
        return None
    code = str(lang).strip().lower().replace("_", "-")
    return _LANG_ALIASES.get(code, code.split("-")[0])


def _is_word_ascii(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _norm_term(term: str) -> str:
    """Normalise a term the way texts are normalised (NFC, lowercase, single spaces)."""
    return " ".join(unicodedata.normalize("NFC", term).lower().split())


@dataclass(frozen=True)
class KeywordEntry:
    """One list line after expansion: ``term`` is the distinct keyword it counts as."""

    term: str
    forms: tuple[str, ...]
    stem: bool = False
    blocker: bool = False
    category: str = ""


@dataclass
class KeywordList:
    """The parsed ``<lang>.txt``: entries in file order with their categories."""

    lang: str
    entries: list[KeywordEntry]
    path: str = ""

    @property
    def terms(self) -> list[str]:
        """Distinct medical terms (blockers excluded)."""
        return [e.term for e in self.entries if not e.blocker]

    @property
    def categories(self) -> dict[str, int]:
        """Number of medical terms per category, in file order."""
        out: dict[str, int] = {}
        for e in self.entries:
            if not e.blocker:
                out[e.category] = out.get(e.category, 0) + 1
        return out


def _expand(term: str) -> list[str]:
    m = _BRACES.match(term)
    if not m:
        if "{" in term or "}" in term:
            raise ValueError(f"only one {{...}} group per term is supported: {term!r}")
        return [term]
    return [m["head"] + alt.strip() + m["tail"] for alt in m["alts"].split(",")]


def parse_keyword_list(text: str, lang: str, path: str = "<string>") -> KeywordList:
    """Parse list text (the format in the module docstring). Raises ``ValueError`` naming the line."""
    lang = normalize_language(lang) or lang
    min_len = 2 if lang in UNSEGMENTED else 3
    entries: list[KeywordEntry] = []
    seen: dict[str, int] = {}
    category = ""
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = _CATEGORY.match(line)
            if m:
                category = m["name"].strip().lower()
            continue
        line = line.split(" #", 1)[0].strip()
        blocker = line.startswith("!")
        if blocker:
            line = line[1:].strip()
        stem = line.endswith("*")
        if stem:
            line = line[:-1].rstrip()
        try:
            forms = tuple(dict.fromkeys(_norm_term(f) for f in _expand(line) if f.strip()))
        except ValueError as err:
            raise ValueError(f"{path}:{lineno}: {err}") from None
        if not forms:
            raise ValueError(f"{path}:{lineno}: empty term")
        short = [f for f in forms if len(f) < min_len]
        if short and not blocker:
            raise ValueError(f"{path}:{lineno}: term form(s) {short} shorter than {min_len} characters")
        if stem and lang in UNSEGMENTED:
            raise ValueError(f"{path}:{lineno}: '*' stems need word boundaries; not available for {lang}")
        canonical = forms[0]
        if canonical in seen:
            continue  # duplicates are harmless; the first category wins
        seen[canonical] = len(entries)
        entries.append(KeywordEntry(canonical, forms, stem=stem, blocker=blocker, category=category))
    return KeywordList(lang, entries, path)


def load_keyword_list(lang: str, keyword_dir: str | Path | None = None) -> KeywordList:
    """Load ``<keyword_dir>/<lang>.txt`` (default: the lists shipped with mmedc)."""
    code = normalize_language(lang) or ""
    path = Path(keyword_dir or KEYWORD_DIR) / f"{code}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"no keyword list for language {lang!r}: {path} does not exist")
    return parse_keyword_list(path.read_text(encoding="utf-8"), code, str(path))


def load_thresholds(keyword_dir: str | Path | None = None) -> dict[str, tuple[int, float]]:
    """Read ``thresholds.json``: ``{lang: (min_count, min_density)}``."""
    path = Path(keyword_dir or KEYWORD_DIR) / "thresholds.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no thresholds file: {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON: {err}") from None
    out: dict[str, tuple[int, float]] = {}
    for lang, spec in raw.get("thresholds", {}).items():
        try:
            out[lang] = (int(spec["min_count"]), float(spec["min_density"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: thresholds for {lang!r} need min_count and min_density") from None
    return out


@dataclass
class KeywordScore:
    """What :func:`score_text` found in one text."""

    count: int  # distinct medical terms matched
    density: float  # sum(occurrences x matched length) / len(text)
    occurrences: int  # total medical matches
    matched_chars: int
    text_chars: int
    top_terms: list[tuple[str, int]] = field(default_factory=list)  # most frequent terms, with counts
    lang: str = ""

    def passes(self, min_count: int, min_density: float) -> bool:
        return self.count >= min_count and self.density >= min_density


class KeywordMatcher:
    """Scores texts against one language's list. Picklable; the automaton is rebuilt on first use."""

    def __init__(self, keyword_list: KeywordList):
        self.keyword_list = keyword_list
        self.lang = keyword_list.lang
        self.unsegmented = self.lang in UNSEGMENTED
        self.suffixes = PLURAL_SUFFIXES.get(self.lang, ())

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("automaton", None)
        return state

    @cached_property
    def automaton(self):
        import ahocorasick

        auto = ahocorasick.Automaton()
        for idx, entry in enumerate(self.keyword_list.entries):
            for form in entry.forms:
                # value: (entry index, form length, stem, blocker); longer entries override identical forms
                prev = auto.get(form, None)
                if prev is None or (prev[3] and not entry.blocker):
                    auto.add_word(form, (idx, len(form), entry.stem, entry.blocker))
        auto.make_automaton()
        return auto

    def _matches(self, text: str) -> list[tuple[int, int, int, bool]]:
        """(start, end, entry index, blocker) of the kept matches in normalised ``text``."""
        auto = self.automaton
        n = len(text)
        if self.unsegmented:
            out = []
            for end, (idx, ln, _stem, blk) in auto.iter_long(text):
                start = end - ln + 1
                # Latin parts of a CJK term (CT, HIV, B超) still need word boundaries: "ct" in "project"
                if text[start].isascii() and start > 0 and _is_word_ascii(text[start - 1]):
                    continue
                if text[end].isascii() and end + 1 < n and _is_word_ascii(text[end + 1]):
                    continue
                out.append((start, end + 1, idx, blk))
            return out
        suffixes = self.suffixes
        cands: list[tuple[int, int, int, bool]] = []
        for end, (idx, ln, stem, blk) in auto.iter(text):
            start = end - ln + 1
            if start > 0 and text[start - 1].isalnum():
                continue  # not at the start of a word
            stop = end + 1
            if stop < n and text[stop].isalnum():
                if stem:
                    while stop < n and text[stop].isalnum():
                        stop += 1
                else:
                    for suf in suffixes:
                        k = stop + len(suf)
                        if text.startswith(suf, stop) and (k >= n or not text[k].isalnum()):
                            stop = k
                            break
                    else:
                        continue  # ends inside a word
            cands.append((start, stop, idx, blk))
        if len(cands) < 2:
            return cands
        # leftmost-longest, non-overlapping
        cands.sort(key=lambda c: (c[0], -c[1]))
        out = []
        last = -1
        for c in cands:
            if c[0] >= last:
                out.append(c)
                last = c[1]
        return out

    def score(self, text: str, top_k: int = 10) -> KeywordScore:
        """Count distinct terms and their density in ``text``."""
        if not text:
            return KeywordScore(0, 0.0, 0, 0, 0, [], self.lang)
        norm = text.lower()
        if not norm.isascii():
            norm = unicodedata.normalize("NFC", norm)
        counts: Counter[int] = Counter()
        matched = 0
        for start, stop, idx, blk in self._matches(norm):
            if not blk:
                counts[idx] += 1
                matched += stop - start
        entries = self.keyword_list.entries
        top = [(entries[i].term, c) for i, c in counts.most_common(top_k)] if top_k else []
        n = len(norm)
        return KeywordScore(
            count=len(counts),
            density=matched / n,
            occurrences=sum(counts.values()),
            matched_chars=matched,
            text_chars=n,
            top_terms=top,
            lang=self.lang,
        )


_MATCHERS: dict[tuple[str, str], KeywordMatcher] = {}


def get_matcher(lang: str, keyword_dir: str | Path | None = None) -> KeywordMatcher:
    """The process-wide matcher for ``lang`` (lists loaded and automaton built once per process)."""
    code = normalize_language(lang) or ""
    key = (code, str(keyword_dir or KEYWORD_DIR))
    matcher = _MATCHERS.get(key)
    if matcher is None:
        matcher = _MATCHERS[key] = KeywordMatcher(load_keyword_list(code, keyword_dir))
    return matcher


def score_text(text: str, lang: str, keyword_dir: str | Path | None = None, top_k: int = 10) -> KeywordScore:
    """Score one string with ``lang``'s medical keyword list.

    >>> s = score_text("Metformin is first-line therapy for type 2 diabetes mellitus.", "en")
    >>> s.count >= 2
    True
    """
    return get_matcher(lang, keyword_dir).score(text, top_k=top_k)


class MedicalKeywordFilter(BaseFilter):
    """Keep documents whose medical-keyword count and density reach their language's thresholds.

    Args:
        languages: languages to score (default: every language with a list in ``keyword_dir``).
        language: score every document as this language, ignoring metadata.
        default_language: used when a document has no ``language`` metadata.
        unknown_language: ``"drop"`` (reason ``unsupported_language``) or ``"keep"`` documents whose
            language has no list (kept unscored).
        thresholds: ``{lang: (min_count, min_density)}`` overriding ``thresholds.json``.
        min_count, min_density: override the thresholds of every language.
        keyword_dir: folder with ``<lang>.txt`` and ``thresholds.json`` (default: the shipped lists).
        top_k: number of most frequent terms written to ``med_kw_top``.
        exclusion_writer: datatrove writer receiving dropped documents (with ``filter_reason``).

    Writes ``med_kw_count``, ``med_kw_density`` and ``med_kw_top`` (``[[term, occurrences], ...]``)
    to each scored document's metadata. Drop reasons: ``empty``, ``no_language``,
    ``unsupported_language``, ``too_few_keywords``, ``low_density``.
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
        keyword_dir: str | Path | None = None,
        top_k: int = 10,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        if unknown_language not in ("drop", "keep"):
            raise ValueError(f"unknown_language must be 'drop' or 'keep', not {unknown_language!r}")
        self.keyword_dir = str(keyword_dir) if keyword_dir else None
        folder = Path(self.keyword_dir or KEYWORD_DIR)
        available = sorted(p.stem for p in folder.glob("*.txt"))
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
        self.top_k = top_k
        # parse every list now: a broken list fails at construction, not in a worker
        for lang in self.languages:
            get_matcher(lang, self.keyword_dir)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not isinstance(text, str):
            logger.warning(f"document {doc.id!r}: text is {type(text).__name__}, not str; dropped")
            self.stat_update("invalid_text")
            return False, "invalid_text"
        lang = self.language or normalize_language(doc.metadata.get("language")) or self.default_language
        if lang is None:
            if self.unknown_language == "keep":
                return True
            return False, "no_language"
        if lang not in self.languages:
            if self.unknown_language == "keep":
                return True
            return False, "unsupported_language"
        if not text.strip():
            return False, "empty"
        score = get_matcher(lang, self.keyword_dir).score(text, top_k=self.top_k)
        doc.metadata["med_kw_count"] = score.count
        doc.metadata["med_kw_density"] = round(score.density, 6)
        doc.metadata["med_kw_top"] = [[t, c] for t, c in score.top_terms]
        self.stat_update(f"lang_{lang}")
        min_count, min_density = self.thresholds[lang]
        if score.count < min_count:
            return False, "too_few_keywords"
        if score.density < min_density:
            return False, "low_density"
        return True
