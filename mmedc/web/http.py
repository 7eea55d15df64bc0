"""HTTP for the crawler: one bounded GET, retries with backoff and ``Retry-After``, per-host pacing.

HTTP itself is httpx (async, connection pooling, keep-alive). What is written here, and why:

- **Bounded reads.** A body is read raw (``aiter_raw``) and its ``Content-Encoding`` (``gzip``,
  ``deflate``, stacked as ``gzip, gzip``) is undone here by streaming inflation that stops at the size
  limit, because httpx's decoders inflate each network chunk whole: one 64 KiB chunk of a gzip bomb
  becomes 64 MiB at once, a stacked ``gzip, gzip`` one gigabytes. Inflation here works on 64 KiB input
  slices with a 64 KiB output bound per step (``zlib``'s ``max_length``), so memory stays at the body
  limit whatever the ratio. Only ``gzip`` and ``deflate`` are asked for (``Accept-Encoding``); a
  response in another coding is refused (``unsupported_encoding``). :func:`gunzip_bounded` does the
  same for gzipped files (sitemaps, feeds), multi-member and nested gzip included.
- **Retries**: 429 and 5xx answers, timeouts and connection errors are retried with exponential
  backoff and jitter, waiting at least what ``Retry-After`` asks (capped at ``max_backoff``); the wait
  holds back the whole host (:class:`HostClock`).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from datatrove.utils.logging import logger

DEFAULT_USER_AGENT = "mmedc-crawler/0.1 (+https://github.com/mmedc/mmedc; multilingual medical corpus research)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ACCEPT_ENCODING = "gzip, deflate"

_PIECE = 64 * 1024  # input slice and output bound of one inflation step
_GZIP_MAGIC = b"\x1f\x8b"


class FetchError(Exception):
    """A fetch that gave no storable response: ``reason`` (a stat key), the HTTP status if any, and
    ``skip`` (True: a decision such as robots, scope or content type, never retried)."""

    def __init__(self, reason: str, http_status: int | None = None, skip: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.skip = skip


@dataclass
class Response:
    """A fetched response; ``body`` is decoded (``Content-Encoding`` undone) and at most the limit.

    ``truncated`` is ``None`` for a whole body, else where it was cut: ``"length"`` (more bytes than
    the limit arrived) or ``"inflate"`` (the body inflated past the limit).
    """

    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    http_version: str
    truncated: str | None = None

    def header(self, name: str) -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), "")


@dataclass
class HostClock:
    """Politeness of one host: requests start ``delay`` seconds apart and not before a hold."""

    name: str
    delay: float
    last_sent: float = float("-inf")
    not_before: float = 0.0
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


def looks_binary(head: bytes) -> bool:
    """NUL bytes in the first KiB (UTF-16 pages, which have them, start with a byte-order mark)."""
    return not head.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in head[:1024]


# -- bounded inflation -------------------------------------------------------------------------------
class _Inflate:
    """One gzip or deflate layer, inflated in steps of at most ``_PIECE`` bytes out.

    gzip: members that follow the first are inflated too (as ``gzip -d`` does); bytes after the last
    member that do not start another one end the stream. deflate: zlib-wrapped or raw (servers send
    both, as httpx also accepts).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self.wbits = 16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS
        self.d = zlib.decompressobj(self.wbits)
        self.started = False  # output or a whole member seen: a later error is trailing garbage
        self.members = 0
        self.done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        for i in range(0, len(data), _PIECE):
            chunk = data[i : i + _PIECE]
            while chunk and not self.done:
                try:
                    out = self.d.decompress(chunk, _PIECE)
                except zlib.error:
                    if self.kind == "deflate" and not self.started and self.wbits > 0:
                        self.wbits = -zlib.MAX_WBITS  # raw deflate without the zlib header
                        self.d = zlib.decompressobj(self.wbits)
                        continue
                    if self.members:  # garbage after a complete member: the stream ends there
                        self.done = True
                        return
                    raise
                chunk = self.d.unconsumed_tail
                if out:
                    self.started = True
                    yield out
                if self.d.eof:
                    # everything after the member's end is in unused_data (unconsumed_tail may hold a
                    # copy of the same bytes: never join the two)
                    self.members += 1
                    rest = self.d.unused_data
                    if self.kind == "gzip" and rest:
                        self.d = zlib.decompressobj(self.wbits)
                        chunk = rest
                    else:
                        self.done = True


class Decoder:
    """Undo a ``Content-Encoding`` chain in bounded steps: ``feed(raw)`` yields pieces of at most
    64 KiB, so a consumer that stops at its limit never holds more than the limit and one piece.

    Raises ``ValueError`` for a coding other than ``identity``, ``gzip``/``x-gzip`` or ``deflate``.
    """

    def __init__(self, content_encoding: str = ""):
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        stages = []
        for c in reversed(codings):  # the last coding applied is undone first
            if c in ("identity", ""):
                continue
            if c in ("gzip", "x-gzip"):
                stages.append(_Inflate("gzip"))
            elif c == "deflate":
                stages.append(_Inflate("deflate"))
            else:
                raise ValueError(f"unsupported content coding {c!r}")
        self.stages = stages

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of ``data`` (raises ``zlib.error`` on a corrupt stream)."""
        return self._push(0, data)

    def _push(self, i: int, data: bytes) -> Iterator[bytes]:
        if i == len(self.stages):
            if data:
                yield data
            return
        for piece in self.stages[i].feed(data):
            yield from self._push(i + 1, piece)


def gunzip_bounded(data: bytes, limit: int, layers: int = 3) -> tuple[bytes, bool]:
    """Inflate gzipped ``data`` (up to ``layers`` nested gzip layers) to at most ``limit`` bytes.

    Returns ``(bytes, cut)``; ``cut`` is True when the output reached ``limit`` and the rest was not
    inflated. Data that is not gzip is returned as is. Raises ``zlib.error`` on a corrupt stream.
    """
    cut = False
    for _ in range(layers):
        if data[:2] != _GZIP_MAGIC:
            break
        out = bytearray()
        for piece in Decoder("gzip").feed(data):
            out += piece
            if len(out) >= limit:
                del out[limit:]
                cut = True
                break
        data = bytes(out)
        if cut:
            break
    return data, cut


async def _aiter(items: list[bytes]) -> Any:
    for item in items:
        yield item


# -- requests ----------------------------------------------------------------------------------------
async def with_deadline(coro: Any, seconds: float) -> Any:
    """``await coro`` within ``seconds`` (``asyncio.timeout`` where available: no extra task)."""
    if hasattr(asyncio, "timeout"):  # Python 3.11+
        async with asyncio.timeout(seconds):
            return await coro
    return await asyncio.wait_for(coro, seconds)  # pragma: no cover - Python 3.10


def make_client(config: Any, transport: Any = None) -> Any:
    """The crawl's ``httpx.AsyncClient`` (no redirects followed, no proxy from the environment)."""
    import httpx

    limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
    return httpx.AsyncClient(
        headers={
            "User-Agent": config.user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=httpx.Timeout(config.timeout), limits=limits, follow_redirects=False, verify=config.verify_tls,
        transport=transport, trust_env=False,
    )


class Fetcher:
    """GETs with retries and bounded bodies over one client; counts retries and cuts in ``stats``.

    ``config`` gives ``retries``, ``backoff``, ``max_backoff``, ``total_timeout`` and ``max_bytes``
    (a :class:`mmedc.web.crawl.CrawlConfig`).
    """

    def __init__(self, client: Any, config: Any, stats: Any):
        self.client = client
        self.config = config
        self.stats = stats

    async def request(
        self, url: str, host: HostClock, content_types: tuple[str, ...] | None, max_bytes: int | None = None
    ) -> Response:
        """GET ``url`` once per turn of ``host``, retrying 429/5xx/timeouts/connection errors; the
        response may be a redirect (not followed here). Raise :class:`FetchError`."""
        import httpx

        cfg = self.config
        last: FetchError | None = None
        for attempt in range(cfg.retries + 1):
            await host.turn()
            try:
                resp = await with_deadline(self.get(url, content_types, max_bytes or cfg.max_bytes), cfg.total_timeout)
            except (httpx.TimeoutException, asyncio.TimeoutError):
                last = FetchError("timeout")
                wait = None
            except httpx.TransportError as e:
                last = FetchError("connection_error")
                logger.debug(f"crawl: {url}: {e!r}")
                wait = None
            else:
                if resp.status not in RETRY_STATUSES:
                    if resp.status >= 400:
                        raise FetchError(f"http_{resp.status}", resp.status, skip=resp.status in (404, 410))
                    return resp
                last = FetchError(f"http_{resp.status}", resp.status)
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

    async def get(self, url: str, content_types: tuple[str, ...] | None, max_bytes: int) -> Response:
        """One GET; the body (decoded) is cut at ``max_bytes``, and so is the raw stream."""
        async with self.client.stream("GET", url) as r:
            status = r.status_code
            headers = list(r.headers.multi_items())
            version = r.http_version or "HTTP/1.1"
            if status >= 300:
                return Response(url, status, r.reason_phrase, headers, b"", version)
            mime = r.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if content_types is not None and mime and mime not in content_types:
                raise FetchError("content_type", status, skip=True)
            if r.is_stream_consumed:  # a response built in memory (a mock transport): already decoded
                chunks: Any = _aiter([r.content])
                decoder = Decoder()
            else:
                chunks = r.aiter_raw()
                decoder = None
            try:
                decoder = decoder or Decoder(r.headers.get("content-encoding", ""))
            except ValueError:
                self.stats["unsupported_encoding"] += 1
                raise FetchError("unsupported_encoding", status, skip=True) from None
            body = bytearray()
            raw_total = 0
            truncated = None
            try:
                async for raw in chunks:
                    raw_total += len(raw)
                    for piece in decoder.feed(raw):
                        body += piece
                        if len(body) >= max_bytes:
                            truncated = "inflate" if decoder.stages and raw_total < max_bytes else "length"
                            break
                    if content_types is not None and not mime and len(body) >= 1024 and looks_binary(body):
                        raise FetchError("binary_content", status, skip=True)
                    if truncated is None and raw_total >= max_bytes:
                        truncated = "length"  # compressed bytes past the limit that inflate to little
                    if truncated:
                        break
            except zlib.error:
                raise FetchError("decoding_error", status, skip=True) from None
            if truncated:
                del body[max_bytes:]
                self.stats[f"cut_{truncated}"] += 1
                logger.info(f"crawl: {url}: body cut at {max_bytes} bytes ({truncated})")
            if content_types is not None and looks_binary(bytes(body[:1024])):
                raise FetchError("binary_content", status, skip=True)
            return Response(url, status, r.reason_phrase, headers, bytes(body), version, truncated)
