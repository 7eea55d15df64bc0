"""Websites: a polite, resumable crawler to WARC, and trafilatura extraction.

Public names are imported lazily (:mod:`mmedc._lazy`), so ``import mmedc.web`` works without the
``web`` extra (httpx, protego, courlan, warcio, trafilatura) until one of them is used.

- :class:`Crawler`, :class:`CrawlConfig`, :func:`crawl`, :class:`CrawlToWarc` (pipeline step)
- :class:`Scope`, :class:`SiteRule`, :func:`load_seed_file`, :func:`normalize_url`, :func:`extract_links`
- :class:`HtmlExtractor` (block), :class:`HtmlFolderReader`, :class:`WarcHtmlReader`
- :class:`RotatingWarcWriter`, :class:`Frontier`, :func:`decode_html`, :func:`serve_site`

Modules: ``crawl`` (scheduler and step), ``http`` (bounded fetch, retries), ``discover`` (robots.txt,
sitemaps, feeds), ``links`` (URL normalisation, link extraction), ``frontier``, ``scope``, ``warc``,
``extract``, ``encoding``, ``localserver``.
"""

from __future__ import annotations

from mmedc._lazy import lazy_exports

_EXPORTS = {
    "Crawler": "mmedc.web.crawl",
    "CrawlConfig": "mmedc.web.crawl",
    "CrawlToWarc": "mmedc.web.crawl",
    "crawl": "mmedc.web.crawl",
    "extract_links": "mmedc.web.links",
    "Scope": "mmedc.web.scope",
    "SiteRule": "mmedc.web.scope",
    "load_seed_file": "mmedc.web.scope",
    "normalize_url": "mmedc.web.links",
    "HtmlExtractor": "mmedc.web.extract",
    "HtmlFolderReader": "mmedc.web.extract",
    "WarcHtmlReader": "mmedc.web.warc",
    "RotatingWarcWriter": "mmedc.web.warc",
    "Frontier": "mmedc.web.frontier",
    "decode_html": "mmedc.web.encoding",
    "serve_site": "mmedc.web.localserver",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
