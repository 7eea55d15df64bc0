"""Where things live in an mmedc output folder: shards at the top, everything else hidden.

    <output>/
      00000_00000.parquet ...          the shards (the only files readers see)
      .00001_00003.parquet.tmp         a shard being written (hidden until renamed)
      .mmedc/
        manifest.json                  the merged manifest (shards, rows, bytes, per language x source)
        manifest/<prefix><rank>.json   one manifest per writer rank
        run.json                       what the run was asked (recipe, options, inputs, tasks, versions)
        logs/[<stage>/]                datatrove logs, stats and completion markers
        reports/<name>                 reports (the dedupe report, corpus statistics)

pyarrow, Spark, DuckDB and Hugging Face ``datasets`` skip names starting with ``.`` when they list a
folder, so an output folder opens as one table with each of them. Every module that needs one of
these paths asks this module, so the layout is written once. Outputs of earlier versions kept their
metadata in ``_manifest.json``, ``_manifest/`` and ``_logs/``: :func:`find_manifest` and
:func:`is_hidden` still know those names.

All functions take and return strings (local paths or fsspec URLs, joined with ``/``).
"""

from __future__ import annotations

import posixpath

META_DIR = ".mmedc"
MANIFEST_NAME = "manifest.json"
RANK_MANIFEST_DIR = f"{META_DIR}/manifest"
RUN_RECORD_NAME = "run.json"

# the layout of earlier versions (read as a fallback, never written)
LEGACY_MANIFEST_FILE = "_manifest.json"
LEGACY_MANIFEST_DIR = "_manifest"
LEGACY_LOGS_DIR = "_logs"


def _join(output: str, *parts: str) -> str:
    return posixpath.join(str(output).rstrip("/"), *parts)


def meta_dir(output: str) -> str:
    """``<output>/.mmedc``: the hidden folder for everything that is not a shard."""
    return _join(output, META_DIR)


def logs_dir(output: str, stage: str | None = None) -> str:
    """datatrove's logging folder (logs, stats, completion markers) of a run, per stage if staged."""
    return _join(output, META_DIR, "logs", *([stage] if stage else []))


def manifest_name(prefix: str = "") -> str:
    """The merged manifest's path relative to the output folder (``.mmedc/[<prefix>]manifest.json``)."""
    return f"{META_DIR}/{prefix}{MANIFEST_NAME}"


def manifest_path(output: str, prefix: str = "") -> str:
    """The merged manifest of ``output`` (written by :func:`mmedc.io.manifest.merge_manifests`)."""
    return _join(output, manifest_name(prefix))


def rank_manifest_name(prefix: str, rank: int) -> str:
    """One writer rank's manifest, relative to the output folder."""
    return f"{RANK_MANIFEST_DIR}/{prefix}{rank:05d}.json"


def run_record_path(output: str) -> str:
    """``<output>/.mmedc/run.json``: what the run that wrote ``output`` was asked."""
    return _join(output, META_DIR, RUN_RECORD_NAME)


def report_path(output: str, name: str) -> str:
    """A report about ``output`` (``dedupe_report.json``, ``stats.json``) in ``.mmedc/reports/``."""
    return _join(output, META_DIR, "reports", name)


def is_hidden(path: str, root: str | None = None) -> bool:
    """Whether a reader skips ``path``: one of its parts (below ``root``) starts with ``.`` or ``_``."""
    rel = path
    if root is not None:
        root = root.rstrip("/")
        if path.startswith(root + "/"):
            rel = path[len(root) + 1:]
    return any(part.startswith((".", "_")) for part in rel.split("/") if part)


def find_manifest(fs, root: str, prefix: str = "") -> str | None:
    """The merged manifest under ``root`` on fsspec filesystem ``fs`` (new layout, then the old one)."""
    for name in (manifest_name(prefix), f"{prefix}{LEGACY_MANIFEST_FILE}"):
        path = posixpath.join(root.rstrip("/"), name)
        if fs.exists(path):
            return path
    return None


def rank_manifest_paths(fs, root: str, prefix: str = "") -> list[str]:
    """The per-rank manifests under ``root`` (new layout first; the old ``_manifest/`` if none)."""
    for folder in (RANK_MANIFEST_DIR, LEGACY_MANIFEST_DIR):
        found = sorted(p for p in fs.glob(posixpath.join(root.rstrip("/"), folder, f"{prefix}*.json"))
                       if not p.endswith(".tmp"))
        if found:
            return found
    return []
