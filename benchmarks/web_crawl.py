"""Crawl throughput against a local server with politeness off.

A separate process serves a synthetic site of ``--pages`` HTML pages (about 6 KB each, ten links a
page) from a minimal asyncio HTTP/1.1 keep-alive server. Two clients fetch every page, one after the other, in the same run:

- baseline: plain ``httpx.AsyncClient`` GETs of the known URL list at the same concurrency (no
  robots, link extraction, scope, frontier, WARC): the ceiling the server and client allow;
- mmedc ``Crawler`` (``delay=0``, robots.txt read, links discovered from pages, SQLite frontier,
  gzipped WARC written), starting from the home page only.

    .venv/bin/python benchmarks/web_crawl.py [--pages 1500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import shutil
import tempfile
import time
from pathlib import Path


def _site(n_pages: int) -> dict[str, bytes]:
    rnd = random.Random(0)
    words = ["patient", "dose", "fever", "the", "of", "treatment", "blood", "and"]
    filler = " ".join(rnd.choice(words) for _ in range(700))
    pages = {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain")}
    for i in range(n_pages):
        links = "".join(f'<li><a href="/page/{(i * 7 + k * 13 + 1) % n_pages}">page</a></li>' for k in range(10))
        html = f"<html><head><title>Page {i}</title></head><body><h1>Page {i}</h1><p>{filler}</p><ul>{links}</ul></body></html>"
        pages[f"/page/{i}"] = (html.encode(), "text/html; charset=utf-8")
    index = "".join(f'<a href="/page/{i}">p</a>' for i in range(0, n_pages, 50))
    pages["/"] = (f"<html><body>{index}</body></html>".encode(), "text/html; charset=utf-8")
    return {
        path: b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype.encode() + b"\r\nContent-Length: "
        + str(len(body)).encode() + b"\r\n\r\n" + body
        for path, (body, ctype) in pages.items()
    }


def _serve(port_queue, n_pages: int) -> None:
    """A minimal asyncio HTTP/1.1 keep-alive server for static bytes: fast enough not to be the bottleneck."""
    responses = _site(n_pages)
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    async def handle(reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                parts = line.split()
                writer.write(responses.get(parts[1].decode() if len(parts) > 1 else "", not_found))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def run():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(run())


async def _baseline(base: str, n_pages: int, concurrency: int) -> tuple[float, float]:
    import httpx

    urls = [f"{base}/page/{i}" for i in range(n_pages)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        queue = list(reversed(urls))

        async def worker():
            while queue:
                r = await client.get(queue.pop())
                await r.aread()

        t, c = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n_pages / (time.perf_counter() - t), (time.process_time() - c) / n_pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=1500)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args(argv)

    from mmedc.web.crawl import CrawlConfig, Crawler

    q = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=_serve, args=(q, args.pages), daemon=True)
    proc.start()
    base = f"http://127.0.0.1:{q.get(timeout=60)}"
    out = Path(tempfile.mkdtemp(prefix="mmedc-crawl-bench-"))
    try:
        base_rate, base_cpu = asyncio.run(_baseline(base, args.pages, args.concurrency))
        cfg = CrawlConfig(delay=0.0, concurrency=args.concurrency, per_host_concurrency=args.concurrency,
                          sitemaps=False, progress_every=0)
        t, c = time.perf_counter(), time.process_time()
        stats = Crawler([base + "/"], out, cfg).run()
        elapsed, cpu = time.perf_counter() - t, time.process_time() - c
        stored = stats.get("stored", 0)
        warc_mb = sum(p.stat().st_size for p in out.glob("*.warc.gz")) / 2**20
    finally:
        proc.terminate()
        proc.join(5)
        shutil.rmtree(out, ignore_errors=True)
    rate = stored / elapsed
    print(f"site: {args.pages} pages of ~6 KB on a local server (separate process), concurrency {args.concurrency}")
    print(f"  baseline httpx GET of the known URL list : {base_rate:8.1f} pages/s, {base_cpu * 1000:.2f} ms CPU/page")
    print(f"  mmedc Crawler (discovery, frontier, WARC): {rate:8.1f} pages/s, {cpu / max(1, stored) * 1000:.2f} ms CPU/page"
          f"  ({stored} pages stored in {elapsed:.1f}s, {warc_mb:.1f} MB of WARC; {rate / base_rate:.2f}x the baseline)")
    print("  (client CPU per page is less sensitive than pages/s to other load on the machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
