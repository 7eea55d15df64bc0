"""Recipe: deduplicate any set of mmedc shards (one source or all) into new shards, with a report.

Staged, each stage an executor that ``depends`` on the previous one (resumable: a re-run skips the
completed tasks of every stage and redoes the rest)::

    ShardReader(s) -> BoilerplateLineCounts                      (tasks)     work/units/
    BoilerplateFinder                                            (tasks)     work/boilerplate/
    ShardReader(s) -> BoilerplateRemover -> MinhashSignatures    (tasks)     work/signatures, docs, buckets
    MinhashBuckets                                               (tasks)     work/pairs/
    MinhashClusters                                              (1 task)    work/clusters/
    ShardReader(s) -> BoilerplateRemover -> MinhashFilter -> ShardedParquetWriter(output)
                                    removed documents -> ShardedParquetWriter(work/removed)

``output/.mmedc/reports/dedupe_report.json`` says how many documents came in and went out, and how many were
removed for each reason (``exact`` text, same ``url``, ``near`` duplicate, ``empty_after_boilerplate``),
the cluster-size histogram, the boilerplate units found, and the configuration.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmedc.dedup.boilerplate import (
    BoilerplateConfig,
    BoilerplateFinder,
    BoilerplateLineCounts,
    BoilerplateRemover,
)
from mmedc.dedup.minhash import DedupConfig, MinhashBuckets, MinhashClusters, MinhashFilter, MinhashSignatures
from mmedc.executors import ExecutorOptions, make_executor
from mmedc.io.layout import report_path
from mmedc.io.manifest import merge_manifests
from mmedc.io.shards import ShardReader
from mmedc.io.writer import ShardedParquetWriter
from mmedc.options import add_options, options_from_args
from mmedc.recipes.common import (
    DefaultsHelpFormatter,
    add_execution_args,
    add_shard_args,
    block_counters,
    execution_from_args,
    print_rates,
    read_stats,
    resolved_options,
    run_recipe,
    shard_kwargs,
    split_execution,
)

STAGES = ("boilerplate_units", "boilerplate_find", "signatures", "buckets", "clusters", "filter")


def _readers(input_dirs: Sequence[str], limit: int) -> list:
    if isinstance(input_dirs, str):
        input_dirs = [input_dirs]
    if not input_dirs:
        raise ValueError("dedupe needs at least one input folder of mmedc shards")
    # datatrove readers pass earlier documents through, then add their own: one reader per folder
    return [ShardReader(str(d), limit=limit) for d in input_dirs]


def dedupe_stages(
    input_dirs: Sequence[str],
    output: str,
    work_dir: str,
    config: DedupConfig | None = None,
    boilerplate: BoilerplateConfig | None = BoilerplateConfig(),
    tag_only: bool = False,
    max_rows: int = 100_000,
    max_bytes: int = 256 * 2**20,
    limit: int = -1,
) -> list[tuple[str, list, bool]]:
    """The recipe's stages as ``(name, block list, runs_on_one_task)``; ``boilerplate=None`` skips that step."""
    config = config or DedupConfig()
    stages: list[tuple[str, list, bool]] = []
    clean: list = []
    if boilerplate is not None:
        stages.append(("boilerplate_units", [*_readers(input_dirs, limit), BoilerplateLineCounts(work_dir, boilerplate)], False))
        stages.append(("boilerplate_find", [BoilerplateFinder(work_dir, boilerplate)], False))
        clean = [BoilerplateRemover(work_dir, boilerplate)]
    stages.append(("signatures", [*_readers(input_dirs, limit), *clean, MinhashSignatures(work_dir, config)], False))
    stages.append(("buckets", [MinhashBuckets(work_dir, config)], False))
    stages.append(("clusters", [MinhashClusters(work_dir, config)], True))
    removed = ShardedParquetWriter(posixpath.join(work_dir, "removed"), max_rows=max_rows, max_bytes=max_bytes)
    stages.append(("filter", [
        *_readers(input_dirs, limit), *([BoilerplateRemover(work_dir, boilerplate)] if clean else []),
        MinhashFilter(work_dir, config, tag_only=tag_only, exclusion_writer=removed),
        ShardedParquetWriter(output, max_rows=max_rows, max_bytes=max_bytes),
    ], False))
    return stages


def build_dedupe(
    input_dirs: Sequence[str],
    output: str,
    work_dir: str | None = None,
    executor: str = "local",
    tasks: int = 2,
    workers: int = 2,
    skip_completed: bool = True,
    spark_master: str | None = None,
    spark_conf: dict[str, str] | None = None,
    **stage_kwargs: Any,
):
    """Chain the stages into executors (each ``depends`` on the previous); return the last one.

    ``tasks`` applies to every stage but clustering (one task); the reading stages must all use the
    same ``tasks`` so that stage 1 and the filter see the same documents per rank.
    """
    work_dir = work_dir or default_work_dir(output)
    previous = None
    for name, pipeline, single in dedupe_stages(input_dirs, output, work_dir, **stage_kwargs):
        previous = make_executor(
            pipeline, logging_dir=posixpath.join(work_dir, "logs", name), executor=executor,
            tasks=1 if single else tasks, workers=1 if single else workers, skip_completed=skip_completed,
            depends=previous, spark_master=spark_master, spark_conf=spark_conf,
        )
    return previous


def default_work_dir(output: str) -> str:
    return output.rstrip("/") + "_dedup_work"


def _read_json(path: str) -> Any:
    import fsspec

    try:
        with fsspec.open(path, "r") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def _stage_stats(work_dir: str, stage: str) -> dict[str, dict[str, Any]]:
    return read_stats(posixpath.join(work_dir, "logs", stage), missing_ok=True)


def dedupe_report(output: str, work_dir: str) -> dict[str, Any]:
    """Assemble (and write to ``output/.mmedc/reports/dedupe_report.json``) what was removed and why."""
    import fsspec

    summary = _read_json(posixpath.join(work_dir, "clusters", "summary.json"))
    if summary is None:
        raise FileNotFoundError(f"{work_dir}/clusters/summary.json missing: the dedupe did not finish")
    manifest = merge_manifests(output)
    removed_dir = posixpath.join(work_dir, "removed")
    fs, _ = fsspec.core.url_to_fs(removed_dir)
    removed_manifest = merge_manifests(removed_dir) if fs.exists(removed_dir) else {"rows": 0}
    empty = 0
    bp_units = None
    cleaned = 0
    remover = block_counters(_stage_stats(work_dir, "signatures"), BoilerplateRemover)
    empty += int(remover.get("empty_after_boilerplate", 0))
    cleaned += int(remover.get("documents_cleaned", 0))
    finder = block_counters(_stage_stats(work_dir, "boilerplate_find"), BoilerplateFinder)
    if finder:
        bp_units = int(finder.get("boilerplate_units", 0))
    report = {
        "output": output,
        "work_dir": work_dir,
        "documents_in": summary["documents"] + empty,
        "documents_out": manifest["rows"],
        "removed": {**summary["to_remove"], "empty_after_boilerplate": empty},
        "removed_documents_in": removed_dir,
        "removed_written": removed_manifest["rows"],
        "clusters": summary["clusters"],
        "documents_in_clusters": summary["documents_in_clusters"],
        "cluster_sizes": summary["cluster_sizes"],
        "boilerplate": {"units_found": bp_units, "documents_cleaned": cleaned},
        "by_lang_source": manifest["by_lang_source"],
        "config": summary["config"],
    }
    with fsspec.open(report_path(output, "dedupe_report.json"), "w", auto_mkdir=True) as f:
        json.dump(report, f, ensure_ascii=False, indent=1)
    return report


def run_dedupe(input_dirs: Sequence[str], output: str, work_dir: str | None = None, overwrite: bool = False,
               execution: ExecutorOptions | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run the whole dedupe (resuming what an earlier run with the same request finished) and return
    its report, with the run's rates. ``kwargs``: options of :func:`dedupe_stages` and executor options."""
    execution, kwargs = split_execution(execution, kwargs)
    execution = dataclasses.replace(execution, logging_dir=None)  # the stages log under <work_dir>/logs/<stage>
    input_dirs = [input_dirs] if isinstance(input_dirs, str) else [str(d) for d in input_dirs]
    output = str(output).rstrip("/")
    work_dir = work_dir or default_work_dir(output)
    options = resolved_options(dedupe_stages, input_dirs, output, work_dir,
                               exclude=("input_dirs", "output", "work_dir"), **kwargs)
    options["config"] = options.get("config") or DedupConfig()
    options["work_dir"] = work_dir
    summary = run_recipe(
        "dedupe", output, build=lambda: build_dedupe(input_dirs, output, work_dir=work_dir, **execution.kwargs(), **kwargs),
        options=options, inputs=input_dirs, execution=execution, overwrite=overwrite, owned_folders=[work_dir],
        logging_dir=posixpath.join(work_dir, "logs", "filter"),
    )
    report = dedupe_report(output, work_dir)
    report.update({k: summary[k] for k in ("bytes_in", "seconds", "mb_per_s")})
    report["docs_per_s"] = report["documents_in"] / max(summary["seconds"], 1e-9)
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(formatter_class=DefaultsHelpFormatter,
        prog="mmedc run dedupe",
        description="Remove exact, same-URL and near-duplicate documents (and per-source boilerplate lines) "
                    "from mmedc shards.",
    )
    p.add_argument("--input", required=True, action="append", help="folder of mmedc shards; repeat for several")
    p.add_argument("--output", required=True,
                   help="output folder for the kept shards (the report goes to <output>/.mmedc/reports/)")
    p.add_argument("--work-dir", default=None, help="intermediate files, removed documents, logs (default: <output>_dedup_work)")
    add_options(p.add_argument_group("near-duplicates (MinHash) and exact duplicates"), DedupConfig)
    p.add_argument("--tag-only", action="store_true", help="keep every document, tag dedup_cluster/size/reason")
    bp = p.add_argument_group("boilerplate lines")
    bp.add_argument("--no-boilerplate", action="store_true", help="skip boilerplate line removal")
    add_options(bp, BoilerplateConfig, prefix="boilerplate_")
    add_shard_args(p)
    p.add_argument("--limit", type=int, default=-1, help="documents per task and input at most, for trials (default: all)")
    add_execution_args(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = options_from_args(DedupConfig, args)
    boilerplate = None if args.no_boilerplate else options_from_args(BoilerplateConfig, args, prefix="boilerplate_")
    execution = execution_from_args(args)
    if execution.logging_dir:
        print("note: dedupe writes its logs under <work-dir>/logs/<stage>; --logging-dir is ignored")
    report = run_dedupe(args.input, args.output, work_dir=args.work_dir, overwrite=args.overwrite,
                        execution=execution, config=config, boilerplate=boilerplate, tag_only=args.tag_only,
                        limit=args.limit, **shard_kwargs(args))
    print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    print(f"dedupe: {report['documents_in']:,} documents in, {report['documents_out']:,} out -> {report['output']}")
    for reason, n in report["removed"].items():
        print(f"  removed {reason:<24} {n:>10,}")
    print(f"  clusters {report['clusters']:,} ({report['documents_in_clusters']:,} documents); "
          f"boilerplate units {report['boilerplate']['units_found']}, documents cleaned "
          f"{report['boilerplate']['documents_cleaned']:,}")
    print(f"  removed documents: {report['removed_documents_in']}; report: {report_path(report['output'], 'dedupe_report.json')}")
    if "seconds" in report:
        print_rates(report)


def demo(workdir: Path, input_dirs: Sequence[str] | None = None, **executor_kw: Any) -> dict[str, Any]:
    """Dedupe ``input_dirs`` (shards the source recipes wrote) or, without them, the bundled sample.

    The bundled sample (:mod:`mmedc.samples.dedup`) has planted exact, URL and near duplicates in six
    languages and 25 documents sharing a disclaimer line; the summary adds ``expected_removed`` and
    ``wrongly_kept`` / ``wrongly_removed`` (should be empty) for it.
    """
    workdir = Path(workdir)
    labelled = None
    if not input_dirs:
        from mmedc.samples.dedup import sample_documents

        docs = sample_documents(boilerplate_copies=25)
        inp = workdir / "dedupe_input"
        with ShardedParquetWriter(str(inp), max_rows=20) as w:
            for doc in docs:
                w.write(doc, rank=0)
        input_dirs = [str(inp)]
        labelled = {d.id: d.metadata["expected"] for d in docs}
    executor_kw.setdefault("tasks", 2)
    executor_kw.setdefault("workers", 2)
    boilerplate = BoilerplateConfig(min_docs=10) if labelled else BoilerplateConfig()
    output = str(workdir / "dedup")
    report = run_dedupe(list(input_dirs), output, work_dir=str(workdir / "dedup_work"),
                        boilerplate=boilerplate, **executor_kw)
    summary = {"output": output, "input": list(input_dirs), "documents_in": report["documents_in"],
               "documents_out": report["documents_out"], "removed": report["removed"],
               "report": report_path(output, "dedupe_report.json")}
    if labelled:
        from mmedc.io.shards import iter_records

        kept = {r["id"]: r["text"] for r in iter_records(output, columns=["id", "text"])}
        summary["expected_removed"] = sum(v != "keep" for v in labelled.values())
        summary["wrongly_kept"] = sorted(i for i, v in labelled.items() if v != "keep" and i in kept)
        summary["wrongly_removed"] = sorted(i for i, v in labelled.items() if v == "keep" and i not in kept)
        summary["disclaimer_lines_left"] = sum("does not replace advice" in t for t in kept.values())
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
