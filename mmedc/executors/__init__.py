"""Executors: run a pipeline (a list of blocks) locally or on Apache Spark, with one call.

``make_executor`` is what every prebuilt recipe calls, so ``--executor local|spark`` works the same
for all of them. Local runs use datatrove's own ``LocalPipelineExecutor`` (multi-process, resumable
through completion markers); Spark runs use :class:`mmedc.executors.spark.SparkPipelineExecutor`.
:class:`ExecutorOptions` holds the options every recipe shares (``--tasks``, ``--workers``,
``--executor``, ...); the command-line options are generated from it by :mod:`mmedc.options`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Literal

from datatrove.executor.base import PipelineExecutor


@dataclass
class ExecutorOptions:
    """Where and how a pipeline runs. Every recipe takes these (``mmedc run <recipe> --help``)."""

    executor: Literal["local", "spark"] = field(default="local", metadata={"help": "where to run"})
    tasks: int = field(default=2, metadata={"help": "number of tasks (ranks); input files are split across them"})
    workers: int = field(default=2, metadata={"help": "local: processes at once (-1: all tasks at once)"})
    logging_dir: str | None = field(default=None, metadata={
        "help": "datatrove logs, stats and completion markers (default: <output>/.mmedc/logs)"})
    skip_completed: bool = field(default=True, metadata={
        "flag": "--no-resume", "help": "re-run tasks even if completed before"})
    spark_master: str | None = field(default=None, metadata={
        "help": "Spark master URL (default: local[*]); spark://, yarn, k8s://"})
    spark_conf: dict[str, str] = field(default_factory=dict, metadata={"help": "extra Spark config"})

    def __post_init__(self) -> None:
        if self.executor not in ("local", "spark"):
            raise ValueError(f"unknown executor {self.executor!r}: use 'local' or 'spark'")
        if self.tasks < 1:
            raise ValueError(f"tasks must be at least 1, got {self.tasks}")

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`make_executor` (all but ``logging_dir``)."""
        return {"executor": self.executor, "tasks": self.tasks, "workers": self.workers,
                "skip_completed": self.skip_completed, "spark_master": self.spark_master,
                "spark_conf": dict(self.spark_conf)}


def add_executor_args(parser: argparse.ArgumentParser, tasks: int = 2, workers: int = 2) -> None:
    """Kept for compatibility: the options of :class:`ExecutorOptions` (``mmedc.options`` makes them)."""
    from mmedc.options import add_options

    add_options(parser.add_argument_group("execution"), ExecutorOptions, defaults={"tasks": tasks, "workers": workers})


def executor_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Kept for compatibility: :func:`make_executor` keyword arguments from :func:`add_executor_args` options."""
    from mmedc.options import options_from_args

    return options_from_args(ExecutorOptions, args).kwargs()


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
