"""SparkPipelineExecutor in Spark local mode: same rows as the local executor, safe retries, resume, depends.

One SparkSession (``local[2,2]``: 2 cores, 2 attempts per task) is shared by the module, because
starting the JVM is the slow part. The pipelines are real: datatrove's JSONL reader and filters, and
mmedc's sharded Parquet writer and reader, on JSONL files the tests write.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters import LambdaFilter
from datatrove.pipeline.readers import JsonlReader

from mmedc.executors import make_executor
from mmedc.executors.spark import SparkPipelineExecutor, get_or_create_session, is_local_master
from mmedc.io.parquet import ShardedParquetWriter, ShardReader, iter_records, merge_manifests

MEDICAL_WORDS = ["fever", "insulin", "dose", "tumour", "symptom", "aspirin"]
GENERAL_WORDS = ["river", "market", "garden", "train", "window", "music", "bridge"]
MEDICAL = set(MEDICAL_WORDS)


def is_medical(doc) -> bool:
    return any(w in MEDICAL for w in doc.text.split())


def write_input(folder: Path, files: int, docs_per_file: int) -> list[dict]:
    """JSONL files of short documents; about half mention a medical word."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    for f in range(files):
        with open(folder / f"part-{f:02d}.jsonl", "w", encoding="utf-8") as out:
            for i in range(docs_per_file + f):  # uneven files
                n = f * 1000 + i
                pool = MEDICAL_WORDS if n % 3 == 0 else GENERAL_WORDS  # a third are medical
                text = " ".join(pool[(n * k + f) % len(pool)] for k in range(1, 4 + n % 5)) + f" n{n}"
                doc = {"id": f"doc-{n}", "text": text, "metadata": {"language": "en", "source": "web"}}
                out.write(json.dumps(doc) + "\n")
                docs.append(doc)
    return docs


def rows(folder: Path) -> list[tuple]:
    return sorted(
        (r["id"], r["text"], r["lang"], r["source"], r["metadata"]) for r in iter_records(str(folder))
    )


def flatten(stats: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out


def completed_ranks(logging_dir: Path) -> set[int]:
    return {int(p.name) for p in (logging_dir / "completions").glob("*")}


class RecordRanks(PipelineStep):
    """Passes documents on and appends its rank to a file: which ranks really ran."""

    name = "record ranks"

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with open(self.path, "a") as f:
            f.write(f"{rank}\n")
        yield from data


class FlakyFirstAttempt(PipelineStep):
    """Before the writer: on its first attempt, rank ``rank`` passes every document ``repeat`` times (an
    upstream that is not deterministic) and raises after ``after`` documents.

    When it raises it records the rank's shards already on disk: more than a clean run writes, which
    the retry must not leave behind.
    """

    name = "flaky first attempt"

    def __init__(self, rank: int, after: int, repeat: int, marker: str, out: str):
        super().__init__()
        self.rank, self.after, self.repeat, self.marker, self.out = rank, after, repeat, marker, out

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        first_attempt = rank == self.rank and not Path(self.marker).exists()
        for i, doc in enumerate(data):
            if first_attempt and i == self.after:
                shards = sorted(p.name for p in Path(self.out).glob(f"{rank:05d}_*.parquet"))
                Path(self.marker).write_text(json.dumps(shards))
                raise RuntimeError(f"simulated failure of rank {rank}")
            for _ in range(self.repeat if first_attempt else 1):
                yield doc


class FailWhenPoisoned(PipelineStep):
    """Rank ``rank`` waits until the other ranks have completed, then fails while ``poison`` exists."""

    name = "fail when poisoned"

    def __init__(self, rank: int, poison: str, completions: str, world_size: int):
        super().__init__()
        self.rank, self.poison, self.completions, self.world = rank, poison, completions, world_size

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if rank == self.rank and Path(self.poison).exists():
            others = [Path(self.completions) / f"{r:05d}" for r in range(self.world) if r != rank]
            deadline = time.monotonic() + 60
            while not all(p.exists() for p in others) and time.monotonic() < deadline:
                time.sleep(0.1)
            raise RuntimeError(f"rank {rank} is poisoned")
        yield from data


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    if not shutil.which("java"):
        pytest.skip("Spark needs Java")
    session, _ = get_or_create_session(
        "local[2,2]", {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}, "mmedc-tests"
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[dict]]:
    folder = tmp_path_factory.mktemp("input")
    return folder, write_input(folder, files=6, docs_per_file=40)


def filter_pipeline(inp: Path, out: Path, extra: list | None = None) -> list:
    return [
        JsonlReader(str(inp), glob_pattern="*.jsonl"),
        LambdaFilter(is_medical),
        *(extra or []),
        ShardedParquetWriter(str(out), max_rows=9),
    ]


def test_spark_and_local_executors_write_identical_rows(spark, corpus, tmp_path):
    inp, docs = corpus
    outputs = {}
    for kind in ("local", "spark"):
        out, logs = tmp_path / kind, tmp_path / f"{kind}_logs"
        executor = make_executor(
            filter_pipeline(inp, out), str(logs), executor=kind, tasks=4, workers=2, spark_session=spark
        )
        executor.run()
        stats = json.loads((logs / "stats.json").read_text())
        outputs[kind] = (
            rows(out),
            sorted(p.name for p in out.glob("*.parquet")),
            {s["name"]: s["stats"] for s in stats},
            completed_ranks(logs),
        )
    local, spark_out = outputs["local"], outputs["spark"]
    expected = sorted(d["id"] for d in docs if any(w in MEDICAL for w in d["text"].split()))
    assert 0 < len(expected) < len(docs)
    assert [r[0] for r in spark_out[0]] == expected
    assert spark_out[0] == local[0]  # every column of every row
    assert spark_out[1] == local[1]  # same shard names: shards are keyed by rank
    assert spark_out[3] == local[3] == {0, 1, 2, 3}
    # stats merged across ranks as the local executor does (counts; timings are kept apart)
    assert flatten(spark_out[2]) == pytest.approx(flatten(local[2]))  # float sums: order may differ
    assert spark_out[2]["✍️ - WRITER: 💾 Sharded Parquet"]["documents"] == len(expected)
    assert spark_out[2]["🔻 - FILTER: 👤 Lambda"]["dropped"] == len(docs) - len(expected)


def test_rank_failing_on_first_attempt_is_retried_without_duplicates(spark, corpus, tmp_path):
    inp, docs = corpus
    out, logs, marker = tmp_path / "out", tmp_path / "logs", tmp_path / "failed_once"
    pipeline = [
        JsonlReader(str(inp), glob_pattern="*.jsonl"),
        LambdaFilter(is_medical),
        FlakyFirstAttempt(rank=1, after=20, repeat=3, marker=str(marker), out=str(out)),
        ShardedParquetWriter(str(out), max_rows=4),
    ]
    SparkPipelineExecutor(pipeline, tasks=3, logging_dir=str(logs), spark_session=spark).run()

    partial = set(json.loads(marker.read_text()))
    final = {p.name for p in out.glob("00001_*.parquet")}
    assert final < partial  # the failed attempt had written more shards than the retry keeps
    ids = [r[0] for r in rows(out)]
    assert len(ids) == len(set(ids))  # no duplicate
    assert sorted(ids) == sorted(d["id"] for d in docs if any(w in MEDICAL for w in d["text"].split()))
    assert not list(out.rglob("*.tmp"))
    assert merge_manifests(str(out))["rows"] == len(ids)  # the manifest agrees with the shards
    assert (logs / "logs" / "task_00001.attempt0.log").is_file()  # the failed attempt's log is kept
    assert "simulated failure of rank 1" in (logs / "logs" / "task_00001.attempt0.log").read_text()
    stats = {s["name"]: s["stats"] for s in json.loads((logs / "stats.json").read_text())}
    assert stats["✍️ - WRITER: 💾 Sharded Parquet"]["documents"] == len(ids)


def test_failed_run_resumes_only_incomplete_ranks(spark, corpus, tmp_path):
    inp, docs = corpus
    out, logs = tmp_path / "out", tmp_path / "logs"
    poison, ran = tmp_path / "poison", tmp_path / "ran.txt"
    poison.touch()

    def executor() -> SparkPipelineExecutor:
        extra = [RecordRanks(str(ran)), FailWhenPoisoned(3, str(poison), str(logs / "completions"), 4)]
        return SparkPipelineExecutor(filter_pipeline(inp, out, extra), tasks=4, logging_dir=str(logs),
                                     spark_session=spark)

    with pytest.raises(RuntimeError, match=r"ranks 3 of 4 did not complete") as failure:
        executor().run()
    assert "rank 3 is poisoned" in str(failure.value)  # the cause, out of Spark's long message
    assert completed_ranks(logs) == {0, 1, 2}
    poison.unlink()
    ran.write_text("")
    executor().run()
    assert ran.read_text().split() == ["3"]  # only the failed rank ran again
    assert completed_ranks(logs) == {0, 1, 2, 3}
    ids = [r[0] for r in rows(out)]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(d["id"] for d in docs if any(w in MEDICAL for w in d["text"].split()))
    # a third run has nothing to do
    assert executor().run() is None


def test_depends_runs_stages_in_order(spark, corpus, tmp_path):
    inp, docs = corpus
    first, second = tmp_path / "stage1", tmp_path / "stage2"
    stage1 = SparkPipelineExecutor(
        [JsonlReader(str(inp), glob_pattern="*.jsonl"), ShardedParquetWriter(str(first), max_rows=50)],
        tasks=3, logging_dir=str(tmp_path / "logs1"), spark_session=spark,
    )
    stage2 = SparkPipelineExecutor(
        [ShardReader(str(first)), LambdaFilter(is_medical), ShardedParquetWriter(str(second))],
        tasks=2, logging_dir=str(tmp_path / "logs2"), depends=stage1, spark_session=spark,
    )
    stage2.run()
    assert stage1._launched and completed_ranks(tmp_path / "logs1") == {0, 1, 2}
    assert len(rows(first)) == len(docs)  # stage 2 read stage 1's complete output
    expected = [r for r in rows(first) if any(w in MEDICAL for w in r[1].split())]
    assert rows(second) == expected
    assert Counter(p.name[:5] for p in second.glob("*.parquet")).keys() <= {"00000", "00001"}


def test_four_stage_dedupe_runs_on_spark(spark, tmp_path):
    """The MinHash dedupe stages chained with depends= (3 -> 2 -> 1 -> 3 tasks) remove what the
    bundled dedupe sample says they must."""
    from mmedc.dedup import DedupConfig, MinhashBuckets, MinhashClusters, MinhashFilter, MinhashSignatures
    from mmedc.samples.dedup import sample_documents

    docs = sample_documents()
    inp, work, out = str(tmp_path / "in"), str(tmp_path / "work"), str(tmp_path / "out")
    for rank in range(3):  # the corpus as three shards
        list(ShardedParquetWriter(inp).run(iter(docs[rank::3]), rank, 3))
    config = DedupConfig()

    def stage(name: str, pipeline: list, tasks: int, depends=None) -> SparkPipelineExecutor:
        return SparkPipelineExecutor(pipeline, tasks=tasks, logging_dir=str(tmp_path / "logs" / name),
                                     depends=depends, spark_session=spark)

    signatures = stage("1", [ShardReader(inp), MinhashSignatures(work, config)], 3)
    buckets = stage("2", [MinhashBuckets(work, config)], 2, signatures)
    clusters = stage("3", [MinhashClusters(work, config)], 1, buckets)
    final = stage("4", [ShardReader(inp), MinhashFilter(work, config), ShardedParquetWriter(out)], 3, clusters)
    final.run()

    kept = [r[0] for r in rows(tmp_path / "out")]
    expected = sorted(d.id for d in docs if d.metadata["expected"] == "keep")
    assert len(expected) < len(docs)
    assert sorted(kept) == expected


# -- no Spark needed ---------------------------------------------------------------------------------


def test_unpicklable_block_is_refused_before_spark_starts(tmp_path):
    import threading

    class HoldsALock(PipelineStep):
        name = "holds a lock"

        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()

        def run(self, data, rank=0, world_size=1):
            yield from data

    executor = SparkPipelineExecutor([HoldsALock()], logging_dir=str(tmp_path), master="spark://nowhere:7077")
    with pytest.raises(TypeError, match="cannot be sent to the Spark executors.*lock"):
        executor.run()


def test_speculation_is_refused(tmp_path):
    with pytest.raises(ValueError, match="speculation"):
        SparkPipelineExecutor([], tasks=1, logging_dir=str(tmp_path), spark_conf={"spark.speculation": "true"})


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="tasks"):
        SparkPipelineExecutor([], tasks=0, logging_dir=str(tmp_path))
    with pytest.raises(TypeError, match="depends"):
        SparkPipelineExecutor([], logging_dir=str(tmp_path), depends="stage1")


@pytest.mark.parametrize(
    "master, local",
    [(None, True), ("local", True), ("local[*]", True), ("local[2,3]", True),
     ("spark://host:7077", False), ("yarn", False), ("k8s://https://api:6443", False)],
)
def test_local_master_detection(master, local):
    assert is_local_master(master) is local


def test_worker_python_order(monkeypatch):
    """spark.pyspark.python first (as spark-submit), then PYSPARK_PYTHON, then the driver's Python."""
    import sys

    from mmedc.executors.spark import worker_python

    assert worker_python({"spark.pyspark.python": "/opt/py"}, {"PYSPARK_PYTHON": "/env/py"}) == "/opt/py"
    assert worker_python({}, {"PYSPARK_PYTHON": "/env/py"}) == "/env/py"
    assert worker_python({}, {}) == sys.executable


@pytest.mark.parametrize(
    "master, loopback",
    [("spark://127.0.0.1:7077", True), ("spark://localhost:7077", True), ("spark://10.0.0.5:7077", False),
     ("spark://127.0.0.1:7077,10.0.0.5:7077", False), ("yarn", False), ("local[2]", False), (None, False)],
)
def test_loopback_master_detection(master, loopback):
    from mmedc.executors.spark import _is_loopback_master

    assert _is_loopback_master(master) is loopback
