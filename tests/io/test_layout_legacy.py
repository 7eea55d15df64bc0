"""The layout helpers, and outputs of earlier versions (``_manifest.json``, ``_manifest/``, ``_logs/``)."""

from __future__ import annotations

import json

from datatrove.data import Document

from mmedc.io import layout
from mmedc.io.manifest import group_key, merge_manifests, read_manifest, split_key
from mmedc.io.shards import list_shards
from mmedc.io.writer import ShardedParquetWriter


def test_paths():
    assert layout.meta_dir("s3://b/out/") == "s3://b/out/.mmedc"
    assert layout.logs_dir("out", "extract") == "out/.mmedc/logs/extract"
    assert layout.manifest_path("out", "kw_") == "out/.mmedc/kw_manifest.json"
    assert layout.run_record_path("out") == "out/.mmedc/run.json"
    assert layout.report_path("out", "dedupe_report.json") == "out/.mmedc/reports/dedupe_report.json"
    assert layout.is_hidden("out/.mmedc/manifest/00000.json", "out") and layout.is_hidden("_logs/x", None)
    assert not layout.is_hidden("/tmp/.cache/out/00000_00000.parquet", "/tmp/.cache/out")
    assert group_key("en", None) == "en/unknown" and split_key("zh/textbook") == ("zh", "textbook")


def test_outputs_of_earlier_versions_still_read(tmp_path):
    with ShardedParquetWriter(str(tmp_path)) as w:
        w.write(Document(text="x", id="a", metadata={"language": "en", "source": "web"}))
    # make it look like an old output: metadata under underscore names, none under .mmedc
    (tmp_path / "_manifest").mkdir()
    (tmp_path / ".mmedc" / "manifest" / "00000.json").rename(tmp_path / "_manifest" / "00000.json")
    (tmp_path / "_logs").mkdir()
    (tmp_path / "_logs" / "stats.parquet").write_bytes(b"not a shard")
    assert list_shards(str(tmp_path)) == [str(tmp_path / "00000_00000.parquet")]
    assert read_manifest(str(tmp_path)) is None
    m = merge_manifests(str(tmp_path))  # the per-rank manifests of the old layout are found
    assert m["rows"] == 1 and m["by_lang_source"] == [{"lang": "en", "source": "web", "documents": 1, "characters": 1}]
    assert read_manifest(str(tmp_path))["rows"] == 1
    (tmp_path / ".mmedc" / "manifest.json").unlink()
    (tmp_path / "_manifest.json").write_text(json.dumps({"rows": 7}))
    assert read_manifest(str(tmp_path)) == {"rows": 7}
    # a re-run of rank 0 removes the old layout's rank manifest too
    with ShardedParquetWriter(str(tmp_path)) as w:
        w.start_rank(0)
    assert not (tmp_path / "_manifest" / "00000.json").exists()
    assert (tmp_path / ".mmedc" / "manifest" / "00000.json").exists()
