"""The websites recipe end to end: demo (loopback crawl of the fixture site), HTML folder input, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmedc.io.parquet import iter_records
from mmedc.recipes.websites import SAMPLE_SITE, demo, main

pytestmark = pytest.mark.timeout(300)


def test_demo_crawls_the_fixture_site_and_writes_shards(tmp_path):
    summary = demo(tmp_path, tasks=1, workers=1)
    crawl = summary["crawl"]
    # 9 HTML pages: 8 linked, 1 only in the sitemap; /private/ disallowed; the PDF skipped by type
    assert summary["pages_crawled"] == 9 and summary["documents_in"] == 9
    assert crawl["robots_disallowed"] == 1 and crawl["content_type"] == 1 and crawl["sitemap_urls"] == 9
    assert sorted(p.name for p in Path(summary["warc_folder"]).glob("*.warc.gz")) == ["crawl_00000-00000.warc.gz"]
    rows = list(iter_records(summary["output"]))
    assert len(rows) == summary["documents"] >= 1
    assert summary["manifest"]["rows"] == len(rows)
    urls = {r["url"] for r in rows}
    assert all(u.startswith(summary["site_url"]) for u in urls)
    assert summary["site_url"] + "/en/diabetes.html" in urls
    for r in rows:
        assert r["source"] == "website" and r["lang"] and r["med_kw_count"] is not None and r["title"]
        assert "Subscribe to our newsletter" not in r["text"]


def test_html_folder_without_keyword_filter_keeps_all_six_languages(tmp_path):
    out = tmp_path / "out"
    argv = ["--html", str(SAMPLE_SITE), "--base-url", "https://health.example/", "--output", str(out),
            "--no-keyword-filter", "--tasks", "1", "--workers", "1"]
    assert main(argv) == 0
    rows = list(iter_records(str(out)))
    by_url = {r["url"]: r for r in rows}
    # the index page and the robots-protected draft are too short (< 200 characters of text)
    assert len(rows) == 8
    assert {r["lang"] for r in rows} == {"en", "fr", "es", "zh", "ja", "ru"}
    ja = by_url["https://health.example/ja/influenza.html"]
    assert "インフルエンザウイルス" in ja["text"] and json.loads(ja["metadata"])["charset"] == "cp932"
    # a second run of the same command resumes (all tasks completed): nothing duplicated
    assert main(argv) == 0
    assert len(list(iter_records(str(out)))) == 8


def test_bad_arguments_are_reported(tmp_path):
    with pytest.raises(SystemExit, match="exactly one input"):
        main(["--output", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="exactly one input"):
        main(["--output", str(tmp_path / "o"), "--warcs", str(tmp_path), "--html", str(tmp_path)])
    bad = tmp_path / "seeds.json"
    bad.write_text('{"sites": [{"name": "x", "seeds": ["notaurl"]}]}')
    with pytest.raises(SystemExit, match=r"seeds\.json: site #0 \(x\)"):
        main(["--output", str(tmp_path / "o"), "--seed-file", str(bad)])


def test_pipeline_script_is_a_thin_wrapper():
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "pipelines" / "websites.py"), "--help"], capture_output=True,
                         text=True, cwd=root, timeout=120)
    assert out.returncode == 0 and "--seed-file" in out.stdout and "--retry-failed" in out.stdout


def test_retry_failed_crawls_seeds_that_failed_without_network(tmp_path):
    """A crawl whose seed failed (nothing listening) is retried by ``--retry-failed``, also with
    ``--no-resume``; the extraction then runs again over the new pages, with no row twice."""
    import socket
    import sqlite3

    from webservers import Recorder, make_server, page

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    out = tmp_path / "out"
    argv = ["--seed", base + "/", "--output", str(out), "--no-keyword-filter", "--tasks", "1", "--workers", "1",
            "--delay", "0", "--retries", "0", "--timeout", "2", "--no-sitemaps"]
    assert main(argv) == 0
    state = Path(str(out) + "_warc") / "_state" / "00000.sqlite"

    def attempts() -> dict[str, tuple[int, int]]:
        db = sqlite3.connect(str(state))
        try:
            return {u: (s, a) for u, s, a in db.execute("SELECT url, status, attempts FROM urls")}
        finally:
            db.close()

    assert attempts() == {base + "/": (3, 1)}  # failed (robots.txt unreachable), one attempt
    text = "Influenza is a contagious respiratory illness caused by influenza viruses. " * 6
    pages = {"/": page("home", ["/flu"], body=text), "/flu": page("flu", [], body=text)}
    rec = Recorder()
    server, _ = make_server(lambda h, p, n: h.send(200, pages[p]) if p in pages else h.send(404, b""), rec,
                            address=("127.0.0.1", port))
    try:
        assert main(argv) == 0  # same request: resumes, failed pages stay failed
        assert rec.count("/") == 0
        assert main(argv + ["--no-resume", "--retry-failed"]) == 0
        assert main(argv + ["--retry-failed"]) == 0  # nothing failed any more: nothing fetched again
    finally:
        server.shutdown()
    assert rec.count("/") == 1 and rec.count("/flu") == 1
    assert attempts() == {base + "/": (1, 2), base + "/flu": (1, 1)}
    rows = list(iter_records(str(out)))
    assert sorted(r["url"] for r in rows) == [base + "/", base + "/flu"]
