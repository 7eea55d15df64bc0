"""Every ```python and ```bash block of README.md and docs/*.md runs as written.

The blocks of a page run in order in one copy of a small work folder, as a reader follows the page
(a later block may use what an earlier one wrote). The folder is prepared once: the bundled web sample at
the paths the docs use (``culturax/<lang>/``, ``data/``, ``data/culturax/``), recipe outputs at
``out/web``, ``out/textbooks``, ``out/websites``, the repository's ``pipelines/``, ``configs/`` and
``benchmarks/``, and ``.venv/bin/{python,mmedc}`` standing for the virtual environment of
``make install``. A python block runs as a script (``python block.py``), a bash block with
``bash -euo pipefail``; either must exit 0.

A block that cannot run here (it needs a cluster, a GPU, the network, a bucket, or installs
packages) has ``<!-- no-test: reason -->`` on the line before its fence; those blocks are listed
in the test output (``test_untested_blocks_say_why``) so the list stays visible.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^([ \t]*)```(python|bash)\s*$")
CLOSE = re.compile(r"^[ \t]*```\s*$")
NO_TEST = re.compile(r"<!--\s*no-test:\s*(.+?)\s*-->")
BLOCK_TIMEOUT_S = 240
OUTPUT_FLAG = re.compile(r"--output[= ]+['\"]?([\w./-]+)")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    code: str
    no_test: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def collect_blocks() -> list[Block]:
    blocks = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            indent, start = m.group(1), i
            i += 1
            while i < len(lines) and not CLOSE.match(lines[i]):
                i += 1
            body = [line[len(indent):] if line.startswith(indent) else line for line in lines[start + 1:i]]
            previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            marker = NO_TEST.search(previous)
            blocks.append(Block(page, start + 1, m.group(2), "\n".join(body) + "\n",
                                marker.group(1) if marker else None))
            i += 1
    return blocks


BLOCKS = collect_blocks()
RUNNABLE = [b for b in BLOCKS if b.no_test is None]


def _write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture(scope="session")
def docs_workdir(tmp_path_factory) -> Path:
    """The small work folder every block starts from (copied per block)."""
    from mmedc.io.parquet import ShardedParquetWriter
    from mmedc.recipes.filter_web import run_filter_web
    from mmedc.samples.dedup import sample_documents
    from mmedc.samples.web import LANGUAGES, make_web_sample

    base = tmp_path_factory.mktemp("docs_base")
    for lang in LANGUAGES:
        make_web_sample(base / "culturax" / lang, docs_per_lang=8, files=1, languages=[lang], seed=1)
    make_web_sample(base / "data", docs_per_lang=8, files=2)
    make_web_sample(base / "data" / "culturax", docs_per_lang=8, files=2, seed=2)
    # out/web from the full bundled sample: enough documents per language for the trainer's held-out split
    make_web_sample(base / "sample", files=2, seed=3)
    run_filter_web(str(base / "sample"), str(base / "out" / "web"), tasks=1, workers=1)
    shutil.rmtree(base / "sample")
    # books/: two small text-layer books (no OCR: the textbooks page's own demo runs that)
    from mmedc.samples.textbooks import generate_sample_books

    generate_sample_books(base / "books", text_languages=("en", "zh"), scanned_languages=())
    docs = sample_documents()
    for name, source in (("textbooks", "textbook"), ("websites", "website")):
        part = [d for i, d in enumerate(docs) if i % 2 == (name == "websites")]
        for d in part:
            d.metadata["source"] = source
        list(ShardedParquetWriter(str(base / "out" / name)).run(iter(part), 0, 1))
    for name in ("pipelines", "configs", "benchmarks", "keyword_lists"):
        if (REPO / name).exists():
            (base / name).symlink_to(REPO / name)
    bin_dir = base / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "python3"):  # a wrapper: a symlink would lose the virtual environment
        _write_executable(bin_dir / name, f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    _write_executable(bin_dir / "mmedc", f'#!/bin/sh\nexec "{sys.executable}" -c '
                      '"import sys; from mmedc.cli import main; sys.exit(main())" "$@"\n')
    return base


# page -> (its work folder, ids of the blocks already run there)
_PAGE_STATE: dict[Path, tuple[Path, set[str]]] = {}


def _run(block: Block, work: Path, base: Path) -> subprocess.CompletedProcess:
    # a block starts without the prepared outputs it writes itself (``--output out/x``): a recipe refuses
    # to write into a folder that holds another run's output. Outputs of earlier blocks of the page stay.
    for out in OUTPUT_FLAG.findall(block.code):
        target = (work / out).resolve()
        if target.is_relative_to(work.resolve()) and target.is_dir() and (base / out).is_dir():
            shutil.rmtree(target)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env["PATH"] = f"{work / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("OMP_NUM_THREADS", "1")
    env["MPLBACKEND"] = "Agg"
    if block.lang == "python":
        script = work / "doc_block.py"
        script.write_text(block.code, encoding="utf-8")
        cmd = [sys.executable, str(script)]
    else:
        cmd = ["bash", "-euo", "pipefail", "-c", block.code]
    try:
        return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{block.id}: still running after {BLOCK_TIMEOUT_S} s (a block that respawns, or too big "
                    f"an input?)\n{(e.stderr or b'')[-2000:]!r}")


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_doc_block_runs(block: Block, docs_workdir: Path, tmp_path_factory):
    """The blocks of one page run in order in one copy of the work folder, as a reader follows the page
    (a later block may use what an earlier one wrote); a block selected alone runs its page's earlier
    blocks first."""
    if block.page not in _PAGE_STATE:
        work = tmp_path_factory.mktemp("doc") / "work"
        shutil.copytree(docs_workdir, work, symlinks=True)
        _PAGE_STATE[block.page] = (work, set())
    work, done_ids = _PAGE_STATE[block.page]
    for earlier in RUNNABLE:
        if earlier.page != block.page or earlier.line >= block.line or earlier.id in done_ids:
            continue
        done_ids.add(earlier.id)
        _run(earlier, work, docs_workdir)  # its own test reports its result
    done_ids.add(block.id)
    done = _run(block, work, docs_workdir)
    assert done.returncode == 0, (
        f"{block.id} ({block.lang}) exited {done.returncode}\n--- block\n{block.code}\n--- stdout\n"
        f"{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-5000:]}"
    )


def test_untested_blocks_say_why():
    """Blocks marked no-test give a reason; the list is printed so it stays visible (pytest -s)."""
    untested = [b for b in BLOCKS if b.no_test is not None]
    for b in untested:
        assert len(b.no_test) >= 10, f"{b.id}: say why the block cannot run here"
        print(f"not run: {b.id}: {b.no_test}")
    assert len(RUNNABLE) >= len(untested), "most doc blocks must run"


def test_collector_finds_blocks_and_markers(tmp_path):
    """The collector itself: fences (also indented in a list), and the marker on the line before."""
    page = tmp_path / "page.md"
    page.write_text("# t\n\n```python\nprint(1)\n```\n\n- item:\n  <!-- no-test: needs a GPU here -->\n"
                    "  ```bash\n  echo hi\n  ```\n\n```text\nnot code\n```\n")
    global PAGES
    saved, PAGES = PAGES, [page]
    try:
        found = collect_blocks()
    finally:
        PAGES = saved
    assert [(b.line, b.lang, b.code, b.no_test) for b in found] == [
        (3, "python", "print(1)\n", None), (9, "bash", "echo hi\n", "needs a GPU here")]
