"""Recipes from and to object storage: an S3 server on loopback (moto's ``ThreadedMotoServer``) and
fsspec's ``memory://``.

The ``filter_web`` recipe reads the bundled web sample from ``s3://`` and writes to ``s3://`` with two
worker processes (the credentials and endpoint reach them through the environment, as on a real
machine); its rows must equal those of the same run on local folders. ``memory://`` lives in one
process: with one worker it works, with two it is refused up front with the paths named.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mmedc.io.parquet import iter_records
from mmedc.recipes.filter_web import run_filter_web
from mmedc.samples.web import make_web_sample


def rows(folder: str) -> list[tuple[str, str]]:
    return sorted((r["id"], r["text"]) for r in iter_records(folder, columns=["id", "text"]))


@pytest.fixture(scope="module")
def web_sample(tmp_path_factory) -> tuple[Path, list[tuple[str, str]]]:
    base = tmp_path_factory.mktemp("web")
    make_web_sample(base / "in", docs_per_lang=10, files=2)
    run_filter_web(str(base / "in"), str(base / "local"), tasks=2, workers=1)
    expected = rows(str(base / "local"))
    assert 5 < len(expected) < 60
    return base / "in", expected


@pytest.fixture(scope="module")
def s3_server():
    """An S3 endpoint on 127.0.0.1 with credentials in the environment (read by s3fs/botocore)."""
    pytest.importorskip("s3fs", reason="s3:// needs the s3 extra: pip install 'mmedc[s3]'")
    moto_server = pytest.importorskip("moto.server", reason="the S3 test needs moto[server] (dev extra)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                           "NO_PROXY": "127.0.0.1,localhost"}.items():
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "HTTP_PROXY", "HTTPS_PROXY"):
            mp.delenv(key, raising=False)
        try:
            yield port
        finally:
            server.stop()


def test_filter_web_from_and_to_s3_with_two_workers(s3_server, web_sample):
    import fsspec

    inp, expected = web_sample
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir("corpus")
    fs.put(f"{inp}/", "corpus/in/", recursive=True)
    assert sorted(Path(p).name for p in fs.ls("corpus/in")) == sorted(p.name for p in inp.iterdir())

    summary = run_filter_web("s3://corpus/in", "s3://corpus/out", tasks=2, workers=2)
    assert summary["manifest"]["rows"] == len(expected)
    fs.invalidate_cache()
    assert rows("s3://corpus/out") == expected
    assert fs.isfile("corpus/out/.mmedc/manifest.json") and fs.isfile("corpus/out/.mmedc/run.json")


def test_memory_paths_work_in_one_process(web_sample):
    import fsspec

    inp, expected = web_sample
    mem = fsspec.filesystem("memory")
    mem.put(f"{inp}/", "/mmedc_test/in/", recursive=True)
    try:
        run_filter_web("memory://mmedc_test/in", "memory://mmedc_test/out", tasks=2, workers=1)
        assert rows("memory://mmedc_test/out") == expected
    finally:
        mem.rm("/mmedc_test", recursive=True)


@pytest.mark.parametrize("executor", ["local", "spark"])
def test_memory_paths_with_several_processes_are_refused(executor, web_sample, tmp_path):
    import fsspec

    inp, _ = web_sample
    mem = fsspec.filesystem("memory")
    mem.put(f"{inp}/", "/mmedc_none/in/", recursive=True)
    try:
        with pytest.raises(ValueError, match=r"memory://mmedc_none/in.*memory://mmedc_none/out.*one process"):
            run_filter_web("memory://mmedc_none/in", "memory://mmedc_none/out", tasks=2, workers=2, executor=executor)
    finally:
        mem.rm("/mmedc_none", recursive=True)
    # a memory:// logging folder alone is refused too
    with pytest.raises(ValueError, match=r"memory://mmedc_none/logs"):
        run_filter_web(str(inp), str(tmp_path / "out"), logging_dir="memory://mmedc_none/logs",
                       tasks=2, workers=-1)
