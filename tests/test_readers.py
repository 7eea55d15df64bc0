"""CorpusReader: Parquet and jsonl input, and every kind of bad input as a counted, named skip."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.utils.logging import logger

from mmedc.io.readers import CorpusReader, split_input


def _counters(block):
    return block.stats.to_dict()["stats"]


def test_reads_parquet_and_jsonl_with_metadata(tmp_path):
    pq.write_table(pa.table({"text": ["un texte", "another"], "url": ["http://a", "http://b"],
                             "source": ["mC4", "OSCAR"], "timestamp": ["2020", "2021"]}), tmp_path / "a.parquet")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.write(json.dumps({"text": "third", "id": "x3", "metadata": {"k": 1}}) + "\n")
    docs = list(CorpusReader(str(tmp_path)).run())
    assert [d.text for d in docs] == ["un texte", "another", "third"]
    assert docs[0].metadata["url"] == "http://a" and docs[0].metadata["origin"] == "mC4"
    assert docs[0].metadata["source"] == "web" and docs[0].id == "a.parquet/0"
    assert docs[2].id == "x3" and docs[2].metadata["k"] == 1


def test_bad_input_is_counted_and_named_and_the_run_goes_on(tmp_path):
    pq.write_table(pa.table({"content": ["no text column here"]}), tmp_path / "1_notext.parquet")
    (tmp_path / "2_notparquet.parquet").write_bytes(b"this is not parquet at all")
    (tmp_path / "3_lines.jsonl").write_text(
        "\n".join([
            json.dumps({"text": "good one"}),
            "{not json",
            json.dumps([1, 2]),
            json.dumps({"text": 42}),
            json.dumps({"text": None}),
            json.dumps({"text": "   "}),
            json.dumps({"text": "z" * 2000}),
            json.dumps({"text": "good two"}),
        ]) + "\n",
        encoding="utf-8",
    )
    (tmp_path / "4_latin1.jsonl").write_bytes(json.dumps({"text": "caf\u00e9"}).encode("utf-8").replace(b"\\u00e9", b"\xe9"))
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    try:
        reader = CorpusReader(str(tmp_path), max_chars=1000)
        docs = list(reader.run())
    finally:
        logger.remove(sink)
    assert [d.text for d in docs] == ["good one", "good two"]
    c = _counters(reader)
    assert c["bad_file"] == 2  # no text column, not Parquet
    assert c["bad_line"] == 3 and c["non_string_text"] == 2 and c["empty"] == 1 and c["too_long"] == 1
    joined = "\n".join(messages)
    assert "1_notext.parquet" in joined and "no 'text' column" in joined
    assert "2_notparquet.parquet" in joined and "3_lines.jsonl: line 2" in joined
    assert "4_latin1.jsonl: line 1" in joined


def test_split_input(tmp_path):
    (tmp_path / "d").mkdir()
    f = tmp_path / "d" / "x.parquet"
    f.write_bytes(b"")
    assert split_input(str(f)) == (str(tmp_path / "d"), "x.parquet")
    assert split_input(str(tmp_path / "d")) == (str(tmp_path / "d"), None)
    assert split_input(f"{tmp_path}/d/*.parquet") == (f"{tmp_path}/d", "*.parquet")
    assert split_input("s3://bucket/cx/fr/*.parquet") == ("s3://bucket/cx/fr", "*.parquet")
