"""Dependencies and extras: what pyproject.toml declares matches what the package imports, and a
test whose extra is missing is skipped with the install command (tests/conftest.py), not failed."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party module -> the mmedc files that import it (at any depth)."""
    found: dict[str, set[str]] = {}
    for path in (REPO / "mmedc").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "mmedc" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def declared() -> set[str]:
    """Distributions declared in the core dependencies or any extra, plus what they require."""
    names = {_name(r) for r in PROJECT["dependencies"]}
    for reqs in PROJECT["optional-dependencies"].values():
        names |= {_name(r) for r in reqs if not r.startswith("mmedc")}
    for name in list(names):
        try:
            names |= {_name(r) for r in (md.requires(name) or []) if "extra ==" not in r}
        except md.PackageNotFoundError:
            pass
    return names


def test_every_imported_package_is_declared():
    dists = md.packages_distributions()
    known = declared()
    undeclared = {}
    for module, files in third_party_imports().items():
        owners = {_name(d) for d in dists.get(module, [])}
        if not owners:  # not installed here: cannot map it, the conftest mapping must know it
            from conftest import MODULE_EXTRA

            assert module in MODULE_EXTRA, f"{module} (imported by {sorted(files)}) is neither installed nor mapped"
            continue
        if not owners & known:
            undeclared[module] = sorted(files)
    assert not undeclared, f"imported but in no dependency list of pyproject.toml: {undeclared}"


def test_core_dependencies_are_imported_by_the_package():
    dists = md.packages_distributions()
    imported_dists = {_name(d) for m in third_party_imports() for d in dists.get(m, [])}
    unused = [r for r in PROJECT["dependencies"] if _name(r) not in imported_dists]
    assert not unused, f"core dependencies the package never imports: {unused}"


def test_every_extra_module_is_mapped_for_the_skips():
    from conftest import MODULE_EXTRA

    dists = md.packages_distributions()
    for extra, reqs in PROJECT["optional-dependencies"].items():
        if extra in ("all", "dev"):
            continue
        for req in reqs:
            modules = [m for m, ds in dists.items() if _name(req) in {_name(d) for d in ds}]
            if modules:  # installed here: at least one of its modules maps to this extra
                assert any(MODULE_EXTRA.get(m) == extra for m in modules), (extra, req, modules)


def test_py_typed_is_shipped():
    assert (REPO / "mmedc" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["mmedc"]


def test_all_includes_every_extra_but_flash():
    (all_extra,) = PROJECT["optional-dependencies"]["all"]
    included = set(re.search(r"\[(.*)\]", all_extra).group(1).split(","))
    assert included == set(PROJECT["optional-dependencies"]) - {"all", "flash", "pyahocorasick"}


def test_a_missing_extra_skips_and_a_missing_module_fails(tmp_path):
    """Run pytest on three small test files with this conftest; ``flash_attn`` (the flash extra) is
    not installed in CI (it needs a CUDA build), so it stands for any missing extra."""
    pytest.importorskip("pytest")
    try:
        import flash_attn  # noqa: F401

        pytest.skip("flash_attn is installed here: it cannot stand for a missing extra")
    except ModuleNotFoundError:
        pass
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tmp_path / "test_module_level.py").write_text("import flash_attn\n\ndef test_a():\n    pass\n")
    (tmp_path / "test_inside.py").write_text(
        "import pytest\n\n"
        "def test_lazy():\n    import flash_attn.ops  # noqa\n\n"
        "@pytest.mark.extra('flash')\ndef test_marked():\n    raise AssertionError('must not run')\n\n"
        "def test_typo():\n    import no_such_module_anywhere  # noqa\n\n"
        "def test_plain():\n    assert 1 + 1 == 2\n"
    )
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    out = done.stdout
    assert "1 failed, 1 passed, 3 skipped" in out, out
    assert "test_typo" in out and "no_such_module_anywhere" in out  # a real import error still fails
    assert out.count("pip install 'mmedc[flash]'") == 3, out
