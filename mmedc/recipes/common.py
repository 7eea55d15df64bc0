"""What the recipes share: reading a finished run's counters and printing an output summary."""

from __future__ import annotations

import argparse
import json
import posixpath
from typing import Any


def add_shard_args(parser: argparse.ArgumentParser | argparse._ArgumentGroup, max_rows: int = 100_000) -> None:
    """The output-shard bounds every recipe takes: ``--max-rows`` and ``--max-mb``."""
    parser.add_argument("--max-rows", type=int, default=max_rows, help="rows per output shard at most")
    parser.add_argument("--max-mb", type=float, default=256, help="uncompressed text MB per shard at most")


def shard_kwargs(args: argparse.Namespace) -> dict[str, int]:
    """``max_rows`` / ``max_bytes`` for :class:`~mmedc.io.parquet.ShardedParquetWriter` from those options."""
    return {"max_rows": args.max_rows, "max_bytes": int(args.max_mb * 2**20)}


def read_stats(logging_dir: str, missing_ok: bool = False) -> dict[str, dict[str, Any]]:
    """Per-block counters of a finished run (datatrove's merged ``stats.json``), keyed by block name.

    ``missing_ok``: return ``{}`` when the run left no ``stats.json`` (nothing ran)."""
    import fsspec

    path = posixpath.join(logging_dir, "stats.json")
    try:
        with fsspec.open(path, "r") as f:
            blocks = json.load(f)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise
    return {
        block["name"]: {k: (v["total"] if isinstance(v, dict) and "total" in v else v) for k, v in block["stats"].items()}
        for block in blocks
    }


def print_output_summary(summary: dict[str, Any]) -> None:
    """Print kept documents per language x source (from the manifest) and each block's counters."""
    m = summary["manifest"]
    print(f"kept {m['rows']:,} documents in {len(m['shards'])} shard(s) -> {summary['output']}")
    for entry in m["by_lang_source"]:
        print(f"  {entry['lang']:>4} {entry['source']:<9} {entry['documents']:>8,} docs {entry['characters']:>12,} chars")
    for name, counters in summary["stats"].items():
        interesting = {k: v for k, v in counters.items() if k not in ("total", "forwarded") and not k.startswith("lang_")}
        if interesting:
            print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in sorted(interesting.items())))
