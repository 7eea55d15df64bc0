"""Keyword matching: one Aho-Corasick pass per text, word boundaries, stems and coverage windows.

Matching is one pass of an Aho-Corasick automaton over the lowercased, NFC-normalised text encoded
as UTF-8, with leftmost-longest matches; no regex pass and no pass per keyword. ``ahocorasick-rs`` is
the engine (a dependency of mmedc); ``pyahocorasick`` is the fallback when it cannot be imported
(or when ``MMEDC_KEYWORD_ENGINE=pyahocorasick``), imported only then. The boundary, stem, family and
coverage logic around the automaton is written here because no library offers word-bounded,
inflection-aware, CJK-aware multi-pattern matching:

* space-separated languages (en, fr, es, ru): a match counts only when it starts a word and ends one
  (or is a ``*`` stem, or ends with one of the language's plural endings);
* Chinese and Japanese (no spaces): the automaton also holds the ``!`` entries (common ordinary
  words that contain a term, e.g. 发烧友 "enthusiast" contains 发烧 "fever"), so leftmost-longest
  matching lets the ordinary word consume the text; Latin parts of a term (CT检查) keep ASCII word
  boundaries.

The per-match work is kept small: ASCII bytes and the two-byte letters of Latin-1, Latin Extended-A
and Cyrillic are classified from the bytes alone, and a stem runs to the end of its word with one
bytes regex; only other characters are decoded. Automata are built lazily, once per language per
process; matchers pickle without them (datatrove and Spark ship blocks to workers by pickling).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from importlib.abc import Traversable
from operator import itemgetter
from pathlib import Path
from typing import Any

from mmedc.io.readers import repair_surrogates
from mmedc.keywords.lists import (
    KEYWORD_DIR,
    UNSEGMENTED,
    WINDOW_BYTES,
    WINDOW_DENSITY,
    KeywordList,
    load_context_categories,
    load_keyword_list,
    load_marker_list,
    normalize_language,
)

__all__ = [
    "PLURAL_SUFFIXES", "KeywordMatcher", "KeywordScore", "clear_matchers", "get_marker_matcher", "get_matcher",
    "get_news_matcher",
    "normalize_text", "prepare_text", "score_text",
]

# plural / inflection endings accepted after a whole-word term (stems and brace forms cover the rest)
PLURAL_SUFFIXES: dict[str, tuple[str, ...]] = {
    "en": ("s", "es"),
    "fr": ("s", "x"),
    "es": ("s", "es"),
}


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
    content: int = 0  # distinct terms outside the context categories (care settings, professions)

    def passes(self, min_count: int, min_density: float, min_coverage: float = 0.0, min_content: int = 0) -> bool:
        return (
            self.count >= min_count and self.density >= min_density and self.coverage >= min_coverage
            and self.content >= min_content
        )


# ASCII bytes that are word characters (letters, digits), for boundary checks on UTF-8 bytes
_ASCII_WORD = tuple(chr(i).isalnum() for i in range(128))
# per byte: 0 = an ASCII letter or digit, 1 = an ASCII separator, 2 = a byte of a non-ASCII character
_BYTE_KIND = bytes(0 if i < 128 and _ASCII_WORD[i] else 1 if i < 128 else 2 for i in range(256))
# lead bytes of two-byte letters that are letters whatever the second byte: Latin Extended-A
# (U+0100-U+017F: C4, C5) and Cyrillic (U+0400-U+047F: D0, D1); C3 (U+00C0-U+00FF) is a letter
# except × (C3 97) and ÷ (C3 B7)
_LETTER_LEAD = frozenset({0xC4, 0xC5, 0xD0, 0xD1})
# a run of characters known to be letters or digits from their bytes alone
_WORD_RUN = re.compile(rb"(?:[0-9A-Za-z]|[\xc4\xc5\xd0\xd1][\x80-\xbf]|\xc3[\x80-\x96\x98-\xb6\xb8-\xbf])*")


def _is_word_before(data: bytes, i: int) -> bool:
    """Whether the character that ends at byte ``i`` of UTF-8 ``data`` is a letter or digit."""
    if i <= 0:
        return False
    c = data[i - 1]
    if c < 0x80:
        return _ASCII_WORD[c]
    if i >= 2:
        lead = data[i - 2]
        if lead in _LETTER_LEAD:
            return True
        if lead == 0xC3:
            return c != 0x97 and c != 0xB7
    j = i - 1
    while j > 0 and 0x80 <= data[j] < 0xC0:
        j -= 1
    return data[j:i].decode("utf-8", "replace").isalnum()


def _char_after(data: bytes, i: int) -> tuple[bool, int]:
    """(is a letter or digit, byte length) of the character that starts at byte ``i``."""
    c = data[i]
    if c < 0x80:
        return _ASCII_WORD[c], 1
    if c in _LETTER_LEAD:
        return True, 2
    n = 2 if c < 0xE0 else 3 if c < 0xF0 else 4
    return data[i : i + n].decode("utf-8", "replace").isalnum(), n


def _word_end(data: bytes, i: int) -> int:
    """Byte offset where the word running through byte ``i`` ends (``i`` itself starts a word character)."""
    n = len(data)
    while True:
        i = _WORD_RUN.match(data, i).end()
        if i >= n or data[i] < 0x80:
            return i
        word, width = _char_after(data, i)
        if not word:
            return i
        i += width


def _chars(data: bytes, start: int, end: int) -> int:
    """Characters in ``data[start:end]`` (UTF-8): bytes that are not continuation bytes."""
    seg = data[start:end]
    return len(seg) if seg.isascii() else len(seg.decode("utf-8", "replace"))


class _Engine:
    """Leftmost-longest Aho-Corasick over UTF-8 bytes: ahocorasick-rs, else pyahocorasick.

    Both search bytes, so offsets are byte offsets either way. pyahocorasick only takes ``str``: the
    bytes are passed as latin-1 text (one character per byte), which also keeps its child lookups
    small (at most 256 first bytes instead of thousands of CJK first characters).
    """

    def __init__(self, patterns: list[bytes]):
        self.lengths = [len(p) for p in patterns]
        self._rs = None
        self._auto = None
        try:
            if os.environ.get("MMEDC_KEYWORD_ENGINE", "") == "pyahocorasick":
                raise ImportError("pyahocorasick requested through MMEDC_KEYWORD_ENGINE")
            import ahocorasick_rs
        except ImportError as first:
            try:
                import ahocorasick
            except ImportError:
                raise ImportError(
                    f"keyword matching needs an Aho-Corasick engine ({first}); pip install ahocorasick-rs "
                    "(or pyahocorasick)"
                ) from None
            self.name = "pyahocorasick"
            self._auto = ahocorasick.Automaton()
            for idx, pattern in enumerate(patterns):
                self._auto.add_word(pattern.decode("latin-1"), idx)
            self._auto.make_automaton()
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


def normalize_text(text: str) -> str:
    """The form texts are matched in: lowercased, NFC, typographic apostrophe as ``'``."""
    norm = text.lower()
    if not norm.isascii():
        norm = unicodedata.normalize("NFC", norm)
        if "\u2019" in norm:
            norm = norm.replace("\u2019", "'")
    return norm


def prepare_text(text: str) -> tuple[bytes, int]:
    """``text`` as lists score it: normalised (:func:`normalize_text`), as UTF-8, with its length in characters."""
    if text.isascii():  # the same bytes as normalize_text + encode, lowercased as bytes (5x faster)
        return text.encode("ascii").lower(), len(text)
    norm = normalize_text(text)
    try:
        return norm.encode("utf-8"), len(norm)
    except UnicodeEncodeError:  # lone surrogates (a JSON "\\ud800" escape): scored as U+FFFD
        norm = repair_surrogates(norm)
        return norm.encode("utf-8"), len(norm)


class KeywordMatcher:
    """Scores texts against one language's list. Picklable; the automaton is rebuilt on first use."""

    def __init__(self, keyword_list: KeywordList, context_categories: frozenset[str] | set[str] = frozenset()):
        self.keyword_list = keyword_list
        # context terms (hospital, doctor, nurse...) name where medicine happens, not what it says:
        # they count as keywords but not as content
        self.context = [e.category in context_categories for e in keyword_list.entries]
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
        # distinct keywords are counted per family: the index of the family's first entry
        family_index: dict[str, int] = {}
        for idx, entry in enumerate(entries):
            family_index.setdefault(entry.family or entry.term, idx)
        # per pattern: the family's entry index, characters, UTF-8 bytes, stem, blocker
        families = [family_index[entries[i].family or entries[i].term] for i in (entry_of[f] for f in self._forms)]
        self._family = families
        self._chars = [len(f) for f in self._forms]
        self._bytes = [len(f.encode("utf-8")) for f in self._forms]
        self._stem = [entries[entry_of[f]].stem for f in self._forms]
        self._blocker = [entries[entry_of[f]].blocker for f in self._forms]
        self._context_families = frozenset(f for f in families if self.context[f])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("engine", None)
        return state

    @cached_property
    def engine(self) -> _Engine:
        """The automaton, built on first use (once per process for shared matchers)."""
        return _Engine([f.encode("utf-8") for f in self._forms])

    def _scan_unsegmented(self, data: bytes, nwin: int) -> tuple[list[int], int, int, list[int]]:
        n = len(data)
        hits: list[int] = []
        add = hits.append
        per_window = [0] * nwin
        blocker = self._blocker
        aw = _ASCII_WORD
        for pid, start, end in self.engine.find(data):
            # Latin parts of a CJK term (CT, HIV, B超) still need word boundaries: "ct" in "project"
            if data[start] < 0x80 and start and data[start - 1] < 0x80 and aw[data[start - 1]]:
                continue
            if data[end - 1] < 0x80 and end < n and data[end] < 0x80 and aw[data[end]]:
                continue
            if not blocker[pid]:
                add(pid)
                if nwin > 1:
                    per_window[start * nwin // n] += end - start
        return hits, 0, 0, per_window

    def _scan(self, data: bytes, nwin: int) -> tuple[list[int], int, int, list[int]]:
        """One pass over normalised UTF-8 ``data``: the pattern of every counted match (blockers
        are not counted), the characters that stems and plural endings add to their patterns' lengths,
        the bytes that stems add (a plural ending counts in the density, not in the windows), and the
        matched bytes in each of ``nwin`` equal windows (only when ``nwin > 1``).

        The loop runs once per automaton match, so it does the least per match: one table lookup
        says whether the byte before or after a match is a word character, a separator or part of a
        non-ASCII character (decoded only then), and the counting is left to ``Counter`` after the loop."""
        if self.unsegmented:
            return self._scan_unsegmented(data, nwin)
        n = len(data)
        hits: list[int] = []
        add = hits.append
        extra_chars = extra_bytes = 0
        per_window = [0] * nwin
        kind = _BYTE_KIND
        blocker = self._blocker
        stem_of = self._stem
        suffixes = self.suffixes
        for pid, start, end in self.engine.find(data):
            if blocker[pid]:  # matched so that it consumes its text, never counted
                continue
            if start:  # must start a word
                k = kind[data[start - 1]]
                if not k or (k == 2 and _is_word_before(data, start)):
                    continue
            if end < n:
                k = kind[data[end]]
                if not k or (k == 2 and _char_after(data, end)[0]):  # the word goes on
                    if stem_of[pid]:  # a stem extends over the rest of the word
                        stop = _word_end(data, end)
                        extra_chars += _chars(data, end, stop)
                        extra_bytes += stop - end
                        end = stop
                    else:  # or a plural ending closes it
                        for suf in suffixes:
                            k = end + len(suf)
                            if data.startswith(suf, end) and (k >= n or not _char_after(data, k)[0]):
                                extra_chars += len(suf)
                                break
                        else:
                            continue  # ends inside a word
            add(pid)
            if nwin > 1:
                per_window[start * nwin // n] += end - start
        return hits, extra_chars, extra_bytes, per_window

    def score(
        self, text: str, top_k: int = 10, window_bytes: int = WINDOW_BYTES, window_density: float = WINDOW_DENSITY
    ) -> KeywordScore:
        """Count distinct terms and their density in ``text``.

        ``coverage`` is the share of the text's windows (``window_bytes`` of UTF-8, about a paragraph;
        the text is cut into equal windows) whose own density reaches ``window_density``: a general
        page with one medical paragraph has a high density but a low coverage."""
        if not text:
            return KeywordScore(0, 0.0, 0, 0, 0, [], self.lang, 0.0, 0)
        data, chars = prepare_text(text)
        return self.score_normalized(data, chars, top_k, window_bytes, window_density)

    def score_normalized(
        self, data: bytes, chars: int, top_k: int = 10, window_bytes: int = WINDOW_BYTES,
        window_density: float = WINDOW_DENSITY,
    ) -> KeywordScore:
        """:meth:`score` of a text already normalised (:func:`normalize_text`) and encoded as UTF-8
        (``data``, of ``chars`` characters): several lists can score one text from one normalisation."""
        if not data:
            return KeywordScore(0, 0.0, 0, 0, 0, [], self.lang, 0.0, 0)
        nbytes = len(data)
        nwin = max(1, (nbytes + window_bytes // 2) // window_bytes)  # equal windows of ~window_bytes
        hits, matched, mbytes, per_window = self._scan(data, nwin)
        counts: dict[int, int] = {}
        if hits:
            family, pattern_chars, pattern_bytes = self._family, self._chars, self._bytes
            get = counts.get
            for pid, c in Counter(hits).items():  # distinct patterns, in order of first occurrence
                f = family[pid]
                counts[f] = get(f, 0) + c
                matched += pattern_chars[pid] * c
                mbytes += pattern_bytes[pid] * c
        top = []
        if top_k and counts:
            entries = self.keyword_list.entries
            best = sorted(counts.items(), key=itemgetter(1), reverse=True)[:top_k]  # stable: ties by first occurrence
            top = [(entries[i].term, c) for i, c in best]
        if nwin == 1:
            covered = int(mbytes >= window_density * nbytes)
        else:
            need = window_density * nbytes / nwin
            covered = sum(1 for m in per_window if m >= need)
        distinct = len(counts)
        return KeywordScore(
            distinct, matched / chars, len(hits), matched, chars, top, self.lang, covered / nwin,
            distinct - len(self._context_families.intersection(counts)) if counts else 0,
        )

    def families(self, data: bytes) -> set[int]:
        """The keyword families found in normalised UTF-8 ``data``, as the index of each family's
        first entry in ``keyword_list.entries`` (its category says which section it comes from)."""
        if not data:
            return set()
        family = self._family
        return {family[pid] for pid in set(self._scan(data, 1)[0])}

    def distinct(self, data: bytes) -> int:
        """Distinct keyword families in normalised UTF-8 ``data`` (what a marker list needs)."""
        return len(self.families(data))


_MATCHERS: dict[tuple[str, str], KeywordMatcher] = {}


def get_matcher(lang: str, keyword_dir: str | Path | Traversable | None = None) -> KeywordMatcher:
    """The process-wide matcher for ``lang`` (lists loaded and automaton built once per process)."""
    code = normalize_language(lang) or ""
    key = (code, str(keyword_dir or KEYWORD_DIR))
    matcher = _MATCHERS.get(key)
    if matcher is None:
        matcher = _MATCHERS[key] = KeywordMatcher(
            load_keyword_list(code, keyword_dir), frozenset(load_context_categories(keyword_dir))
        )
    return matcher


def clear_matchers() -> None:
    """Forget the process-wide matchers (the next call loads the lists and builds the automata again)."""
    _MATCHERS.clear()
    _MARKERS.clear()


_MARKERS: dict[tuple[str, str, str], KeywordMatcher | None] = {}


def get_marker_matcher(
    lang: str, kind: str, keyword_dir: str | Path | Traversable | None = None
) -> KeywordMatcher | None:
    """The process-wide matcher of ``lang``'s ``<lang>.<kind>`` markers (``news``, ``research``), or
    ``None`` when the language has no such list."""
    code = normalize_language(lang) or ""
    key = (code, kind, str(keyword_dir or KEYWORD_DIR))
    if key not in _MARKERS:
        markers = load_marker_list(code, kind, keyword_dir)
        _MARKERS[key] = KeywordMatcher(markers) if markers is not None else None
    return _MARKERS[key]


def get_news_matcher(lang: str, keyword_dir: str | Path | Traversable | None = None) -> KeywordMatcher | None:
    """The process-wide matcher of ``lang``'s news markers (``<lang>.news``), or ``None`` without one."""
    return get_marker_matcher(lang, "news", keyword_dir)


def score_text(
    text: str, lang: str, keyword_dir: str | Path | Traversable | None = None, top_k: int = 10
) -> KeywordScore:
    """Score one string with ``lang``'s medical keyword list.

    >>> s = score_text("Metformin is first-line therapy for type 2 diabetes mellitus.", "en")
    >>> s.count >= 2
    True
    """
    return get_matcher(lang, keyword_dir).score(text, top_k=top_k)
