"""Options generated from dataclasses: names, types, defaults in --help, flags, round trip."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Literal

import pytest

from mmedc.executors import ExecutorOptions
from mmedc.options import add_options, docstring_help, options_from_args


@dataclass
class Example:
    """An example.

    Args:
        ratio: documented only in the docstring,
            over two lines.
    """

    max_rows: int = field(default=100, metadata={"help": "rows per shard"})
    ratio: float = 0.5
    name: str | None = None
    mode: Literal["fast", "exact"] = "fast"
    verify: bool = True
    tag_only: bool = False
    languages: tuple[str, ...] = ("en", "fr")
    conf: dict[str, str] = field(default_factory=dict)
    resume: bool = field(default=True, metadata={"flag": "--no-resume", "help": "start over"})


def _parser(**kw):
    p = argparse.ArgumentParser(prog="x")
    add_options(p, Example, **kw)
    return p


def test_defaults_round_trip_and_help_shows_them():
    p = _parser()
    assert options_from_args(Example, p.parse_args([])) == Example()
    text = " ".join(p.format_help().split())
    assert "rows per shard (default: 100)" in text
    assert "documented only in the docstring, over two lines (default: 0.5)" in text
    assert "--no-verify" in text and "--tag-only" in text and "--no-resume" in text
    assert "(default: en,fr)" in text and "{fast,exact}" in text


def test_values_are_parsed_by_type():
    args = _parser().parse_args(["--max-rows", "7", "--ratio", "0.25", "--name", "n", "--mode", "exact",
                                 "--no-verify", "--tag-only", "--languages", "zh, ja", "--conf", "a=1",
                                 "--conf", "b=x=y", "--no-resume"])
    got = options_from_args(Example, args)
    assert got == Example(max_rows=7, ratio=0.25, name="n", mode="exact", verify=False, tag_only=True,
                          languages=("zh", "ja"), conf={"a": "1", "b": "x=y"}, resume=False)
    with pytest.raises(SystemExit):
        _parser().parse_args(["--mode", "slow"])
    with pytest.raises(SystemExit):
        _parser().parse_args(["--max-rows", "many"])


def test_prefix_defaults_and_suppressed_defaults():
    p = _parser(prefix="ex_", defaults={"max_rows": 5}, exclude=["conf"])
    args = p.parse_args(["--ex-ratio", "0.1"])
    assert args.ex_max_rows == 5 and not hasattr(args, "ex_conf")
    assert options_from_args(Example, args, prefix="ex_") == Example(max_rows=5, ratio=0.1)
    q = _parser(suppress_defaults=True)
    assert vars(q.parse_args(["--ratio", "2"])) == {"ratio": 2.0}


def test_executor_options_keep_the_recipe_option_names():
    p = argparse.ArgumentParser()
    add_options(p, ExecutorOptions)
    o = options_from_args(ExecutorOptions, p.parse_args(["--tasks", "4", "--no-resume", "--executor", "spark",
                                                          "--spark-conf", "spark.x=1"]))
    assert o == ExecutorOptions(executor="spark", tasks=4, skip_completed=False, spark_conf={"spark.x": "1"})
    assert o.kwargs()["skip_completed"] is False
    with pytest.raises(ValueError, match="unknown executor"):
        ExecutorOptions(executor="ray")


def test_dedupe_defaults_come_from_dedup_config():
    from mmedc.dedup.minhash import DedupConfig
    from mmedc.recipes.dedupe import build_parser

    p = build_parser()
    args = p.parse_args(["--input", "a", "--output", "b"])
    assert options_from_args(DedupConfig, args) == DedupConfig()
    text = " ".join(p.format_help().split())
    for default in ("(default: 0.72)", "(default: 128)", "(default: 5)", "(default: 20)"):
        assert default in text
    assert docstring_help(DedupConfig)["num_perm"].startswith("MinHash permutations")


def test_value_booleans_nargs_and_custom_dict_parsers():
    import json

    @dataclass
    class Train:
        shards: list[str] = field(default_factory=list, metadata={"nargs": "+", "help": "shard folders"})
        mixture: dict[str, float] = field(default_factory=dict, metadata={"type": json.loads, "metavar": "JSON"})
        compile: bool = False

    p = argparse.ArgumentParser()
    add_options(p, Train, bool_style="value", suppress_defaults=True)
    args = p.parse_args(["--shards", "a", "b", "--mixture", '{"en": 0.5}', "--compile", "Yes"])
    assert options_from_args(Train, args) == Train(shards=["a", "b"], mixture={"en": 0.5}, compile=True)
    assert options_from_args(Train, p.parse_args([])) == Train()
    with pytest.raises(SystemExit):
        p.parse_args(["--compile", "maybe"])
