"""Statistics and reports go through fsspec: an ``s3://``-style URL is not a local folder named ``s3:``."""

from __future__ import annotations

import json
import os

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from mmedc.io.writer import ShardedParquetWriter
from mmedc.stats import corpus_stats, write_report


@pytest.fixture()
def shards(tmp_path):
    docs = [Document(text="肺炎 " * 10, id="zh1", metadata={"language": "zh", "source": "textbook"}),
            Document(text="The patient has pneumonia.", id="en1", metadata={"language": "en", "source": "web"}),
            Document(text="Fever.", id="en2", metadata={"language": "en", "source": "web"})]
    with ShardedParquetWriter(str(tmp_path / "s")) as w:
        for d in docs:
            w.write(d)
    return str(tmp_path / "s")


def test_write_report_to_an_fsspec_url(shards, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stats = write_report(shards, "memory://reports/run1")
    assert not os.path.exists(tmp_path / "memory:")
    with fsspec.open("memory://reports/run1/stats.json", "r") as f:
        saved = json.load(f)
    with fsspec.open("memory://reports/run1/composition.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    by = {(r["lang"], r["source"]): r for r in saved["rows"]}
    assert by[("en", "web")]["documents"] == 2 and by[("zh", "textbook")]["tokens"] == 20
    assert stats["png"] == "memory://reports/run1/composition.png"


def test_plain_parquet_is_a_clear_error(tmp_path):
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "plain.parquet")
    with pytest.raises(ValueError, match=r"plain\.parquet: not an mmedc shard \(no lang, source, text columns"):
        corpus_stats(str(tmp_path / "plain.parquet"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        corpus_stats(str(tmp_path / "nothing"))
