"""Reading mmedc output: list the shards of folders/globs, open them, stream rows or Documents.

Every reader of mmedc output (stats, inspect, dedupe, training) goes through :func:`list_shards`, so
they agree on what an output holds: the visible ``.parquet`` files under a folder (hidden names, the
``.mmedc/`` metadata folder and temporary ``.<name>.tmp`` shards, are skipped, as pyarrow, Spark and
HF ``datasets`` skip them).
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterable, Iterator

import pyarrow.parquet as pq
from datatrove.io import DataFolderLike
from datatrove.pipeline.readers.base import BaseDiskReader

from mmedc.io.layout import is_hidden
from mmedc.schema import record_to_document


def _has_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


def list_shards(paths: str | Iterable[str]) -> list[str]:
    """Expand a folder, glob or list of them into sorted ``.parquet`` shard paths (fsspec URLs ok).

    Raises ``FileNotFoundError`` naming a path that does not exist (a glob may match nothing)."""
    import fsspec

    if isinstance(paths, str):
        paths = [paths]
    out: list[str] = []
    for p in paths:
        p = str(p)
        fs, root = fsspec.core.url_to_fs(p)
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        scheme = "" if protocol in ("file", "local") else f"{protocol}://"
        if _has_glob(root):
            found = [f for f in fs.glob(root) if not posixpath.basename(f).startswith(".")]
        elif fs.isdir(root):
            found = [f for f in fs.glob(posixpath.join(root, "**", "*.parquet")) if not is_hidden(f, root)]
        elif fs.exists(root):
            found = [root]
        else:
            raise FileNotFoundError(f"{p} does not exist")
        out.extend(scheme + f for f in found)
    return sorted(set(out))


@contextlib.contextmanager
def open_shard(path: str) -> Iterator[pq.ParquetFile]:
    """Open one shard (local path or fsspec URL) as a ``pyarrow.parquet.ParquetFile``."""
    import fsspec

    with fsspec.open(path, "rb") as f:
        yield pq.ParquetFile(f)


def iter_records(paths: str | Iterable[str], columns: list[str] | None = None, batch_size: int = 1024) -> Iterator[dict]:
    """Stream rows of mmedc shards as dicts, one record batch at a time (bounded memory)."""
    for path in list_shards(paths):
        with open_shard(path) as pf:
            for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
                yield from batch.to_pylist()


class ShardReader(BaseDiskReader):
    """Read mmedc shards back into Documents with their full metadata (the writer's inverse).

    A datatrove reader: ``ShardReader("out/web")`` shards files across ranks like every datatrove
    reader, so dedupe, stats and training read what the writer wrote without a schema adapter.
    """

    name = "📒 mmedc shards"

    def __init__(self, data_folder: DataFolderLike, limit: int = -1, skip: int = 0, batch_size: int = 1024,
                 file_progress: bool = False, doc_progress: bool = False, shuffle_files: bool = False,
                 glob_pattern: str | None = "**/*.parquet"):
        super().__init__(data_folder, paths_file=None, limit=limit, skip=skip, file_progress=file_progress,
                         doc_progress=doc_progress, shuffle_files=shuffle_files, glob_pattern=glob_pattern,
                         recursive=True)
        self.batch_size = batch_size

    def read_file(self, filepath: str):
        if is_hidden(filepath):  # .mmedc/, temporary shards, _manifest/ of older outputs
            return
        with self.data_folder.open(filepath, "rb") as f:
            pf = pq.ParquetFile(f)
            for batch in pf.iter_batches(batch_size=self.batch_size):
                for row in batch.to_pylist():
                    with self.track_time():
                        doc = record_to_document(row, path=filepath)
                    yield doc
