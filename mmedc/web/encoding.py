"""Decode HTML bytes to text: declared charset first, then detection.

Browsers and trafilatura's own ``decode_file`` disagree on details; for a corpus what matters is that a
page declared as Shift_JIS, windows-1251 or GB2312 is decoded with that codec, that a wrong or missing
declaration falls back to detection instead of mojibake, and that the codec used is recorded. Order:

1. a byte-order mark (authoritative, as in the WHATWG encoding standard);
2. strict UTF-8 when the page has non-ASCII bytes and they all form valid UTF-8: text in another
   encoding almost never does, while servers declaring the wrong charset (often ``iso-8859-1``, which
   "decodes" anything into mojibake) are common;
3. the HTTP ``Content-Type`` charset, when given and when it decodes the bytes without error;
4. a ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` declaration in the first 4 KiB;
5. ``charset_normalizer`` detection (a well-kept detector already pulled in by httpx/requests);
6. UTF-8 with replacement characters, as a last resort, so a page is never silently dropped.

Labels are mapped as browsers do (``iso-8859-1``/``ascii`` -> ``cp1252``, ``gb2312``/``gbk`` ->
``gb18030``, ``shift_jis`` -> ``cp932``), since servers routinely declare the narrower codec while
sending the wider one.
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""",
    re.IGNORECASE,
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)

# WHATWG-style supersets: what servers that declare the first label really send
_SUPERSETS = {
    "ascii": "cp1252",
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "iso8859_9": "cp1254",
    "tis_620": "cp874",
}

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def normalize_charset(label: str | None) -> str | None:
    """Python codec name for a charset label (``None`` when unknown), with browser supersets applied."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'").lower()).name
    except LookupError:
        return None
    name = name.replace("-", "_")
    return _SUPERSETS.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a ``Content-Type`` header value, if any."""
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return m.group(1) if m else None


def declared_meta_charset(data: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` tag within its first 4 KiB."""
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii", "ignore") if m else None


def _try(data: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode ``data`` (an HTML page) and return ``(text, codec used)``.

    Args:
        data: the raw page bytes.
        declared: the charset from the HTTP ``Content-Type`` header (label or full header value).
    """
    if isinstance(data, str):
        return data, "str"
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace"), codec
    if not data.isascii():
        text = _try(data, "utf-8")
        if text is not None:
            return text, "utf_8"
    if declared and "=" in declared:
        declared = charset_from_content_type(declared)
    for label in (declared, declared_meta_charset(data)):
        codec = normalize_charset(label)
        # a page declared as UTF-16 in <meta> but without a BOM is almost always mislabelled
        if codec and not codec.startswith("utf_16"):
            text = _try(data, codec)
            if text is not None:
                return text, codec
    if data.isascii():
        return data.decode("ascii"), "ascii"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:65536]).best()
    except Exception:  # pragma: no cover - detector failures must never drop a page
        best = None
    if best is not None:
        codec = normalize_charset(best.encoding) or best.encoding
        text = _try(data, codec)
        if text is not None:
            return text, codec
        return data.decode(codec, errors="replace"), codec
    return data.decode("utf-8", errors="replace"), "utf_8-replace"
