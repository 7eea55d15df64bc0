"""Run any datatrove (or mmedc) pipeline on Apache Spark.

datatrove runs pipelines on local processes, Slurm and Ray, but not on Spark, which is what many data
teams have. :class:`SparkPipelineExecutor` is a datatrove ``PipelineExecutor``: every rank is one Spark
task (one partition per rank) that runs the very same pipeline object through datatrove's own
``_run_for_rank``. So completion markers (``<logging_dir>/completions/<rank>``), per-task logs
(``logs/task_<rank>.log``) and per-task stats (``stats/<rank>.json``) are the ones the local executor
writes, ``skip_completed`` resumes a killed or failed run, and ``depends=`` chains staged pipelines.

How a rank runs on an executor: the driver pickles the executor (pipeline included) once with
cloudpickle and broadcasts the bytes; every task unpickles its own fresh copy. A fresh copy per task
matters because PySpark reuses Python workers: a step object that ran rank 0 would otherwise carry its
stats (and any state) into rank 1.

Retries: a failed task is retried by Spark (``spark.task.maxFailures``; ``local[N,F]`` in local mode).
A rank is only marked complete after its whole pipeline has finished, and mmedc's
:class:`~mmedc.io.parquet.ShardedParquetWriter` removes a rank's earlier shards before writing them again
under the same names, so a retried rank leaves neither duplicate nor partial shards. Speculative
execution would run two attempts of one rank at the same time against the same file names, so it is
refused. The log of a failed attempt is kept as ``logs/task_<rank>.attempt<N>.log``.

Paths (input, output, ``logging_dir``) are fsspec URLs; on a real cluster they must be on storage every
node sees (HDFS, S3, GCS, a shared mount). See ``docs/spark.md`` for spark-submit, Databricks/EMR and
shipping the package to the executors.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from datatrove.executor.base import DistributedEnvVars, PipelineExecutor
from datatrove.io import DataFolderLike, file_is_local
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger
from datatrove.utils.stats import PipelineStats

DEFAULT_MASTER = "local[*]"


def is_local_master(master: str | None) -> bool:
    """Whether ``master`` runs Spark inside this machine (``local``, ``local[4]``, ``local[2,3]``...)."""
    return master is None or master.strip().startswith("local")


def worker_python(conf: dict[str, str], environ: Any = os.environ) -> str:
    """The interpreter Spark's Python workers run when this process (not spark-submit) starts Spark.

    ``spark.pyspark.python`` in ``conf`` first (as spark-submit does), then ``PYSPARK_PYTHON``, then
    the driver's own interpreter (``sys.executable``): on a cluster whose nodes share the driver's
    environment (a loopback or shared-image cluster) that is the one with mmedc installed.
    """
    return conf.get("spark.pyspark.python") or environ.get("PYSPARK_PYTHON") or sys.executable


def _is_loopback_master(master: str | None) -> bool:
    """``spark://127.0.0.1:7077`` or ``spark://localhost:7077``: a cluster on this machine's loopback."""
    if not master or not master.startswith("spark://"):
        return False
    hosts = [h.rsplit(":", 1)[0] for h in master[len("spark://"):].split(",")]
    return all(h in ("127.0.0.1", "localhost", "[::1]") for h in hosts)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def get_or_create_session(
    master: str | None = None,
    spark_conf: dict[str, Any] | None = None,
    app_name: str = "mmedc",
) -> tuple[Any, bool]:
    """Return ``(session, created)``: the active SparkSession, or a new one for ``master``.

    With no ``master``, the master of ``spark-submit`` (when it launched this program), else
    ``local[*]``. When this process starts Spark itself (no spark-submit), the Python workers run
    :func:`worker_python` (``spark.pyspark.python``, else ``PYSPARK_PYTHON``, else this interpreter),
    for every master: PySpark alone would ignore ``spark.pyspark.python`` and run ``python3``. For
    local masters the workers also see this process's import path, and Spark stays on loopback
    (``SPARK_LOCAL_IP=127.0.0.1``, also for a ``spark://127.0.0.1`` master), unless the environment or
    ``spark_conf`` already says otherwise. Under spark-submit, its own settings apply.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError("the Spark executor needs pyspark: pip install 'mmedc[spark]'") from e

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # a context without a session: wrap it
        return SparkSession.builder.getOrCreate(), False

    conf = {str(k): str(v) for k, v in (spark_conf or {}).items()}
    master = master or conf.pop("spark.master", None)
    # under spark-submit (or the pyspark shell) the JVM is up and its configuration names the master
    launched_by_spark = "PYSPARK_GATEWAY_PORT" in os.environ
    if master is None and not launched_by_spark:
        master = DEFAULT_MASTER
    if not launched_by_spark:
        python = worker_python(conf, os.environ)
        # PySpark reads the workers' interpreter from PYSPARK_PYTHON only (spark-submit turns
        # spark.pyspark.python into it); without spark-submit, this process must do the same
        os.environ["PYSPARK_PYTHON"] = conf["spark.pyspark.python"] = python
        if not is_local_master(master):
            logger.info(f"Spark workers will run {python} (spark.pyspark.python): it must exist on every "
                        "node with mmedc installed; pass --spark-conf spark.pyspark.python=... to choose another")
        if _is_loopback_master(master):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if master is not None and is_local_master(master) and not launched_by_spark:
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        if "spark.executorEnv.PYTHONPATH" not in conf:
            # the workers import what the driver imports (a custom block next to the user's script)
            paths = [p for p in sys.path if p and os.path.exists(p)]
            if os.environ.get("PYTHONPATH"):
                paths.append(os.environ["PYTHONPATH"])
            conf["spark.executorEnv.PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    logger.info(f"Starting Spark session (master={master or 'from spark-submit'})")
    try:
        return builder.getOrCreate(), True
    except Exception as e:  # the JVM did not start, or the master refused us
        raise RuntimeError(
            f"could not start a Spark session with master {master!r}: {_first_line(e)}. Spark needs "
            "Java 17 or later (java on PATH or JAVA_HOME) and, for a cluster, a reachable master"
        ) from e


def _run_ranks_on_spark(payload: Any) -> Callable[[int, Iterable[int]], Iterator[tuple[int, int, PipelineStats]]]:
    """The function every Spark task runs: unpickle a fresh executor and run its rank(s)."""

    def run_partition(_index: int, ranks: Iterable[int]) -> Iterator[tuple[int, int, PipelineStats]]:
        from pyspark import TaskContext
        from pyspark.cloudpickle import loads

        context = TaskContext.get()
        attempt = context.attemptNumber() if context is not None else 0
        for rank in ranks:
            executor: SparkPipelineExecutor = loads(payload.value)
            executor._keep_failed_attempt_log(rank, attempt)
            # as the local executor: one task logs INFO to the console, the others only errors
            stats = executor._run_for_rank(rank, local_rank=0 if rank == executor._console_rank else 1)
            yield rank, attempt, stats

    return run_partition


class SparkPipelineExecutor(PipelineExecutor):
    """Run a pipeline on Apache Spark, one Spark task per rank.

    Args:
        pipeline: a list of PipelineSteps and/or callables ``(data, rank, world_size)``, as for every
            datatrove executor.
        tasks: number of ranks; datatrove readers split their input files across them. Spark runs as
            many at once as it has executor cores (``local[N]``: N).
        logging_dir: logs, stats and completion markers (fsspec URL; on a cluster, shared storage).
        skip_completed: skip ranks that have a completion marker from an earlier run (resume).
        depends: an executor (Spark or local) that must complete before this one; it is run first if
            it has not been launched, sharing this executor's Spark session.
        master: Spark master: spark-submit's or else ``local[*]`` (default), ``local[N]``, ``local[N,F]`` (F attempts per task),
            ``spark://host:7077``, ``yarn``, ``k8s://...``. Ignored when a session is already active.
        spark_conf: extra Spark configuration for a session this executor creates.
        spark_session: an existing SparkSession to use (not stopped unless ``stop_session=True``).
        app_name: Spark application name of a session this executor creates.
        stop_session: stop the session at the end of :meth:`run`; default: only a session this
            executor created itself.
        randomize_start_duration: maximum seconds to delay the start of each task.
    """

    def __init__(
        self,
        pipeline: list[PipelineStep | Callable],
        tasks: int = 1,
        logging_dir: DataFolderLike = None,
        skip_completed: bool = True,
        depends: PipelineExecutor | None = None,
        master: str | None = None,
        spark_conf: dict[str, Any] | None = None,
        spark_session: Any = None,
        app_name: str = "mmedc",
        stop_session: bool | None = None,
        randomize_start_duration: int = 0,
    ):
        if tasks < 1:
            raise ValueError(f"tasks must be at least 1, got {tasks}")
        if depends is not None and not isinstance(depends, PipelineExecutor):
            raise TypeError(f"depends= must be a datatrove PipelineExecutor, got {type(depends).__name__}")
        spark_conf = {str(k): str(v) for k, v in (spark_conf or {}).items()}
        if _truthy(spark_conf.get("spark.speculation", "false")):
            raise ValueError(
                "spark.speculation=true runs two attempts of a rank at once against the same output "
                "files; the Spark executor needs it off"
            )
        super().__init__(pipeline, logging_dir, skip_completed, randomize_start_duration)
        self.tasks = tasks
        self.depends = depends
        self.master = master
        self.spark_conf = spark_conf
        self.spark_session = spark_session
        self.app_name = app_name
        self.stop_session = stop_session
        self._launched = False
        self._console_rank = 0
        if master and not is_local_master(master) and file_is_local(self.logging_dir.path):
            logger.warning(
                f"logging_dir {self.logging_dir.path!r} is on the local file system but master {master!r} "
                "is a cluster: completion markers, logs and stats must be on storage every node sees"
            )

    # -- datatrove executor API ------------------------------------------------------------------
    @property
    def world_size(self) -> int:
        return self.tasks

    def get_distributed_env(self, node_rank: int = -1) -> DistributedEnvVars:
        return DistributedEnvVars(
            datatrove_node_ips="localhost",
            datatrove_cpus_per_task="1",
            datatrove_mem_per_cpu="-1",
            datatrove_gpus_on_node="-1",
            datatrove_executor="SPARK",
        )

    def __getstate__(self) -> dict[str, Any]:
        # what a Spark task needs: no session (not picklable), no dependency (already done)
        state = self.__dict__.copy()
        state["spark_session"] = None
        state["depends"] = None
        return state

    def __repr__(self) -> str:
        steps = ", ".join(getattr(s, "name", None) or type(s).__name__ for s in self.pipeline)
        return f"SparkPipelineExecutor(tasks={self.tasks}, pipeline=[{steps}])"

    # -- running ---------------------------------------------------------------------------------
    def run(self) -> PipelineStats | None:
        """Run the dependency (if any) and then every incomplete rank as a Spark task.

        Returns the stats of all ranks (also written to ``<logging_dir>/stats.json``), or None when
        every rank was already complete. Raises ``RuntimeError`` naming the ranks that failed (after
        Spark's retries); the ranks that finished keep their markers, so running again resumes.
        """
        self._serialize()  # fail before the JVM starts if a block cannot be sent to the executors
        session, created = self._session()
        try:
            return self._run_with_session(session)
        finally:
            if self.stop_session or (self.stop_session is None and created):
                logger.info("Stopping the Spark session")
                session.stop()

    def _session(self) -> tuple[Any, bool]:
        if self.spark_session is not None:
            session = self.spark_session
            created = False
        else:
            session, created = get_or_create_session(self.master, self.spark_conf, self.app_name)
        conf = session.sparkContext.getConf()
        wheels = [f for f in (conf.get("spark.submit.pyFiles", "") or "").split(",") if f.lower().endswith(".whl")]
        if wheels:
            logger.warning(
                f"--py-files {', '.join(wheels)}: PySpark's workers put only .zip, .egg and .jar files of "
                "--py-files on their import path; ship a wheel renamed to .zip (see docs/spark.md)"
            )
        if _truthy(conf.get("spark.speculation", "false")):
            raise ValueError(
                "the Spark session has spark.speculation=true: two attempts of a rank would write the "
                "same files at once; turn speculation off for mmedc pipelines"
            )
        return session, created

    def _run_dependency(self, session: Any) -> None:
        dep = self.depends
        if dep is None:
            return
        if not getattr(dep, "_launched", False):
            logger.info(f"Launching dependency {dep!r}")
            if isinstance(dep, SparkPipelineExecutor):
                dep._run_with_session(session)
            else:
                dep.run()
        incomplete = dep.get_incomplete_ranks(skip_completed=True)
        if incomplete:
            raise RuntimeError(
                f"dependency {dep!r} has {len(incomplete)}/{dep.world_size} incomplete ranks "
                f"({_short(incomplete)}); not starting the next stage"
            )

    def _run_with_session(self, session: Any) -> PipelineStats | None:
        self._run_dependency(session)
        self._launched = True
        ranks = self.get_incomplete_ranks(range(self.world_size))
        if not ranks:
            logger.info(f"Not doing anything as all {self.world_size} tasks have already been completed.")
            return None
        if skipped := self.world_size - len(ranks):
            logger.info(f"Skipping {skipped} already completed tasks")
        self.save_executor_as_json()
        self._console_rank = ranks[0]

        sc = session.sparkContext
        payload = sc.broadcast(self._serialize())
        try:
            sc.setJobDescription(f"mmedc: {self!r}, {len(ranks)} ranks")
            rdd = sc.parallelize(ranks, numSlices=len(ranks))  # one partition per rank
            results = rdd.mapPartitionsWithIndex(_run_ranks_on_spark(payload)).collect()
        except Exception as e:  # Py4JJavaError / PythonException: the job failed after retries
            failed = self.get_incomplete_ranks(ranks, skip_completed=True)
            cause = _first_line(e)
            if "ModuleNotFoundError" in cause or "ImportError" in cause:
                cause += (" (the executors lack a module the pipeline uses: install mmedc on every node or "
                          "ship it with --archives/--py-files, see docs/spark.md)")
            elif "Cannot run program" in cause:
                cause += (" (the executors cannot start that Python: set spark.pyspark.python to an "
                          "interpreter that exists on every node, see docs/spark.md)")
            logger.error(f"Spark job failed; {len(failed)} ranks did not complete: {_short(failed)}")
            raise RuntimeError(
                f"Spark run failed: ranks {_short(failed)} of {self.world_size} did not complete (see "
                f"{self.logging_dir.path}/logs/); completed ranks are kept, run again to resume. "
                f"Cause: {cause}"
            ) from e
        finally:
            sc.setJobDescription(None)
            payload.destroy()
        retried = sorted({rank for rank, attempt, _ in results if attempt > 0})
        if retried:
            logger.warning(f"Ranks completed after a retry: {_short(retried)}")
        stats = self._merge_stats(results)
        logger.success(stats.get_repr(f"All {self.world_size} tasks"))
        return stats

    def _serialize(self) -> bytes:
        """The executor as bytes for the tasks, or a clear error when a block cannot be sent."""
        from pyspark.cloudpickle import dumps

        try:
            return dumps(self)
        except Exception as e:
            raise TypeError(
                f"the pipeline cannot be sent to the Spark executors: {type(e).__name__}: {e}. Blocks must "
                "be picklable: open files, locks, clients and sessions belong in run(), not __init__"
            ) from e

    def _merge_stats(self, results: list[tuple[int, int, PipelineStats]]) -> PipelineStats:
        """Sum the stats of every rank into stats.json: those run now as the local executor sums them,
        and those completed by an earlier run from their ``stats/<rank>.json``."""
        by_rank = {rank: stats for rank, _, stats in results if stats.stats}
        total = PipelineStats()
        for rank in range(self.world_size):
            path = f"stats/{rank:05d}.json"
            if rank in by_rank:
                total += by_rank[rank]
            elif self.logging_dir.isfile(path):
                with self.logging_dir.open(path, "r") as f:
                    total += PipelineStats.from_json(json.load(f))
        with self.logging_dir.open("stats.json", "wt") as f:
            total.save_to_disk(f)
        return total

    def _keep_failed_attempt_log(self, rank: int, attempt: int) -> None:
        """Before a retry, rename the failed attempt's log so the new attempt does not overwrite it."""
        log = f"logs/task_{rank:05d}.log"
        if attempt > 0 and self.logging_dir.isfile(log):
            self.logging_dir.mv(log, f"logs/task_{rank:05d}.attempt{attempt - 1}.log")


def _short(ranks: list[int], limit: int = 20) -> str:
    text = ", ".join(map(str, ranks[:limit]))
    return text + (f" ... ({len(ranks)} in all)" if len(ranks) > limit else "")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    # PySpark puts the Python traceback in the message; its last line names the error
    lines = [line for line in text.splitlines() if line.strip()]
    python_errors = [line for line in lines if "Error" in line or "Exception" in line]
    return (python_errors[-1] if python_errors else lines[0] if lines else type(error).__name__).strip()[:500]

