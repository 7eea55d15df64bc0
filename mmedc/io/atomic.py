"""Write-then-rename: a file appears under its final name only when it is complete.

A killed run leaves ``<name>.tmp`` behind (which readers ignore and the next run overwrites), never a
half file that looks whole. Works on any fsspec filesystem through datatrove's ``DataFolder``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_open(folder: Any, path: str, mode: str = "wb") -> Iterator[IO]:
    """Open ``path`` in a datatrove ``DataFolder`` for writing as ``path.tmp``; rename on success.

    On an exception the temporary file is removed and the final name is untouched.
    """
    tmp = path + TMP_SUFFIX
    f = folder.open(tmp, mode)
    try:
        yield f
    except BaseException:
        f.close()
        with contextlib.suppress(Exception):
            folder.rm(tmp)
        raise
    f.close()
    folder.mv(tmp, path)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to a local ``path`` via a sibling temporary file and ``os.replace``."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a local ``path`` via a sibling temporary file, fsync and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
