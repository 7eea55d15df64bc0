"""Executors: run a pipeline (a list of blocks) locally or on Apache Spark, with one call.

``make_executor`` is what every prebuilt recipe calls, so ``--executor local|spark`` works the same
for all of them. Local runs use datatrove's own ``LocalPipelineExecutor`` (multi-process, resumable
through completion markers); Spark runs use :class:`mmedc.executors.spark.SparkPipelineExecutor`.
"""

from __future__ import annotations

import argparse
from typing import Any

from datatrove.executor.base import PipelineExecutor


def add_executor_args(parser: argparse.ArgumentParser, tasks: int = 2, workers: int = 2) -> None:
    """Add the executor options shared by every recipe."""
    g = parser.add_argument_group("execution")
    g.add_argument("--executor", choices=["local", "spark"], default="local", help="where to run (default: local)")
    g.add_argument("--tasks", type=int, default=tasks, help="number of tasks (ranks); input files are split across them")
    g.add_argument("--workers", type=int, default=workers, help="local: processes at once (-1: all tasks at once)")
    g.add_argument("--logging-dir", default=None, help="datatrove logs, stats and completion markers (default: <output>/_logs)")
    g.add_argument("--no-resume", action="store_true", help="re-run tasks even if completed before")
    g.add_argument("--spark-master", default=None, help="Spark master URL (default: local[*]); spark://, yarn, k8s://")
    g.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark config, repeatable")


def executor_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`make_executor` from parsed :func:`add_executor_args` options."""
    conf = {}
    for item in args.spark_conf or []:
        if "=" not in item:
            raise SystemExit(f"--spark-conf expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        conf[k] = v
    return {
        "executor": args.executor,
        "tasks": args.tasks,
        "workers": args.workers,
        "skip_completed": not args.no_resume,
        "spark_master": args.spark_master,
        "spark_conf": conf,
    }


def make_executor(
    pipeline: list,
    logging_dir: str,
    executor: str = "local",
    tasks: int = 1,
    workers: int = -1,
    skip_completed: bool = True,
    depends: PipelineExecutor | None = None,
    spark_master: str | None = None,
    spark_conf: dict[str, str] | None = None,
    spark_session: Any = None,
    **extra: Any,
) -> PipelineExecutor:
    """Build the executor that runs ``pipeline`` over ``tasks`` ranks."""
    from mmedc.executors.paths import refuse_process_local_paths

    refuse_process_local_paths(pipeline, logging_dir, executor, workers if workers != -1 else tasks)
    if executor == "local":
        from datatrove.executor import LocalPipelineExecutor

        return LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=workers,
            logging_dir=logging_dir,
            skip_completed=skip_completed,
            depends=depends,
            **extra,
        )
    if executor == "spark":
        from mmedc.executors.spark import SparkPipelineExecutor

        return SparkPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            logging_dir=logging_dir,
            skip_completed=skip_completed,
            depends=depends,
            master=spark_master,
            spark_conf=spark_conf or {},
            spark_session=spark_session,
            **extra,
        )
    raise ValueError(f"unknown executor {executor!r}: use 'local' or 'spark'")
