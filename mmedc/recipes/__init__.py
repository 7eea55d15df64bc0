"""Prebuilt pipelines ("recipes"): one module each, one recipe, three doors.

Each recipe module defines
- a library function that builds the pipeline (a list of blocks, or staged executors),
- ``build_parser()``: its command-line options, and ``main(argv)``: parse and run,
- ``demo(workdir, **executor_kwargs)``: run on the bundled sample data and return a summary dict.

``pipelines/<name>.py`` are thin wrappers over ``main``; ``mmedc run <name>`` calls the same ``main``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

RECIPES: dict[str, str] = {
    "filter_web": "mmedc.recipes.filter_web",
    "textbooks": "mmedc.recipes.textbooks",
    "websites": "mmedc.recipes.websites",
    "dedupe": "mmedc.recipes.dedupe",
    "pretrain": "mmedc.recipes.pretrain",
    "build": "mmedc.recipes.build",
}


def get_recipe(name: str) -> ModuleType:
    """Import the recipe module called ``name`` (``filter_web``, ``textbooks``, ...)."""
    key = name.replace("-", "_")
    if key not in RECIPES:
        raise KeyError(f"unknown pipeline {name!r}; known: {', '.join(sorted(RECIPES))}")
    return importlib.import_module(RECIPES[key])
