"""Medical keyword lists: the list format, its parser and the shipped lists and thresholds.

List format (``<lang>.txt``, UTF-8, one entry a line, ``#`` starts a comment, ``# == name ==``
opens a category)::

    myocardial infarction      whole words; per-language plural endings are accepted (en: s, es)
    cardiolog*                 stem: the term must start a word, any word ending may follow
    рак{,а,у,ом,е,и,ов,ами,ах} explicit forms (alternatives taken literally), one distinct term
    !computer virus            ordinary phrase containing a term: matched, consumes the text, never counted

The shipped lists are package resources read through ``importlib.resources`` (never a filesystem
path), so they load from a zipped wheel too (``spark-submit --py-files``). A ``keyword_dir`` given by
the caller is an ordinary folder.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from mmedc.lang import MMEDC_LANGUAGES, UNSEGMENTED_LANGUAGES, normalize_language

__all__ = [
    "KEYWORD_DIR",
    "SUPPORTED_LANGUAGES",
    "UNSEGMENTED",
    "WINDOW_BYTES",
    "WINDOW_DENSITY",
    "KeywordEntry",
    "KeywordList",
    "available_languages",
    "keyword_folder",
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
    "parse_keyword_list",
]

#: the shipped lists (a ``Traversable``: ``KEYWORD_DIR / "en.txt"`` then ``.read_text()``)
KEYWORD_DIR: Traversable = resources.files("mmedc") / "keyword_lists"
SUPPORTED_LANGUAGES = MMEDC_LANGUAGES
#: languages written without spaces between words: substring matching with leftmost-longest resolution
UNSEGMENTED = UNSEGMENTED_LANGUAGES

# coverage: the text is cut into windows of about this many UTF-8 bytes (a paragraph: ~500 Latin,
# ~270 Cyrillic, ~170 CJK characters), and a window counts as medical at this density of its own
WINDOW_BYTES = 500
WINDOW_DENSITY = 0.02

_BRACES = re.compile(r"^(?P<head>[^{}]*)\{(?P<alts>[^{}]*)\}(?P<tail>[^{}]*)$")
_CATEGORY = re.compile(r"^#\s*==\s*(?P<name>.+?)\s*==\s*$")


def keyword_folder(keyword_dir: str | Path | Traversable | None = None) -> Traversable:
    """The folder holding ``<lang>.txt`` and ``thresholds.json``: ``keyword_dir`` or the shipped lists."""
    if keyword_dir is None or keyword_dir == "":
        return KEYWORD_DIR
    if isinstance(keyword_dir, (str, Path)):
        return Path(keyword_dir)
    return keyword_dir


def available_languages(keyword_dir: str | Path | Traversable | None = None) -> list[str]:
    """Languages with a ``<lang>.txt`` in the folder, sorted."""
    folder = keyword_folder(keyword_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"keyword folder {folder} does not exist")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".txt") and p.is_file())


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


def load_keyword_list(lang: str, keyword_dir: str | Path | Traversable | None = None) -> KeywordList:
    """Load ``<keyword_dir>/<lang>.txt`` (default: the lists shipped with mmedc)."""
    code = normalize_language(lang) or ""
    path = keyword_folder(keyword_dir) / f"{code}.txt"
    if not code or not path.is_file():
        raise FileNotFoundError(f"no keyword list for language {lang!r}: {path} does not exist")
    return parse_keyword_list(path.read_text(encoding="utf-8"), code, str(path))


def _read_thresholds_file(keyword_dir: str | Path | Traversable | None) -> tuple[dict, str]:
    path = keyword_folder(keyword_dir) / "thresholds.json"
    if not path.is_file():
        raise FileNotFoundError(f"no thresholds file: {path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON: {err}") from None


def load_thresholds(keyword_dir: str | Path | Traversable | None = None) -> dict[str, tuple[int, float]]:
    """Read ``thresholds.json``: ``{lang: (min_count, min_density)}``."""
    raw, path = _read_thresholds_file(keyword_dir)
    out: dict[str, tuple[int, float]] = {}
    for lang, spec in raw.get("thresholds", {}).items():
        try:
            out[lang] = (int(spec["min_count"]), float(spec["min_density"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: thresholds for {lang!r} need min_count and min_density") from None
    return out


def load_coverage(keyword_dir: str | Path | Traversable | None = None) -> dict[str, float]:
    """Read the ``coverage`` settings of ``thresholds.json``: ``window_bytes``, ``window_density``,
    ``min_coverage`` (defaults: 500, 0.02, 0.0 when the file has none)."""
    out = {"window_bytes": float(WINDOW_BYTES), "window_density": WINDOW_DENSITY, "min_coverage": 0.0}
    try:
        raw = _read_thresholds_file(keyword_dir)[0].get("coverage", {})
    except (FileNotFoundError, ValueError):
        return out
    for key in out:
        if key in raw:
            out[key] = float(raw[key])
    return out


def load_context_categories(keyword_dir: str | Path | Traversable | None = None) -> list[str]:
    """``context_categories`` of ``thresholds.json``: list categories whose terms (care settings,
    professions) count as keywords but not as content (none when the file has none)."""
    try:
        raw = _read_thresholds_file(keyword_dir)[0]
    except (FileNotFoundError, ValueError):
        return []
    return [str(c).strip().lower() for c in raw.get("context_categories", [])]


def load_content_thresholds(keyword_dir: str | Path | Traversable | None = None) -> dict[str, int]:
    """``min_content`` per language from ``thresholds.json`` (0 where absent): the distinct terms a
    document needs outside the context categories."""
    try:
        raw, path = _read_thresholds_file(keyword_dir)
    except FileNotFoundError:
        return {}
    out: dict[str, int] = {}
    for lang, spec in raw.get("thresholds", {}).items():
        try:
            out[lang] = int(spec.get("min_content", 0))
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"{path}: min_content for {lang!r} must be an integer") from None
    return out


def load_marker_list(lang: str, kind: str, keyword_dir: str | Path | Traversable | None = None) -> KeywordList | None:
    """Load ``<keyword_dir>/<lang>.<kind>``, a list of register markers in the lists' format: ``news``
    (words of reporting, the news register, public figures) or ``research`` (words of a research
    report: aims, methods, results); ``None`` when the language has none."""
    code = normalize_language(lang) or ""
    path = keyword_folder(keyword_dir) / f"{code}.{kind}"
    if not code or not path.is_file():
        return None
    return parse_keyword_list(path.read_text(encoding="utf-8"), code, str(path))


def load_news_list(lang: str, keyword_dir: str | Path | Traversable | None = None) -> KeywordList | None:
    """Load ``<keyword_dir>/<lang>.news``, the language's news markers (:func:`load_marker_list`)."""
    return load_marker_list(lang, "news", keyword_dir)


def load_news_settings(keyword_dir: str | Path | Traversable | None = None) -> tuple[int, int]:
    """``(min_markers, extra_content)`` from the ``news`` section of ``thresholds.json``: a document
    with at least ``min_markers`` distinct news markers needs ``extra_content`` more content terms.
    ``(0, 0)`` (no news test) when the file has no such section."""
    try:
        raw, path = _read_thresholds_file(keyword_dir)
    except FileNotFoundError:
        return 0, 0
    spec = raw.get("news") or {}
    try:
        return int(spec.get("min_markers", 0)), int(spec.get("extra_content", 0))
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{path}: news needs integer min_markers and extra_content") from None


def load_research_settings(keyword_dir: str | Path | Traversable | None = None) -> dict[str, Any] | None:
    """The ``research`` section of ``thresholds.json``: a document in the register of a research report
    (at least ``min_markers`` distinct markers of ``<lang>.research``, ``min_voice_markers`` of them
    from the ``voice_categories``: the authors' aims, methods, headings) is held to these lower
    ``min_count``, ``min_content``, ``min_density`` and ``min_coverage``; ``None`` when not set."""
    try:
        raw, path = _read_thresholds_file(keyword_dir)
    except FileNotFoundError:
        return None
    spec = raw.get("research")
    if not spec:
        return None
    keys = ("min_markers", "min_voice_markers", "min_count", "min_content", "min_density", "min_coverage")
    try:
        out: dict[str, Any] = {k: float(spec[k]) for k in keys}
        out["voice_categories"] = [str(c) for c in spec["voice_categories"]]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{path}: research needs numbers for {', '.join(keys)} and a voice_categories list") from None
    return out


def load_news_report_markers(keyword_dir: str | Path | Traversable | None = None) -> int:
    """``report_markers`` from the ``news`` section of ``thresholds.json``: a document with at least
    this many distinct news markers reads as a news report and is dropped whatever its medical terms
    (medical text rarely has even two); 0 (off) when the file does not set it."""
    try:
        raw, path = _read_thresholds_file(keyword_dir)
    except FileNotFoundError:
        return 0
    try:
        return int((raw.get("news") or {}).get("report_markers", 0))
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{path}: news report_markers must be an integer") from None
