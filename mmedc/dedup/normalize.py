"""Text normalisation, language-aware shingling and URL normalisation for deduplication.

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

# scripts written without spaces between words: each character is one unit
_CHAR_SCRIPT_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
)
_UNIT_RE = re.compile(rf"[{_CHAR_SCRIPT_RANGES}]|[^\s{_CHAR_SCRIPT_RANGES}]+")
_DIGITS_RE = re.compile(r"\d+")
_PUNCT_RE = re.compile(r"[\W_]+")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

#: languages shingled by character n-grams (the rest by word n-grams)
CHAR_NGRAM_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu"})


def normalize_text(text: str) -> str:
    """NFKC, case-fold, digits to ``0``, punctuation/symbols to spaces, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DIGITS_RE.sub("0", text)
    text = _PUNCT_RE.sub(" ", text)
    return " ".join(text.split())


def detect_script_language(text: str, sample_chars: int = 2000) -> str | None:
    """Guess ``"ja"`` or ``"zh"`` from the script of the first characters, else ``None``.

    Used only when a document carries no ``language`` metadata: kana means Japanese, a large share
    of Han characters without kana means Chinese.
    """
    sample = text[:sample_chars]
    if not sample:
        return None
    kana = len(_KANA_RE.findall(sample))
    han = len(_HAN_RE.findall(sample))
    letters = sum(1 for c in sample if not c.isspace())
    if letters == 0:
        return None
    if kana >= 0.05 * letters:
        return "ja"
    if han >= 0.3 * letters:
        return "zh"
    return None


def shingle_language(language: str | None, text: str) -> str:
    """``"char"`` or ``"word"``: how a document is shingled, from its language or its script."""
    lang = (language or "").lower().split("-")[0].split("_")[0]
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
