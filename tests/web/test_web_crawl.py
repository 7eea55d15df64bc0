"""Crawler against local loopback servers: politeness, faults, scope, limits, resume after SIGKILL."""

from __future__ import annotations

import gzip
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from webservers import Recorder, make_server, warc_pages
from webservers import page as _page

from mmedc.web.crawl import CrawlConfig, Crawler, parse_retry_after
from mmedc.web.frontier import Frontier
from mmedc.web.scope import Scope, SiteRule

pytestmark = pytest.mark.timeout(120)


# --------------------------------------------------------------------------------------------------
# one crawl of a site full of faults, shared by the tests below
# --------------------------------------------------------------------------------------------------
HUGE = 100 * 2**20
CRAWL_DELAY = 0.1
LINKS = [
    "/ok/1", "/ok/2", "/missing", "/ratelimited", "/flaky", "/loop-a", "/chain/0", "/moved", "/slow",
    "/huge", "/image.png", "/octet", "/binary-as-html", "/broken", "/cp1251", "/private/secret",
    "/offsite-redirect", "/gone",
]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    rec, other_rec = Recorder(), Recorder()
    other, other_base = make_server(lambda h, p, n: h.send(200, _page("other", [])), other_rec)

    def routes(h, path, n):
        if path == "/robots.txt":
            body = f"User-agent: *\nDisallow: /private/\nCrawl-delay: {CRAWL_DELAY}\n".encode()
            return h.send(200, body, "text/plain")
        if path == "/sitemap.xml":
            return h.send(404, b"no")
        if path == "/":
            return h.send(200, _page("home", LINKS + [other_base + "/offsite-link"]))
        if path.startswith("/ok/"):
            return h.send(200, _page("ok " + path, ["/", "/ok/1#section", "/ok/./2"]))
        if path == "/missing":
            return h.send(404, b"not found")
        if path == "/gone":
            return h.send(410, b"gone")
        if path == "/ratelimited":
            if n == 1:
                return h.send(429, b"slow down", headers=[("Retry-After", "1")])
            return h.send(200, _page("rate limited page", []))
        if path == "/flaky":
            if n == 1:
                return h.send(500, b"oops")
            return h.send(200, _page("flaky page", []))
        if path == "/loop-a":
            return h.send(302, b"", headers=[("Location", "/loop-b")])
        if path == "/loop-b":
            return h.send(302, b"", headers=[("Location", "/loop-a")])
        if path.startswith("/chain/"):
            i = int(path.rsplit("/", 1)[1])
            return h.send(302, b"", headers=[("Location", f"/chain/{i + 1}")])
        if path == "/moved":
            return h.send(301, b"", headers=[("Location", "/ok/1")])
        if path == "/offsite-redirect":
            return h.send(302, b"", headers=[("Location", other_base + "/landing")])
        if path == "/slow":
            time.sleep(3)
            return h.send(200, _page("slow", []))
        if path == "/huge":
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(HUGE))
            h.end_headers()
            chunk = b"<p>" + b"x" * 65530 + b"</p>"
            sent = 0
            try:
                while sent < HUGE:
                    h.wfile.write(chunk[: HUGE - sent])
                    sent += len(chunk)
            except OSError:
                pass
            return None
        if path == "/image.png":
            return h.send(200, b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, "image/png")
        if path == "/octet":
            return h.send(200, b"\x00\x01" * 1000, "application/octet-stream")
        if path == "/binary-as-html":
            return h.send(200, b"\x00\x01\x02" * 1000, "text/html")
        if path == "/broken":
            return h.send(200, b"<html><body><p>Unclosed paragraph about asthma <div><table><tr><td>cell", "text/html")
        if path == "/cp1251":
            return h.send(200, "<html><body><p>Грипп — инфекционное заболевание.</p></body></html>".encode("cp1251"),
                          "text/html; charset=windows-1251")
        return h.send(404, b"?")

    server, base = make_server(routes, rec)
    out = tmp_path_factory.mktemp("crawl")
    config = CrawlConfig(
        delay=0.0, timeout=0.5, total_timeout=2.0, retries=2, backoff=0.05, max_backoff=5, max_redirects=3,
        max_bytes=2**20, concurrency=4, per_host_concurrency=2, progress_every=0,
    )
    t0 = time.monotonic()
    stats = Crawler([base + "/"], out, config).run()
    elapsed = time.monotonic() - t0
    yield {"stats": stats, "rec": rec, "other": other_rec, "base": base, "out": out, "elapsed": elapsed,
           "pages": warc_pages(out)}
    server.shutdown()
    other.shutdown()


def test_stores_good_pages_once_with_normalised_urls(faulty):
    pages, base = faulty["pages"], faulty["base"]
    for u in ("/", "/ok/1", "/ok/2", "/ratelimited", "/flaky", "/broken", "/cp1251"):
        assert len(pages[base + u]) == 1, u
    # '/ok/1#section' and '/ok/./2' normalise to already-seen URLs; '/moved' redirects to /ok/1
    assert faulty["rec"].count("/ok/1") == 1
    assert faulty["rec"].count("/ok/2") == 1
    assert faulty["base"] + "/moved" not in faulty["pages"]
    assert faulty["stats"]["stored"] == 8 == sum(len(v) for v in faulty["pages"].values())


def test_robots_disallow_is_obeyed(faulty):
    assert faulty["rec"].count("/private/secret") == 0
    assert faulty["stats"]["robots_disallowed"] == 1
    assert faulty["rec"].count("/robots.txt") == 1


def test_crawl_delay_spaces_requests(faulty):
    times = sorted(t for path, ts in faulty["rec"].hits.items() for t in ts)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # robots.txt asks for CRAWL_DELAY between requests even though the crawl was configured with 0
    # (requests leave on schedule; arrival can jitter by a few milliseconds)
    assert min(gaps) >= CRAWL_DELAY * 0.3
    assert sorted(gaps)[len(gaps) // 2] >= CRAWL_DELAY * 0.9


def test_404_and_410_are_recorded_not_stored(faulty):
    assert faulty["stats"]["http_404"] >= 1 and faulty["stats"]["http_410"] == 1
    assert faulty["base"] + "/missing" not in faulty["pages"]
    assert faulty["rec"].count("/missing") == 1  # a 404 is not retried


def test_429_waits_for_retry_after(faulty):
    hits = faulty["rec"].hits["/ratelimited"]
    assert len(hits) == 2
    assert hits[1] - hits[0] >= 1.0  # Retry-After: 1 although backoff is 0.05 s


def test_500_then_success_is_retried(faulty):
    assert faulty["rec"].count("/flaky") == 2
    assert b"flaky page" in faulty["pages"][faulty["base"] + "/flaky"][0][1]


def test_redirect_loop_and_limit(faulty):
    st = faulty["stats"]
    assert st["redirect_loop"] == 1
    assert st["too_many_redirects"] == 1
    assert faulty["rec"].count("/chain/4") == 0  # max_redirects=3: /chain/0..3 fetched, no more


def test_offscope_links_and_redirects_are_never_followed(faulty):
    assert sum(len(v) for v in faulty["other"].hits.values()) == 0
    assert faulty["stats"]["offscope_redirect"] == 1
    assert faulty["stats"]["link_offscope_host"] >= 1


def test_slow_server_times_out(faulty):
    assert faulty["stats"]["timeout"] == 1
    assert faulty["rec"].count("/slow") == 3  # first try + 2 retries
    assert faulty["base"] + "/slow" not in faulty["pages"]


def test_huge_response_is_cut_at_the_limit(faulty):
    (status, body, headers), = faulty["pages"][faulty["base"] + "/huge"]
    assert status == "200" and len(body) == 2**20
    assert headers.get_header("WARC-Truncated") == "length"
    assert faulty["stats"]["truncated"] == 1


def test_binary_and_non_html_content_is_skipped(faulty):
    st, pages, base = faulty["stats"], faulty["pages"], faulty["base"]
    assert st["content_type"] == 2  # image/png, application/octet-stream
    assert st["binary_content"] == 1  # NUL bytes sent as text/html
    for u in ("/image.png", "/octet", "/binary-as-html"):
        assert base + u not in pages


def test_broken_and_non_utf8_html_is_kept_and_decoded(faulty):
    from mmedc.web.warc import WarcHtmlReader

    docs = {d.metadata["url"]: d for d in WarcHtmlReader(str(faulty["out"]))()}
    assert "Грипп" in docs[faulty["base"] + "/cp1251"].text
    assert docs[faulty["base"] + "/cp1251"].metadata["charset"] == "cp1251"
    assert "Unclosed paragraph about asthma" in docs[faulty["base"] + "/broken"].text


def test_user_agent_is_sent():
    rec = Recorder()
    seen = []

    def routes(h, path, n):
        seen.append(h.headers.get("User-Agent"))
        h.send(200, _page("x", []) if path != "/robots.txt" else b"", "text/html" if path != "/robots.txt" else "text/plain")

    server, base = make_server(routes, rec)
    try:
        with pytest.MonkeyPatch.context():
            import tempfile

            with tempfile.TemporaryDirectory() as d:
                Crawler([base + "/"], d, CrawlConfig(delay=0, user_agent="TestBot/9.9 (+mailto:x@y)", sitemaps=False,
                                                     progress_every=0)).run()
    finally:
        server.shutdown()
    assert seen and all(ua == "TestBot/9.9 (+mailto:x@y)" for ua in seen)


# --------------------------------------------------------------------------------------------------
# scope rules, sitemaps, limits
# --------------------------------------------------------------------------------------------------
def _site(n_pages: int, rec: Recorder, sitemap: bool = False, delay_s: float = 0.0):
    def routes(h, path, n):
        if delay_s:
            time.sleep(delay_s)
        if path == "/robots.txt":
            body = b"User-agent: *\nAllow: /\n" + (f"Sitemap: {h.server.base}/sitemap.xml.gz\n".encode() if sitemap else b"")
            return h.send(200, body, "text/plain")
        if path == "/sitemap.xml.gz" and sitemap:
            locs = "".join(f"<url><loc>{h.server.base}/orphan/{i}</loc></url>" for i in range(3))
            xml = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
            return h.send(200, gzip.compress(xml.encode()), "application/x-gzip")
        if path == "/":
            return h.send(200, _page("home", [f"/p/{i}" for i in range(n_pages)] + ["/health/a", "/news/b", "/health/c?print=1"]))
        if path.startswith("/p/"):
            i = int(path.rsplit("/", 1)[1])
            return h.send(200, _page(path, [f"/p/{(i + 1) % n_pages}", f"/deep/{i}"]))
        if path.startswith("/deep/"):
            return h.send(200, _page(path, []))
        return h.send(200, _page(path, ["/deep/x/" + path.strip("/").replace("/", "-")]))

    server, base = make_server(routes, rec)
    server.base = base
    return server, base


def test_scope_rules_prefix_include_exclude_depth(tmp_path):
    rec = Recorder()
    server, base = _site(3, rec)
    try:
        site = SiteRule(seeds=[base + "/"], path_prefixes=["/", "/health/"], exclude=[r"print=1"],
                        include=[r"/$|/health/|/p/"], max_depth=1, sitemaps=False)
        stats = Crawler(Scope([site]), tmp_path, CrawlConfig(delay=0, progress_every=0)).run()
    finally:
        server.shutdown()
    fetched = set(rec.hits)
    assert {"/", "/p/0", "/p/1", "/p/2", "/health/a"} <= fetched
    assert "/news/b" not in fetched  # not included
    assert "/health/c?print=1" not in fetched  # excluded
    assert not any(p.startswith("/deep/") for p in fetched)  # depth 2 > max_depth
    assert stats["link_not_included"] >= 1 and stats["link_excluded"] == 1


def test_sitemap_discovery_and_max_pages(tmp_path):
    rec = Recorder()
    server, base = _site(20, rec, sitemap=True)
    try:
        site = SiteRule(seeds=[base + "/"], max_pages=6)
        stats = Crawler(Scope([site]), tmp_path, CrawlConfig(delay=0, progress_every=0)).run()
    finally:
        server.shutdown()
    assert stats["sitemap_urls"] == 3
    assert stats["stored"] == 6
    assert sum(1 for p in rec.hits if p.startswith("/orphan/")) >= 1  # only known from the gzipped sitemap


def test_retry_after_parsing():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after(http_date) <= 31


def test_warc_rotation_by_size(tmp_path):
    rec = Recorder()
    server, base = _site(30, rec)
    try:
        cfg = CrawlConfig(delay=0, warc_max_bytes=2000, sitemaps=False, progress_every=0)
        stats = Crawler([base + "/"], tmp_path, cfg).run()
    finally:
        server.shutdown()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) > 3
    pages = warc_pages(tmp_path)
    assert sum(len(v) for v in pages.values()) == stats["stored"]
    assert all(len(v) == 1 for v in pages.values())


# --------------------------------------------------------------------------------------------------
# SIGKILL and resume
# --------------------------------------------------------------------------------------------------
CRAWL_SCRIPT = textwrap.dedent(
    """
    import sys
    from mmedc.web.crawl import CrawlConfig, Crawler
    if __name__ == "__main__":
        cfg = CrawlConfig(delay=0, concurrency=4, per_host_concurrency=4, sitemaps=False, progress_every=0)
        Crawler([sys.argv[1] + "/"], sys.argv[2], cfg).run()
    """
)


def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path):
    n_pages = 60
    rec = Recorder()
    server, base = _site(n_pages, rec, delay_s=0.03)
    out = tmp_path / "warc"
    script = tmp_path / "crawl.py"
    script.write_text(CRAWL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    try:
        proc = subprocess.Popen([sys.executable, str(script), base, str(out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sum(rec.count(f"/p/{i}") for i in range(n_pages)) < 15 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        db = sqlite3.connect(str(out / "crawl.state.sqlite"))
        committed = {u for (u,) in db.execute("SELECT url FROM urls WHERE status=1")}
        db.close()
        assert 0 < len(committed) < n_pages + 1, "the kill should land mid-crawl"
        before = {p: rec.count(p) for p in list(rec.hits)}

        stats = Crawler([base + "/"], out, CrawlConfig(delay=0, concurrency=4, per_host_concurrency=4,
                                                       sitemaps=False, progress_every=0)).run()
    finally:
        server.shutdown()

    pages = warc_pages(out)
    expected = {base + "/"} | {f"{base}/p/{i}" for i in range(n_pages)} | {f"{base}/deep/{i}" for i in range(n_pages)}
    expected |= {base + "/health/a", base + "/news/b", base + "/health/c?print=1"}
    expected |= {f"{base}/deep/x/{p}" for p in ("health-a", "news-b", "health-c?print=1")}
    assert set(pages) >= expected - {base + "/health/c?print=1"}
    assert all(len(v) == 1 for v in pages.values()), "a page stored twice"
    # pages committed before the kill were never requested again
    for u in committed:
        path = u[len(base):]
        assert rec.count(path) == before.get(path, 0) == 1, path
    # only the pages in flight at the kill (at most the concurrency) were requested twice
    twice = [p for p, ts in rec.hits.items() if len(ts) > 1 and p != "/robots.txt"]
    assert len(twice) <= 4
    assert stats["stored"] == len(pages) - len(committed)


def test_frontier_persists_between_instances(tmp_path):
    f = Frontier(tmp_path / "s.sqlite")
    assert [u for u, _ in f.add([("http://a/1", "a", 0), ("http://a/2", "a", 1), ("http://a/1", "a", 0)])] == [
        "http://a/1", "http://a/2"]
    f.close()
    g = Frontier(tmp_path / "s.sqlite")
    assert list(g.queued()) == [("http://a/1", 0), ("http://a/2", 1)]
    assert g.counts()["queued"] == 2
    g.close()


def test_frontier_opens_a_state_written_before_attempts_were_counted(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(str(path))
    db.executescript(
        "CREATE TABLE urls (seq INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL UNIQUE, host TEXT NOT NULL, "
        "depth INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0, http_status INTEGER, reason TEXT, "
        "final_url TEXT, warc_file TEXT, warc_offset INTEGER, updated REAL);"
        "INSERT INTO urls(url, host, depth, status, reason) VALUES ('http://a/1', 'a', 0, 3, 'timeout');"
    )
    db.commit()
    db.close()
    f = Frontier(path)
    assert f.attempts_of("http://a/1") == 0 and f.requeue_failed() == 1
    f.finish("http://a/1", 3, "timeout")
    assert f.attempts_of("http://a/1") == 1
    f.close()


def test_failed_pages_are_retried_only_when_asked(tmp_path):
    rec = Recorder()
    state = {"down": True}

    def routes(h, path, n):
        if path == "/robots.txt":
            return h.send(404, b"")
        if path == "/fragile" and state["down"]:
            return h.send(503, b"down", headers=[("Retry-After", "3600")])
        return h.send(200, _page(path, ["/fragile"]))

    server, base = make_server(routes, rec)
    cfg = CrawlConfig(delay=0, sitemaps=False, progress_every=0, max_backoff=10)
    try:
        first = Crawler([base + "/"], tmp_path, cfg).run()
        assert first["retry_after_too_long"] == 1 and first["stored"] == 1
        state["down"] = False
        assert Crawler([base + "/"], tmp_path, cfg).run().get("stored", 0) == 0
        again = Crawler([base + "/"], tmp_path, CrawlConfig(delay=0, sitemaps=False, progress_every=0,
                                                            retry_failed=True)).run()
    finally:
        server.shutdown()
    assert again["stored"] == 1
    assert rec.count("/fragile") == 2 and rec.count("/") == 1
    f = Frontier(tmp_path / "crawl.state.sqlite")
    assert f.attempts_of(base + "/fragile") == 2 and f.attempts_of(base + "/") == 1
    f.close()


def test_crawl_step_splits_hosts_between_tasks(tmp_path):
    from mmedc.web.crawl import CrawlToWarc, _stable_hash

    recs = [Recorder(), Recorder()]
    servers = [make_server(lambda h, p, n: h.send(200, _page(p, [])) if p != "/robots.txt" else h.send(404, b""), r)
               for r in recs]
    bases = [b for _, b in servers]
    try:
        step = CrawlToWarc([b + "/" for b in bases], tmp_path, CrawlConfig(delay=0, sitemaps=False, progress_every=0))
        for rank in range(2):
            list(step.run(None, rank=rank, world_size=2))
    finally:
        for s, _ in servers:
            s.shutdown()
    owners = [_stable_hash(b.split("://", 1)[1]) % 2 for b in bases]
    for rank in range(2):
        files = list(tmp_path.glob(f"crawl_{rank:05d}-*.warc.gz"))
        urls = set()
        for f in files:
            with open(f, "rb") as fh:
                urls |= {r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh) if r.rec_type == "response"}
        assert urls == {bases[i] + "/" for i in range(2) if owners[i] == rank}
        assert (tmp_path / "_state" / f"{rank:05d}.sqlite").exists()
    assert all(r.count("/") == 1 for r in recs)


def test_per_host_concurrency_is_a_ceiling(tmp_path):
    rec = Recorder()
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def routes(h, path, n):
        if path == "/robots.txt":
            return h.send(404, b"")
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        links = [f"/p/{i}" for i in range(12)] if path == "/" else []
        return h.send(200, _page(path, links))

    server, base = make_server(routes, rec)
    try:
        cfg = CrawlConfig(delay=0, concurrency=8, per_host_concurrency=2, sitemaps=False, progress_every=0)
        stats = Crawler([base + "/"], tmp_path, cfg).run()
    finally:
        server.shutdown()
    assert stats["stored"] == 13
    assert state["max"] == 2


def test_meta_robots_and_x_robots_tag(tmp_path):
    rec = Recorder()

    def routes(h, path, n):
        if path == "/robots.txt":
            return h.send(404, b"")
        if path == "/":
            return h.send(200, _page("home", ["/noindex", "/nofollow", "/xrobots"]))
        if path == "/noindex":
            body = _page("noindex", ["/via-noindex"]).replace(b"<head>", b'<head><meta name="robots" content="noindex">')
            return h.send(200, body)
        if path == "/nofollow":
            body = _page("nofollow", ["/hidden"]).replace(b"<head>", b"<head><meta content='nofollow' name='robots'>")
            return h.send(200, body)
        if path == "/xrobots":
            return h.send(200, _page("x", []), headers=[("X-Robots-Tag", "noindex")])
        return h.send(200, _page(path, []))

    server, base = make_server(routes, rec)
    try:
        stats = Crawler([base + "/"], tmp_path, CrawlConfig(delay=0, sitemaps=False, progress_every=0)).run()
    finally:
        server.shutdown()
    pages = warc_pages(tmp_path)
    assert set(pages) == {base + "/", base + "/nofollow", base + "/via-noindex"}
    assert stats["robots_noindex"] == 2
    assert rec.count("/hidden") == 0 and rec.count("/via-noindex") == 1


def test_feeds_announced_by_seed_pages_are_read(tmp_path):
    """trafilatura's feed parser (through courlan) only accepts real domain names, so this test serves
    a made-up domain from an in-process httpx transport instead of a socket."""
    import httpx

    seen = []
    rss = ('<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
           "<item><title>a</title><link>https://health.example.org/news/measles-outbreak</link></item>"
           "<item><title>b</title><link>https://health.example.org/news/flu-season</link></item>"
           "<item><title>c</title><link>https://elsewhere.example.com/story</link></item></channel></rss>")
    home = ('<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>'
            '<body><a href="/about">About</a></body></html>')

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if request.url.path == "/feed.xml":
            return httpx.Response(200, text=rss, headers={"Content-Type": "application/rss+xml"})
        body = home if request.url.path == "/" else f"<html><body><p>{request.url.path}</p></body></html>"
        return httpx.Response(200, text=body, headers={"Content-Type": "text/html; charset=utf-8"})

    cfg = CrawlConfig(delay=0, sitemaps=False, progress_every=0)
    stats = Crawler(["https://health.example.org/"], tmp_path, cfg, transport=httpx.MockTransport(handler)).run()
    pages = warc_pages(tmp_path)
    assert stats["feeds_read"] == 1 and stats["feed_urls"] == 2 and stats["feed_offscope_host"] == 1
    assert {"https://health.example.org/news/measles-outbreak", "https://health.example.org/news/flu-season",
            "https://health.example.org/about"} < set(pages)
    assert "/story" not in seen


def test_state_summary_explains_every_outcome(faulty):
    from mmedc.web.frontier import summarize

    s = summarize(faulty["out"] / "crawl.state.sqlite", list_status="failed")
    reasons = {(r["status"], r["reason"]) for r in s["reasons"]}
    assert {("skipped", "robots_disallowed"), ("skipped", "http_404"), ("failed", "timeout"),
            ("failed", "redirect_loop"), ("skipped", "content_type")} <= reasons
    assert {u["url"] for u in s["urls"] if u["reason"] == "timeout"} == {faulty["base"] + "/slow"}
    assert s["counts"]["queued"] == 0
