"""Refuse storage that the processes of a run cannot share, before the run starts.

``memory://`` (fsspec's in-memory file system) lives inside one Python process. The local executor
with more than one worker runs each task in its own process (datatrove's pool, ``forkserver``), and
Spark runs tasks in Python worker processes: a task there finds no input ("No files found") and its
output vanishes with it. A run with such paths is refused with the paths named, rather than failing
in every task or silently writing nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from datatrove.io import DataFolder

PROCESS_LOCAL = ("memory",)


def _protocols(folder: DataFolder) -> tuple[str, ...]:
    protocol = folder.fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def process_local_paths(pipeline: Iterable[Any], logging_dir: Any = None) -> list[str]:
    """The ``memory://`` folders a pipeline's blocks (and nested writers) and its logging folder use."""
    found: list[str] = []
    seen: set[int] = set()

    def visit(obj: Any, depth: int) -> None:
        if id(obj) in seen or depth > 3:
            return
        seen.add(id(obj))
        if isinstance(obj, DataFolder):
            if any(p in PROCESS_LOCAL for p in _protocols(obj)):
                found.append(f"memory://{obj.path.lstrip('/')}")
            return
        if isinstance(obj, str):
            if obj.startswith("memory://"):
                found.append(obj)
            return
        if isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item, depth + 1)
            return
        attrs = getattr(obj, "__dict__", None)
        if attrs and type(obj).__module__.split(".")[0] in ("datatrove", "mmedc"):
            for value in attrs.values():
                visit(value, depth + 1)

    for step in pipeline:
        visit(step, 0)
    visit(logging_dir, 0)
    return list(dict.fromkeys(found))


def refuse_process_local_paths(pipeline: Iterable[Any], logging_dir: Any, executor: str, workers: int) -> None:
    """Raise ``ValueError`` when a run in several processes would use ``memory://`` paths."""
    if executor == "local" and workers == 1:
        return
    paths = process_local_paths(pipeline, logging_dir)
    if paths:
        where = "Spark's Python workers" if executor == "spark" else f"{workers} worker processes"
        raise ValueError(
            f"{', '.join(paths)}: memory:// lives inside one process, and this run uses {where}, which would "
            "not see it; use --workers 1 with the local executor, or a folder on disk (or s3://...)"
        )
