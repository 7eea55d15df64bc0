"""A real standalone Spark cluster on loopback: one master and one worker started from the installed
pyspark (``spark-class ...deploy.master.Master --host 127.0.0.1``), bounded in time and stopped at the end.

Two routes run the ``filter_web`` recipe on the bundled web sample against it, and each must give
the rows of the local executor:
- the driver starts Spark itself (``mmedc run ... --executor spark --spark-master spark://...``, no
  spark-submit): the workers must run the driver's interpreter (``spark.pyspark.python``);
- ``spark-submit --py-files mmedc.zip`` (the wheel, renamed: PySpark's workers only put ``.zip``,
  ``.egg`` and ``.jar`` files on their path): the documented cluster route, mmedc imported from it on
  the driver and on the workers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark", reason="the Spark tests need the spark extra: pip install 'mmedc[spark]'")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java 17+ (java on PATH or JAVA_HOME)", allow_module_level=True)

from mmedc.io.parquet import iter_records  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(pyspark.__file__).parent
STARTUP_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(log: Path, text: str, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if log.is_file() and text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
    raise RuntimeError(f"the Spark {what} did not start within {STARTUP_S} s (exit {proc.poll()}):\n{tail}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # spark-class runs java in its own process group
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def spark_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    env.update(SPARK_HOME=str(SPARK_HOME), SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1", **extra)
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``spark://127.0.0.1:<port>`` of a running master with one 2-core worker."""
    work = tmp_path_factory.mktemp("spark_cluster")
    port = _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    # a bare worker: each application brings its Python environment (spark.executorEnv.*, --py-files)
    env = spark_env(SPARK_LOG_DIR=str(work / "logs"), SPARK_WORKER_DIR=str(work / "worker"))
    env.pop("PYTHONPATH", None)
    procs = []
    try:
        master_log = work / "master.log"
        with master_log.open("w") as out:
            procs.append(subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", str(port), "--webui-port", "0"],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        _wait_for(master_log, "I have been elected leader", procs[-1], "master")
        worker_log = work / "worker.log"
        with worker_log.open("w") as out:
            procs.append(subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1",
                 "--cores", "2", "--memory", "1g", "--webui-port", "0", "--work-dir", str(work / "worker")],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        _wait_for(worker_log, "Successfully registered with master", procs[-1], "worker")
        yield master_url
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture(scope="module")
def web_input(tmp_path_factory) -> tuple[Path, list[tuple[str, str]]]:
    """The bundled web sample (two files) and the rows the local executor keeps from it."""
    from mmedc.recipes.filter_web import run_filter_web
    from mmedc.samples.web import make_web_sample

    base = tmp_path_factory.mktemp("web")
    make_web_sample(base / "in", docs_per_lang=15, files=2)
    run_filter_web(str(base / "in"), str(base / "local"), tasks=2, workers=1)
    expected = rows(base / "local")
    assert 10 < len(expected) < 90  # the filter keeps some and drops some
    return base / "in", expected


def rows(folder: Path) -> list[tuple[str, str]]:
    return sorted((r["id"], r["text"]) for r in iter_records(str(folder), columns=["id", "text"]))


def test_cli_on_standalone_cluster_uses_the_drivers_python(cluster, web_input, tmp_path):
    """No spark-submit: the executor passes the driver's interpreter to the workers; without it they
    would run ``python3`` (PySpark ignores ``spark.pyspark.python`` when it starts the JVM itself)."""
    inp, expected = web_input
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "import sys; from mmedc.cli import main; sys.exit(main())",
           "run", "filter_web", "--input", str(inp), "--output", str(out), "--executor", "spark",
           "--tasks", "2", "--spark-master", cluster, "--spark-conf", "spark.ui.enabled=false",
           # this checkout stands for "mmedc installed on every node"
           "--spark-conf", f"spark.executorEnv.PYTHONPATH={REPO}"]
    env = spark_env(PYTHONPATH=str(REPO))
    env.pop("SPARK_LOCAL_IP")  # the executor keeps a loopback master on loopback by itself
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert rows(out) == expected


def build_wheel(dest: Path) -> Path:
    """``pip wheel`` of this checkout, built from a copy (no build/ or egg-info left in the checkout)."""
    src = dest / "src"
    shutil.copytree(REPO / "mmedc", src / "mmedc", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(dest / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = (dest / "dist").glob("mmedc-*-py3-none-any.whl")
    return wheel


JOB = '''
import sys

from mmedc.executors.spark import SparkPipelineExecutor
from mmedc.recipes.filter_web import filter_web_pipeline


def recorder(folder):
    def where_mmedc_is(data, rank, world_size):
        """Record where this worker imported mmedc from."""
        import mmedc
        with open(f"{folder}/worker_{rank}.txt", "w") as f:
            f.write(mmedc.__file__)
        yield from data
    return where_mmedc_is


if __name__ == "__main__":
    import mmedc
    print("driver mmedc:", mmedc.__file__)
    pipeline = filter_web_pipeline(sys.argv[1], sys.argv[2]) + [recorder(sys.argv[3])]
    SparkPipelineExecutor(pipeline, tasks=2, logging_dir=sys.argv[2] + "/_logs").run()
'''


def test_spark_submit_with_the_wheel_as_zip_on_py_files(cluster, web_input, tmp_path):
    """The package data (keyword lists) is read through importlib.resources, so it works from a zip."""
    wheel = build_wheel(tmp_path)
    inp, expected = web_input
    # PySpark's workers put only .zip, .egg and .jar files of --py-files on their path: the wheel
    # (a zip) goes as a .zip
    shipped = shutil.copy(wheel, tmp_path / "mmedc.zip")
    job = tmp_path / "job.py"
    job.write_text(JOB)
    out, where = tmp_path / "out", tmp_path / "where"
    where.mkdir()
    cmd = [str(SPARK_HOME / "bin" / "spark-submit"), "--master", cluster, "--py-files", str(shipped),
           "--conf", f"spark.pyspark.python={sys.executable}", "--conf", "spark.ui.enabled=false",
           str(job), str(inp), str(out), str(where)]
    env = spark_env()
    env.pop("PYTHONPATH", None)  # the driver imports mmedc from the wheel too
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "driver mmedc: " in done.stdout and "mmedc.zip/mmedc/__init__.py" in done.stdout
    places = {p.read_text() for p in where.glob("worker_*.txt")}
    assert len(list(where.glob("worker_*.txt"))) == 2
    assert all(p.endswith("mmedc.zip/mmedc/__init__.py") for p in places), places
    assert rows(out) == expected
