"""Write-then-rename: a file appears under its final name only when it is complete.

A killed run leaves a hidden ``.<name>.tmp`` behind (which readers skip and the next run removes or
overwrites), never a half file that looks whole. Works on any fsspec filesystem through datatrove's
``DataFolder`` (:class:`AtomicFile`, :func:`atomic_open`) and on local paths (:func:`atomic_write_text`).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TMP_SUFFIX = ".tmp"


def tmp_path(path: str) -> str:
    """The hidden temporary name of ``path``: ``dir/.name.tmp`` (readers skip names starting with ``.``)."""
    head, tail = posixpath.split(path)
    name = f".{tail}{TMP_SUFFIX}"
    return posixpath.join(head, name) if head else name


class AtomicFile:
    """A file in a ``DataFolder`` written under its temporary name until :meth:`commit` renames it.

    For writers whose file stays open across many calls (a Parquet shard); :func:`atomic_open` is the
    ``with`` form. :meth:`abort` closes and removes the temporary file.
    """

    def __init__(self, folder: Any, path: str, mode: str = "wb"):
        self.folder = folder
        self.path = path
        self.tmp = tmp_path(path)
        self.file: IO = folder.open(self.tmp, mode)

    def commit(self) -> str:
        """Close the temporary file and give it its final name; returns that name."""
        self.file.close()
        self.folder.mv(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Close and remove the temporary file; the final name is untouched."""
        with contextlib.suppress(Exception):
            self.file.close()
        with contextlib.suppress(Exception):
            self.folder.rm(self.tmp)


@contextlib.contextmanager
def atomic_open(folder: Any, path: str, mode: str = "wb") -> Iterator[IO]:
    """Open ``path`` in a datatrove ``DataFolder`` for writing under its hidden temporary name;
    rename on success. On an exception the temporary file is removed and the final name is untouched."""
    f = AtomicFile(folder, path, mode)
    try:
        yield f.file
    except BaseException:
        f.abort()
        raise
    f.commit()


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
