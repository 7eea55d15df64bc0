"""The crawl scheduler and its pipeline step: a polite, resumable crawler that writes WARC files.

The crawler is split by concern: HTTP, retries and bounded reads in :mod:`mmedc.web.http`, robots.txt,
sitemaps and feeds in :mod:`mmedc.web.discover`, URL normalisation and link extraction in
:mod:`mmedc.web.links`, the persistent frontier in :mod:`mmedc.web.frontier`, scope rules in
:mod:`mmedc.web.scope`, WARC output in :mod:`mmedc.web.warc`. This module holds the configuration,
the scheduler that ties per-host politeness to them (:class:`Crawler`), and :class:`CrawlToWarc`.
trafilatura's ``spider`` is not used as the engine: it fetches one page at a time, keeps its queue in
memory and writes no WARC. The file is long (about 550 lines) because the scheduler is one class whose
parts (queues, politeness, redirects with their scope and robots checks, commits) share its state;
split further they would pass that state around instead.

Politeness: requests to one host start ``delay`` seconds apart (raised to the robots.txt
``Crawl-delay``/``Request-rate``, capped at ``max_crawl_delay``), at most ``per_host_concurrency``
requests in flight per host; 429 and 5xx answers are retried with exponential backoff, waiting at
least what ``Retry-After`` asks (capped at ``max_backoff``), and the wait holds back the whole host.
Only 2xx HTML responses are stored; every other outcome is recorded in the state database with its
reason and counted in the returned statistics.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from mmedc.web.discover import feed_urls, load_robots, sitemap_urls
from mmedc.web.encoding import decode_html
from mmedc.web.frontier import DONE, FAILED, SKIPPED, Frontier
from mmedc.web.http import (
    DEFAULT_USER_AGENT,
    RETRY_STATUSES,  # noqa: F401 - kept importable from here for compatibility
    Fetcher,
    FetchError,
    HostClock,
    Response,
    make_client,
    parse_retry_after,  # noqa: F401 - kept importable from here for compatibility
)
from mmedc.web.links import extract_links, normalize_url, robots_directives, url_host
from mmedc.web.scope import Scope, SiteRule
from mmedc.web.warc import HTML_TYPES, RotatingWarcWriter


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
        max_bytes: bodies are cut at this size, counted while they are read and while their
            ``Content-Encoding`` is inflated (the WARC record is marked ``WARC-Truncated: length``);
            sitemaps and feeds are inflated to at most this size too.
        content_types: MIME types stored; others are closed after the headers and counted.
        sitemaps: discover URLs from sitemaps (robots.txt ``Sitemap:`` lines, else ``/sitemap.xml``).
        max_sitemaps: sitemap documents read per host.
        max_sitemap_urls: page URLs taken from the sitemaps of one host (the rest is counted as
            ``sitemap_urls_cut`` and left to link discovery).
        max_links_per_page: links of one page followed (the rest counted as ``links_cut``): a page of
            a million links cannot hold up the crawl for seconds.
        feeds: read the feeds (RSS, Atom, JSON) announced by seed pages (``trafilatura.feeds``).
        max_feeds: feeds read per seed page.
        max_pages: stop after storing this many pages in total (``None``: no limit).
        warc_max_bytes: start a new WARC file once the current one reaches this size.
        warc_prefix: WARC file names are ``<warc_prefix>-<n:05d>.warc.gz``.
        verify_tls: verify HTTPS certificates.
        progress_every: log a progress line every this many stored pages (0: never).
        retry_failed: on start, queue again the pages that failed in an earlier run (timeouts, 5xx,
            connection errors, an unreachable robots.txt; not 404s, robots or scope decisions). Each
            page's attempts are counted in the state (``attempts``).
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
    max_sitemap_urls: int = 100_000
    max_links_per_page: int = 10_000
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


@dataclass
class _Host(HostClock):
    """A host's politeness clock plus the scheduler's view of it: its queue, robots.txt, readiness."""

    queue: deque = field(default_factory=deque)
    inflight: int = 0
    robots: Any = None
    robots_unreachable: bool = False
    ready: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


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
            async with make_client(cfg, self.transport) as client:
                self.client = client
                self.fetcher = Fetcher(client, cfg, self.stats)
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
            if host.robots_unreachable:  # a failure, not a decision: --retry-failed tries it again
                self._finish(url, FAILED, "robots_unreachable")
            else:
                self._finish(url, SKIPPED, "robots_disallowed")
            return
        try:
            resp = await self._fetch(url, host, depth, scope_check=True, content_types=self.config.content_types)
        except FetchError as f:
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
        cap = self.config.max_links_per_page
        found = extract_links(html, url, limit=cap + 1)
        if len(found) > cap:
            self.stats["links_cut"] += 1
            logger.info(f"crawl: {url}: more than max_links_per_page={cap} links, the rest not followed")
            del found[cap:]
        for u in found:
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

    def _robots_scheme(self, host: _Host) -> str:
        return "https" if any(s.startswith("https://" + host.name) for s in self.scope.seeds) else "http"

    async def _prepare_host(self, host: _Host, site: SiteRule | None) -> None:
        if host.ready:
            return
        async with host.lock:
            if host.ready:
                return
            sitemap_urls: list[str] = []
            if self.config.obey_robots:
                sitemap_urls = await load_robots(
                    self._fetch_resource, host, self._robots_scheme(host), self.config, self.stats
                )
            # with robots.txt unreachable nothing is read: the sitemaps wait for a run that reaches it
            if (self.config.sitemaps and site is not None and site.sitemaps and not host.robots_unreachable
                    and not self.frontier.sitemaps_done(host.name)):
                await self._discover_sitemaps(host, site, sitemap_urls)
                self.frontier.set_sitemaps_done(host.name)
            host.ready = True

    async def _fetch_resource(self, url: str, host: _Host, max_bytes: int | None = None) -> Response:
        """A robots.txt, sitemap or feed: no scope check, any content type, redirects followed."""
        return await self._fetch(url, host, 0, scope_check=False, content_types=None, max_bytes=max_bytes)

    async def _discover_sitemaps(self, host: _Host, site: SiteRule, from_robots: list[str]) -> None:
        urls = await sitemap_urls(
            self._fetch_resource, host, site, from_robots, self.config, self.stats, self._allowed
        )
        items = []
        for u in urls:
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
        out = []
        for u in await feed_urls(self._fetch_resource, html, page_url, host, self.config, self.stats,
                                          self._allowed):
            if u in known or u in self._seen:
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
        self, url: str, host: _Host, depth: int, scope_check: bool, content_types: tuple[str, ...] | None,
        max_bytes: int | None = None,
    ) -> Response:
        """GET ``url`` following redirects (each hop checked), with retries; raise ``FetchError``."""
        claimed: list[str] = []
        try:
            return await self._follow(url, host, depth, scope_check, content_types, claimed, max_bytes)
        finally:
            self._inflight_urls.difference_update(claimed)

    async def _follow(
        self, url: str, host: _Host, depth: int, scope_check: bool, content_types: tuple[str, ...] | None,
        claimed: list[str], max_bytes: int | None = None,
    ) -> Response:
        chain = [url]
        current, current_host = url, host
        for hop in range(self.config.max_redirects + 1):
            if hop:
                if scope_check and self.scope.reject_reason(current, depth):
                    raise FetchError("offscope_redirect", skip=True)
                name = url_host(current)
                if name != current_host.name:
                    if scope_check and not self._mine(name):
                        raise FetchError("offscope_redirect", skip=True)
                    current_host = self._host(name)
                    if scope_check:
                        await self._prepare_host(current_host, self.scope.site_for(current))
                if scope_check and not self._allowed(current_host, current):
                    if current_host.robots_unreachable:
                        raise FetchError("robots_unreachable")
                    raise FetchError("robots_disallowed_redirect", skip=True)
            resp = await self.fetcher.request(current, current_host, content_types, max_bytes)
            if 300 <= resp.status < 400:
                location = resp.header("location")
                nxt = normalize_url(location, base=current) if location else None
                if nxt is None:
                    raise FetchError("bad_redirect", resp.status)
                if nxt in chain:
                    raise FetchError("redirect_loop", resp.status)
                if scope_check and (nxt in self._inflight_urls or self.frontier.status_of(nxt) == DONE):
                    raise FetchError("duplicate_redirect_target", resp.status, skip=True)
                if scope_check:
                    self._inflight_urls.add(nxt)
                    claimed.append(nxt)
                chain.append(nxt)
                current = nxt
                continue
            return resp
        raise FetchError("too_many_redirects", 300)


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
