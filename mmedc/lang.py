"""The one language table: codes, aliases, tesseract codes, scripts, CJK ranges and the zh/ja rule.

Every module that names a language, a script range or decides Chinese against Japanese reads it
from here, so the six MMedC languages are written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CHAR_SCRIPT_RANGES",
    "CJK_PUNCT_RANGES",
    "CJK_RANGES",
    "HAN_RANGES",
    "HAN_RE",
    "KANA_RANGES",
    "KANA_RE",
    "LANGUAGES",
    "Language",
    "MMEDC_LANGUAGES",
    "UNSEGMENTED_LANGUAGES",
    "normalize_language",
    "resolve_language",
    "script_language",
    "tesseract_code",
]


@dataclass(frozen=True)
class Language:
    """One supported language: its ISO 639-1 code and how other tools name and write it."""

    code: str  # ISO 639-1
    name: str
    tesseract: str  # traineddata name
    apt_package: str  # Debian package with the traineddata
    script: str  # dominant script: Latin, Cyrillic, Han, Japanese
    segmented: bool  # words separated by spaces


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English", "eng", "tesseract-ocr-eng", "Latin", True),
        Language("zh", "Chinese", "chi_sim", "tesseract-ocr-chi-sim", "Han", False),
        Language("ja", "Japanese", "jpn", "tesseract-ocr-jpn", "Japanese", False),
        Language("fr", "French", "fra", "tesseract-ocr-fra", "Latin", True),
        Language("ru", "Russian", "rus", "tesseract-ocr-rus", "Cyrillic", True),
        Language("es", "Spanish", "spa", "tesseract-ocr-spa", "Latin", True),
    )
}

#: the six MMedC languages, in the paper's order
MMEDC_LANGUAGES: tuple[str, ...] = tuple(LANGUAGES)

#: languages written without spaces between words (characters are the units)
UNSEGMENTED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu"})

# other spellings -> ISO 639-1: regional tags, ISO 639-2/3 and tesseract names
_ALIASES: dict[str, str] = {
    "zh-cn": "zh", "zh-tw": "zh", "zh-hk": "zh", "zh-hans": "zh", "zh-hant": "zh", "zho": "zh", "chi": "zh",
    "chi-sim": "zh", "chi-tra": "zh", "cmn": "zh",
    "jp": "ja", "jpn": "ja", "jpn-vert": "ja",
    "eng": "en", "fra": "fr", "fre": "fr", "rus": "ru", "spa": "es",
}
_TESSERACT_TO_ISO = {lang.tesseract: lang.code for lang in LANGUAGES.values()} | {"chi_tra": "zh", "jpn_vert": "ja"}

# --- scripts -------------------------------------------------------------------------------------
KANA_RANGES = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # hiragana, katakana (+ext, half-width)
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ext A, unified, compatibility
CJK_PUNCT_RANGES = "\u3000-\u303f\uff00-\uffef"  # CJK symbols/punctuation, full-width forms
#: Han, kana and CJK punctuation: the characters of Chinese and Japanese text
CJK_RANGES = KANA_RANGES + HAN_RANGES + CJK_PUNCT_RANGES
#: every script written without spaces: one character is one unit (dedupe shingles, token estimates)
CHAR_SCRIPT_RANGES = (
    KANA_RANGES + HAN_RANGES + "\U00020000-\U0003134f"  # CJK extensions B-G
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
)
KANA_RE = re.compile(f"[{KANA_RANGES}]")
HAN_RE = re.compile(f"[{HAN_RANGES}]")


def normalize_language(code: str | None) -> str | None:
    """Map ``zh-CN``, ``zh_Hant``, ``JA``, ``jpn``, ``chi_sim`` ... to ``zh``/``ja``/...; ``None`` stays ``None``.

    Lenient: an unknown code comes back as its lowercased primary subtag (``pt-BR`` -> ``pt``), so a
    language outside the table still passes through. Use :func:`resolve_language` where an unknown
    code must be an error.
    """
    if code is None:
        return None
    raw = str(code).strip()
    if not raw:
        return None
    if raw in _TESSERACT_TO_ISO:
        return _TESSERACT_TO_ISO[raw]
    key = raw.lower().replace("_", "-")
    if key in _ALIASES:
        return _ALIASES[key]
    return key.split("-")[0]


def resolve_language(code: str, supported: tuple[str, ...] | frozenset[str] | None = None) -> str:
    """ISO 639-1 code of ``code`` (ISO or tesseract spelling); ``ValueError`` naming it when unknown."""
    lang = normalize_language(code)
    allowed = tuple(supported) if supported is not None else MMEDC_LANGUAGES
    if not lang or lang not in allowed:
        raise ValueError(
            f"unknown language {code!r}: expected one of {', '.join(allowed)} "
            f"(ISO 639-1) or a tesseract name ({', '.join(LANGUAGES[c].tesseract for c in allowed if c in LANGUAGES)})"
        )
    return lang


def tesseract_code(code: str) -> str:
    """Tesseract traineddata name for a language: ``"en"`` -> ``"eng"``; tesseract names pass through.

    ``"chi_sim+eng"`` style combinations are converted part by part; an unknown code is a ``ValueError``.
    """
    parts = []
    for part in str(code).split("+"):
        if part in _TESSERACT_TO_ISO or part == "osd":
            parts.append(part)
            continue
        lang = normalize_language(part)
        if lang not in LANGUAGES:
            raise ValueError(
                f"unknown OCR language {part!r}: expected an ISO 639-1 code ({', '.join(LANGUAGES)}) "
                f"or a tesseract name ({', '.join(sorted(_TESSERACT_TO_ISO))})"
            )
        parts.append(LANGUAGES[lang].tesseract)
    return "+".join(parts)


def _range_pairs(ranges: str) -> list[tuple[int, int]]:
    """``"a-zA-Z"``-style range strings (as in the ``*_RANGES`` constants) as ``[(lo, hi), ...]``."""
    if len(ranges) % 3 or any(ranges[i] != "-" for i in range(1, len(ranges), 3)):
        raise ValueError(f"not a list of ranges: {ranges!r}")
    return [(ord(ranges[i]), ord(ranges[i + 2])) for i in range(0, len(ranges), 3)]


# runs of kana / Han: removing them with one ``sub`` counts them without a string object per character
_KANA_RUN_RE = re.compile(f"[{KANA_RANGES}]+")
_HAN_RUN_RE = re.compile(f"[{HAN_RANGES}]+")
_CJK_NON_LETTER_RE: re.Pattern[str] | None = None


def _cjk_non_letters() -> re.Pattern[str]:
    """The code points of the kana and Han ranges that ``str.isalpha`` does not call letters (marks
    such as ゛ and ・, unassigned compatibility ideographs), for this Python's Unicode tables; built once,
    on first use (a scan of about 28,000 code points)."""
    global _CJK_NON_LETTER_RE
    if _CJK_NON_LETTER_RE is None:
        chars = [
            chr(c) for lo, hi in _range_pairs(KANA_RANGES + HAN_RANGES) for c in range(lo, hi + 1) if not chr(c).isalpha()
        ]
        _CJK_NON_LETTER_RE = re.compile("[" + "".join(re.escape(c) for c in chars) + "]" if chars else "(?!)")
    return _CJK_NON_LETTER_RE


def script_language(
    text: str, sample_chars: int = 5000, min_cjk_share: float = 0.5, min_kana_share: float = 0.05
) -> tuple[str | None, float]:
    """The zh/ja rule: ``("ja" | "zh" | None, cjk_share)`` decided by script alone.

    Japanese text carries kana, Chinese text does not. Over the first ``sample_chars`` characters,
    when Han + kana make at least ``min_cjk_share`` of the letters (``str.isalpha``), the text is
    Japanese if kana are at least ``min_kana_share`` of Han + kana, else Chinese. Other text gives
    ``(None, share)``.

    Counted without a Python step per character (it runs on every CJK line language ID reads): kana
    and Han by deleting their runs with one regex ``sub`` each, letters as the Han and kana (less
    the few code points of their ranges that are not letters) plus the letters of what is left.
    """
    sample = text[:sample_chars]
    if sample.isascii():
        return None, 0.0
    no_kana = _KANA_RUN_RE.sub("", sample)
    kana = len(sample) - len(no_kana)
    rest = _HAN_RUN_RE.sub("", no_kana)
    cjk = kana + len(no_kana) - len(rest)
    if cjk == 0:
        return None, 0.0
    letters = cjk - len(_cjk_non_letters().findall(sample)) + sum(map(str.isalpha, rest))
    share = cjk / max(1, letters)
    if share < min_cjk_share:
        return None, share
    return ("ja" if kana >= min_kana_share * cjk else "zh"), share
