"""Command-line options generated from dataclasses, so each default and help text is written once.

A field becomes an option: ``max_rows`` -> ``--max-rows``; its help is ``field(metadata={"help": ...})``
and ``--help`` shows its default. Types come from the annotations:

- ``int``, ``float``, ``str`` (and ``X | None``): one value;
- ``bool``: a flag; ``--name`` when the default is False, ``--no-name`` when it is True;
- ``Literal[...]`` (or ``metadata={"choices": ...}``): one of the choices;
- ``tuple[str, ...]`` / ``list[str]``: comma-separated (``--languages en,fr``);
- ``dict[str, str]``: repeatable ``KEY=VALUE``.

Help may also come from the ``Args:`` section of the dataclass docstring (so a config class documented
there needs no metadata). Metadata keys: ``help``, ``flag`` (the option string, e.g. ``"--no-resume"``), ``choices``, ``type``
(a parser for one value), ``metavar``, ``cli`` (False: not an option). :func:`options_from_args`
builds the dataclass back from the parsed namespace.

Why not a library (simple-parsing, tyro): both are new dependencies for ~150 lines, and neither
keeps the existing option names (``--no-resume``) without the same amount of per-field metadata.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal


def _split_commas(value: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in value.split(",") if x.strip())


def _key_value(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    k, v = value.split("=", 1)
    return k.strip(), v


def parse_bool(value: str) -> bool:
    """``true/false``, ``yes/no``, ``1/0``, ``on/off`` (any case) -> bool."""
    v = value.strip().lower()
    if v in ("true", "yes", "1", "on"):
        return True
    if v in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def _unwrap_optional(t: Any) -> Any:
    args = typing.get_args(t)
    if args and type(None) in args and typing.get_origin(t) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return t


def _default_of(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    if f.default is not dataclasses.MISSING:
        return f.default
    return None


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value)


def docstring_help(cls: type) -> dict[str, str]:
    """Help per field from the ``Args:`` section of ``cls``'s docstring (Google style: ``name: text``,
    ``a, b: text``, continuation lines indented deeper): the fallback where a field has no ``help``."""
    doc = inspect.getdoc(cls) or ""
    out: dict[str, str] = {}
    names: list[str] = []
    indent = None
    in_args = False
    for line in doc.splitlines():
        if line.strip() in ("Args:", "Arguments:", "Attributes:", "Parameters:"):
            in_args, names, indent = True, [], None
            continue
        if not in_args:
            continue
        if not line.strip():
            continue
        level = len(line) - len(line.lstrip())
        if level == 0:
            in_args = False
            continue
        entry = re.match(r"\s*([A-Za-z_][\w, ]*):\s*(.*)", line)
        if entry and (indent is None or level <= indent):
            indent = level
            names = [n.strip() for n in entry.group(1).split(",") if n.strip()]
            for n in names:
                out[n] = entry.group(2).strip()
        elif names:
            for n in names:
                out[n] = (out[n] + " " + line.strip()).strip()
    return out


def option_name(f: dataclasses.Field, prefix: str = "") -> str:
    """The option string of field ``f`` (``--max-rows``; a bool that defaults to True: ``--no-...``)."""
    if "flag" in f.metadata:
        return f.metadata["flag"]
    return "--" + (prefix + f.name).replace("_", "-")


def add_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    exclude: Iterable[str] = (),
    defaults: dict[str, Any] | None = None,
    suppress_defaults: bool = False,
    prefix: str = "",
    bool_style: Literal["flag", "value"] = "flag",
) -> None:
    """Add one option per field of dataclass ``cls`` to ``parser`` (or an argument group).

    ``defaults`` overrides field defaults for this parser (a recipe with smaller shards);
    ``suppress_defaults``: options absent from the namespace unless given (for layering over a file);
    ``prefix``: prepended to option names and destinations (``boilerplate_`` -> ``--boilerplate-min-docs``);
    ``bool_style="value"``: booleans take a value (``--compile true``) instead of being flags.
    Field metadata ``nargs`` (``"+"``) makes a list option take several values; ``type`` replaces the
    value parser (for a dict field: one value, e.g. JSON, instead of repeated ``KEY=VALUE``).
    """
    hints = typing.get_type_hints(cls, include_extras=False)
    exclude = set(exclude)
    defaults = defaults or {}
    doc_help = docstring_help(cls)
    for f in _cli_fields(cls):
        if f.name in exclude:
            continue
        t = _unwrap_optional(hints[f.name])
        origin = typing.get_origin(t)
        default = defaults.get(f.name, _default_of(f))
        text = str(f.metadata.get("help", doc_help.get(f.name, ""))).replace("``", "").rstrip(".").replace("%", "%%")
        kw: dict[str, Any] = {"dest": prefix + f.name}
        if suppress_defaults:
            kw["default"] = argparse.SUPPRESS
        if t is bool and bool_style == "value":
            shown = f" (default: {str(default).lower()})" if default is not None else ""
            parser.add_argument(option_name(f, prefix), type=parse_bool, metavar="BOOL",
                                help=(text + shown).strip() or None,
                                **kw, **({} if suppress_defaults else {"default": default}))
            continue
        if t is bool:
            flag = option_name(f, prefix)
            if "flag" not in f.metadata and default:
                flag = "--no-" + (prefix + f.name).replace("_", "-")
            on = not flag.startswith("--no-")
            kw["action"] = "store_true" if on else "store_false"
            if not on and text and "flag" not in f.metadata:
                text = "turn off: " + text
            if not suppress_defaults:
                kw["default"] = bool(default)
            parser.add_argument(flag, help=text or None, **kw)
            continue
        flag = option_name(f, prefix)
        shown = f" (default: {_show(default)})".replace("%", "%%") if default not in (None, "") else ""
        kw["help"] = (text + shown).strip() or None
        if not suppress_defaults:
            kw["default"] = default
        if "metavar" in f.metadata:
            kw["metavar"] = f.metadata["metavar"]
        choices = f.metadata.get("choices")
        if origin is Literal:
            choices = typing.get_args(t)
        if "nargs" in f.metadata:
            kw.update(nargs=f.metadata["nargs"], type=f.metadata.get("type", str))
        elif origin is dict and "type" in f.metadata:
            kw["type"] = f.metadata["type"]
        elif origin is dict:
            kw.update(action="append", type=_key_value, metavar=kw.get("metavar", "KEY=VALUE"))
            if not suppress_defaults:
                kw["default"] = None
            kw["help"] = (text + " (repeatable)").strip()
        elif origin in (tuple, list):
            kw["type"] = f.metadata.get("type", _split_commas)
        else:
            kw["type"] = f.metadata.get("type", t if t in (int, float, str) else str)
            if choices is not None:
                kw["choices"] = list(choices)
                kw["type"] = type(next(iter(choices))) if choices else str
        parser.add_argument(flag, **kw)


def _cli_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init and f.metadata.get("cli", True) and not f.name.startswith("_")]


def options_from_args(cls: type, args: argparse.Namespace, exclude: Iterable[str] = (), prefix: str = "",
                      **overrides: Any) -> Any:
    """Build ``cls`` from a namespace parsed with :func:`add_options` (fields absent there keep their
    defaults); ``overrides`` win."""
    hints = typing.get_type_hints(cls, include_extras=False)
    exclude = set(exclude)
    values: dict[str, Any] = {}
    for f in _cli_fields(cls):
        if f.name in exclude or not hasattr(args, prefix + f.name):
            continue
        value = getattr(args, prefix + f.name)
        origin = typing.get_origin(_unwrap_optional(hints[f.name]))
        if origin is dict:
            value = dict(value) if value and not isinstance(value, dict) else (value if value is not None else _default_of(f))
        elif origin is list and isinstance(value, tuple):
            value = list(value)
        values[f.name] = value
    values.update(overrides)
    return cls(**values)


def options_dict(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-ready dict (tuples become lists)."""
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return options_dict(v)
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
