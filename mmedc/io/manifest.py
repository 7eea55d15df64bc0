"""Manifests of an output folder and the one (language, source) key.

A writer rank writes ``.mmedc/manifest/<prefix><rank>.json`` (its shards, rows, bytes and documents
and characters per language x source); :func:`merge_manifests` combines them into
``.mmedc/manifest.json``. Counting by language x source happens in the writer, here, in
:mod:`mmedc.stats` and in the trainer's mixture: all of them use :func:`group_key` (``"lang/source"``,
the form training mixture weights are written in) and :class:`GroupCounts`, so a key means the same
everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from datatrove.io import DataFolderLike, get_datafolder

from mmedc.io import layout
from mmedc.io.atomic import atomic_open
from mmedc.schema import COLUMNS

UNKNOWN = "unknown"


def group_key(lang: str | None, source: str | None) -> str:
    """The one (language, source) key: ``"en/web"``; a missing value is ``unknown``."""
    return f"{lang or UNKNOWN}/{source or UNKNOWN}"


def split_key(key: str) -> tuple[str, str]:
    """Inverse of :func:`group_key`: ``"en/web"`` -> ``("en", "web")``."""
    lang, _, source = key.partition("/")
    return lang, source or UNKNOWN


class GroupCounts:
    """Counters (documents, characters, ...) per (language, source) group.

    ``to_list()`` gives the manifest's ``by_lang_source`` form: ``[{"lang", "source", <counters>}]``
    sorted by key."""

    def __init__(self, fields: Iterable[str] = ("documents", "characters")):
        self.fields = tuple(fields)
        self._counts: dict[str, dict[str, int]] = {}

    def _entry(self, lang: str | None, source: str | None) -> dict[str, int]:
        key = group_key(lang, source)
        entry = self._counts.get(key)
        if entry is None:
            entry = self._counts[key] = dict.fromkeys(self.fields, 0)
        return entry

    def add(self, lang: str | None, source: str | None, **values: int) -> None:
        """Add ``values`` (``documents=1, characters=n``) to the group of ``(lang, source)``."""
        entry = self._entry(lang, source)
        for k, v in values.items():
            entry[k] = entry.get(k, 0) + int(v)

    def add_entries(self, entries: Iterable[dict[str, Any]]) -> None:
        """Add ``by_lang_source`` entries of another manifest."""
        for e in entries:
            self.add(e.get("lang"), e.get("source"), **{k: e[k] for k in self.fields if k in e})

    def to_dict(self) -> dict[str, dict[str, int]]:
        """``{"en/web": {"documents": ..., ...}}``."""
        return {k: dict(v) for k, v in sorted(self._counts.items())}

    def to_list(self) -> list[dict[str, Any]]:
        out = []
        for key, values in sorted(self._counts.items()):
            lang, source = split_key(key)
            out.append({"lang": lang, "source": source, **values})
        return out


def rank_manifests(output_folder: DataFolderLike, prefix: str = "") -> list[dict[str, Any]]:
    """The per-rank manifests of an output (each with its ``shards`` and ``by_lang_source``)."""
    folder = get_datafolder(output_folder)
    out = []
    for path in layout.rank_manifest_paths(folder, "", prefix):
        with folder.open(path, "r") as f:
            out.append(json.load(f))
    return out


def merge_manifests(output_folder: DataFolderLike, prefix: str = "") -> dict[str, Any]:
    """Combine the per-rank manifests of an output into ``.mmedc/[<prefix>]manifest.json``; return it."""
    folder = get_datafolder(output_folder)
    shards: list[dict[str, Any]] = []
    counts = GroupCounts()
    for m in rank_manifests(folder, prefix):
        shards.extend(m["shards"])
        counts.add_entries(m["by_lang_source"])
    manifest = {
        "shards": sorted(shards, key=lambda s: s["file"]),
        "rows": sum(s["rows"] for s in shards),
        "bytes": sum(s["bytes"] or 0 for s in shards),
        "by_lang_source": counts.to_list(),
        "schema": COLUMNS,
    }
    with atomic_open(folder, layout.manifest_name(prefix), "w") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    return manifest


def read_manifest(output_folder: DataFolderLike, prefix: str = "") -> dict[str, Any] | None:
    """The merged manifest of an output (new layout, or ``_manifest.json`` of older outputs); None if none."""
    folder = get_datafolder(output_folder)
    path = layout.find_manifest(folder, "", prefix)
    if path is None:
        return None
    with folder.open(path, "r") as f:
        return json.load(f)
