"""Medical keyword lists and the ``MedicalKeywordFilter`` block (MMedC's keyword-density rule).

A document is kept when it contains at least ``min_count`` *distinct* medical keywords of its
language, their *density*, ``sum(occurrences x matched length) / len(text)``, reaches ``min_density``
(the two metrics of the MMedC paper) and, optionally, their *coverage* (the share of paragraph-sized
windows that are themselves dense in terms) reaches ``min_coverage``. Lists and thresholds ship in
``mmedc/keyword_lists/``.

List format (``<lang>.txt``, UTF-8, one entry a line, ``#`` starts a comment, ``# == name ==``
opens a category)::

    myocardial infarction      whole words; per-language plural endings are accepted (en: s, es)
    cardiolog*                 stem: the term must start a word, any word ending may follow
    рак{,а,у,ом,е,и,ов,ами,ах} explicit forms (alternatives taken literally), one distinct term
    !computer virus            ordinary phrase containing a term: matched, consumes the text, never counted

Matching is one pass of an Aho-Corasick automaton (ahocorasick-rs when installed, else
pyahocorasick) over the lowercased, NFC-normalised text encoded as UTF-8, with leftmost-longest
matches; no regex pass and no pass per keyword. The boundary, stem, family and coverage logic around
it is written here because no library offers word-bounded, inflection-aware, CJK-aware
multi-pattern matching:

* space-separated languages (en, fr, es, ru): a match counts only when it starts a word and ends one
  (or is a ``*`` stem, or ends with one of the language's plural endings); single-word entries that
  extend a shorter entry by at most three characters count as one keyword (a word family);
* Chinese and Japanese (no spaces): the automaton also holds the ``!`` entries (common ordinary
  words that contain a term, e.g. 发烧友 "enthusiast" contains 发烧 "fever"), so leftmost-longest
  matching lets the ordinary word consume the text; terms shorter than two characters are refused,
  and Latin parts of a term (CT检查) keep ASCII word boundaries.

Automata are built lazily, once per language per process; matchers and the filter pickle without
them (datatrove and Spark ship blocks to workers by pickling).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
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
    "load_coverage",
    "load_keyword_list",
    "load_thresholds",
    "score_text",
]

KEYWORD_DIR = Path(str(resources.files("mmedc") / "keyword_lists"))
SUPPORTED_LANGUAGES = ("en", "zh", "ja", "fr", "ru", "es")

# coverage: the text is cut into windows of about this many UTF-8 bytes (a paragraph: ~500 Latin,
# ~270 Cyrillic, ~170 CJK characters), and a window counts as medical at this density of its own
WINDOW_BYTES = 500
WINDOW_DENSITY = 0.02

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


def _norm_term(term: str) -> str:
    """Normalise a term the way texts are normalised (NFC, lowercase, single spaces)."""
    return " ".join(unicodedata.normalize("NFC", term).lower().split())


@dataclass(frozen=True)
class KeywordEntry:
    """One list line after expansion. ``family`` is the distinct keyword it counts as: a word and its
    inflected variants listed apart (hospital / hospitals, медицин* / медицинск*) count once."""

    term: str
    forms: tuple[str, ...]
    stem: bool = False
    blocker: bool = False
    category: str = ""
    family: str = ""


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
    return [m["head"] + alt + m["tail"] for alt in m["alts"].split(",")]


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
    if lang not in UNSEGMENTED:
        entries = _assign_families(entries)
    return KeywordList(lang, entries, path)


def _assign_families(entries: list[KeywordEntry], max_extra: int = 3) -> list[KeywordEntry]:
    """Group single-word entries that extend a shorter entry by at most ``max_extra`` characters
    (a plural or an adjective ending), so that the distinct count counts words, not word forms."""
    single = {e.term: e for e in entries if not e.blocker and " " not in e.term}

    def root(term: str) -> str:
        for cut in range(1, max_extra + 1):
            head = term[:-cut]
            if len(head) >= 4 and head in single:
                return root(head)
        return term

    out = []
    for e in entries:
        family = root(e.term) if e.term in single else e.term
        out.append(KeywordEntry(e.term, e.forms, e.stem, e.blocker, e.category, family))
    return out


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


def load_coverage(keyword_dir: str | Path | None = None) -> dict[str, float]:
    """Read the ``coverage`` settings of ``thresholds.json``: ``window_bytes``, ``window_density``,
    ``min_coverage`` (defaults: 500, 0.02, 0.0 when the file has none)."""
    path = Path(keyword_dir or KEYWORD_DIR) / "thresholds.json"
    out = {"window_bytes": float(WINDOW_BYTES), "window_density": WINDOW_DENSITY, "min_coverage": 0.0}
    try:
        raw = json.loads(path.read_text(encoding="utf-8")).get("coverage", {})
    except (FileNotFoundError, json.JSONDecodeError):
        return out
    for key in out:
        if key in raw:
            out[key] = float(raw[key])
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
    coverage: float = 0.0  # share of the text's windows (~paragraphs) where medical terms are dense

    def passes(self, min_count: int, min_density: float, min_coverage: float = 0.0) -> bool:
        return self.count >= min_count and self.density >= min_density and self.coverage >= min_coverage


# ASCII bytes that are word characters (letters, digits), for boundary checks on UTF-8 bytes
_ASCII_WORD = tuple(chr(i).isalnum() for i in range(128))


def _is_word_before(data: bytes, i: int) -> bool:
    """Whether the character that ends at byte ``i`` of UTF-8 ``data`` is a letter or digit."""
    if i <= 0:
        return False
    c = data[i - 1]
    if c < 0x80:
        return _ASCII_WORD[c]
    j = i - 1
    while j > 0 and 0x80 <= data[j] < 0xC0:
        j -= 1
    return data[j:i].decode("utf-8", "replace").isalnum()


def _char_after(data: bytes, i: int) -> tuple[bool, int]:
    """(is a letter or digit, byte length) of the character that starts at byte ``i``."""
    c = data[i]
    if c < 0x80:
        return _ASCII_WORD[c], 1
    n = 2 if c < 0xE0 else 3 if c < 0xF0 else 4
    return data[i : i + n].decode("utf-8", "replace").isalnum(), n


class _Engine:
    """Leftmost-longest Aho-Corasick over UTF-8 bytes: ahocorasick-rs when installed, else pyahocorasick.

    Both search bytes, so offsets are byte offsets either way. pyahocorasick only takes ``str``: the
    bytes are passed as latin-1 text (one character per byte), which also keeps its child lookups
    small (at most 256 first bytes instead of thousands of CJK first characters).
    """

    def __init__(self, patterns: list[bytes]):
        self.lengths = [len(p) for p in patterns]
        try:
            if os.environ.get("MMEDC_KEYWORD_ENGINE", "") == "pyahocorasick":
                raise ImportError("pyahocorasick requested through MMEDC_KEYWORD_ENGINE")
            import ahocorasick_rs
        except ImportError:
            import ahocorasick

            self.name = "pyahocorasick"
            self._auto = ahocorasick.Automaton()
            for idx, pattern in enumerate(patterns):
                self._auto.add_word(pattern.decode("latin-1"), idx)
            self._auto.make_automaton()
            self._rs = None
        else:
            self.name = "ahocorasick-rs"
            self._rs = ahocorasick_rs.BytesAhoCorasick(
                patterns,
                matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
                implementation=ahocorasick_rs.Implementation.DFA,
            )

    def find(self, data: bytes) -> list[tuple[int, int, int]]:
        """Non-overlapping leftmost-longest matches as (pattern index, start byte, end byte)."""
        if self._rs is not None:
            return self._rs.find_matches_as_indexes(data)
        lengths = self.lengths
        return [(idx, end + 1 - lengths[idx], end + 1) for end, idx in self._auto.iter_long(data.decode("latin-1"))]


class KeywordMatcher:
    """Scores texts against one language's list. Picklable; the automaton is rebuilt on first use."""

    def __init__(self, keyword_list: KeywordList):
        self.keyword_list = keyword_list
        self.lang = keyword_list.lang
        self.unsegmented = self.lang in UNSEGMENTED
        self.suffixes = tuple(s.encode() for s in PLURAL_SUFFIXES.get(self.lang, ()))
        # one pattern per distinct form; a form listed both as a term and as a blocker counts as the term
        entry_of: dict[str, int] = {}
        for idx, entry in enumerate(keyword_list.entries):
            for form in entry.forms:
                prev = entry_of.get(form)
                if prev is None or (keyword_list.entries[prev].blocker and not entry.blocker):
                    entry_of[form] = idx
        self._forms = list(entry_of)
        entries = keyword_list.entries
        # per pattern: (entry index, characters, stem, blocker)
        # distinct keywords are counted per family: the index of the family's first entry
        family_index: dict[str, int] = {}
        for idx, entry in enumerate(entries):
            family_index.setdefault(entry.family or entry.term, idx)
        self._info = [
            (family_index[entries[i].family or entries[i].term], len(f), entries[i].stem, entries[i].blocker)
            for f, i in ((f, entry_of[f]) for f in self._forms)
        ]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("engine", None)
        return state

    @cached_property
    def engine(self) -> _Engine:
        """The automaton, built on first use (once per process for shared matchers)."""
        return _Engine([f.encode("utf-8") for f in self._forms])

    def _scan(self, data: bytes, nwin: int) -> tuple[dict[int, int], int, list[int]]:
        """One pass over normalised UTF-8 ``data``: occurrences per keyword family, matched
        characters, and matched bytes in each of ``nwin`` equal windows (blockers are not counted)."""
        info = self._info
        n = len(data)
        counts: dict[int, int] = {}
        get = counts.get
        matched = 0
        per_window = [0] * nwin
        aw = _ASCII_WORD
        if self.unsegmented:
            for pid, start, end in self.engine.find(data):
                idx, chars, _stem, blk = info[pid]
                # Latin parts of a CJK term (CT, HIV, B超) still need word boundaries: "ct" in "project"
                if data[start] < 0x80 and start and data[start - 1] < 0x80 and aw[data[start - 1]]:
                    continue
                if data[end - 1] < 0x80 and end < n and data[end] < 0x80 and aw[data[end]]:
                    continue
                if not blk:
                    counts[idx] = get(idx, 0) + 1
                    matched += chars
                    per_window[start * nwin // n] += end - start
            return counts, matched, per_window
        suffixes = self.suffixes
        for pid, start, end in self.engine.find(data):
            if start:  # must start a word
                c = data[start - 1]
                if aw[c] if c < 0x80 else _is_word_before(data, start):
                    continue
            idx, chars, stem, blk = info[pid]
            if end < n:
                c = data[end]
                if c < 0x80:
                    word, width = aw[c], 1
                else:
                    word, width = _char_after(data, end)
                if word:
                    if stem:  # extend over the rest of the word
                        while word:
                            end += width
                            chars += 1
                            if end >= n:
                                break
                            word, width = _char_after(data, end)
                    else:
                        for suf in suffixes:
                            k = end + len(suf)
                            if data.startswith(suf, end) and (k >= n or not _char_after(data, k)[0]):
                                chars += len(suf)
                                break
                        else:
                            continue  # ends inside a word
            if not blk:
                counts[idx] = get(idx, 0) + 1
                matched += chars
                per_window[start * nwin // n] += end - start
        return counts, matched, per_window

    def score(
        self, text: str, top_k: int = 10, window_bytes: int = WINDOW_BYTES, window_density: float = WINDOW_DENSITY
    ) -> KeywordScore:
        """Count distinct terms and their density in ``text``.

        ``coverage`` is the share of the text's windows (``window_bytes`` of UTF-8, about a paragraph;
        the text is cut into equal windows) whose own density reaches ``window_density``: a general
        page with one medical paragraph has a high density but a low coverage."""
        if not text:
            return KeywordScore(0, 0.0, 0, 0, 0, [], self.lang, 0.0)
        norm = text.lower()
        if not norm.isascii():
            norm = unicodedata.normalize("NFC", norm)
            if "\u2019" in norm:
                norm = norm.replace("\u2019", "'")
        data = norm.encode("utf-8")
        nbytes = len(data)
        nwin = max(1, (nbytes + window_bytes // 2) // window_bytes)  # equal windows of ~window_bytes
        counts, matched, per_window = self._scan(data, nwin)
        entries = self.keyword_list.entries
        top = []
        if top_k and counts:
            best = sorted(counts.items(), key=lambda kv: -kv[1])[:top_k]
            top = [(entries[i].term, c) for i, c in best]
        n = len(norm)
        need = window_density * nbytes / nwin
        covered = sum(1 for m in per_window if m >= need)
        return KeywordScore(
            count=len(counts),
            density=matched / n,
            occurrences=sum(counts.values()),
            matched_chars=matched,
            text_chars=n,
            top_terms=top,
            lang=self.lang,
            coverage=covered / nwin,
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
        keyword_dir: folder with ``<lang>.txt`` and ``thresholds.json`` (default: the shipped lists).
        top_k: number of most frequent terms written to ``med_kw_top``.
        exclusion_writer: datatrove writer receiving dropped documents (with ``filter_reason``).

    Writes ``med_kw_count``, ``med_kw_density``, ``med_kw_coverage`` and ``med_kw_top``
    (``[[term, occurrences], ...]``) to each scored document's metadata. Drop reasons: ``empty``,
    ``invalid_text``, ``no_language``, ``unsupported_language``, ``too_few_keywords``,
    ``low_density``, ``low_coverage``.
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
        window_bytes: int | None = None,
        window_density: float | None = None,
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

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not isinstance(text, str):
            source = doc.metadata.get("file_path") or doc.metadata.get("url") or "unknown file"
            logger.warning(f"{source}: document {doc.id!r} has {type(text).__name__} text, not str; dropped")
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
        score = get_matcher(lang, self.keyword_dir).score(
            text, top_k=self.top_k, window_bytes=self.window_bytes, window_density=self.window_density
        )
        doc.metadata["med_kw_count"] = score.count
        doc.metadata["med_kw_density"] = round(score.density, 6)
        doc.metadata["med_kw_coverage"] = round(score.coverage, 4)
        doc.metadata["med_kw_top"] = [[t, c] for t, c in score.top_terms]
        self.stat_update(f"lang_{lang}")
        min_count, min_density = self.thresholds[lang]
        if score.count < min_count:
            return False, "too_few_keywords"
        if score.density < min_density:
            return False, "low_density"
        if score.coverage < self.min_coverage:
            return False, "low_coverage"
        return True
