"""Websites: a polite, resumable crawler to WARC, and trafilatura extraction.

Public names are imported lazily, so ``import mmedc.web`` works without the ``web`` extra
(httpx, protego, courlan, warcio, trafilatura) until one of them is used.

- :class:`Crawler`, :class:`CrawlConfig`, :func:`crawl`, :class:`CrawlToWarc` (pipeline step)
- :class:`Scope`, :class:`SiteRule`, :func:`load_seed_file`, :func:`normalize_url`
- :class:`HtmlExtractor` (block), :class:`HtmlFolderReader`, :class:`WarcHtmlReader`
- :class:`RotatingWarcWriter`, :class:`Frontier`, :func:`decode_html`, :func:`serve_site`
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Crawler": "mmedc.web.crawl",
    "CrawlConfig": "mmedc.web.crawl",
    "CrawlToWarc": "mmedc.web.crawl",
    "crawl": "mmedc.web.crawl",
    "extract_links": "mmedc.web.crawl",
    "Scope": "mmedc.web.scope",
    "SiteRule": "mmedc.web.scope",
    "load_seed_file": "mmedc.web.scope",
    "normalize_url": "mmedc.web.scope",
    "HtmlExtractor": "mmedc.web.extract",
    "HtmlFolderReader": "mmedc.web.extract",
    "WarcHtmlReader": "mmedc.web.warc",
    "RotatingWarcWriter": "mmedc.web.warc",
    "Frontier": "mmedc.web.frontier",
    "decode_html": "mmedc.web.encoding",
    "serve_site": "mmedc.web.localserver",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mmedc.web' has no attribute {name!r}")
