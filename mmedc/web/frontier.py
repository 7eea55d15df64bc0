"""The crawl's persistent state: frontier, seen-set and WARC commit points, in one SQLite file.

Written here because none of the crawl libraries persists it: courlan's ``UrlStore`` and
trafilatura's spider keep their queues in memory (``UrlStore`` can only be pickled as a whole), so a
killed crawl loses its queue and fetches everything again.

Durability contract (what makes a SIGKILLed crawl resume without losing or duplicating a page): a
page is *committed* in one SQLite transaction that marks its URL done, adds the links it holds to the
frontier, and moves its WARC file's commit point past its record. The record is written (and flushed
to the operating system) before that transaction. On restart, every WARC file is cut back to its
commit point, so a record written but not committed disappears and its page, still queued, is fetched
again; a committed page is never fetched again. Only pages in flight at the kill (at most the crawl's
concurrency) are requested twice, and no page is ever stored twice. The database runs in WAL mode with
``synchronous=NORMAL``: a committed transaction survives the process being killed (not a power cut).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

QUEUED, DONE, SKIPPED, FAILED = 0, 1, 2, 3
STATUS_NAMES = {QUEUED: "queued", DONE: "done", SKIPPED: "skipped", FAILED: "failed"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    depth INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    http_status INTEGER,
    reason TEXT,
    final_url TEXT,
    warc_file TEXT,
    warc_offset INTEGER,
    updated REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS urls_status ON urls(status, seq);
CREATE TABLE IF NOT EXISTS warc_files (
    name TEXT PRIMARY KEY,
    committed INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    sitemaps_done INTEGER NOT NULL DEFAULT 0
);
"""


class Frontier:
    """SQLite-backed frontier and seen-set. One writer (the crawl's event loop) at a time."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(urls)")}
        if "attempts" not in columns:  # a state written before attempts were counted
            self.db.execute("ALTER TABLE urls ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        self.db.close()

    # -- reading -------------------------------------------------------------------------------
    def queued(self) -> Iterator[tuple[str, int]]:
        """Queued ``(url, depth)`` pairs, in discovery order."""
        yield from self.db.execute("SELECT url, depth FROM urls WHERE status=? ORDER BY seq", (QUEUED,))

    def all_urls(self) -> Iterator[str]:
        """Every URL ever queued, stored, skipped or failed (the seen-set)."""
        for (url,) in self.db.execute("SELECT url FROM urls"):
            yield url

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM urls GROUP BY status").fetchall()
        out = {name: 0 for name in STATUS_NAMES.values()}
        out.update({STATUS_NAMES[s]: n for s, n in rows})
        return out

    def done_per_host(self) -> dict[str, int]:
        """Pages stored per host (a redirect's source and target count once)."""
        return dict(self.db.execute(
            "SELECT host, COUNT(*) FROM urls WHERE status=? AND warc_file IS NOT NULL GROUP BY host", (DONE,)
        ))

    def status_of(self, url: str) -> int | None:
        row = self.db.execute("SELECT status FROM urls WHERE url=?", (url,)).fetchone()
        return None if row is None else row[0]

    def attempts_of(self, url: str) -> int:
        """How many times ``url`` was tried (stored, skipped or failed), over every run."""
        row = self.db.execute("SELECT attempts FROM urls WHERE url=?", (url,)).fetchone()
        return 0 if row is None else row[0]

    def sitemaps_done(self, host: str) -> bool:
        row = self.db.execute("SELECT sitemaps_done FROM hosts WHERE host=?", (host,)).fetchone()
        return bool(row and row[0])

    def warc_files(self) -> list[tuple[str, int, bool]]:
        return [(n, c, bool(x)) for n, c, x in self.db.execute("SELECT name, committed, closed FROM warc_files ORDER BY name")]

    # -- writing -------------------------------------------------------------------------------
    def add(self, items: Iterable[tuple[str, str, int]]) -> list[tuple[str, int]]:
        """Queue ``(url, host, depth)`` items not seen before, in one transaction; return the new ones."""
        new = []
        with self._tx():
            for url, host, depth in items:
                if self._insert(url, host, depth):
                    new.append((url, depth))
        return new

    def _insert(self, url: str, host: str, depth: int) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO urls(url, host, depth, status) VALUES (?, ?, ?, ?)", (url, host, depth, QUEUED)
        )
        return cur.rowcount == 1

    def commit_page(
        self,
        url: str,
        http_status: int,
        final_url: str,
        warc_file: str,
        warc_offset: int,
        warc_end: int,
        links: Iterable[tuple[str, str, int]],
        also_done: Iterable[tuple[str, str, int]] = (),
    ) -> list[tuple[str, int]]:
        """Mark ``url`` stored (and ``also_done``: the redirect target stored under its own URL), queue
        ``links``, and move the WARC commit point, in one transaction."""
        now = time.time()
        new = []
        with self._tx():
            self.db.execute(
                "UPDATE urls SET status=?, reason=NULL, http_status=?, final_url=?, warc_file=?, warc_offset=?, updated=?, "
                "attempts=attempts+1 WHERE url=?",
                (DONE, http_status, final_url, warc_file, warc_offset, now, url),
            )
            for u, host, depth in also_done:
                self.db.execute(
                    "INSERT INTO urls(url, host, depth, status, reason, updated, attempts) "
                    "VALUES (?, ?, ?, ?, 'redirect_target', ?, 1) "
                    "ON CONFLICT(url) DO UPDATE SET status=excluded.status, reason=excluded.reason, "
                    "attempts=urls.attempts+1",
                    (u, host, depth, DONE, now),
                )
            for u, host, depth in links:
                if self._insert(u, host, depth):
                    new.append((u, depth))
            self.db.execute(
                "INSERT INTO warc_files(name, committed) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET committed=excluded.committed",
                (warc_file, warc_end),
            )
        return new

    def skip_with_links(
        self, url: str, reason: str, http_status: int, links: Iterable[tuple[str, str, int]]
    ) -> list[tuple[str, int]]:
        """Mark ``url`` skipped (fetched, not stored: ``noindex``) and queue its ``links``, atomically."""
        new = []
        with self._tx():
            self.finish(url, SKIPPED, reason, http_status)
            for u, host, depth in links:
                if self._insert(u, host, depth):
                    new.append((u, depth))
        return new

    def finish(self, url: str, status: int, reason: str, http_status: int | None = None) -> None:
        """Mark ``url`` skipped or failed (with the reason; one more attempt), so this run and later
        ones do not try it again (``requeue_failed`` queues failed ones again)."""
        self.db.execute(
            "UPDATE urls SET status=?, reason=?, http_status=?, updated=?, attempts=attempts+1 WHERE url=?",
            (status, reason, http_status, time.time(), url),
        )

    def requeue_failed(self) -> int:
        """Queue again every URL that failed (timeouts, 5xx after retries, unreachable robots.txt...);
        return how many. Their attempt counts are kept; the last reason stays until the next outcome."""
        cur = self.db.execute("UPDATE urls SET status=? WHERE status=?", (QUEUED, FAILED))
        return cur.rowcount

    def set_sitemaps_done(self, host: str) -> None:
        self.db.execute(
            "INSERT INTO hosts(host, sitemaps_done) VALUES (?, 1) ON CONFLICT(host) DO UPDATE SET sitemaps_done=1",
            (host,),
        )

    def open_warc(self, name: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO warc_files(name, committed) VALUES (?, 0)", (name,))

    def close_warc(self, name: str, size: int) -> None:
        self.db.execute("UPDATE warc_files SET closed=1, committed=? WHERE name=?", (size, name))

    def _tx(self):
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


def summarize(path: str | Path, list_status: str | None = None, limit: int = 50) -> dict:
    """Counts of a crawl state by status and reason (and some URLs of one status, if asked)."""
    f = Frontier(path)
    try:
        by_reason = f.db.execute(
            "SELECT status, COALESCE(reason, ''), COUNT(*) FROM urls GROUP BY status, reason ORDER BY 3 DESC"
        ).fetchall()
        out: dict = {"counts": f.counts(), "reasons": [
            {"status": STATUS_NAMES[s], "reason": r, "urls": n} for s, r, n in by_reason
        ], "warc_files": len(f.warc_files())}
        if list_status:
            code = {v: k for k, v in STATUS_NAMES.items()}[list_status]
            out["urls"] = [
                {"url": u, "reason": r, "http_status": h, "attempts": a}
                for u, r, h, a in f.db.execute(
                    "SELECT url, reason, http_status, attempts FROM urls WHERE status=? ORDER BY seq LIMIT ?",
                    (code, limit),
                )
            ]
        return out
    finally:
        f.close()


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m mmedc.web.frontier", description="Summarise a crawl state file.")
    ap.add_argument("state", help="the crawl's .sqlite state file")
    ap.add_argument("--list", choices=sorted(STATUS_NAMES.values()), help="also list URLs with this status")
    ap.add_argument("--limit", type=int, default=50)
    a = ap.parse_args()
    print(json.dumps(summarize(a.state, a.list, a.limit), indent=1, ensure_ascii=False))
