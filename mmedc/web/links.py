"""URLs and links of pages: the crawler's URL normalisation, ``<a href>`` extraction, page robots directives.

Normalisation builds on courlan (lower-cased scheme and host, default port dropped, query parameters
sorted and tracking parameters such as ``utm_*`` removed); on top of it mmedc drops the fragment and
resolves ``.``/``..`` path segments, so that ``/a/../b#top`` and ``/b`` are one page in the seen-set.
The result is still a URL to fetch. (:func:`mmedc.dedup.normalize.normalize_url` is a different thing:
a dedupe *key* that also drops ``www.``, the scheme and a trailing slash, and is never fetched.)

Link extraction is two regular expressions rather than ``courlan.extract_links``, which resolves and
filters every link with heuristics the scope rules then repeat, at three times the cost.
"""

from __future__ import annotations

import functools
import posixpath
import re
from html import unescape as html_unescape
from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan


def normalize_url(url: str, base: str | None = None) -> str | None:
    """Canonical form of ``url`` (resolved against ``base``), or ``None`` when it is not http(s)."""
    url = url.strip()
    if not url:
        return None
    if base is not None and not url.startswith(("http://", "https://")):
        if url[0] == "/" and url[1:2] != "/":  # root-relative, the common case: no full urljoin needed
            url = _origin(base) + url
        else:
            try:
                url = urljoin(base, url)
            except ValueError:
                return None
    return _normalize_absolute(url)


@functools.lru_cache(maxsize=4096)
def _origin(url: str) -> str:
    """``scheme://netloc`` of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@functools.lru_cache(maxsize=65536)
def _normalize_absolute(url: str) -> str | None:
    # cached: pages of one site link to the same URLs over and over (menus, footers)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path or "/"
    if "." in path:
        trailing = path.endswith("/")
        path = posixpath.normpath(path)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        if trailing and not path.endswith("/"):
            path += "/"
    try:
        norm = courlan.normalize_url(urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")), strict=False)
    except (ValueError, UnicodeError):
        return None
    return norm.split("#", 1)[0]


def url_host(url: str) -> str:
    """The lower-cased ``host[:port]`` of a URL (port kept: two ports are two servers)."""
    return urlsplit(url).netloc.lower()


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL."""
    return "/".join(url.split("/", 3)[:3])


# the attributes before href never span a "<": a tag left open ("<a <a <a ...", no ">") then costs
# one step per tag instead of a scan to the end of the page for each (quadratic: 40,000 of them took
# a minute and held up the whole crawl)
_HREF = re.compile(r"""<a\s[^<>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_BASE = re.compile(r"""<base\s[^<>]*?href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_META = re.compile(r"<meta\s[^<>]*>", re.IGNORECASE)
_META_ROBOTS = re.compile(r"""\bname\s*=\s*["']?\s*robots\b""", re.IGNORECASE)
_META_CONTENT = re.compile(r"""\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def robots_directives(html: str, x_robots_tag: str = "") -> set[str]:
    """``noindex`` / ``nofollow`` directives of a page: ``<meta name="robots">`` and ``X-Robots-Tag``
    (values addressed to a named crawler, ``googlebot: noindex``, are ignored; ``none`` is both)."""
    found: set[str] = set()
    values = []
    for tag in _META.findall(html[:16384]):
        if _META_ROBOTS.search(tag):
            m = _META_CONTENT.search(tag)
            if m:
                values.append(m.group(1) or m.group(2) or m.group(3) or "")
    for part in x_robots_tag.split(","):
        if ":" not in part.split("=")[0]:
            values.append(part)
    for value in values:
        for d in value.lower().replace(";", ",").split(","):
            d = d.strip()
            if d == "none":
                found |= {"noindex", "nofollow"}
            elif d in ("noindex", "nofollow"):
                found.add(d)
    return found


def extract_links(html: str, url: str, limit: int | None = None) -> list[str]:
    """Normalised http(s) targets of the ``<a href>`` links of a page (``<base href>`` honoured), the
    first ``limit`` of them when given."""
    m = _BASE.search(html[:8192])
    base = normalize_url(m.group(1), base=url) or url if m else url
    out = []
    for match in _HREF.finditer(html):
        raw = match.group(1) or match.group(2) or match.group(3) or ""
        if not raw or raw[0] == "#" or raw.startswith(("javascript:", "mailto:", "tel:", "data:")):
            continue
        u = normalize_url(html_unescape(raw), base=base)
        if u is not None:
            out.append(u)
            if limit is not None and len(out) >= limit:
                break
    return out
