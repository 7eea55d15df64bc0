"""Hostile input for the crawler and the WARC reader: decompression bombs of several shapes on
loopback servers, truncated and oversized WARC records, a SIGKILL in the middle of a WARC write,
failed seeds retried with ``retry_failed``."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import pytest
from webservers import Recorder, make_server, page, warc_pages

from mmedc.web.crawl import CrawlConfig, Crawler
from mmedc.web.frontier import FAILED, Frontier
from mmedc.web.http import Decoder, gunzip_bounded
from mmedc.web.warc import RotatingWarcWriter, WarcHtmlReader

pytestmark = pytest.mark.timeout(180)

LIMIT = 2**20  # the crawl's max_bytes in these tests
MEMORY_BOUND = 48 * 2**20  # peak Python allocations allowed for a crawl meeting a bomb (gigabytes unbounded)


# --------------------------------------------------------------------------------------------------
# bombs
# --------------------------------------------------------------------------------------------------
def _gzip_member(data: bytes, level: int = 9) -> bytes:
    return gzip.compress(data, level)


def single_member_bomb(mib: int, fill: bytes = b"\x00") -> bytes:
    """One gzip member inflating to ``mib`` MiB of ``fill``."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = fill * (2**20 // len(fill))
    return b"".join(c.compress(block) for _ in range(mib)) + c.flush()


def multi_member_bomb(mib: int, fill: bytes = b"\x00") -> bytes:
    """``mib`` gzip members of 1 MiB each, concatenated (a valid gzip file)."""
    return _gzip_member(fill * (2**20 // len(fill))) * mib


def raw_deflate_bomb(mib: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return b"".join(c.compress(bytes(2**20)) for _ in range(mib)) + c.flush()


SITEMAP_FILL = b"<url><loc>http://h.test/a</loc></url>"


@pytest.fixture(scope="module")
def bombs():
    sitemap_bomb = single_member_bomb(256, SITEMAP_FILL)
    return {
        "single": single_member_bomb(256),
        "multi": multi_member_bomb(512),
        "nested": gzip.compress(single_member_bomb(256), 9),
        "sitemap": sitemap_bomb,
        "html": single_member_bomb(128, b"<p>fever</p>"),
        "deflate": raw_deflate_bomb(128),
    }


def test_decoder_inflates_like_zlib_and_never_holds_more_than_a_piece():
    text = os.urandom(3000).hex().encode() * 7
    assert b"".join(Decoder("gzip").feed(gzip.compress(text))) == text
    assert b"".join(Decoder("x-gzip").feed(gzip.compress(text[:100]) + gzip.compress(text[100:]))) == text
    assert b"".join(Decoder("deflate").feed(zlib.compress(text))) == text
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert b"".join(Decoder("deflate").feed(raw.compress(text) + raw.flush())) == text
    assert b"".join(Decoder("gzip, gzip").feed(gzip.compress(gzip.compress(text)))) == text
    assert b"".join(Decoder("identity").feed(text)) == text
    # many members, some ending in the middle of an input slice, some longer than an output step
    members = [os.urandom(n).hex().encode() for n in (10, 70_000, 5, 200_000, 33)]
    stream = b"".join(gzip.compress(m) for m in members)
    assert b"".join(Decoder("gzip").feed(stream)) == b"".join(members)
    dec = Decoder("gzip")
    assert b"".join(p for i in range(0, len(stream), 1000) for p in dec.feed(stream[i : i + 1000])) == b"".join(members)
    # bytes after the last member that start no other member end the stream
    assert b"".join(Decoder("gzip").feed(gzip.compress(text) + b"\x00\x00garbage")) == text
    pieces = Decoder("gzip").feed(single_member_bomb(8))
    assert max(len(p) for p in pieces) <= 64 * 1024
    with pytest.raises(ValueError, match="unsupported content coding 'br'"):
        Decoder("gzip, br")
    with pytest.raises(zlib.error):
        list(Decoder("gzip").feed(b"\x1f\x8b\x08\x00" + b"\xff" * 40))


@pytest.mark.parametrize("shape", ["single", "multi", "nested"])
def test_gunzip_bounded_stops_at_the_limit(bombs, shape):
    tracemalloc.start()
    try:
        out, cut = gunzip_bounded(bombs[shape], LIMIT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cut and len(out) == LIMIT and out == bytes(LIMIT)
    assert peak < 4 * LIMIT, peak
    small = b"<urlset>" + SITEMAP_FILL * 10 + b"</urlset>"
    assert gunzip_bounded(gzip.compress(small), LIMIT) == (small, False)
    assert gunzip_bounded(small, LIMIT) == (small, False)  # not gzip: as is


def _bomb_site(bombs, rec: Recorder, case: str):
    """A site whose home page links to two pages and whose ``case`` resource is a bomb."""

    def routes(h, path, n):
        base = h.server.base
        if path == "/robots.txt":
            lines = "User-agent: *\nAllow: /\n"
            if case in ("robots_sitemap", "sitemap_index"):
                lines += f"Sitemap: {base}/sitemap.xml.gz\n"
            return h.send(200, lines.encode(), "text/plain")
        if path == "/sitemap.xml.gz" and case == "robots_sitemap":
            return h.send(200, bombs["sitemap"], "application/x-gzip")
        if path == "/sitemap.xml.gz" and case == "sitemap_index":
            children = "".join(f"<sitemap><loc>{base}/sm/{i}.xml.gz</loc></sitemap>" for i in range(60))
            return h.send(200, f"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{children}"
                          "</sitemapindex>".encode(), "application/xml")
        if path.startswith("/sm/"):
            return h.send(200, bombs["multi"], "application/x-gzip")
        if path == "/sitemap.xml":
            if case == "plain_sitemap_name":  # gzip bytes at the plain name take the same path
                return h.send(200, bombs["nested"], "application/xml")
            return h.send(404, b"")
        if path == "/":
            links = ["/a", "/b", "/bomb"]
            body = page("home", links)
            if case == "feed":
                body = body.replace(b"<head>", b'<head><link rel="alternate" type="application/rss+xml" href="/feed.xml">')
            return h.send(200, body)
        if path == "/feed.xml":
            return h.send(200, bombs["single"], "application/rss+xml")
        if path == "/bomb":
            if case == "content_encoding":
                return h.send(200, bombs["html"], headers=[("Content-Encoding", "gzip")])
            if case == "stacked_encoding":
                return h.send(200, bombs["nested"], headers=[("Content-Encoding", "gzip, gzip")])
            if case == "deflate_encoding":
                return h.send(200, bombs["deflate"], headers=[("Content-Encoding", "deflate")])
            if case == "brotli":
                return h.send(200, b"\x8b\x02\x80", headers=[("Content-Encoding", "br")])
        return h.send(200, page(path, []))

    server, base = make_server(routes, rec)
    server.base = base
    return server, base


BOMB_CASES = {
    # case: (counter that must show the cut, pages stored)
    "robots_sitemap": ("sitemap_cut", 4),
    "plain_sitemap_name": ("sitemap_cut", 4),
    "sitemap_index": ("sitemap_cut", 4),
    "content_encoding": ("cut_inflate", 4),
    "stacked_encoding": ("cut_inflate", 3),  # inflates to NUL bytes: refused as binary
    "deflate_encoding": ("cut_inflate", 3),
    "brotli": ("unsupported_encoding", 3),
}


def _preimport() -> None:
    """Import what a crawl imports lazily, so the traced peak is the crawl's own allocations."""
    import httpx  # noqa: F401
    import protego  # noqa: F401
    import trafilatura.feeds  # noqa: F401
    import trafilatura.sitemaps  # noqa: F401


@pytest.mark.parametrize("case", sorted(BOMB_CASES))
def test_bombs_are_cut_while_inflating(bombs, tmp_path, case):
    _preimport()
    rec = Recorder()
    server, base = _bomb_site(bombs, rec, case)
    cfg = CrawlConfig(delay=0, max_bytes=LIMIT, progress_every=0, max_sitemaps=5, concurrency=2)
    tracemalloc.start()
    try:
        stats = Crawler([base + "/"], tmp_path, cfg).run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        server.shutdown()
    counter, stored = BOMB_CASES[case]
    assert stats[counter] >= 1, stats
    assert stats["stored"] == stored, stats
    assert peak < MEMORY_BOUND, f"{case}: peak {peak / 2**20:.0f} MiB"
    pages = warc_pages(tmp_path)
    assert all(len(body) <= LIMIT for recs in pages.values() for _, body, _ in recs)
    if case == "content_encoding":
        (_, body, headers), = pages[base + "/bomb"]
        assert len(body) == LIMIT and body.startswith(b"<p>fever</p>")
        assert headers.get_header("WARC-Truncated") == "length"
    if case == "sitemap_index":
        assert sum(1 for p in rec.hits if p.startswith("/sm/")) == 4  # max_sitemaps=5 with the index


def test_feed_bomb_is_cut(bombs, tmp_path):
    """trafilatura's feed discovery only accepts real domain names: served from an in-process transport."""
    import httpx

    _preimport()
    home = ('<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>'
            '<body><a href="/about">About</a></body></html>')

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if request.url.path == "/feed.xml":
            return httpx.Response(200, content=bombs["single"], headers={"Content-Type": "application/rss+xml"})
        body = home if request.url.path == "/" else "<html><body><p>about</p></body></html>"
        return httpx.Response(200, text=body, headers={"Content-Type": "text/html; charset=utf-8"})

    cfg = CrawlConfig(delay=0, sitemaps=False, progress_every=0, max_bytes=LIMIT)
    tracemalloc.start()
    try:
        stats = Crawler(["https://health.example.org/"], tmp_path, cfg, transport=httpx.MockTransport(handler)).run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stats["feed_cut"] == 1 and stats["stored"] == 2
    assert peak < MEMORY_BOUND, peak


def test_pages_built_to_stall_link_extraction_are_linear_and_capped(tmp_path):
    import time

    from mmedc.web.links import extract_links

    t = time.perf_counter()
    assert extract_links("<a " * 200_000, "http://x.test/") == []  # tags never closed: was quadratic
    assert extract_links("<meta <a " * 100_000 + '<a href="/ok">', "http://x.test/") == ["http://x.test/ok"]
    assert time.perf_counter() - t < 5
    rec = Recorder()
    many = "".join(f'<a href="/p/{i}">' for i in range(300))

    def routes(h, path, n):
        if path == "/robots.txt":
            return h.send(404, b"")
        return h.send(200, (f"<html><body>{many}</body></html>" if path == "/" else "<p>x</p>").encode())

    server, base = make_server(routes, rec)
    try:
        stats = Crawler([base + "/"], tmp_path, CrawlConfig(delay=0, sitemaps=False, progress_every=0,
                                                            max_links_per_page=50)).run()
    finally:
        server.shutdown()
    assert stats["links_cut"] == 1 and stats["stored"] == 51


def test_sitemap_urls_are_capped_per_host(tmp_path):
    rec = Recorder()

    def routes(h, path, n):
        if path == "/robots.txt":
            return h.send(404, b"")
        if path == "/sitemap.xml":
            locs = "".join(f"<url><loc>{h.server.base}/p/{i}</loc></url>" for i in range(500))
            return h.send(200, f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{locs}</urlset>".encode(),
                          "application/xml")
        return h.send(200, page(path, []))

    server, base = make_server(routes, rec)
    server.base = base
    try:
        stats = Crawler([base + "/"], tmp_path, CrawlConfig(delay=0, progress_every=0, max_sitemap_urls=50,
                                                            max_pages=3)).run()
    finally:
        server.shutdown()
    assert stats["sitemap_urls_cut"] == 1 and stats["sitemap_urls"] == 50


# --------------------------------------------------------------------------------------------------
# WARC records: truncated, oversized
# --------------------------------------------------------------------------------------------------
def _pages(n: int) -> dict[str, bytes]:
    out = {}
    for i in range(n):
        words = hashlib.sha256(str(i).encode()).hexdigest()
        out[f"http://site.test/{i}"] = page(f"page {i}", [], body=" ".join(words * 40 for _ in range(1 + i % 3)))
    return out


def _write_warc(folder: Path, pages: dict[str, bytes]) -> list[tuple[int, int]]:
    w = RotatingWarcWriter(folder, "t")
    spans = [w.write_response(u, 200, "OK", [("Content-Type", "text/html; charset=utf-8")], b)[1:] for u, b in pages.items()]
    w.close()
    return spans


def _read(folder: Path, **kwargs) -> tuple[list, dict]:
    reader = WarcHtmlReader(str(folder), **kwargs)
    docs = list(reader())
    return docs, {k: v.total for k, v in reader.stats.stats.items()}


def test_truncated_records_are_counted_never_emitted(tmp_path):
    pages = _pages(6)
    src = tmp_path / "src"
    spans = _write_warc(src, pages)
    data = (src / "t-00000.warc.gz").read_bytes()
    start, end = spans[3]
    cuts = list(range(start + 1, end - 8, 7)) + [end - 4]  # across the WARC headers, HTTP headers, payload
    for cut in cuts:
        folder = tmp_path / f"cut{cut}"
        folder.mkdir()
        (folder / "c.warc.gz").write_bytes(data[:cut])
        docs, stats = _read(folder)
        # every emitted document is a whole page; the damaged one is counted, never emitted
        assert all(d.text == pages[d.metadata["url"]].decode() for d in docs)
        assert "broken_warc" not in stats, (cut - start, stats)  # a cut at the end is a truncation
        damaged = stats.get("truncated_record", 0)
        urls = [d.metadata["url"] for d in docs]
        if cut > end - 8:  # only the gzip trailer (CRC, size) is missing: the record itself is whole
            assert urls == list(pages)[:4] and damaged == 0
        elif cut > end - 24 and urls == list(pages)[:4]:  # the last deflate bytes held no payload
            assert damaged == 0
        else:
            assert [d.metadata["url"] for d in docs] == list(pages)[:3] and damaged == 1, (cut - start, stats)
    # the same for an uncompressed WARC cut inside the payload of its last record
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    ww = WARCWriter(buf, gzip=False)
    for u, body in list(pages.items())[:2]:
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        ww.write_record(ww.create_warc_record(u, "response", payload=io.BytesIO(body), http_headers=http))
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "c.warc").write_bytes(buf.getvalue()[:-200])
    docs, stats = _read(folder)
    assert [d.metadata["url"] for d in docs] == list(pages)[:1] and stats["truncated_record"] == 1


def test_cut_inside_the_last_headers_is_a_truncation_and_damage_mid_file_is_a_broken_warc(tmp_path):
    """Every cut inside the WARC headers of the last record (plain and gzip) is counted as
    ``truncated_record``, the records before it kept; bytes that are no WARC in the middle of a file
    stop the reading as ``broken_warc``."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = _pages(3)
    for gz in (False, True):
        buf = io.BytesIO()
        ww = WARCWriter(buf, gzip=gz)
        starts = []
        for u, body in pages.items():
            starts.append(buf.tell())
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            ww.write_record(ww.create_warc_record(u, "response", payload=io.BytesIO(body), http_headers=http))
        data = buf.getvalue()
        name = "c.warc.gz" if gz else "c.warc"
        for cut in range(starts[2] + 1, starts[2] + 300, 13):  # the headers of the last record and a bit more
            folder = tmp_path / f"{gz}-{cut}"
            folder.mkdir()
            (folder / name).write_bytes(data[:cut])
            docs, stats = _read(folder)
            assert [d.metadata["url"] for d in docs] == list(pages)[:2], (gz, cut - starts[2])
            assert stats.get("truncated_record") == 1 and "broken_warc" not in stats, (gz, cut - starts[2], stats)
        folder = tmp_path / f"{gz}-garbage"
        folder.mkdir()
        (folder / name).write_bytes(data[: starts[1]] + b"no WARC here\r\n\r\nat all" + data[starts[1]:])
        docs, stats = _read(folder)
        assert [d.metadata["url"] for d in docs] == list(pages)[:1] and stats["broken_warc"] == 1


def test_oversized_records_are_skipped_unread(tmp_path):
    pages = _pages(3)
    big = page("big", [], body=os.urandom(3 * 2**19).hex())  # incompressible: the bound, not gzip, limits the read
    pages["http://site.test/big"] = big
    pages["http://site.test/after"] = page("after", [])
    _write_warc(tmp_path, pages)
    _read(tmp_path)  # imports done before tracing
    tracemalloc.start()
    try:
        docs, stats = _read(tmp_path, max_record_bytes=2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.metadata["url"] for d in docs] == [u for u in pages if not u.endswith("/big")]
    assert stats["oversized_record"] == 1
    assert peak < len(big), peak  # never read whole
    # a content-encoded payload that inflates past the bound (a foreign WARC) is skipped too
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    folder = tmp_path / "encoded"
    folder.mkdir()
    with open(folder / "e.warc.gz", "wb") as f:
        ww = WARCWriter(f, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], protocol="HTTP/1.1")
        ww.write_record(ww.create_warc_record("http://e.test/", "response", payload=io.BytesIO(
            single_member_bomb(8, b"<p>x</p>")), http_headers=http))
    docs, stats = _read(folder, max_record_bytes=2**20)
    assert docs == [] and stats["oversized_record"] == 1


# --------------------------------------------------------------------------------------------------
# kill -9 in the middle of a WARC write, then resume
# --------------------------------------------------------------------------------------------------
KILL_MID_WRITE = textwrap.dedent(
    """
    import os, signal, sys, zlib
    from mmedc.web import warc
    from mmedc.web.crawl import CrawlConfig, Crawler

    KILL_AT, FRACTION = int(sys.argv[3]), float(sys.argv[4])
    original = warc.RotatingWarcWriter._write
    count = [0]

    def write(self, record):
        count[0] += 1
        if count[0] < KILL_AT:
            return original(self, record)
        # the same bytes the writer would write, cut where the kill lands
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.write_record(record)
        gz = zlib.compressobj(self.compresslevel, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        data = gz.compress(self._buffer.getvalue()) + gz.flush()
        self._file.write(data[: int(len(data) * FRACTION)])
        self._file.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    warc.RotatingWarcWriter._write = write
    if __name__ == "__main__":
        cfg = CrawlConfig(delay=0, concurrency=2, per_host_concurrency=2, sitemaps=False, progress_every=0)
        Crawler([sys.argv[1] + "/"], sys.argv[2], cfg).run()
    """
)


def _site_of(pages_by_path: dict[str, bytes], rec: Recorder):
    def routes(h, path, n):
        if path == "/robots.txt":
            return h.send(404, b"")
        body = pages_by_path.get(path)
        return h.send(200, body) if body is not None else h.send(404, b"")

    return make_server(routes, rec)


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.97])
def test_sigkill_during_a_warc_write_then_resume(tmp_path, fraction):
    n = 30
    by_path = {"/": page("home", [f"/p/{i}" for i in range(n)])}
    for i in range(n):
        by_path[f"/p/{i}"] = page(f"p{i}", [], body=hashlib.sha1(str(i).encode()).hexdigest() * (50 + 30 * i))
    rec = Recorder()
    server, base = _site_of(by_path, rec)
    script = tmp_path / "crawl.py"
    script.write_text(KILL_MID_WRITE)
    out = tmp_path / "warc"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    try:
        proc = subprocess.run([sys.executable, str(script), base, str(out), "12", str(fraction)], env=env,
                              capture_output=True, timeout=120)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        # before any resume, a reader sees only whole pages
        docs, stats = _read(out)
        assert docs and all(d.text == by_path[d.metadata["url"][len(base):]].decode() for d in docs)
        assert stats.get("truncated_record", 0) + stats.get("broken_warc", 0) == 1, stats
        Crawler([base + "/"], out, CrawlConfig(delay=0, sitemaps=False, progress_every=0)).run()
    finally:
        server.shutdown()
    docs, stats = _read(out)
    urls = [d.metadata["url"] for d in docs]
    assert sorted(urls) == sorted(base + p for p in by_path), "lost or duplicated pages"
    assert all(d.text == by_path[d.metadata["url"][len(base):]].decode() for d in docs), "a partial page"
    assert "truncated_record" not in stats and "broken_warc" not in stats
    assert sum(len(v) for v in warc_pages(out).values()) == len(by_path)


# --------------------------------------------------------------------------------------------------
# failed seeds (no network) retried on request, attempts kept
# --------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_seeds_that_failed_without_network_are_retried_with_attempts_kept(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = CrawlConfig(delay=0, sitemaps=False, progress_every=0, retries=0, timeout=2)
    first = Crawler([base + "/"], tmp_path, cfg).run()  # nothing listens: robots.txt unreachable
    assert first.get("stored", 0) == 0 and first["robots_unreachable"] == 1
    f = Frontier(tmp_path / "crawl.state.sqlite")
    assert f.status_of(base + "/") == FAILED and f.attempts_of(base + "/") == 1
    f.close()
    # still no network: a retry fails again and counts a second attempt
    Crawler([base + "/"], tmp_path, CrawlConfig(delay=0, sitemaps=False, progress_every=0, retries=0, timeout=2,
                                                retry_failed=True)).run()
    rec = Recorder()
    from http.server import ThreadingHTTPServer

    pages = {"/": page("home", ["/a"]), "/a": page("a", [])}

    def routes(h, path, n):
        if path == "/robots.txt":
            return h.send(404, b"")
        return h.send(200, pages[path]) if path in pages else h.send(404, b"")

    server, _ = make_server(routes, rec, address=("127.0.0.1", port))
    assert isinstance(server, ThreadingHTTPServer)
    try:
        without = Crawler([base + "/"], tmp_path, cfg).run()
        assert without.get("stored", 0) == 0 and rec.count("/") == 0  # failed pages wait for retry_failed
        again = Crawler([base + "/"], tmp_path, CrawlConfig(delay=0, sitemaps=False, progress_every=0,
                                                            retry_failed=True)).run()
    finally:
        server.shutdown()
    assert again["stored"] == 2 and rec.count("/") == 1
    f = Frontier(tmp_path / "crawl.state.sqlite")
    assert f.attempts_of(base + "/") == 3 and f.attempts_of(base + "/a") == 1
    assert f.counts()["failed"] == 0
    f.close()
