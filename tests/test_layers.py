"""The package's import graph: no cycle, and no import from a lower layer upward.

Layers, bottom to top (a module may import its own layer or below):
0. ``mmedc.lang``, ``mmedc.schema``, ``mmedc._lazy``, ``mmedc.io``, ``mmedc.samples`` (generators of sample
   data that import nothing of mmedc), ``mmedc.options``
1. blocks: ``langid``, ``keywords``, ``textbooks``, ``web``, ``dedup``, ``quality``, ``decontam``, ``corpora``
2. ``executors`` (knows no recipe)
3. ``recipes``, ``train``, ``eval``, ``stats``
4. ``cli``, ``demo`` and the package root ``mmedc`` (lazy exports only)

Every import counts, also those inside functions (a cycle through a function-level import is still
a cycle in the design); only ``if TYPE_CHECKING:`` blocks are skipped.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "mmedc"

LAYERS: dict[str, int] = {
    "mmedc.lang": 0, "mmedc.schema": 0, "mmedc.samples": 0, "mmedc._lazy": 0, "mmedc.io": 0, "mmedc.options": 0,
    "mmedc.langid": 1, "mmedc.keywords": 1, "mmedc.textbooks": 1, "mmedc.web": 1, "mmedc.dedup": 1,
    "mmedc.quality": 1, "mmedc.decontam": 1, "mmedc.corpora": 1,
    "mmedc.executors": 2,
    "mmedc.recipes": 3, "mmedc.train": 3, "mmedc.eval": 3, "mmedc.stats": 3,
    "mmedc.card": 3,
    "mmedc.cli": 4, "mmedc.demo": 4, "mmedc": 4,
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int:
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in LAYERS:
            return LAYERS[key]
    raise KeyError(module)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.split(".")[0] == "mmedc")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".") if is_pkg else module.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] != "mmedc":
                    continue
                if target == "mmedc" and all(a.name == "__version__" for a in child.names):
                    continue  # the version string, not the lazy exports
                found.add(target)
                for a in child.names:  # ``from mmedc.io import writer`` imports a submodule
                    candidate = f"{target}.{a.name}"
                    if (PKG.parent / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                        PKG.parent / Path(*candidate.split(".")) / "__init__.py"
                    ).exists():
                        found.add(candidate)
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p, module_name(p)) for p in sorted(PKG.rglob("*.py"))}


def test_every_module_has_a_layer():
    missing = [m for m in graph() if not any(m == k or m.startswith(k + ".") for k in LAYERS)]
    assert not missing, f"modules with no layer in tests/test_layers.py: {missing}"


def test_no_upward_import():
    bad = []
    for mod, deps in graph().items():
        for dep in deps:
            if layer_of(dep) > layer_of(mod):
                bad.append(f"{mod} (layer {layer_of(mod)}) imports {dep} (layer {layer_of(dep)})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycle():
    g = graph()
    edges = {m: {d for d in deps if d in g} for m, deps in g.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            dfs(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_long_files_say_why(path: Path):
    lines = path.read_text(encoding="utf-8").count("\n")
    if lines <= 550:
        return
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert "long" in doc.lower(), f"{path.name} has {lines} lines and its docstring does not say why it is long"
