"""Kept for compatibility: the writer, shard reading and manifests now live in their own modules.

``mmedc.io.writer`` (ShardedParquetWriter), ``mmedc.io.shards`` (list_shards, iter_records,
ShardReader), ``mmedc.io.manifest`` (merge_manifests, the (language, source) key) and
``mmedc.io.layout`` (where manifests, logs and reports live).
"""

from __future__ import annotations

from mmedc.io.layout import LEGACY_MANIFEST_DIR, RANK_MANIFEST_DIR, manifest_name
from mmedc.io.manifest import merge_manifests, read_manifest
from mmedc.io.shards import ShardReader, iter_records, list_shards, open_shard
from mmedc.io.writer import ShardedParquetWriter, shard_name

MANIFEST_DIR = RANK_MANIFEST_DIR  # per-rank manifests (``_manifest`` in outputs of earlier versions)
MANIFEST_FILE = manifest_name()  # the merged manifest, relative to the output folder

__all__ = [
    "LEGACY_MANIFEST_DIR", "MANIFEST_DIR", "MANIFEST_FILE", "ShardReader", "ShardedParquetWriter",
    "iter_records", "list_shards", "merge_manifests", "open_shard", "read_manifest", "shard_name",
]
