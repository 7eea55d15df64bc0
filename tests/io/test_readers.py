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


def _read_logging_warnings(reader: CorpusReader):
    """``(documents, reader, warning messages)`` of one run of ``reader``."""
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    try:
        docs = list(reader.run())
    finally:
        logger.remove(sink)
    return docs, reader, messages


def test_reads_parquet_and_jsonl_with_metadata(tmp_path):
    pq.write_table(pa.table({"text": ["un texte", "another"], "url": ["http://a", "http://b"],
                             "source": ["mC4", "OSCAR"], "timestamp": ["2020", "2021"]}), tmp_path / "a.parquet")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.write(json.dumps({"text": "third", "id": "x3", "metadata": {"k": 1}}) + "\n")
    docs = list(CorpusReader(str(tmp_path)).run())
    assert [d.text for d in docs] == ["un texte", "another", "third"]
    assert docs[0].metadata["url"] == "http://a" and docs[0].metadata["origin"] == "mC4"
    assert docs[0].metadata["source"] == "web" and docs[0].id == f"{tmp_path}/a.parquet/0"
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
    docs, reader, messages = _read_logging_warnings(CorpusReader(str(tmp_path), max_chars=1000))
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


def _jsonl(path, texts):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")


def test_ids_are_unique_across_folders_and_inputs_and_stable(tmp_path):
    # two files of the same name in different folders of one input, and two inputs with the same file name
    _jsonl(tmp_path / "one" / "a" / "part.jsonl", ["a0", "a1", "a2"])
    _jsonl(tmp_path / "one" / "b" / "part.jsonl", ["b0", "b1"])
    _jsonl(tmp_path / "two" / "part.jsonl", ["c0", "c1"])
    _jsonl(tmp_path / "three" / "part.jsonl", ["d0"])
    readers = [CorpusReader(str(tmp_path / "one")),
               CorpusReader(*split_input(str(tmp_path / "two" / "part.jsonl"))),
               CorpusReader(*split_input(str(tmp_path / "three" / "part.jsonl")))]
    docs = [d for r in readers for d in r.run()]
    ids = [d.id for d in docs]
    assert len(docs) == 8 and len(set(ids)) == 8
    assert f"{tmp_path}/one/a/part.jsonl/0" in ids and f"{tmp_path}/one/b/part.jsonl/0" in ids
    assert f"{tmp_path}/two/part.jsonl/1" in ids
    again = [d.id for d in CorpusReader(str(tmp_path / "one")).run()]
    assert again == ids[:5]  # the same input gives the same ids on every run
    rel = CorpusReader("one/a", glob_pattern="*.jsonl")
    assert rel.document_id("part.jsonl", 4) == "one/a/part.jsonl/4"  # the input as the user named it


def test_binary_file_named_jsonl_logs_a_few_lines_not_thousands(tmp_path):
    import random

    rng = random.Random(0)
    (tmp_path / "binary.jsonl").write_bytes(bytes(rng.randrange(256) for _ in range(256 * 1024)))
    _jsonl(tmp_path / "good.jsonl", ["fine"])
    docs, reader, messages = _read_logging_warnings(CorpusReader(str(tmp_path), max_warnings_per_file=5))
    assert [d.text for d in docs] == ["fine"]
    bad = _counters(reader)["bad_line"]
    assert bad > 500  # every bad line is still counted ...
    about = [m for m in messages if "binary.jsonl" in m]
    assert len(about) == 6  # ... but only five are logged, then one summary line with the count
    assert f"{bad - 5:,} more warning(s)" in about[-1]


def test_long_lines_are_read_in_bounded_pieces_and_hidden_files_skipped(tmp_path):
    (tmp_path / "long.jsonl").write_bytes(b'{"text": "' + b"x" * 100_000 + b'"}\n' + json.dumps({"text": "after"}).encode() + b"\n")
    (tmp_path / ".mmedc").mkdir()
    (tmp_path / ".mmedc" / "manifest.json").write_text('{"rows": 3}')
    reader = CorpusReader(str(tmp_path), max_line_bytes=1000)
    assert [d.text for d in reader.run()] == ["after"]
    c = _counters(reader)
    assert c["line_too_long"] == 1 and c["hidden_skipped"] == 1 and "bad_line" not in c


def test_lone_surrogate_escapes_are_repaired_counted_and_named(tmp_path):
    """JSON may escape a lone UTF-16 surrogate ("\\ud800"), which no UTF-8 writer, Arrow or fastText
    takes: the reader writes U+FFFD for it, counts and names the line; a valid escaped pair stays one
    character."""
    lines = [
        '{"text": "fine \\ud83d\\ude00 pair", "url": "http://a"}',
        '{"text": "broken \\ud800 here", "url": "http://b/\\udcff", "metadata": {"tags": ["x\\ud800"]}}',
        '{"text": "plain"}',
    ]
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, reader, messages = _read_logging_warnings(CorpusReader(str(tmp_path)))
    assert [d.text for d in docs] == ["fine \U0001f600 pair", "broken \ufffd here", "plain"]
    assert docs[1].metadata["url"] == "http://b/\ufffd" and docs[1].metadata["tags"] == ["x\ufffd"]
    for d in docs:  # every string encodes as UTF-8 now (this raises otherwise)
        assert d.text.encode("utf-8") and json.dumps(d.metadata, ensure_ascii=False).encode("utf-8")
    assert _counters(reader)["repaired_surrogates"] == 1
    assert any("s.jsonl: line 2" in m and "surrogate" in m for m in messages), messages


def test_binary_text_column_is_decoded_and_bad_utf8_counted(tmp_path):
    """Some datasets store text as binary: UTF-8 bytes are read as text, other bytes counted and named."""
    pq.write_table(pa.table({"text": pa.array(["caf\u00e9 ok".encode(), b"\xff\xfe not utf-8", None], pa.binary())}),
                   tmp_path / "bin.parquet")
    docs, reader, messages = _read_logging_warnings(CorpusReader(str(tmp_path)))
    assert [d.text for d in docs] == ["caf\u00e9 ok"]
    c = _counters(reader)
    assert c["invalid_utf8"] == 1 and c["non_string_text"] == 1
    assert any("bin.parquet: row 1: text is not UTF-8" in m for m in messages), messages


def test_files_that_are_not_data_are_skipped_and_counted_without_an_error(tmp_path):
    """A Hugging Face dataset folder holds README.md and LICENSE beside its data: skipped, counted,
    no warning; the data files are read."""
    pq.write_table(pa.table({"text": ["a document"]}), tmp_path / "train.parquet")
    (tmp_path / "README.md").write_text("# a dataset card\n", encoding="utf-8")
    (tmp_path / "LICENSE").write_text("MIT\n", encoding="utf-8")
    docs, reader, messages = _read_logging_warnings(CorpusReader(str(tmp_path)))
    assert [d.text for d in docs] == ["a document"]
    c = _counters(reader)
    assert c["skipped_not_data"] == 2 and "bad_file" not in c
    assert messages == []
