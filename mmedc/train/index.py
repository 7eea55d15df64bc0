"""Which documents a training run reads, in which order and how often: the shard index and the mixture.

1. **Index**: the Parquet footers of every shard give its row groups; nothing else is read up front.
   :func:`fingerprint` hashes file names, row counts and byte sizes, so a resume on other data is seen.
2. **Hold-out**: a document is held out for evaluation by a hash of its id (:func:`is_holdout`).
3. **Mixture**: each (language, source) group gets a sampling rate; a document appears
   ``floor(rate)`` times plus once more with probability ``frac(rate)``, decided by a hash of
   ``(seed, epoch, id)`` (:func:`copies`). Rates come from target shares (``mixture_mode="proportion"``,
   using the characters per group from the shard manifests, read through :mod:`mmedc.io`, or a column
   scan when no manifest covers the files) or are given directly (``"rate"``: epochs per group, the
   MMedC way).
"""

from __future__ import annotations

import hashlib
import math
import posixpath
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from datatrove.utils.logging import logger

from mmedc.io.manifest import group_key  # noqa: F401 - the one (language, source) key; data.py imports it from here
from mmedc.io.shards import list_shards


@dataclass(frozen=True)
class RowGroup:
    """One Parquet row group of a shard: the unit of reading and of the shuffle."""

    path: str
    index: int
    rows: int
    bytes: int = 0


def open_file(path: str):
    """Open a shard for reading (local path or fsspec URL)."""
    import fsspec

    return fsspec.open(path, "rb")


def index_row_groups(paths: str | Iterable[str], stats: Counter | None = None) -> list[RowGroup]:
    """List the row groups of every shard (footers only). Unreadable files are logged, counted
    (``bad_files``) and skipped; a missing path is an error naming it."""
    import pyarrow.parquet as pq

    stats = stats if stats is not None else Counter()
    out: list[RowGroup] = []
    files = list_shards(paths)
    if not files:
        raise FileNotFoundError(f"no .parquet shards found in {paths!r}")
    for path in files:
        try:
            with open_file(path) as f:
                md = pq.ParquetFile(f).metadata
                out.extend(RowGroup(path, i, md.row_group(i).num_rows, md.row_group(i).total_byte_size)
                           for i in range(md.num_row_groups))
            stats["files"] += 1
        except FileNotFoundError as e:
            raise FileNotFoundError(f"training data: {path} does not exist") from e
        except Exception as e:  # noqa: BLE001 - any unreadable file is skipped, loudly
            stats["bad_files"] += 1
            logger.error(f"training data: skipping {path}: not a readable Parquet file ({type(e).__name__}: {e})")
    if not out:
        raise ValueError(f"no readable rows in {paths!r} ({stats['bad_files']} unreadable files)")
    return out


def fingerprint(row_groups: list[RowGroup]) -> str:
    """A short hash of the file names, row counts and sizes: resuming on other data is detected
    (moving the folder elsewhere is not a change)."""
    h = hashlib.sha1()
    for rg in row_groups:
        h.update(f"{posixpath.basename(rg.path)}:{rg.index}:{rg.rows}:{rg.bytes};".encode())
    return h.hexdigest()[:16]


def _u01(*parts: Any) -> float:
    """Deterministic uniform in [0, 1) from any values (stable across processes and runs)."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(h.digest(), "little") / 2**64


def is_holdout(doc_id: str, fraction: float, seed: int) -> bool:
    """Whether a document is held out for evaluation (stable hash of its id)."""
    return fraction > 0 and _u01("holdout", seed, doc_id) < fraction


# ----------------------------------------------------------------------------------------------------
# mixture


def _manifests(folder: str) -> list[dict[str, Any]]:
    """The writer's manifests of an output folder, read through :mod:`mmedc.io` (which knows where they
    live): the per-rank ones, else the merged one of an older output."""
    from mmedc.io.manifest import rank_manifests, read_manifest

    found = rank_manifests(folder)
    if not found:
        merged = read_manifest(folder)
        found = [merged] if merged and merged.get("shards") else []
    return found


def group_characters(paths: str | Iterable[str], row_groups: list[RowGroup] | None = None,
                     scan: bool = True) -> dict[str, int] | None:
    """Characters per ``lang/source`` group: from the shard manifests where they cover whole ranks,
    otherwise by scanning the ``lang``, ``source`` and ``text`` columns (with ``scan=False``: ``None``
    when the manifests do not cover every file)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted({rg.path for rg in row_groups}) if row_groups else list_shards(paths)
    counts: Counter = Counter()
    covered: set[str] = set()
    by_dir: dict[str, set[str]] = {}
    for f in files:
        by_dir.setdefault(posixpath.dirname(f), set()).add(posixpath.basename(f))
    for d, names in by_dir.items():
        try:
            manifests = _manifests(d)
        except Exception as e:  # noqa: BLE001 - a folder without (readable) manifests is scanned
            logger.info(f"training data: no manifest for {d} ({type(e).__name__}: {e}); scanning its shards")
            manifests = []
        for data in manifests:
            try:
                shard_names = {posixpath.basename(s["file"]) for s in data["shards"]}
                if not shard_names or not shard_names <= names:
                    continue
                for e in data["by_lang_source"]:
                    counts[group_key(e["lang"], e["source"])] += int(e["characters"])
                covered |= {posixpath.join(d, n) for n in shard_names}
            except Exception as e:  # noqa: BLE001
                logger.warning(f"training data: ignoring a manifest of {d} ({type(e).__name__}: {e})")
    if not scan and set(files) - covered:
        return None
    for f in files:
        if f in covered:
            continue
        try:
            with open_file(f) as fh:
                pf = pq.ParquetFile(fh)
                for batch in pf.iter_batches(columns=["lang", "source", "text"], batch_size=8192):
                    lengths = pc.utf8_length(batch.column("text")).to_numpy(zero_copy_only=False)
                    langs = batch.column("lang").to_pylist()
                    sources = batch.column("source").to_pylist()
                    for lang, src, n in zip(langs, sources, lengths):
                        counts[group_key(lang, src)] += int(n)
        except Exception as e:  # noqa: BLE001
            logger.error(f"training data: cannot scan {f} for mixture counts ({type(e).__name__}: {e})")
    return dict(counts)


def _weight_for(key: str, weights: dict[str, float]) -> tuple[str, float] | None:
    lang, source = key.split("/", 1)
    for k in (key, lang, source, "*"):
        if k in weights:
            return k, weights[k]
    return None


def mixture_rates(weights: dict[str, float], chars: dict[str, int], mode: str = "proportion") -> dict[str, float]:
    """Sampling rate per ``lang/source`` group.

    ``weights`` keys are ``lang/source``, ``lang``, ``source`` or ``*`` (most specific wins); groups no
    key matches get rate 0. In ``rate`` mode the weight is the rate (epochs). In ``proportion`` mode the
    weights are target shares of characters: a key's share is split among its groups by their sizes,
    and rates are scaled so the mixed corpus has as many characters as the original.
    """
    if not weights:
        return {k: 1.0 for k in chars}
    matched: dict[str, str] = {}
    for key in chars:
        hit = _weight_for(key, weights)
        if hit is not None:
            matched[key] = hit[0]
    if mode == "rate":
        return {key: float(weights[matched[key]]) if key in matched else 0.0 for key in chars}
    key_chars: Counter = Counter()
    for key, wk in matched.items():
        key_chars[wk] += chars[key]
    used = {wk: w for wk, w in weights.items() if w > 0}
    missing = sorted(wk for wk in used if key_chars[wk] == 0)
    if missing:
        raise ValueError(f"mixture: no data for {missing}; groups in the data: {sorted(chars)}")
    total_w = sum(used.values())
    total_chars = sum(chars.values())
    rates = {}
    for key in chars:
        wk = matched.get(key)
        if wk is None or wk not in used:
            rates[key] = 0.0
            continue
        share = used[wk] / total_w  # target share of this weight key
        rates[key] = share * total_chars / key_chars[wk]
    return rates


def copies(rate: float, seed: int, epoch: int, doc_id: str) -> int:
    """How many times a document appears this epoch: ``floor(rate)`` plus one with prob. ``frac(rate)``."""
    whole = math.floor(rate)
    frac = rate - whole
    return whole + (1 if frac > 0 and _u01("mix", seed, epoch, doc_id) < frac else 0)
