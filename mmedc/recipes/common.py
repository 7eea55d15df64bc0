"""What the recipes share: the run record, one run-and-collect function, shared options, the summary.

:func:`run_recipe` is how every recipe runs its pipeline (or staged executors):

1. the run record ``<output>/.mmedc/run.json`` says what the run was asked (recipe, options,
   inputs, task count) and with which versions. A re-run with the same request resumes (datatrove
   skips completed tasks, the others rewrite their own shards); a different request into the same
   output raises :class:`RunMismatchError` naming the keys that differ, because resuming it would
   mix two runs' documents (or duplicate them: ``--tasks 2`` then ``--tasks 4`` splits the input
   differently). ``overwrite=True`` (``--overwrite``) removes the earlier output and starts afresh.
2. the executor(s) run;
3. the manifests are merged, the per-block counters read, and a summary returned (documents and
   bytes read, docs/s and MB/s of this run's wall time).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import posixpath
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePath
from typing import Any

from datatrove.executor.base import PipelineExecutor

from mmedc.executors import ExecutorOptions, make_executor
from mmedc.io import layout
from mmedc.io.atomic import atomic_open
from mmedc.io.manifest import merge_manifests
from mmedc.options import add_options, options_from_args

# the keys of a run record that must match for a re-run to resume
REQUEST_KEYS = ("recipe", "options", "inputs", "tasks")


class RunMismatchError(ValueError):
    """An output folder holds a run that was asked something else."""


# ----------------------------------------------------------------------------------------------
# options


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """``--help`` shows each option's default (unless its help already says it, or it has none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS, "") or default == []
                or isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction,
                                       argparse._HelpAction, argparse._VersionAction))):
            return text
        return f"{text} (default: %(default)s)".strip()


def add_shard_args(parser: argparse.ArgumentParser | argparse._ArgumentGroup, max_rows: int = 100_000) -> None:
    """The output-shard bounds every recipe takes: ``--max-rows`` and ``--max-mb``."""
    parser.add_argument("--max-rows", type=int, default=max_rows, help=f"rows per output shard at most (default: {max_rows:,})")
    parser.add_argument("--max-mb", type=float, default=256, help="uncompressed text MB per shard at most (default: 256)")


def shard_kwargs(args: argparse.Namespace) -> dict[str, int]:
    """``max_rows`` / ``max_bytes`` for :class:`~mmedc.io.writer.ShardedParquetWriter` from those options."""
    return {"max_rows": args.max_rows, "max_bytes": int(args.max_mb * 2**20)}


def add_execution_args(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """The :class:`~mmedc.executors.ExecutorOptions` options and ``--overwrite``."""
    g = parser.add_argument_group("execution")
    add_options(g, ExecutorOptions, defaults=defaults)
    g.add_argument("--overwrite", action="store_true",
                   help="remove an earlier run's output (shards, .mmedc/) and start afresh")


def execution_from_args(args: argparse.Namespace) -> ExecutorOptions:
    """The :class:`~mmedc.executors.ExecutorOptions` of options added by :func:`add_execution_args`."""
    return options_from_args(ExecutorOptions, args)


def split_execution(execution: ExecutorOptions | None, kwargs: dict[str, Any]) -> tuple[ExecutorOptions, dict[str, Any]]:
    """Split a recipe's keyword arguments into its :class:`~mmedc.executors.ExecutorOptions`
    (``execution`` updated by ``tasks=``, ``workers=``, ... among ``kwargs``) and the rest (the
    pipeline's options), so ``run_<recipe>(..., tasks=4)`` and ``execution=ExecutorOptions(tasks=4)``
    mean the same."""
    names = {f.name for f in dataclasses.fields(ExecutorOptions)}
    given = {k: v for k, v in kwargs.items() if k in names}
    if given.get("spark_conf") is None:
        given.pop("spark_conf", None)
    base = execution or ExecutorOptions()
    return dataclasses.replace(base, **given), {k: v for k, v in kwargs.items() if k not in names}


# ----------------------------------------------------------------------------------------------
# the run record


def jsonable(value: Any) -> Any:
    """JSON form of an option value (dataclasses as dicts, paths as strings, tuples as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # caches (compare=False, _x) left out
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.compare and not f.name.startswith("_")}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, PurePath):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return repr(value)


def versions() -> dict[str, str]:
    """Versions of mmedc and of the libraries that decide what a run writes."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("mmedc", "datatrove", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def resolved_options(func: Callable[..., Any], *args: Any, exclude: Iterable[str] = (), **kwargs: Any) -> dict[str, Any]:
    """The arguments ``func(*args, **kwargs)`` would get, defaults filled in, without ``exclude``:
    the options a run record keeps (so a default given explicitly and one left out compare equal)."""
    import inspect

    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    out = dict(bound.arguments)
    for name, param in inspect.signature(func).parameters.items():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            out.update(out.pop(name, {}))
    for name in exclude:
        out.pop(name, None)
    return out


def make_request(recipe: str, options: dict[str, Any], inputs: Sequence[Any], tasks: int) -> dict[str, Any]:
    """What a run is asked, in the JSON form the run record keeps and compares."""
    return {"recipe": recipe, "options": jsonable(options), "inputs": [str(i) for i in inputs], "tasks": int(tasks)}


def _fs(path: str):
    import fsspec

    return fsspec.core.url_to_fs(str(path))


def read_run_record(output: str) -> dict[str, Any] | None:
    """The run record of ``output``; None when it has none."""
    fs, path = _fs(layout.run_record_path(output))
    if not fs.exists(path):
        return None
    with fs.open(path, "r") as f:
        return json.load(f)


def _write_run_record(output: str, record: dict[str, Any]) -> None:
    fs, path = _fs(layout.run_record_path(output))
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    with atomic_open(fs, path, "w") as f:  # an fsspec filesystem has the open/mv/rm it needs
        json.dump(record, f, ensure_ascii=False, indent=1)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    diffs = []
    for key in REQUEST_KEYS:
        a, b = old.get(key), new.get(key)
        if key == "options" and isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    diffs.append(f"options.{k}: was {a.get(k)!r}, now {b.get(k)!r}")
        elif a != b:
            diffs.append(f"{key}: was {a!r}, now {b!r}")
    return diffs


def _earlier_output(output: str) -> list[str]:
    """What in ``output`` an unrecorded earlier run left (shards, logs, manifests)."""
    fs, root = _fs(output)
    if not fs.isdir(root):
        return []
    names = [posixpath.basename(p.rstrip("/")) for p in fs.ls(root, detail=False)]
    return sorted(n for n in names if n.endswith(".parquet") or n in (
        layout.META_DIR, layout.LEGACY_LOGS_DIR, layout.LEGACY_MANIFEST_DIR, layout.LEGACY_MANIFEST_FILE))


def clear_output(output: str) -> None:
    """Remove what a run wrote into ``output``: its shards (top level), hidden temporary shards,
    ``.mmedc/`` and the metadata names of earlier versions. Other files are left alone."""
    fs, root = _fs(output)
    if not fs.isdir(root):
        return
    for p in fs.ls(root, detail=False):
        name = posixpath.basename(p.rstrip("/"))
        if (name.endswith(".parquet") or (name.startswith(".") and name.endswith(".tmp")) or name in (
                layout.META_DIR, layout.LEGACY_LOGS_DIR, layout.LEGACY_MANIFEST_DIR, layout.LEGACY_MANIFEST_FILE,
                "dedupe_report.json")):
            fs.rm(p, recursive=True)


def remove_folder(path: str) -> None:
    """Remove a folder the run owns entirely (a dedupe work folder, a crawl's WARC folder)."""
    fs, root = _fs(path)
    if fs.exists(root):
        fs.rm(root, recursive=True)


def _has_completions(logging_dir: str | None) -> bool:
    if not logging_dir:
        return False
    fs, root = _fs(posixpath.join(logging_dir, "completions"))
    return fs.isdir(root) and bool(fs.ls(root, detail=False))


def check_run_record(output: str, request: dict[str, Any], overwrite: bool = False,
                     side_outputs: Iterable[str] = (), owned_folders: Iterable[str] = (),
                     logging_dir: str | None = None) -> dict[str, Any]:
    """Compare ``request`` with the run record of ``output`` and write the record for this run.

    Same request: resume. Different request, or an earlier unrecorded run's files: raise
    :class:`RunMismatchError` naming the difference, unless ``overwrite`` (then ``output`` and
    ``side_outputs`` are cleared with :func:`clear_output` and ``owned_folders`` removed).
    ``logging_dir``: a logging folder outside ``output`` (``--logging-dir``); its completion markers
    would skip tasks, so it counts as part of the run (checked, and removed on ``overwrite``)."""
    old = read_run_record(output)
    if overwrite:
        for folder in (output, *side_outputs):
            clear_output(folder)
        for folder in (*owned_folders, *([logging_dir] if logging_dir else [])):
            remove_folder(folder)
        old = None
    elif old is not None:
        diffs = _differences(old, request)
        if diffs:
            raise RunMismatchError(
                f"{output} holds a run that was asked something else ({'; '.join(diffs)}): resuming it would mix "
                f"the two runs' documents; use overwrite=True (--overwrite) to start afresh, or another output")
    else:
        earlier = _earlier_output(output)
        if _has_completions(logging_dir):
            earlier.append(f"completion markers in {logging_dir}")
        if earlier:
            raise RunMismatchError(
                f"{output} already holds output of an unrecorded run ({', '.join(earlier[:5])}"
                f"{', ...' if len(earlier) > 5 else ''}); use overwrite=True (--overwrite) to replace it, or another output")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = {**request, "versions": versions(), "started_at": (old or {}).get("started_at", now),
              "last_started_at": now, "completed_at": None, "attempts": int((old or {}).get("attempts", 0)) + 1}
    if old and old.get("versions") != record["versions"]:
        record["earlier_versions"] = old.get("versions")
    _write_run_record(output, record)
    return record


# ----------------------------------------------------------------------------------------------
# run and collect


def read_stats(logging_dir: str, missing_ok: bool = False) -> dict[str, dict[str, Any]]:
    """Per-block counters of a finished run (datatrove's merged ``stats.json``), keyed by block name
    (``"<type>: <name>"``, in pipeline order; a second block of the same name gets `` (2)``).

    ``missing_ok``: return ``{}`` when the run left no ``stats.json`` (nothing ran). To find one
    block's counters, use :func:`block_counters` (by class, not by a substring of its name)."""
    import fsspec

    path = posixpath.join(logging_dir, "stats.json")
    try:
        with fsspec.open(path, "r") as f:
            blocks = json.load(f)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise
    out: dict[str, dict[str, Any]] = {}
    for block in blocks:
        name, n = block["name"], 2
        while name in out:
            name, n = f"{block['name']} ({n})", n + 1
        out[name] = {k: (v["total"] if isinstance(v, dict) and "total" in v else v) for k, v in block["stats"].items()}
    return out


def block_name(block: Any) -> str:
    """The name datatrove gives a block (class or instance) in ``stats.json``: ``"<type>: <name>"``."""
    return f"{block.type}: {block.name}"


def block_counters(stats: dict[str, dict[str, Any]], block: Any) -> dict[str, Any]:
    """The counters of the blocks of ``block``'s class (a class or an instance) in :func:`read_stats`
    output, summed over blocks of that class; ``{}`` if none ran."""
    name = block_name(block)
    total: dict[str, Any] = {}
    for key, counters in stats.items():
        if key == name or (key.startswith(name + " (") and key.endswith(")")):
            for k, v in counters.items():
                total[k] = total.get(k, 0) + v if isinstance(v, (int, float)) else v
    return total


def input_bytes(paths: Iterable[str]) -> int:
    """Bytes of the files under ``paths`` (files, folders, globs; hidden names skipped)."""
    total = 0
    for p in paths:
        fs, root = _fs(str(p))
        try:
            if any(c in root for c in "*?["):
                files = fs.glob(root, detail=True).values()
            elif fs.isdir(root):
                files = [info for path, info in fs.find(root, detail=True).items() if not layout.is_hidden(path, root)]
            else:
                files = [fs.info(root)]
            total += sum(int(info.get("size") or 0) for info in files if info.get("type", "file") == "file")
        except (FileNotFoundError, OSError):
            continue
    return total


def check_inputs(paths: Iterable[str], what: str = "input") -> None:
    """Raise ``FileNotFoundError`` naming an input that does not exist (or a glob matching nothing)."""
    for p in paths:
        fs, root = _fs(str(p))
        glob = any(c in root for c in "*?[")
        if not (fs.glob(root) if glob else fs.exists(root)):
            raise FileNotFoundError(f"{what} {p} " + ("matches no file" if glob else "does not exist"))


def run_recipe(
    recipe: str,
    output: str,
    pipeline: list | None = None,
    *,
    build: Callable[[], PipelineExecutor] | None = None,
    options: dict[str, Any],
    inputs: Sequence[str],
    execution: ExecutorOptions,
    overwrite: bool = False,
    side_outputs: Sequence[str] = (),
    owned_folders: Sequence[str] = (),
    logging_dir: str | None = None,
    check_input_paths: bool = True,
) -> dict[str, Any]:
    """Run one recipe's ``pipeline`` (or the staged executors ``build()`` returns) into ``output``.

    Records the request (see the module docstring), runs, merges the manifests of ``output`` and
    ``side_outputs`` (rejected documents), and returns the summary: ``output``, ``logging_dir``,
    ``manifest``, ``stats`` (per-block counters), ``documents_in``, ``bytes_in``, ``seconds``,
    ``docs_per_s``, ``mb_per_s``."""
    output = str(output).rstrip("/")
    if check_input_paths:
        check_inputs(inputs)
    request = make_request(recipe, options, inputs, execution.tasks)
    check_run_record(output, request, overwrite=overwrite, side_outputs=side_outputs, owned_folders=owned_folders,
                     logging_dir=execution.logging_dir)
    logging_dir = logging_dir or execution.logging_dir or layout.logs_dir(output)
    start = time.perf_counter()
    if build is not None:
        build().run()
    else:
        make_executor(pipeline, logging_dir=logging_dir, **execution.kwargs()).run()
    seconds = time.perf_counter() - start
    summary: dict[str, Any] = {"recipe": recipe, "output": output, "logging_dir": logging_dir,
                               "manifest": merge_manifests(output)}
    for side in side_outputs:
        fs, root = _fs(side)
        if fs.exists(root):
            merge_manifests(side)
    summary["stats"] = read_stats(logging_dir, missing_ok=build is not None)
    summary.update(throughput(summary["stats"], inputs, seconds))
    record = read_run_record(output) or request
    record.update(completed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), seconds=round(seconds, 3),
                  rows=summary["manifest"]["rows"])
    _write_run_record(output, record)
    return summary


def throughput(stats: dict[str, dict[str, Any]], inputs: Sequence[str], seconds: float) -> dict[str, Any]:
    """Documents read (the first block's ``documents`` counter), input bytes, and their rates."""
    first = next(iter(stats.values()), {}) if stats else {}
    docs = int(first.get("documents", 0) or 0)
    nbytes = input_bytes(inputs)
    seconds = max(seconds, 1e-9)
    return {"documents_in": docs, "bytes_in": nbytes, "seconds": round(seconds, 3),
            "docs_per_s": docs / seconds, "mb_per_s": nbytes / 1e6 / seconds}


def print_output_summary(summary: dict[str, Any]) -> None:
    """Print kept documents per language x source (from the manifest), each block's counters and the rates."""
    m = summary["manifest"]
    print(f"kept {m['rows']:,} documents in {len(m['shards'])} shard(s) -> {summary['output']}")
    for entry in m["by_lang_source"]:
        print(f"  {entry['lang']:>4} {entry['source']:<9} {entry['documents']:>8,} docs {entry['characters']:>12,} chars")
    for name, counters in summary.get("stats", {}).items():
        interesting = {k: v for k, v in counters.items() if k not in ("total", "forwarded") and not k.startswith("lang_")}
        if interesting:
            print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in sorted(interesting.items())))
    if "seconds" in summary:
        print_rates(summary)


def print_rates(summary: dict[str, Any]) -> None:
    """One line: documents and MB read, wall time, docs/s and MB/s (of this run; a resumed run
    counts the documents of the tasks it skipped too)."""
    print(f"  read {summary.get('documents_in', 0):,} documents, {summary.get('bytes_in', 0) / 1e6:,.1f} MB in "
          f"{summary['seconds']:.1f}s: {summary.get('docs_per_s', 0):,.0f} docs/s, {summary.get('mb_per_s', 0):,.2f} MB/s")
