"""Where a crawl learns about pages besides links: robots.txt, sitemaps and feeds.

Parsing is the libraries': robots.txt by protego (``Crawl-delay``, ``Request-rate``, ``Sitemap:``),
sitemaps (XML, plain text, nested indexes, ``hreflang`` alternates) by ``trafilatura.sitemaps``, feeds
(RSS, Atom, JSON, as announced by a page) by ``trafilatura.feeds``. Written here: fetching through the
crawler's polite, bounded HTTP (:mod:`mmedc.web.http`) instead of trafilatura's own downloads, and the
bounds a hostile server cannot push past. Every document is read to at most the crawl's ``max_bytes``
(robots.txt to 512 KiB, as RFC 9309 allows); a gzipped sitemap or feed is inflated in bounded steps
(:func:`mmedc.web.http.gunzip_bounded`), whatever its name (``/sitemap.xml`` holding gzip bytes takes
the same path); a host gives at most ``max_sitemaps`` sitemap documents and ``max_sitemap_urls`` URLs.
Each cut is counted: ``robots_cut``, ``sitemap_cut``, ``sitemap_urls_cut``, ``feed_cut``.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from datatrove.utils.logging import logger

from mmedc.web.encoding import decode_html
from mmedc.web.http import FetchError, Response, gunzip_bounded
from mmedc.web.links import normalize_url, url_host, url_origin

ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 2.5: crawlers must parse at least 500 KiB

#: ``fetch(url, host, max_bytes=None)``: a bounded GET through the crawl's politeness, or FetchError
Fetch = Callable[..., Awaitable[Response]]

_DISALLOW_ALL = "User-agent: *\nDisallow: /\n"


def _text(resp: Response, limit: int, stats: Any, kind: str) -> str | None:
    """The decoded text of a sitemap or feed response, inflated if gzipped, at most ``limit`` bytes."""
    try:
        body, cut = gunzip_bounded(resp.body, limit)
    except zlib.error:
        stats[f"{kind}_bad_gzip"] += 1
        logger.warning(f"crawl: {resp.url}: corrupt gzip {kind}, skipped")
        return None
    if cut or resp.truncated:
        stats[f"{kind}_cut"] += 1
        logger.warning(f"crawl: {resp.url}: {kind} cut at {limit} bytes")
    return decode_html(body, resp.header("content-type"))[0]


async def load_robots(fetch: Fetch, host: Any, scheme: str, config: Any, stats: Any) -> list[str]:
    """Fetch and parse ``robots.txt`` into ``host.robots`` (raising ``host.delay`` to its crawl-delay);
    return its ``Sitemap:`` URLs. Unreachable (5xx, timeouts): the host is disallowed for this run
    and ``host.robots_unreachable`` is set (RFC 9309 2.3.1.4); missing (4xx): everything allowed."""
    from protego import Protego

    url = f"{scheme}://{host.name}/robots.txt"
    try:
        resp = await fetch(url, host, max_bytes=ROBOTS_MAX_BYTES)
    except FetchError as f:
        if f.http_status is not None and 400 <= f.http_status < 500:
            return []  # no robots.txt: everything allowed (RFC 9309 2.3.1.3)
        logger.warning(f"crawl: {url} unreachable ({f.reason}): host {host.name} treated as disallowed")
        stats["robots_unreachable_hosts"] += 1
        host.robots = Protego.parse(_DISALLOW_ALL)
        host.robots_unreachable = True
        return []
    if resp.truncated:
        stats["robots_cut"] += 1
    text, _ = decode_html(resp.body, resp.header("content-type"))
    robots = Protego.parse(text)
    host.robots = robots
    ua = config.user_agent
    delay = robots.crawl_delay(ua)
    rate = robots.request_rate(ua)
    wanted = max(float(delay or 0), rate.seconds / rate.requests if rate and rate.requests else 0.0)
    if wanted > host.delay:
        host.delay = min(wanted, max(config.max_crawl_delay, config.delay))
    stats["robots_fetched"] += 1
    return list(robots.sitemaps)


def _iter_sitemap_locs(content: str, handle: Callable[[str], None]) -> None:
    """``<loc>`` URLs of an XML sitemap, as trafilatura's ``extract_sitemap_links`` takes them, but
    parsed incrementally (``lxml.etree.iterparse``, each element freed once read) instead of as one
    tree: a 10 MiB sitemap of short entries is a tree of about 180 MiB, and this stays near its size."""
    from lxml import etree
    from trafilatura.settings import MAX_LINKS
    from trafilatura.sitemaps import SITEMAP_NAMESPACE

    wanted = {"loc", f"{{{SITEMAP_NAMESPACE}}}loc"}
    events = etree.iterparse(io.BytesIO(content.encode("utf-8")), events=("end",), recover=True,
                             resolve_entities=False, no_network=True, huge_tree=False)
    seen = 0
    try:
        for _, el in events:
            if el.tag in wanted and len(el) == 0 and el.text and el.text.startswith("http"):
                handle(el.text)
                seen += 1
                if seen >= MAX_LINKS:
                    break
            el.clear()
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError:
        return


async def sitemap_urls(
    fetch: Fetch, host: Any, site: Any, from_robots: list[str], config: Any, stats: Any,
    allowed: Callable[[Any, str], bool],
) -> list[str]:
    """Page URLs (normalised, distinct, in order) from the sitemaps of ``host``: the ``Sitemap:``
    lines of robots.txt, else ``/sitemap.xml``, following sitemap indexes, within the bounds above."""
    from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SitemapObject

    base = next((s for s in site.seeds if url_host(s) == host.name), f"http://{host.name}/")
    baseurl = url_origin(base)

    class _Sitemap(SitemapObject):
        # trafilatura's handler drops hosts courlan cannot parse as a domain (IPs, localhost);
        # scope is decided by mmedc's rules instead, so only the sitemap/page split is kept
        def handle_link(self, link: str) -> None:
            if link == self.current_url:
                return
            u = normalize_url(link, base=self.base_url)
            if u is None:
                return
            (self.sitemap_urls if DETECT_SITEMAP_LINK.search(u) else self.urls).append(u)

        def extract_sitemap_links(self) -> None:
            _iter_sitemap_locs(self.content, self.handle_link)

    # target_lang: in sitemaps with hreflang alternates, only the site's language is taken
    sm = _Sitemap(baseurl, host.name, [], site.language, True)
    sm.sitemap_urls = list(reversed(from_robots)) or [f"{baseurl}/sitemap.xml"]
    found: dict[str, None] = {}
    max_urls = config.max_sitemap_urls
    while sm.sitemap_urls and len(sm.seen) < config.max_sitemaps:
        sm.current_url = sm.sitemap_urls.pop()
        sm.seen.add(sm.current_url)
        if url_host(sm.current_url) != host.name or not allowed(host, sm.current_url):
            continue
        try:
            resp = await fetch(sm.current_url, host)
        except FetchError:
            continue
        text = _text(resp, config.max_bytes, stats, "sitemap")
        if text is None:
            continue
        sm.content = text
        sm.urls = []
        sm.process()
        sm.content = ""
        for u in sm.urls:
            found[u] = None
        sm.urls = []
        if len(found) >= max_urls:
            if len(found) > max_urls or sm.sitemap_urls:
                stats["sitemap_urls_cut"] += 1
                logger.warning(f"crawl: {host.name}: sitemaps give more than max_sitemap_urls={max_urls} URLs; "
                               "the rest is not read")
            break
        # children not read yet, the next ones to read last in the list (it is a stack)
        remaining = config.max_sitemaps - len(sm.seen)
        pending = [s for s in sm.sitemap_urls if s not in sm.seen]
        sm.sitemap_urls = pending[-remaining:] if remaining > 0 else []
    return list(found)[:max_urls]


async def feed_urls(
    fetch: Fetch, html: str, page_url: str, host: Any, config: Any, stats: Any, allowed: Callable[[Any, str], bool],
) -> list[str]:
    """Normalised URLs listed by the feeds (at most ``max_feeds``) that a page announces on its own host."""
    from trafilatura.feeds import FeedParameters, determine_feed
    from trafilatura.feeds import extract_links as feed_links

    # external=True: trafilatura's own same-domain rule is replaced by mmedc's scope
    params = FeedParameters(url_origin(page_url), host.name, page_url, True)
    out: list[str] = []
    for feed in determine_feed(html, params)[: config.max_feeds]:
        feed = normalize_url(feed)
        if feed is None or url_host(feed) != host.name or not allowed(host, feed):
            continue
        try:
            resp = await fetch(feed, host)
        except FetchError:
            continue
        text = _text(resp, config.max_bytes, stats, "feed")
        if text is None:
            continue
        stats["feeds_read"] += 1
        for raw in feed_links(text, params):
            u = normalize_url(raw)
            if u is not None:
                out.append(u)
    return out
