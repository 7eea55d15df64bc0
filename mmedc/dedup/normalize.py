"""Text normalisation, language-aware shingling and URL normalisation for deduplication.

Scripts, the unsegmented languages and the zh/ja rule come from :mod:`mmedc.lang`.

Why hand-written: datatrove's ``simplify_text`` + word tokenizers need one language per run (spaCy
or jieba models, ~77 documents/s), which misses most Chinese and Japanese near-duplicates on mixed
input. Here the *script* decides what a unit is (a character for Han, kana, Hangul-free CJK and
Thai-like scripts, a word elsewhere) and the *language* decides the n-gram size, so a mixed corpus
is shingled correctly in one pass with two compiled regular expressions.

Normalisation (before shingling and before the exact-text hash): Unicode NFKC, case folding, every
run of digits becomes ``0``, punctuation, symbols and underscores become spaces, whitespace runs
collapse to one space.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mmedc.lang import CHAR_SCRIPT_RANGES, UNSEGMENTED_LANGUAGES, normalize_language, script_language

_UNIT_RE = re.compile(rf"[{CHAR_SCRIPT_RANGES}]|[^\s{CHAR_SCRIPT_RANGES}]+")
_DIGITS_RE = re.compile(r"\d+")
_PUNCT_RE = re.compile(r"[\W_]+")

#: languages shingled by character n-grams (the rest by word n-grams): the table's unsegmented languages
CHAR_NGRAM_LANGUAGES = UNSEGMENTED_LANGUAGES


def hash64(data: bytes) -> int:
    """64-bit xxh3 hash of ``data`` (xxhash comes with the ``dedup`` extra, imported on first use)."""
    global _xxh3_64
    if _xxh3_64 is None:
        import xxhash

        _xxh3_64 = xxhash.xxh3_64_intdigest
    return _xxh3_64(data)


_xxh3_64 = None


def normalize_text(text: str) -> str:
    """NFKC, case-fold, digits to ``0``, punctuation/symbols to spaces, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DIGITS_RE.sub("0", text)
    text = _PUNCT_RE.sub(" ", text)
    return " ".join(text.split())


def detect_script_language(text: str, sample_chars: int = 2000) -> str | None:
    """``"ja"``, ``"zh"`` or ``None`` by script alone (:func:`mmedc.lang.script_language`, the one zh/ja rule).

    Used only when a document carries no ``language`` metadata.
    """
    return script_language(text, sample_chars=sample_chars)[0]


def shingle_language(language: str | None, text: str) -> str:
    """``"char"`` or ``"word"``: how a document is shingled, from its language or its script."""
    lang = normalize_language(language) or ""
    if not lang:
        lang = detect_script_language(text) or ""
    return "char" if lang in CHAR_NGRAM_LANGUAGES else "word"


def units(normalized: str) -> list[str]:
    """Split normalised text into units: single characters of space-less scripts, words elsewhere."""
    return _UNIT_RE.findall(normalized)


def ngrams(items: list[str], n: int, sep: str = " ") -> list[str]:
    """The n-grams of ``items`` joined by ``sep``; a sequence shorter than ``n`` is one shingle.

    Keeping short documents as one shingle (instead of none, as datatrove does) means two identical
    three-word documents still match.
    """
    if not items:
        return []
    if len(items) <= n:
        return [sep.join(items)]
    return [sep.join(items[i : i + n]) for i in range(len(items) - n + 1)]


def iter_shingle_batches(
    text: str,
    language: str | None = None,
    word_ngram: int = 5,
    char_ngram: int = 5,
    chunk_chars: int = 1_000_000,
    normalized: str | None = None,
) -> Iterator[list[str]]:
    """Yield the document's shingles in batches, bounding memory on huge documents.

    The text is normalised and split into units in windows of about ``chunk_chars`` characters cut at
    whitespace; the last ``n - 1`` units of a window are carried into the next, so the shingle set is
    the same as for one pass (up to shingles repeated across batches, which MinHash ignores).
    ``normalized``: the caller's ``normalize_text(text)`` when it has it (documents up to ``chunk_chars``).
    """
    n = char_ngram if shingle_language(language, text) == "char" else word_ngram
    if len(text) <= chunk_chars:
        yield ngrams(units(normalize_text(text) if normalized is None else normalized), n)
        return
    carry: list[str] = []
    start = 0
    emitted = False
    while start < len(text):
        end = min(len(text), start + chunk_chars)
        if end < len(text):
            cut = text.rfind(" ", start + chunk_chars // 2, end)
            end = cut if cut > start else end
        window = carry + units(normalize_text(text[start:end]))
        start = end
        if len(window) >= n:
            yield [" ".join(window[i : i + n]) for i in range(len(window) - n + 1)]
            emitted = True
            carry = window[-(n - 1) :] if n > 1 else []
        else:
            carry = window
    if not emitted and carry:
        yield [" ".join(carry)]


def shingle_set(text: str, language: str | None = None, word_ngram: int = 5, char_ngram: int = 5) -> set[str]:
    """All shingles of a document as a set (for exact Jaccard in tests and benchmarks)."""
    out: set[str] = set()
    for batch in iter_shingle_batches(text, language, word_ngram, char_ngram):
        out.update(batch)
    return out


_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|sessionid|phpsessid|sid)$", re.I)


def normalize_url(url: str | None) -> str | None:
    """Canonical form of an http(s) URL for URL dedupe, or ``None`` for anything else.

    Lower-cases scheme and host, drops ``www.``, default ports, the fragment, tracking parameters
    (``utm_*``, ``fbclid``...) and a trailing slash, and sorts the query. File paths (textbook
    pages share their PDF's path) are never URL-deduplicated.
    """
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not _TRACKING_PARAMS.match(k)))
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("http", netloc, path, query, ""))
