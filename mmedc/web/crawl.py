"""A polite, resumable crawler that writes WARC files.

What comes from well-kept libraries: HTTP from httpx (async, connection pooling, HTTP/1.1
keep-alive), robots.txt (with ``Crawl-delay`` and ``Request-rate``) from protego, URL normalisation
from courlan, sitemap parsing (XML, text, nested indexes) from ``trafilatura.sitemaps``, feed
discovery and parsing from ``trafilatura.feeds``, WARC records from warcio. What is written here is
what none of them does: the persistent frontier (:mod:`mmedc.web.frontier`), the per-site scope rules
(:mod:`mmedc.web.scope`), WARC rotation with commit points (:mod:`mmedc.web.warc`), page-level robots
directives, and the scheduler that ties per-host politeness to them. trafilatura's ``spider`` is not
used as the engine: it fetches one page at a time, keeps its queue in memory and writes no WARC.

Politeness: requests to one host start ``delay`` seconds apart (raised to the robots.txt
``Crawl-delay``/``Request-rate``, capped at ``max_crawl_delay``), at most ``per_host_concurrency``
requests in flight per host; 429 and 5xx answers are retried with exponential backoff, waiting at
least what ``Retry-After`` asks (capped at ``max_backoff``), and the wait holds back the whole host.
Only 2xx HTML responses are stored; every other outcome is recorded in the state database with its
reason and counted in the returned statistics.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import random
import re
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from html import unescape as html_unescape
from pathlib import Path
from typing import Any

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from mmedc.web.encoding import decode_html
from mmedc.web.frontier import DONE, FAILED, SKIPPED, Frontier
from mmedc.web.scope import Scope, SiteRule, normalize_url, url_host
from mmedc.web.warc import HTML_TYPES, RotatingWarcWriter

DEFAULT_USER_AGENT = "mmedc-crawler/0.1 (+https://github.com/mmedc/mmedc; multilingual medical corpus research)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class CrawlConfig:
    """Crawler settings.

    Args:
        user_agent: sent with every request and matched against robots.txt groups.
        concurrency: requests in flight over all hosts.
        per_host_concurrency: requests in flight to one host.
        delay: seconds between two requests to one host (politeness; 0 turns it off).
        obey_robots: fetch and obey robots.txt (disallow rules, crawl-delay, request-rate).
        max_crawl_delay: cap on the robots.txt crawl-delay honoured, in seconds.
        timeout: seconds for connecting and for each read; ``total_timeout`` bounds a whole response.
        retries: further attempts after a 429, 5xx, timeout or connection error.
        backoff: first retry wait in seconds, doubled per attempt (with jitter).
        max_backoff: cap on any wait (backoff or Retry-After); a longer Retry-After gives up the page.
        max_redirects: redirect hops followed (each hop is checked against scope and robots).
        max_bytes: bodies are cut at this size (the WARC record is marked ``WARC-Truncated: length``).
        content_types: MIME types stored; others are closed after the headers and counted.
        sitemaps: discover URLs from sitemaps (robots.txt ``Sitemap:`` lines, else ``/sitemap.xml``).
        max_sitemaps: sitemap documents read per host.
        feeds: read the feeds (RSS, Atom, JSON) announced by seed pages (``trafilatura.feeds``).
        max_feeds: feeds read per seed page.
        max_pages: stop after storing this many pages in total (``None``: no limit).
        warc_max_bytes: start a new WARC file once the current one reaches this size.
        warc_prefix: WARC file names are ``<warc_prefix>-<n:05d>.warc.gz``.
        verify_tls: verify HTTPS certificates.
        progress_every: log a progress line every this many stored pages (0: never).
        retry_failed: on start, queue again the pages that failed in an earlier run (timeouts, 5xx,
            connection errors; not 404s, robots or scope decisions).
    """

    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 16
    per_host_concurrency: int = 2
    delay: float = 1.0
    obey_robots: bool = True
    max_crawl_delay: float = 30.0
    timeout: float = 20.0
    total_timeout: float = 120.0
    retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 120.0
    max_redirects: int = 5
    max_bytes: int = 10 * 2**20
    content_types: tuple[str, ...] = HTML_TYPES
    sitemaps: bool = True
    max_sitemaps: int = 20
    feeds: bool = True
    max_feeds: int = 3
    max_pages: int | None = None
    warc_max_bytes: int = 2**30
    warc_prefix: str = "crawl"
    verify_tls: bool = True
    progress_every: int = 500
    retry_failed: bool = False

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.per_host_concurrency < 1:
            raise ValueError("concurrency and per_host_concurrency must be >= 1")
        if self.delay < 0 or self.timeout <= 0 or self.max_bytes < 1 or self.retries < 0:
            raise ValueError("delay >= 0, timeout > 0, max_bytes >= 1 and retries >= 0 are required")


class _Fail(Exception):
    def __init__(self, reason: str, http_status: int | None = None, skip: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.skip = skip  # True: not an error (robots, scope, content type), never retried


@dataclass
class _Response:
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    http_version: str
    truncated: bool = False

    def header(self, name: str) -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), "")


@dataclass
class _Host:
    name: str
    delay: float
    queue: deque = field(default_factory=deque)
    inflight: int = 0
    last_sent: float = float("-inf")
    not_before: float = 0.0
    robots: Any = None
    ready: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    start_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def next_request(self) -> float:
        return max(self.last_sent + self.delay, self.not_before)

    async def turn(self) -> None:
        """Wait until this host may get the next request: ``delay`` after the previous one actually
        started (measured when the wait ends, so a late request never shortens the next gap), and
        not before a ``Retry-After`` hold. Requests to one host start one at a time, in order."""
        async with self.start_lock:
            while True:
                wait = self.next_request - time.monotonic()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self.last_sent = time.monotonic()

    def hold(self, seconds: float) -> None:
        self.not_before = max(self.not_before, time.monotonic() + seconds)


async def _with_deadline(coro: Any, seconds: float) -> Any:
    """``await coro`` within ``seconds`` (``asyncio.timeout`` where available: no extra task)."""
    if hasattr(asyncio, "timeout"):  # Python 3.11+
        async with asyncio.timeout(seconds):
            return await coro
    return await asyncio.wait_for(coro, seconds)  # pragma: no cover - Python 3.10


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_BASE = re.compile(r"""<base\s[^>]*?href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_META = re.compile(r"<meta\s[^>]*>", re.IGNORECASE)
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


def extract_links(html: str, url: str) -> list[str]:
    """Normalised http(s) targets of the ``<a href>`` links of a page (``<base href>`` honoured).

    Written here rather than with ``courlan.extract_links``, which resolves and filters every link
    with heuristics the scope rules then repeat, at three times the cost; normalisation is still
    courlan's.
    """
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
    return out


def _looks_binary(head: bytes) -> bool:
    """NUL bytes in the first KiB (UTF-16 pages, which have them, start with a byte-order mark)."""
    return not head.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in head[:1024]


class Crawler:
    """Crawl the sites of a :class:`~mmedc.web.scope.Scope` into WARC files under ``output_dir``.

    The state (frontier, seen-set, WARC commit points) lives in ``state_path`` (default
    ``<output_dir>/<warc_prefix>.state.sqlite``); running again with the same paths resumes.

    Args:
        scope: the sites, or a list of seed URLs (then each seed host is a site with default rules).
        output_dir: folder for the WARC files.
        config: :class:`CrawlConfig`.
        state_path: SQLite state file.
        host_filter: crawl only hosts for which this returns True (used to split hosts across tasks).
        transport: an httpx transport (tests and benchmarks can pass a mock or a tuned one).
    """

    def __init__(
        self,
        scope: Scope | Iterable[str],
        output_dir: str | Path,
        config: CrawlConfig | None = None,
        state_path: str | Path | None = None,
        host_filter: Callable[[str], bool] | None = None,
        transport: Any = None,
    ):
        self.scope = scope if isinstance(scope, Scope) else Scope.from_seeds(scope)
        self.config = config or CrawlConfig()
        self.output_dir = Path(output_dir)
        self.state_path = Path(state_path) if state_path else self.output_dir / f"{self.config.warc_prefix}.state.sqlite"
        self.host_filter = host_filter
        self.transport = transport
        self.stats: Counter = Counter()

    # -- entry point -----------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        """Crawl until the frontier is empty (or ``max_pages``); return counts by outcome."""
        return asyncio.run(self.arun())

    async def arun(self) -> dict[str, int]:
        import httpx

        cfg = self.config
        self.frontier = Frontier(self.state_path)
        self.writer = RotatingWarcWriter(
            self.output_dir, cfg.warc_prefix, cfg.warc_max_bytes, frontier=self.frontier,
            warcinfo={"operator-user-agent": cfg.user_agent, "robots": "obey" if cfg.obey_robots else "ignore"},
        )
        self.hosts: dict[str, _Host] = {}
        self.site_done: Counter = Counter()
        self.site_inflight: Counter = Counter()
        self.stored_total = 0
        self.inflight_total = 0
        self._wake_event = asyncio.Event()
        self._inflight_urls: set[str] = set()
        self._stored_targets: set[str] = set()
        self._t0 = time.monotonic()
        try:
            for host, n in self.frontier.done_per_host().items():
                site = self.scope.site_for(f"http://{host}/")
                self.site_done[id(site)] += n
                self.stored_total += n
            seeds = []
            for site in self.scope.sites:
                for s in site.seeds:
                    if self._mine(url_host(s)):
                        seeds.append((s, url_host(s), 0))
            self.frontier.add(seeds)
            if cfg.retry_failed:
                n = self.frontier.requeue_failed()
                if n:
                    logger.info(f"crawl: {n} pages that failed before are queued again")
            # in-memory seen-set (the database stays the reference): a link already known is
            # skipped without a scope check or a database write
            self._seen: set[str] = set(self.frontier.all_urls())
            for url, depth in self.frontier.queued():
                if self._mine(url_host(url)):
                    self._enqueue(url, depth)
            resumed = self.stored_total
            if resumed:
                logger.info(f"crawl resumes from {self.state_path}: {resumed} pages already stored")
            limits = httpx.Limits(max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency)
            timeout = httpx.Timeout(cfg.timeout)
            async with httpx.AsyncClient(
                headers={"User-Agent": cfg.user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"},
                timeout=timeout, limits=limits, follow_redirects=False, verify=cfg.verify_tls,
                transport=self.transport, trust_env=False,
            ) as client:
                self.client = client
                workers = [asyncio.create_task(self._worker()) for _ in range(cfg.concurrency)]
                await asyncio.gather(*workers)
        finally:
            self.writer.close()
            counts = self.frontier.counts()
            self.frontier.close()
        elapsed = time.monotonic() - self._t0
        self.stats["frontier_queued"] = counts["queued"]
        logger.info(
            f"crawl: {self.stats['stored']} pages stored in {elapsed:.1f}s this run "
            f"({counts['done']} in total, {counts['queued']} still queued); outcomes: {dict(self.stats)}"
        )
        return dict(self.stats)

    # -- scheduling ------------------------------------------------------------------------------
    def _mine(self, host: str) -> bool:
        return self.host_filter is None or self.host_filter(host)

    def _host(self, name: str) -> _Host:
        h = self.hosts.get(name)
        if h is None:
            h = self.hosts[name] = _Host(name, self.config.delay)
        return h

    def _enqueue(self, url: str, depth: int) -> None:
        self._host(url_host(url)).queue.append((url, depth))
        self._wake()

    def _wake(self) -> None:
        self._wake_event.set()

    async def _wait(self, timeout: float | None) -> None:
        self._wake_event.clear()
        try:
            await asyncio.wait_for(self._wake_event.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def _site_full(self, site: SiteRule | None) -> bool:
        if site is None or site.max_pages is None:
            return False
        return self.site_done[id(site)] + self.site_inflight[id(site)] >= site.max_pages

    def _global_full(self) -> bool:
        m = self.config.max_pages
        return m is not None and self.stored_total + self.inflight_total >= m

    async def _next(self) -> tuple[str, int, _Host] | None:
        while True:
            best = None
            if not self._global_full():
                for h in self.hosts.values():
                    if not h.queue or h.inflight >= self.config.per_host_concurrency:
                        continue
                    if self._site_full(self.scope.site_for(h.queue[0][0])):
                        continue
                    if best is None or h.next_request < best.next_request:
                        best = h
            if best is None:
                if self.inflight_total == 0:
                    self._wake()  # let the other workers see the end too
                    return None
                await self._wait(None)
                continue
            url, depth = best.queue.popleft()
            best.inflight += 1
            self.inflight_total += 1
            site = self.scope.site_for(url)
            self.site_inflight[id(site)] += 1
            return url, depth, best

    async def _worker(self) -> None:
        while True:
            item = await self._next()
            if item is None:
                return
            url, depth, host = item
            site = self.scope.site_for(url)
            self._inflight_urls.add(url)
            try:
                await self._process(url, depth, host, site)
            except Exception as e:  # one bad page never stops the crawl
                self.stats["error"] += 1
                logger.warning(f"crawl: {url}: unexpected error, page marked failed: {e!r}")
                self.frontier.finish(url, FAILED, f"error: {e!r}"[:500])
            finally:
                self._inflight_urls.discard(url)
                host.inflight -= 1
                self.inflight_total -= 1
                self.site_inflight[id(site)] -= 1
                self._wake()

    # -- per page --------------------------------------------------------------------------------
    async def _process(self, url: str, depth: int, host: _Host, site: SiteRule | None) -> None:
        if url in self._stored_targets:  # stored meanwhile as the target of a redirect
            return
        await self._prepare_host(host, site)
        if not self._allowed(host, url):
            self._finish(url, SKIPPED, "robots_disallowed")
            return
        try:
            resp = await self._fetch(url, host, depth, scope_check=True, content_types=self.config.content_types)
        except _Fail as f:
            self._finish(url, SKIPPED if f.skip else FAILED, f.reason, f.http_status)
            return
        final = resp.url
        if final != url and self.frontier.status_of(final) == DONE:
            self._finish(url, SKIPPED, "duplicate_redirect_target", resp.status)
            return
        mime = resp.header("content-type").split(";", 1)[0].strip().lower()
        html = decode_html(resp.body, resp.header("content-type"))[0] if not mime or mime in HTML_TYPES else ""
        directives = robots_directives(html, resp.header("x-robots-tag")) if self.config.obey_robots else set()
        links = [] if "nofollow" in directives else self._links(html, resp.url, depth, site)
        if depth == 0 and html and self.config.feeds and site is not None and site.feeds and "nofollow" not in directives:
            links += await self._feed_links(html, resp.url, host, {u for u, _, _ in links})
        if "noindex" in directives:
            new = self.frontier.skip_with_links(url, "robots_noindex", resp.status, links)
            self.stats["robots_noindex"] += 1
            self._after_commit(links, new)
            return
        name, start, end = self.writer.write_response(
            final, resp.status, resp.reason, resp.headers, resp.body, resp.http_version, resp.truncated,
            extra={"WARC-Source-URI": url} if final != url else None,
        )
        also = [(final, url_host(final), depth)] if final != url else []
        new = self.frontier.commit_page(url, resp.status, final, name, start, end, links, also)
        self._seen.add(final)
        if final != url:
            self._stored_targets.add(final)
        self._after_commit(links, new)
        self.stats["stored"] += 1
        if resp.truncated:
            self.stats["truncated"] += 1
        self.site_done[id(site)] += 1
        self.stored_total += 1
        every = self.config.progress_every
        if every and self.stats["stored"] % every == 0:
            rate = self.stats["stored"] / max(1e-9, time.monotonic() - self._t0)
            logger.info(f"crawl: {self.stats['stored']} pages stored ({rate:.1f}/s), {self._queued()} queued")

    def _after_commit(self, links: list[tuple[str, str, int]], new: list[tuple[str, int]]) -> None:
        self._seen.update(u for u, _, _ in links)
        for u, d in new:
            if self._mine(url_host(u)):
                self._enqueue(u, d)
            else:
                self.stats["link_other_task"] += 1

    def _queued(self) -> int:
        return sum(len(h.queue) for h in self.hosts.values())

    def _finish(self, url: str, status: int, reason: str, http_status: int | None = None) -> None:
        self.stats[reason] += 1
        self.frontier.finish(url, status, reason, http_status)

    def _links(self, html: str, url: str, depth: int, site: SiteRule | None) -> list[tuple[str, str, int]]:
        if not html or (site is not None and site.max_depth is not None and depth + 1 > site.max_depth):
            return []
        out = {}
        for u in extract_links(html, url):
            if u in self._seen or u in out:
                continue
            reason = self.scope.reject_reason(u, depth + 1)
            if reason:
                self.stats[f"link_{reason}"] += 1
                continue
            out[u] = (u, url_host(u), depth + 1)
        return list(out.values())

    # -- robots and sitemaps ---------------------------------------------------------------------
    def _allowed(self, host: _Host, url: str) -> bool:
        return host.robots is None or host.robots.can_fetch(url, self.config.user_agent)

    async def _prepare_host(self, host: _Host, site: SiteRule | None) -> None:
        if host.ready:
            return
        async with host.lock:
            if host.ready:
                return
            sitemap_urls: list[str] = []
            if self.config.obey_robots:
                sitemap_urls = await self._load_robots(host)
            if self.config.sitemaps and site is not None and site.sitemaps and not self.frontier.sitemaps_done(host.name):
                await self._discover_sitemaps(host, site, sitemap_urls)
                self.frontier.set_sitemaps_done(host.name)
            host.ready = True

    async def _load_robots(self, host: _Host) -> list[str]:
        from protego import Protego

        scheme = "https" if any(s.startswith("https://" + host.name) for s in self.scope.seeds) else "http"
        url = f"{scheme}://{host.name}/robots.txt"
        try:
            resp = await self._fetch(url, host, 0, scope_check=False, content_types=None)
        except _Fail as f:
            if f.http_status is not None and 400 <= f.http_status < 500:
                return []  # no robots.txt: everything allowed (RFC 9309 2.3.1.3)
            # unreachable robots.txt (5xx, timeouts): assume complete disallow (RFC 9309 2.3.1.4)
            logger.warning(f"crawl: {url} unreachable ({f.reason}): host {host.name} treated as disallowed")
            self.stats["robots_unreachable"] += 1
            host.robots = Protego.parse("User-agent: *\nDisallow: /\n")
            return []
        text, _ = decode_html(resp.body, resp.header("content-type"))
        robots = Protego.parse(text)
        host.robots = robots
        ua = self.config.user_agent
        delay = robots.crawl_delay(ua)
        rate = robots.request_rate(ua)
        wanted = max(float(delay or 0), rate.seconds / rate.requests if rate and rate.requests else 0.0)
        if wanted > host.delay:
            host.delay = min(wanted, max(self.config.max_crawl_delay, self.config.delay))
        self.stats["robots_fetched"] += 1
        return list(robots.sitemaps)

    async def _discover_sitemaps(self, host: _Host, site: SiteRule, from_robots: list[str]) -> None:
        from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SitemapObject

        base = next((s for s in site.seeds if url_host(s) == host.name), f"http://{host.name}/")
        root = base.split("/", 3)
        baseurl = "/".join(root[:3])

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

        # target_lang: in sitemaps with hreflang alternates, only the site's language is taken
        sm = _Sitemap(baseurl, host.name, [], site.language, True)
        sm.sitemap_urls = list(reversed(from_robots)) or [f"{baseurl}/sitemap.xml"]
        found = 0
        while sm.sitemap_urls and len(sm.seen) < self.config.max_sitemaps:
            sm.current_url = sm.sitemap_urls.pop()
            sm.seen.add(sm.current_url)
            if url_host(sm.current_url) != host.name or not self._allowed(host, sm.current_url):
                continue
            try:
                resp = await self._fetch(sm.current_url, host, 0, scope_check=False, content_types=None)
            except _Fail:
                continue
            body = resp.body
            if body[:2] == b"\x1f\x8b":
                try:
                    body = gzip.decompress(body)[: self.config.max_bytes]
                except (OSError, EOFError, zlib.error):
                    continue
            sm.content, _ = decode_html(body, resp.header("content-type"))
            before = len(sm.urls)
            sm.process()
            found += len(sm.urls) - before
            sm.sitemap_urls = [s for s in sm.sitemap_urls if s not in sm.seen]
        items = []
        for u in dict.fromkeys(sm.urls):
            reason = self.scope.reject_reason(u, 1)
            if reason:
                self.stats[f"sitemap_{reason}"] += 1
                continue
            items.append((u, url_host(u), 1))
        self.stats["sitemap_urls"] += len(items)
        self._seen.update(u for u, _, _ in items)
        for u, d in self.frontier.add(items):
            if self._mine(url_host(u)):
                self._enqueue(u, d)

    async def _feed_links(self, html: str, page_url: str, host: _Host, known: set[str]) -> list[tuple[str, str, int]]:
        """Links (depth 1, in scope, new) from the feeds a seed page announces."""
        from trafilatura.feeds import FeedParameters, determine_feed
        from trafilatura.feeds import extract_links as feed_links

        origin = "/".join(page_url.split("/", 3)[:3])
        # external=True: trafilatura's own same-domain rule is replaced by mmedc's scope
        params = FeedParameters(origin, host.name, page_url, True)
        out = []
        for feed in determine_feed(html, params)[: self.config.max_feeds]:
            feed = normalize_url(feed)
            if feed is None or url_host(feed) != host.name or not self._allowed(host, feed):
                continue
            try:
                resp = await self._fetch(feed, host, 0, scope_check=False, content_types=None)
            except _Fail:
                continue
            self.stats["feeds_read"] += 1
            text, _ = decode_html(resp.body, resp.header("content-type"))
            for raw in feed_links(text, params):
                u = normalize_url(raw)
                if u is None or u in known or u in self._seen:
                    continue
                reason = self.scope.reject_reason(u, 1)
                if reason:
                    self.stats[f"feed_{reason}"] += 1
                    continue
                known.add(u)
                out.append((u, url_host(u), 1))
        self.stats["feed_urls"] += len(out)
        return out

    # -- HTTP ------------------------------------------------------------------------------------
    async def _fetch(
        self, url: str, host: _Host, depth: int, scope_check: bool, content_types: tuple[str, ...] | None
    ) -> _Response:
        """GET ``url`` following redirects (each hop checked), with retries; raise ``_Fail``."""
        claimed: list[str] = []
        try:
            return await self._follow(url, host, depth, scope_check, content_types, claimed)
        finally:
            self._inflight_urls.difference_update(claimed)

    async def _follow(
        self, url: str, host: _Host, depth: int, scope_check: bool, content_types: tuple[str, ...] | None,
        claimed: list[str],
    ) -> _Response:
        chain = [url]
        current, current_host = url, host
        for hop in range(self.config.max_redirects + 1):
            if hop:
                if scope_check and self.scope.reject_reason(current, depth):
                    raise _Fail("offscope_redirect", skip=True)
                name = url_host(current)
                if name != current_host.name:
                    if scope_check and not self._mine(name):
                        raise _Fail("offscope_redirect", skip=True)
                    current_host = self._host(name)
                    if scope_check:
                        await self._prepare_host(current_host, self.scope.site_for(current))
                if scope_check and not self._allowed(current_host, current):
                    raise _Fail("robots_disallowed_redirect", skip=True)
            resp = await self._request(current, current_host, content_types)
            if 300 <= resp.status < 400:
                location = resp.header("location")
                nxt = normalize_url(location, base=current) if location else None
                if nxt is None:
                    raise _Fail("bad_redirect", resp.status)
                if nxt in chain:
                    raise _Fail("redirect_loop", resp.status)
                if scope_check and (nxt in self._inflight_urls or self.frontier.status_of(nxt) == DONE):
                    raise _Fail("duplicate_redirect_target", resp.status, skip=True)
                if scope_check:
                    self._inflight_urls.add(nxt)
                    claimed.append(nxt)
                chain.append(nxt)
                current = nxt
                continue
            return resp
        raise _Fail("too_many_redirects", 300)

    async def _request(self, url: str, host: _Host, content_types: tuple[str, ...] | None) -> _Response:
        import httpx

        cfg = self.config
        last: _Fail | None = None
        for attempt in range(cfg.retries + 1):
            await host.turn()
            try:
                resp = await _with_deadline(self._get(url, content_types), cfg.total_timeout)
            except (httpx.TimeoutException, asyncio.TimeoutError):
                last = _Fail("timeout")
                wait = None
            except httpx.TransportError as e:
                last = _Fail("connection_error")
                logger.debug(f"crawl: {url}: {e!r}")
                wait = None
            else:
                if resp.status not in RETRY_STATUSES:
                    if resp.status >= 400:
                        raise _Fail(f"http_{resp.status}", resp.status, skip=resp.status in (404, 410))
                    return resp
                last = _Fail(f"http_{resp.status}", resp.status)
                wait = parse_retry_after(resp.header("retry-after"))
                if wait is not None and wait > cfg.max_backoff:
                    self.stats["retry_after_too_long"] += 1
                    raise last
            if attempt == cfg.retries:
                break
            backoff = cfg.backoff * (2**attempt) * (0.75 + random.random() / 2)
            wait = min(cfg.max_backoff, max(wait or 0.0, backoff))
            self.stats[f"retry_{last.reason}"] += 1
            host.hold(wait)
        assert last is not None
        raise last

    async def _get(self, url: str, content_types: tuple[str, ...] | None) -> _Response:
        cfg = self.config
        async with self.client.stream("GET", url) as r:
            status = r.status_code
            headers = list(r.headers.multi_items())
            version = r.http_version or "HTTP/1.1"
            if status >= 300:
                return _Response(url, status, r.reason_phrase, headers, b"", version)
            mime = r.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if content_types is not None and mime and mime not in content_types:
                raise _Fail("content_type", status, skip=True)
            body = bytearray()
            truncated = False
            async for chunk in r.aiter_bytes():
                body += chunk
                if content_types is not None and not mime and len(body) >= 1024 and _looks_binary(body):
                    raise _Fail("binary_content", status, skip=True)
                if len(body) >= cfg.max_bytes:
                    del body[cfg.max_bytes :]
                    truncated = True
                    break
            if content_types is not None and _looks_binary(bytes(body[:1024])):
                raise _Fail("binary_content", status, skip=True)
            if truncated:
                logger.info(f"crawl: {url}: body cut at max_bytes={cfg.max_bytes}")
            return _Response(url, status, r.reason_phrase, headers, bytes(body), version, truncated)


def crawl(
    seeds: Scope | Iterable[str],
    output_dir: str | Path,
    config: CrawlConfig | None = None,
    **config_kwargs: Any,
) -> dict[str, int]:
    """Crawl ``seeds`` (URLs or a :class:`Scope`) into WARC files in ``output_dir``; resumable.

    ``config_kwargs`` override fields of ``config`` (``delay=0.5, max_pages=100``...).
    """
    cfg = replace(config or CrawlConfig(), **config_kwargs)
    return Crawler(seeds, output_dir, cfg).run()


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


class CrawlToWarc(PipelineStep):
    """Pipeline step: crawl a scope into WARC files, one crawler per task.

    Hosts are split across tasks by a stable hash, so each task has its own state file
    (``<output>/_state/<rank>.sqlite``) and WARC prefix (``<warc_prefix>_<rank>``) and tasks never
    fetch the same host. A link to a host owned by another task is followed only if that host is
    also a seed host (counted as ``link_other_task`` otherwise). Documents passed in are passed on.
    """

    name = "🕸 Crawl to WARC"
    type = "🕷 - CRAWLER"
    _requires_dependencies = ["httpx", "protego", "courlan", "warcio", "trafilatura"]

    def __init__(self, scope: Scope | Iterable[str], output_folder: str | Path, config: CrawlConfig | None = None):
        super().__init__()
        self.scope = scope if isinstance(scope, Scope) else Scope.from_seeds(scope)
        self.output_folder = Path(output_folder)
        self.config = config or CrawlConfig()

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        cfg = replace(self.config, warc_prefix=f"{self.config.warc_prefix}_{rank:05d}")

        def mine(host: str) -> bool:
            return world_size == 1 or _stable_hash(host) % world_size == rank

        crawler = Crawler(
            self.scope, self.output_folder, cfg, state_path=self.output_folder / "_state" / f"{rank:05d}.sqlite",
            host_filter=mine,
        )
        with self.track_time():
            stats = crawler.run()
        for key, value in sorted(stats.items()):
            self.stat_update(key, value=value)
