"""Loopback HTTP servers and WARC helpers shared by the web tests (imported as ``webservers``)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.hits: dict[str, list[float]] = defaultdict(list)

    def add(self, path: str) -> int:
        with self.lock:
            self.hits[path].append(time.monotonic())
            return len(self.hits[path])

    def count(self, path: str) -> int:
        with self.lock:
            return len(self.hits.get(path, []))


def page(title: str, links: list[str], body: str = "") -> bytes:
    anchors = "".join(f'<li><a href="{u}">{u}</a></li>' for u in links)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{body or 'Patient information about ' + title + '.'}</p><ul>{anchors}</ul></body></html>"
    ).encode()


def make_server(routes, recorder: Recorder, address: tuple[str, int] = ("127.0.0.1", 0)):
    """A loopback HTTP/1.1 server; ``routes(handler, path, n)`` answers the n-th request to a path."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            n = recorder.add(self.path)
            try:
                routes(self, self.path, n)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def send(self, status=200, body=b"", ctype="text/html; charset=utf-8", headers=()):
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(address, Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def warc_pages(folder: Path) -> dict[str, list]:
    """URL -> list of (status, body, warc headers) for response records in every WARC of ``folder``."""
    out = defaultdict(list)
    for path in sorted(folder.glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type == "response":
                    out[rec.rec_headers.get_header("WARC-Target-URI")].append(
                        (rec.http_headers.get_statuscode(), rec.content_stream().read(), rec.rec_headers)
                    )
    return out
