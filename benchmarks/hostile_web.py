"""Hostile-input probe for the crawler and the WARC reader: peak memory and lost / duplicated / partial pages.

Everything runs on loopback and in temporary folders; no data set is needed. A separate server process
serves each case on its own port (so every case has its own robots.txt), and every crawl or read runs
in a fresh process whose peak resident memory (``VmHWM``) is reported against the same crawl or read of
a harmless site measured in the same run (the baseline):

- decompression bombs, each inflating to ``--bomb-mib`` MiB (1 GiB by default) from about 1 MB or
  less: a gzipped sitemap named in robots.txt (one gzip member of XML), the same kind of bytes served
  at ``/sitemap.xml``, a gzip inside a gzip, a sitemap index of 1,000 bomb sitemaps (multi-member
  gzip), a page sent with ``Content-Encoding: gzip``, ``gzip, gzip`` and ``deflate``, a feed bomb;
- WARC files: a crawler-written file cut at many offsets (partial documents emitted?), a 100 MB record
  (read whole?), and SIGKILLs of a crawler at random moments while it writes WARC records, then a
  resume (pages lost, duplicated or partial?).

Goal: peak memory under 300 MiB above the baseline for any bomb; 0 lost, 0 duplicated, 0 partial.

    .venv/bin/python benchmarks/hostile_web.py [--bomb-mib 1024] [--kills 6]

Memory figures are per process and not much affected by other load; times are noisy.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MIB = 300
PAGE_TEXT = "Influenza is a contagious respiratory illness caused by influenza viruses. "


# -- bombs --------------------------------------------------------------------------------------------
def single_member(mib: int, fill: bytes = b"\x00") -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = fill * (2**20 // len(fill))
    return b"".join(c.compress(block) for _ in range(mib)) + c.flush()


def multi_member(mib: int, fill: bytes = b"\x00") -> bytes:
    return gzip.compress(fill * (2**20 // len(fill)), 9) * mib


def raw_deflate(mib: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = bytes(2**20)
    return b"".join(c.compress(block) for _ in range(mib)) + c.flush()


def _page(title: str, links: list[str], extra_head: str = "") -> bytes:
    anchors = "".join(f'<a href="{u}">{u}</a> ' for u in links)
    return (f"<html><head><title>{title}</title>{extra_head}</head><body><h1>{title}</h1><p>{PAGE_TEXT * 5}</p>"
            f"{anchors}</body></html>").encode()


def build_cases(mib: int) -> dict[str, dict]:
    """Per case: robots.txt lines and ``path -> (status, body, headers)``."""
    xml_fill = b"<url><loc>http://example.org/a</loc></url>"
    null_bomb = single_member(mib)
    xml_bomb = multi_member(mib, xml_fill)
    html_bomb = multi_member(mib, b"<p>fever</p>")
    home = _page("home", ["/a", "/b", "/page"])
    normal = {"/": (200, home, {}), "/a": (200, _page("a", []), {}), "/b": (200, _page("b", []), {}),
              "/page": (200, _page("page", []), {})}
    sitemap = (b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
               + b"".join(b"<url><loc>{BASE}/a</loc></url>" for _ in range(3)) + b"</urlset>")
    xml = {"Content-Type": "application/xml"}
    gz = {"Content-Type": "application/x-gzip"}
    index = (b"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
             + b"".join(b"<sitemap><loc>{BASE}/sm/%d.xml.gz</loc></sitemap>" % i for i in range(1000)) + b"</sitemapindex>")
    cases = {
        "baseline (harmless site)": {"sitemap": True, "paths": {**normal, "/sitemap.xml.gz": (200, sitemap, {
            **gz, "gzip-when-served": "1"})}},
        "sitemap.xml.gz in robots.txt": {"sitemap": True, "paths": {**normal, "/sitemap.xml.gz": (200, xml_bomb, gz)}},
        "gzip bytes at /sitemap.xml": {"sitemap": False, "paths": {**normal, "/sitemap.xml": (200, null_bomb, xml)}},
        "gzip inside gzip": {"sitemap": True, "paths": {**normal, "/sitemap.xml.gz": (200, gzip.compress(null_bomb), gz)}},
        "index of 1,000 bomb sitemaps": {"sitemap": True, "paths": {**normal, "/sitemap.xml.gz": (200, index, xml),
                                                                     "/sm/": (200, xml_bomb, gz)}},
        "page, Content-Encoding gzip": {"sitemap": False, "paths": {
            **normal, "/page": (200, html_bomb, {"Content-Encoding": "gzip"})}},
        "page, Content-Encoding gzip, gzip": {"sitemap": False, "paths": {
            **normal, "/page": (200, gzip.compress(null_bomb), {"Content-Encoding": "gzip, gzip"})}},
        "page, Content-Encoding deflate": {"sitemap": False, "paths": {
            **normal, "/page": (200, raw_deflate(mib), {"Content-Encoding": "deflate"})}},
    }
    return cases


def _quiet_server_class():
    from http.server import ThreadingHTTPServer

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:  # a killed client resets: expected
            pass

    return Quiet


def _serve(cases: dict[str, dict], queue) -> None:
    """One ThreadingHTTPServer per case, each on its own loopback port."""
    import threading
    from http.server import BaseHTTPRequestHandler

    _QuietServer = _quiet_server_class()
    ports = {}
    for name, case in cases.items():
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            spec = case

            def log_message(self, *a):
                pass

            def do_GET(self):
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                if self.path == "/robots.txt":
                    body = b"User-agent: *\nAllow: /\n"
                    if self.spec["sitemap"]:
                        body += f"Sitemap: {base}/sitemap.xml.gz\n".encode()
                    status, headers = 200, {"Content-Type": "text/plain"}
                else:
                    key = "/sm/" if self.path.startswith("/sm/") else self.path
                    status, body, headers = self.spec["paths"].get(key, (404, b"", {}))
                    if body[:2] != b"\x1f\x8b" and "Content-Encoding" not in headers:
                        body = body.replace(b"{BASE}", base.encode())
                    if "gzip-when-served" in headers:
                        headers = {k: v for k, v in headers.items() if k != "gzip-when-served"}
                        body = gzip.compress(body)
                self.send_response(status)
                headers = {"Content-Type": "text/html; charset=utf-8", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        server = _QuietServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ports[name] = server.server_address[1]
    queue.put(ports)
    threading.Event().wait()


# -- measured children --------------------------------------------------------------------------------
def _peak_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def _crawl_child(base: str, out: str, feed_bomb_mib: int, queue) -> None:
    from mmedc.web.crawl import CrawlConfig, Crawler

    transport = None
    seeds = [base + "/"]
    if feed_bomb_mib:  # trafilatura's feed discovery wants a real domain name: an in-process transport
        import httpx

        bomb = single_member(feed_bomb_mib)
        home = _page("home", ["/a"], '<link rel="alternate" type="application/rss+xml" href="/feed.xml">')

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/robots.txt":
                return httpx.Response(404)
            if request.url.path == "/feed.xml":
                return httpx.Response(200, content=bomb, headers={"Content-Type": "application/rss+xml"})
            return httpx.Response(200, content=home if request.url.path == "/" else _page("a", []),
                                  headers={"Content-Type": "text/html"})

        transport, seeds = httpx.MockTransport(handler), ["https://health.example.org/"]
    t = time.perf_counter()
    stats = Crawler(seeds, out, CrawlConfig(delay=0, progress_every=0), transport=transport).run()
    queue.put((_peak_mib(), time.perf_counter() - t, dict(stats)))


def _read_child(folder: str, queue) -> None:
    from mmedc.web.warc import WarcHtmlReader

    reader = WarcHtmlReader(folder)
    docs = [(d.metadata["url"], d.text) for d in reader()]
    queue.put((_peak_mib(), docs, {k: v.total for k, v in reader.stats.stats.items()}))


def _in_child(target, *args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    result = q.get(timeout=600)
    p.join(30)
    return result


# -- WARC cases ---------------------------------------------------------------------------------------
def _pages(n: int, size: int) -> dict[str, bytes]:
    rnd = random.Random(0)
    out = {}
    for i in range(n):
        words = " ".join(hashlib.sha1(f"{i}-{k}".encode()).hexdigest() for k in range(size // 41))
        out[f"/p/{i}"] = f"<html><body><h1>p{i}</h1><p>{PAGE_TEXT}{words}</p></body></html>".encode()
        rnd.random()
    return out


def warc_cuts(tmp: Path) -> dict:
    """A crawler-written WARC cut at 200 offsets: documents the reader emits that are not whole pages."""
    from mmedc.web.warc import RotatingWarcWriter, WarcHtmlReader

    pages = _pages(40, 3000)
    w = RotatingWarcWriter(tmp / "src", "t")
    for path, body in pages.items():
        w.write_response("http://s.test" + path, 200, "OK", [("Content-Type", "text/html")], body)
    w.close()
    data = (tmp / "src" / "t-00000.warc.gz").read_bytes()
    rnd = random.Random(1)
    partial = emitted = counted = 0
    for cut in sorted(rnd.sample(range(1, len(data)), 200)):
        folder = tmp / "cut"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        (folder / "c.warc.gz").write_bytes(data[:cut])
        reader = WarcHtmlReader(str(folder))
        for d in reader():
            emitted += 1
            partial += d.text != pages[d.metadata["url"][len("http://s.test"):]].decode()
        stats = reader.stats.stats
        counted += sum(stats[k].total for k in ("truncated_record", "broken_warc") if k in stats)
    return {"cuts": 200, "documents emitted": emitted, "partial": partial, "damaged records counted": counted}


def big_record(tmp: Path, mib: int = 100) -> tuple[float, float, dict]:
    """Peak memory reading a WARC with one ``mib`` MiB record, against a WARC of small records."""
    from mmedc.web.warc import RotatingWarcWriter

    for name, sizes in (("small", [2000] * 3), ("big", [2000, mib * 2**20, 2000])):
        w = RotatingWarcWriter(tmp / name, "t")
        for i, size in enumerate(sizes):
            body = b"<html><body><p>" + (PAGE_TEXT.encode() * (size // len(PAGE_TEXT) + 1))[:size] + b"</p></body></html>"
            w.write_response(f"http://s.test/{i}", 200, "OK", [("Content-Type", "text/html")], body)
        w.close()
    base_peak, _, _ = _in_child(_read_child, str(tmp / "small"))
    peak, docs, stats = _in_child(_read_child, str(tmp / "big"))
    return base_peak, peak, {"documents": len(docs), "oversized_record": stats.get("oversized_record", 0)}


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from mmedc.web.crawl import CrawlConfig, Crawler
    if __name__ == "__main__":
        cfg = CrawlConfig(delay=0, concurrency=4, per_host_concurrency=4, sitemaps=False, progress_every=0,
                          warc_max_bytes=4 * 2**20)
        Crawler([sys.argv[1] + "/"], sys.argv[2], cfg).run()
    """
)


def kills(tmp: Path, n_kills: int) -> dict:
    """SIGKILL a crawler at random moments while it writes WARC records; read after each kill; resume."""
    import threading
    from http.server import BaseHTTPRequestHandler

    from mmedc.web.warc import WarcHtmlReader

    _QuietServer = _quiet_server_class()

    pages = _pages(400, 60_000)
    pages["/"] = ("<html><body>" + "".join(f'<a href="{p}">x</a>' for p in pages) + "</body></html>").encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = _QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    script = tmp / "crawl.py"
    script.write_text(KILL_SCRIPT)
    out = tmp / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rnd = random.Random(2)
    partial_between = killed = 0
    try:
        for _ in range(n_kills):
            proc = subprocess.Popen([sys.executable, str(script), base, str(out)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(1.5, 4.0))
            if proc.poll() is not None:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed += 1
            if any(out.glob("*.warc.gz")):
                for d in WarcHtmlReader(str(out))():
                    partial_between += d.text != pages[d.metadata["url"][len(base):]].decode()
        subprocess.run([sys.executable, str(script), base, str(out)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        server.shutdown()
    seen: dict[str, int] = {}
    partial = 0
    for d in WarcHtmlReader(str(out))():
        path = d.metadata["url"][len(base):]
        seen[path] = seen.get(path, 0) + 1
        partial += d.text != pages[path].decode()
    return {"kills": killed, "pages": len(pages), "lost": len(set(pages) - set(seen)),
            "duplicated": sum(n - 1 for n in seen.values()), "partial": partial,
            "partial read between kills": partial_between}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bomb-mib", type=int, default=1024, help="what each bomb inflates to, in MiB")
    ap.add_argument("--kills", type=int, default=6, help="SIGKILLs during the WARC-writing crawl")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="mmedc-hostile-"))
    failures = []
    try:
        t = time.perf_counter()
        cases = build_cases(args.bomb_mib)
        print(f"bombs built in {time.perf_counter() - t:.1f}s; each inflates to {args.bomb_mib} MiB")
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        server = ctx.Process(target=_serve, args=(cases, q), daemon=True)
        server.start()
        ports = q.get(timeout=120)
        results = {}
        for name in cases:
            results[name] = _in_child(_crawl_child, f"http://127.0.0.1:{ports[name]}", str(tmp / f"c{len(results)}"), 0)
        results["feed (RSS) bomb"] = _in_child(_crawl_child, "", str(tmp / "feed"), args.bomb_mib)
        server.terminate()
        base_peak = results["baseline (harmless site)"][0]
        print(f"\n{'crawl case':<36} {'peak MiB':>9} {'+ baseline':>10} {'stored':>7} {'seconds':>7}  cut counters")
        for name, (peak, elapsed, stats) in results.items():
            cuts = {k: v for k, v in stats.items() if k.startswith("cut_") or k.endswith(("_cut", "unsupported_encoding"))}
            delta = peak - base_peak
            print(f"{name:<36} {peak:9.0f} {delta:+10.0f} {stats.get('stored', 0):7d} {elapsed:7.1f}  {cuts or '-'}")
            if delta >= GOAL_MIB:
                failures.append(f"{name}: +{delta:.0f} MiB")
        print(f"goal: under +{GOAL_MIB} MiB for every bomb (the unbounded code reached about 2 GiB for a 1 MB bomb)")

        cut = warc_cuts(tmp)
        print(f"\nWARC cut at {cut['cuts']} random offsets: {cut['documents emitted']} documents emitted, "
              f"{cut['partial']} partial, {cut['damaged records counted']} damaged records counted")
        failures += ["partial documents from cut WARCs"] if cut["partial"] else []
        base_read, big_read, big = big_record(tmp)
        print(f"WARC with a 100 MiB record: reader peak {big_read:.0f} MiB against {base_read:.0f} MiB for small "
              f"records ({big_read - base_read:+.0f} MiB); {big['documents']} documents, "
              f"oversized_record={big['oversized_record']}")
        k = kills(tmp, args.kills)
        print(f"crawl SIGKILLed {k['kills']} times while writing WARC, then resumed: {k['pages']} pages, "
              f"lost {k['lost']}, duplicated {k['duplicated']}, partial {k['partial']} "
              f"(partial documents read between kills: {k['partial read between kills']})")
        if k["lost"] or k["duplicated"] or k["partial"] or k["partial read between kills"]:
            failures.append("kill and resume")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nall goals met" if not failures else "\ngoals missed: " + "; ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
