"""Serve a folder of static pages on a loopback port, for demos, tests and benchmarks.

Built on the standard library's ``http.server`` (HTTP/1.1 keep-alive, one thread per connection).
``{{BASE_URL}}`` in ``robots.txt`` and ``*.xml`` files is replaced by the server's address, so a
fixture site can carry absolute sitemap URLs without knowing its port in advance.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TEMPLATED = (".xml", ".txt")


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    base_url = ""
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".html": "text/html", ".xml": "application/xml"}

    def log_message(self, format: str, *args) -> None:  # quiet
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_file() and path.suffix in TEMPLATED:
            body = path.read_bytes().replace(b"{{BASE_URL}}", self.base_url.encode())
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            import io

            return io.BytesIO(body)
        return super().send_head()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


@contextlib.contextmanager
def serve_site(folder: str | Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``folder`` at ``http://host:port`` (a free port by default); yield the base URL."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder to serve")
    handler = type("SiteHandler", (_Handler,), {})
    server = _Server((host, port), functools.partial(handler, directory=str(folder)))
    handler.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="mmedc-site-server", daemon=True)
    thread.start()
    try:
        yield handler.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
