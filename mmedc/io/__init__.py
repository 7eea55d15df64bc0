"""Output and input: the sharded Parquet writer, shard reading, manifests, the output layout, atomic
writes and the fault-tolerant corpus reader. Names are imported on first use."""

from __future__ import annotations

from mmedc._lazy import lazy_exports

_EXPORTS = {
    "ShardedParquetWriter": "mmedc.io.writer",
    "shard_name": "mmedc.io.writer",
    "ShardReader": "mmedc.io.shards",
    "iter_records": "mmedc.io.shards",
    "list_shards": "mmedc.io.shards",
    "open_shard": "mmedc.io.shards",
    "merge_manifests": "mmedc.io.manifest",
    "read_manifest": "mmedc.io.manifest",
    "group_key": "mmedc.io.manifest",
    "GroupCounts": "mmedc.io.manifest",
    "CorpusReader": "mmedc.io.readers",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
