"""ShardedParquetWriter: bounded shards, atomic completion, stable schema, manifests, re-runs."""

from __future__ import annotations

import json

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from mmedc.io.manifest import merge_manifests
from mmedc.io.shards import ShardReader, iter_records, list_shards
from mmedc.io.writer import ShardedParquetWriter
from mmedc.schema import COLUMNS, SCHEMA


def _docs(n, text="x" * 100, start=0):
    out = []
    for i in range(start, start + n):
        meta = {"language": "en" if i % 2 else "fr", "source": "web", "language_score": 0.9}
        if i % 3 == 0:
            meta["only_some"] = [i, "a"]  # keys differ between documents
        if i % 5 == 0:
            meta["med_kw_count"] = i
            meta["med_kw_density"] = 0.05
        out.append(Document(text=f"{i} {text}", id=f"d{i}", metadata=meta))
    return out


def _write(folder, docs, rank=0, **kw):
    w = ShardedParquetWriter(str(folder), **kw)
    list(w.run(iter(docs), rank=rank, world_size=2))
    return w


def test_shards_bounded_by_rows_and_schema_is_fixed(tmp_path):
    _write(tmp_path, _docs(25), max_rows=10)
    shards = sorted(p.name for p in tmp_path.glob("*.parquet"))
    assert shards == ["00000_00000.parquet", "00000_00001.parquet", "00000_00002.parquet"]
    rows = [pq.ParquetFile(tmp_path / s).metadata.num_rows for s in shards]
    assert rows == [10, 10, 5]
    for s in shards:
        assert pq.read_schema(tmp_path / s).names == COLUMNS
        assert pq.read_schema(tmp_path / s).remove_metadata().equals(SCHEMA)
    assert not list(tmp_path.glob("*.tmp"))
    table = ds.dataset(str(tmp_path), format="parquet").to_table()  # one table, no schema merging
    assert table.num_rows == 25
    assert pq.ParquetFile(tmp_path / shards[0]).metadata.row_group(0).column(1).compression == "ZSTD"


def test_shards_bounded_by_bytes(tmp_path):
    _write(tmp_path, _docs(20, text="y" * 1000), max_bytes=3500)
    for shard in tmp_path.glob("*.parquet"):
        texts = pq.read_table(shard, columns=["text"]).column("text").to_pylist()
        assert sum(len(t.encode()) for t in texts) <= 3500
        assert 1 <= len(texts) <= 3
    assert sum(pq.ParquetFile(s).metadata.num_rows for s in tmp_path.glob("*.parquet")) == 20


def test_metadata_round_trip(tmp_path):
    docs = _docs(7)
    _write(tmp_path, docs)
    back = {d.id: d for d in ShardReader(str(tmp_path)).run()}
    assert set(back) == {d.id for d in docs}
    for d in docs:
        got = back[d.id]
        assert got.text == d.text
        for k, v in d.metadata.items():
            assert got.metadata[k] == (list(v) if isinstance(v, list) else pytest.approx(v))
    row = next(iter_records(str(tmp_path)))
    assert row["lang"] in ("en", "fr") and row["source"] == "web"
    assert isinstance(json.loads(row["metadata"]), dict)


def test_manifest_counts_per_language_and_source(tmp_path):
    _write(tmp_path, _docs(10), rank=0, max_rows=4)
    _write(tmp_path, _docs(6, start=100), rank=1, max_rows=4)
    m = merge_manifests(str(tmp_path))
    assert m["rows"] == 16 and len(m["shards"]) == 5
    by = {(e["lang"], e["source"]): e for e in m["by_lang_source"]}
    assert by[("en", "web")]["documents"] == 8 and by[("fr", "web")]["documents"] == 8
    assert sum(e["characters"] for e in m["by_lang_source"]) == sum(len(d.text) for d in _docs(10) + _docs(6, start=100))
    assert json.loads((tmp_path / ".mmedc" / "manifest.json").read_text())["rows"] == 16
    assert m["bytes"] == sum(p.stat().st_size for p in tmp_path.glob("*.parquet"))


def test_rerun_of_a_rank_replaces_its_shards_only(tmp_path):
    _write(tmp_path, _docs(30), rank=0, max_rows=10)
    _write(tmp_path, _docs(5, start=500), rank=1, max_rows=10)
    (tmp_path / ".00000_00007.parquet.tmp").write_bytes(b"half a shard from a killed attempt")
    (tmp_path / "00000_00008.parquet.tmp").write_bytes(b"the same, as earlier versions named it")
    _write(tmp_path, _docs(12), rank=0, max_rows=10)  # the retried rank writes fewer shards
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".mmedc", "00000_00000.parquet", "00000_00001.parquet", "00001_00000.parquet"]
    ids = [r["id"] for r in iter_records(str(tmp_path))]
    assert len(ids) == len(set(ids)) == 17


def test_interrupted_write_leaves_no_complete_looking_shard(tmp_path):
    def boom():
        yield from _docs(15)
        raise RuntimeError("killed")

    w = ShardedParquetWriter(str(tmp_path), max_rows=10, row_group_rows=2)
    with pytest.raises(RuntimeError):
        list(w.run(boom(), rank=3))
    assert [p.name for p in tmp_path.glob("*.parquet")] == ["00003_00000.parquet"]  # only the closed shard
    assert list_shards(str(tmp_path)) == [str(tmp_path / "00003_00000.parquet")]


def test_rejects_non_string_text(tmp_path):
    w = ShardedParquetWriter(str(tmp_path))
    with pytest.raises(TypeError, match="d1"):
        w.write(Document(text=123, id="d1"), rank=0)  # type: ignore[arg-type]


def test_readable_by_duckdb_and_hf_datasets(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    datasets = pytest.importorskip("datasets")
    _write(tmp_path, _docs(9), max_rows=4)
    n = duckdb.sql(f"select count(*), count(distinct lang) from read_parquet('{tmp_path}/*.parquet')").fetchall()[0]
    assert n == (9, 2)
    dset = datasets.load_dataset("parquet", data_files=str(tmp_path / "*.parquet"), split="train",
                                 cache_dir=str(tmp_path / "hf_cache"))
    assert dset.num_rows == 9 and dset.column_names == COLUMNS


def test_lone_surrogates_in_a_document_are_written_as_replacement_characters(tmp_path):
    """A document from any reader may carry a lone surrogate (Arrow cannot encode it): the shard is
    written with U+FFFD in its place, the document counted, the others untouched."""
    docs = [
        Document(text="clean text", id="a", metadata={"language": "en"}),
        Document(text="broken \ud800 text", id="b", metadata={"language": "en", "url": "http://x/\udcff"}),
    ]
    w = ShardedParquetWriter(str(tmp_path))
    list(w.run(iter(docs)))
    rows = [r for s in list_shards(str(tmp_path)) for r in iter_records(s)]
    assert [(r["id"], r["text"]) for r in rows] == [("a", "clean text"), ("b", "broken \ufffd text")]
    assert rows[1]["url"] == "http://x/\ufffd"
    assert w.stats.to_dict()["stats"]["repaired_surrogates"] == 1
