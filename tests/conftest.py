"""Skip, never fail, a test whose optional extra is not installed, and say which extra to install.

A core install (``pip install mmedc``) must be able to run the test suite: tests of the OCR, web,
dedupe, Spark, S3, plot and training blocks are then reported as skipped with the
``pip install 'mmedc[...]'`` that enables them. Three ways a test meets a missing extra:
- its module imports it (directly, or through an mmedc module that imports it at module level): the
  whole file is skipped at collection;
- a test imports it while running (mmedc imports extras lazily): that test is skipped;
- ``@pytest.mark.extra("spark")``: skipped up front when a module of that extra is missing.
Only a module that is really absent (``importlib.util.find_spec`` finds nothing) and belongs to an
extra turns into a skip; every other import error still fails.
"""

from __future__ import annotations

import importlib.util

import pytest

# import name -> the extra that installs it (pyproject.toml [project.optional-dependencies])
MODULE_EXTRA: dict[str, str] = {
    "pdfplumber": "ocr", "pypdfium2": "ocr", "pytesseract": "ocr", "PIL": "ocr", "reportlab": "ocr",
    "trafilatura": "web", "warcio": "web", "httpx": "web", "protego": "web", "courlan": "web",
    "charset_normalizer": "web", "sniffio": "web",
    "datasketch": "dedup", "xxhash": "dedup",
    "pyspark": "spark",
    "s3fs": "s3",
    "matplotlib": "plot",
    "ahocorasick": "pyahocorasick",
    "torch": "train", "transformers": "train", "tokenizers": "train", "datasets": "train",
    "safetensors": "train", "accelerate": "train", "yaml": "train",
    "flash_attn": "flash", "tensorboard": "report",
    "duckdb": "dev", "moto": "dev", "rapidfuzz": "dev",
}
EXTRA_MODULES: dict[str, list[str]] = {}
for _module, _extra in MODULE_EXTRA.items():
    EXTRA_MODULES.setdefault(_extra, []).append(_module)


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def missing_extra(error: BaseException | None) -> str | None:
    """The skip reason when ``error`` (or its cause) is a missing module of an extra, else None."""
    while error is not None:
        if isinstance(error, ModuleNotFoundError) and error.name:
            top = error.name.split(".")[0]
            extra = MODULE_EXTRA.get(top)
            if extra and _absent(top):
                return f"needs {top}, of the {extra} extra: pip install 'mmedc[{extra}]'"
        error = error.__cause__ or error.__context__
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "extra(name): the test needs the optional extra `name` (skipped without it)")


class _ExtraAwareModule(pytest.Module):
    def _getobj(self):
        try:
            return super()._getobj()
        except self.CollectError as e:
            reason = missing_extra(e)
            if reason:
                pytest.skip(reason, allow_module_level=True)
            raise


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    if module_path.name == "conftest.py" or module_path.name.startswith("__init__"):
        return None
    return _ExtraAwareModule.from_parent(parent, path=module_path)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("extra"):
        for extra in marker.args:
            absent = [m for m in EXTRA_MODULES.get(extra, []) if _absent(m)]
            if absent:
                pytest.skip(f"needs the {extra} extra ({', '.join(absent)} missing): pip install 'mmedc[{extra}]'")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    except ModuleNotFoundError as e:
        reason = missing_extra(e)
        if reason:
            pytest.skip(reason)
        raise


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one intra-op thread for a module: tiny models gain nothing from more, and the threads
    thrash on a busy machine. The trainer tests use it for every module, the evaluation tests too."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
