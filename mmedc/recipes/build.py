"""Recipe ``build``: the whole corpus from one ``corpus.yaml``, in one resumable run.

    sources (web | textbooks | websites | corpora, any number of each)     work/sources/<kind>_<i>/
      -> one global dedupe over all of them (MinHash + exact + URL + boilerplate)   work/deduped/
      -> decontamination against the benchmark files (optional)              output/data/
      -> dataset card (README.md with the header ``load_dataset`` reads) and PNG charts

Each stage is a datatrove executor (local or Spark, from ``executor:``) with its completion markers
under ``work/logs/``: a re-run of the same file skips what finished and redoes the rest; a run with a
different request into the same output is refused, naming the first key that differs. The yaml is
checked completely before any work (unknown key, wrong type, missing input path, unreachable hub
name, benchmark file without its fields): see :func:`load_config`.

Three doors: :func:`run_build` (Python), ``mmedc build corpus.yaml`` and ``pipelines/build_corpus.py``.
The output folder is a Hugging Face dataset: ``load_dataset("<output>")`` reads ``data/*.parquet``;
``.mmedc/`` (the request, the report, the work folders) is skipped by pyarrow, Spark and ``datasets``.

The file is long (about 500 lines) because it holds the yaml schema with its checks and the five
stages that the schema drives; the blocks themselves live in their own modules.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import fields as dc_fields
from pathlib import Path
from typing import Any

from mmedc.executors import make_executor
from mmedc.io.atomic import atomic_write_text
from mmedc.io.layout import meta_dir, report_path
from mmedc.io.parquet import ShardedParquetWriter, ShardReader, merge_manifests
from mmedc.lang import MMEDC_LANGUAGES, resolve_language

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
SOURCE_KINDS = ("web", "textbooks", "websites", "corpora")
SOURCE_NAME = {"web": "web", "textbooks": "textbook", "websites": "website", "corpora": "corpus"}


# --- the schema -----------------------------------------------------------------------------------
class Path_:  # noqa: N801 - a marker type in the schema: a string that names an existing input path
    pass


STR, INT, FLOAT, BOOL, PATH = str, int, float, bool, Path_
_QUALITY = {"gopher_quality": BOOL, "gopher_repetition": BOOL, "c4": BOOL, "fineweb": BOOL}
SCHEMA: dict[str, Any] = {
    "name": STR,
    "output": STR,
    "work_dir": STR,
    "languages": [STR],
    "description": STR,
    "executor": {"executor": STR, "tasks": INT, "workers": INT, "spark_master": STR, "spark_conf": {"*": STR}},
    "sources": {
        "web": [{"input": PATH, "name": STR, "text_key": STR, "id_key": STR, "language": STR, "lang_threshold": FLOAT,
                 "quality": (BOOL, _QUALITY), "licence": STR, "limit": INT}],
        "textbooks": [{"input": PATH, "name": STR, "ocr": STR, "language": STR, "split": STR, "engine": STR,
                       "dpi": INT, "cleanup": BOOL, "licence": STR}],
        "websites": [{"seeds": [STR], "seed_file": PATH, "warcs": PATH, "html": PATH, "base_url": STR, "name": STR,
                      "keyword_filter": BOOL, "min_chars": INT, "lang_threshold": FLOAT, "max_pages": INT,
                      "licence": STR}],
        "corpora": [{"name": STR, "path": PATH, "hub": STR, "split": STR, "subset": STR, "fields": {"*": STR},
                     "language": STR, "medical_check": BOOL, "langid_threshold": FLOAT, "licence": STR,
                     "limit": INT}],
    },
    "dedupe": (BOOL, {"threshold": FLOAT, "num_perm": INT, "word_ngram": INT, "char_ngram": INT, "verify": BOOL,
                      "exact": BOOL, "url": BOOL, "source_priority": [STR], "tag_only": BOOL,
                      "boilerplate": (BOOL, {"unit": STR, "min_chars": INT, "min_docs": INT, "min_fraction": FLOAT,
                                             "max_doc_fraction": FLOAT})}),
    "decontamination": {"mode": STR, "word_ngram": INT, "char_ngram": INT, "min_matches": INT,
                        "max_item_frequency": INT,
                        "benchmarks": [{"name": STR, "path": PATH, "fields": [STR], "language": STR,
                                        "language_field": STR, "format": STR}]},
    "card": {"tokenizer": STR, "licence": STR, "pretty_name": STR, "charts": BOOL},
    "shards": {"max_rows": INT, "max_mb": FLOAT},
}
REQUIRED = {"": ("name", "output", "sources"), "sources.corpora": ("name",), "decontamination.benchmarks": ("name", "path"),
            "sources.web": ("input",), "sources.textbooks": ("input",)}
_TYPE_NAME = {str: "a string", int: "an integer", float: "a number", bool: "true or false", Path_: "a path"}


class ConfigError(ValueError):
    """A corpus.yaml that cannot be built: the message names the file and the key or path."""


def _type_ok(value: Any, t: type) -> bool:
    if t is bool:
        return isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if t is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def _check(value: Any, schema: Any, where: str, file: str) -> None:
    """Raise :class:`ConfigError` on an unknown key or a wrong type anywhere under ``where``."""
    def fail(msg: str) -> None:
        raise ConfigError(f"{file}: {where or 'top level'}: {msg}")

    if isinstance(schema, tuple):  # bool or a section
        if isinstance(value, bool):
            return
        _check(value, schema[1], where, file)
        return
    if isinstance(schema, list):
        if not isinstance(value, list):
            fail(f"expected a list, got {type(value).__name__}")
        for i, v in enumerate(value):
            _check(v, schema[0], f"{where}[{i}]", file)
        return
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            fail(f"expected a mapping, got {type(value).__name__}")
        for k, v in value.items():
            sub = schema.get(k, schema.get("*"))
            if sub is None:
                fail(f"unknown key {k!r} (known: {', '.join(sorted(schema))})")
            _check(v, sub, f"{where}.{k}" if where else str(k), file)
        section = re.sub(r"\[\d+\]", "", where)
        missing = [k for k in REQUIRED.get(section, ()) if k not in value]
        if missing:
            fail(f"missing key {missing[0]!r}")
        return
    if not _type_ok(value, schema):
        fail(f"expected {_TYPE_NAME[schema]}, got {type(value).__name__} {value!r}")


def _resolve(path: str, base: Path) -> str:
    """``${samples}`` is the bundled sample folder; relative paths are relative to the yaml's folder."""
    path = os.path.expanduser(path.replace("${samples}", str(SAMPLES_DIR)))
    if "://" in path or os.path.isabs(path):
        return path
    return str((base / path).resolve())


def _resolve_paths(value: Any, schema: Any, base: Path) -> Any:
    if isinstance(schema, tuple):
        return value if isinstance(value, bool) else _resolve_paths(value, schema[1], base)
    if isinstance(schema, list):
        return [_resolve_paths(v, schema[0], base) for v in value]
    if isinstance(schema, dict):
        return {k: _resolve_paths(v, schema.get(k, schema.get("*")), base) for k, v in value.items()}
    return _resolve(value, base) if schema is Path_ else value


def _check_inputs(cfg: dict[str, Any], file: str) -> None:
    """Every input path exists, every hub name answers, every benchmark file has its fields."""
    import fsspec

    from mmedc.corpora import check_spec
    from mmedc.decontam import read_benchmark

    def exists(path: str, where: str) -> None:
        if any(c in path for c in "*?["):
            fs, root = fsspec.core.url_to_fs(path)
            if not fs.glob(root):
                raise ConfigError(f"{file}: {where}: {path} matches no file")
            return
        fs, root = fsspec.core.url_to_fs(path)
        if not fs.exists(root):
            raise ConfigError(f"{file}: {where}: input path {path} does not exist")

    sources = cfg["sources"]
    if not any(sources.get(k) for k in SOURCE_KINDS):
        raise ConfigError(f"{file}: sources: no source given (use {', '.join(SOURCE_KINDS)})")
    for kind in ("web", "textbooks"):
        for i, s in enumerate(sources.get(kind, [])):
            exists(s["input"], f"sources.{kind}[{i}].input")
    for i, s in enumerate(sources.get("websites", [])):
        given = [k for k in ("seeds", "seed_file", "warcs", "html") if s.get(k)]
        if len(given) != 1:
            raise ConfigError(f"{file}: sources.websites[{i}]: give exactly one of seeds, seed_file, warcs, html")
        if given[0] != "seeds":
            exists(s[given[0]], f"sources.websites[{i}].{given[0]}")
    for i, spec in enumerate(corpus_specs(cfg)):
        try:
            check_spec(spec)
        except (FileNotFoundError, ValueError, ImportError) as e:
            raise ConfigError(f"{file}: sources.corpora[{i}]: {e}") from e
    for i, spec in enumerate(benchmark_specs(cfg)):
        where = f"decontamination.benchmarks[{i}]"
        exists(spec.path, where + ".path")
        try:
            for _ in zip(range(1), read_benchmark(spec)):  # the first item: fields present, file readable
                pass
        except (ValueError, OSError) as e:
            raise ConfigError(f"{file}: {where}: {e}") from e


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a corpus.yaml completely; return it with paths resolved and defaults filled.

    Raises :class:`ConfigError` naming the file and the key or path that is wrong.
    """
    import yaml

    file = os.fspath(path)
    if not os.path.isfile(file):
        raise ConfigError(f"{file}: no such file")
    try:
        with open(file, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ConfigError(f"{file}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level")
    _check(raw, SCHEMA, "", file)
    cfg = _resolve_paths(raw, SCHEMA, Path(file).resolve().parent)
    cfg["output"] = _resolve(cfg["output"], Path(file).resolve().parent)
    if "work_dir" in cfg:
        cfg["work_dir"] = _resolve(cfg["work_dir"], Path(file).resolve().parent)
    try:
        cfg["languages"] = [resolve_language(x) for x in cfg.get("languages", list(MMEDC_LANGUAGES))]
        for s in cfg["sources"].get("textbooks", []):
            if s.get("language"):
                resolve_language(s["language"].split("+")[0])
    except ValueError as e:
        raise ConfigError(f"{file}: languages: {e}") from e
    ex = cfg.setdefault("executor", {})
    if ex.get("executor", "local") not in ("local", "spark"):
        raise ConfigError(f"{file}: executor.executor: expected 'local' or 'spark', got {ex['executor']!r}")
    mode = cfg.get("decontamination", {}).get("mode", "remove")
    if mode not in ("remove", "tag"):
        raise ConfigError(f"{file}: decontamination.mode: expected 'remove' or 'tag', got {mode!r}")
    try:  # the option values themselves (ranges, combinations), through the blocks' own configs
        dedup_configs(cfg)
        decontam_config(cfg)
        for kind in ("web",):
            for s in cfg["sources"].get(kind, []):
                if isinstance(s.get("quality"), dict) or s.get("quality"):
                    from mmedc.quality import quality_options

                    quality_options(s["quality"])
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{file}: {e}") from e
    _check_inputs(cfg, file)
    cfg["_file"] = file
    return cfg


# --- from the yaml to the blocks' configs ------------------------------------------------------------
def _kwargs(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dc_fields(cls) if f.init}
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names}


def dedup_configs(cfg: dict[str, Any]):
    """``(DedupConfig, BoilerplateConfig | None, tag_only)`` or ``None`` when ``dedupe: false``."""
    from mmedc.dedup.boilerplate import BoilerplateConfig
    from mmedc.dedup.minhash import DedupConfig

    d = cfg.get("dedupe", True)
    if d is False:
        return None
    d = {} if d is True else d
    bp = d.get("boilerplate", True)
    boiler = None if bp is False else BoilerplateConfig(**_kwargs(BoilerplateConfig, {} if bp is True else bp))
    return DedupConfig(**_kwargs(DedupConfig, d)), boiler, bool(d.get("tag_only", False))


def decontam_config(cfg: dict[str, Any]):
    from mmedc.decontam import DecontamConfig

    return DecontamConfig(**_kwargs(DecontamConfig, cfg.get("decontamination", {})))


def benchmark_specs(cfg: dict[str, Any]) -> list:
    from mmedc.decontam import BenchmarkSpec

    return [BenchmarkSpec(**{**b, "fields": tuple(b.get("fields", ["text"]))})
            for b in cfg.get("decontamination", {}).get("benchmarks", [])]


def corpus_specs(cfg: dict[str, Any]) -> list:
    from mmedc.corpora import CorpusSpec

    out = []
    for s in cfg["sources"].get("corpora", []):
        kw = {k: v for k, v in s.items() if k != "limit"}
        out.append(CorpusSpec(**kw, languages=tuple(cfg["languages"])))
    return out


def _work(cfg: dict[str, Any]) -> str:
    return cfg.get("work_dir") or posixpath.join(meta_dir(cfg["output"]), "work")


def _request(cfg: dict[str, Any]) -> dict[str, Any]:
    """What the build was asked, for the resume check (the executor may change between runs)."""
    return {k: v for k, v in cfg.items() if k not in ("_file", "executor", "card")}


def _diff(a: Any, b: Any, where: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = _diff(a.get(k), b.get(k), f"{where}.{k}" if where else k)
            if d:
                return d
        return None
    return None if a == b else f"{where}: {a!r} before, {b!r} now"


# --- the stages ------------------------------------------------------------------------------------
def _shard_kw(cfg: dict[str, Any]) -> dict[str, int]:
    s = cfg.get("shards", {})
    return {"max_rows": int(s.get("max_rows", 100_000)), "max_bytes": int(float(s.get("max_mb", 256)) * 2**20)}


def _executor_kw(cfg: dict[str, Any]) -> dict[str, Any]:
    ex = cfg.get("executor", {})
    return {"executor": ex.get("executor", "local"), "tasks": int(ex.get("tasks", 2)),
            "workers": int(ex.get("workers", 2)), "spark_master": ex.get("spark_master"),
            "spark_conf": dict(ex.get("spark_conf", {}))}


def _run_blocks(blocks: list, logs: str, ex: dict[str, Any], tasks: int | None = None) -> None:
    kw = dict(ex)
    if tasks is not None:
        kw["tasks"] = tasks
    make_executor(blocks, logging_dir=logs, skip_completed=True, **kw).run()


def source_outputs(cfg: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(kind, output folder, entry)`` of every source, in the yaml's order."""
    work = _work(cfg)
    return [(kind, posixpath.join(work, "sources", f"{kind}_{i}"), s)
            for kind in SOURCE_KINDS for i, s in enumerate(cfg["sources"].get(kind, []))]


def run_sources(cfg: dict[str, Any]) -> list[str]:
    """Stage 1: every source recipe into its own folder of shards; returns the folders."""
    from mmedc.recipes.filter_web import filter_web_pipeline
    from mmedc.recipes.textbooks import build_pipeline as textbooks_pipeline
    from mmedc.recipes.websites import run_websites

    ex, shard, langs = _executor_kw(cfg), _shard_kw(cfg), cfg["languages"]
    work = _work(cfg)
    corpora = iter(corpus_specs(cfg))
    outs = []
    for kind, out, s in source_outputs(cfg):
        logs = posixpath.join(work, "logs", posixpath.basename(out))
        if kind == "web":
            opts = {k: s[k] for k in ("lang_threshold", "text_key", "id_key", "language", "limit") if k in s}
            blocks = filter_web_pipeline(s["input"], out, languages=langs, **opts, **shard)
            if s.get("quality"):
                from mmedc.langid import LanguageID
                from mmedc.quality import quality_blocks

                after = next((i + 1 for i, b in enumerate(blocks) if isinstance(b, LanguageID)), 1)
                blocks[after:after] = quality_blocks(s["quality"])  # after LanguageID: per-language settings
            _run_blocks(blocks, logs, ex)
        elif kind == "textbooks":
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            opts = {k: s[k] for k in ("ocr", "language", "split", "engine", "dpi", "cleanup") if k in s}
            _run_blocks(textbooks_pipeline(s["input"], out, **opts, **shard), logs, ex)
        elif kind == "websites":
            scope = None
            if s.get("seeds") or s.get("seed_file"):
                from mmedc.web.scope import Scope, load_seed_file

                scope = load_seed_file(s["seed_file"], languages=langs) if s.get("seed_file") else \
                    Scope.from_seeds(s["seeds"])
                if s.get("max_pages") is not None:
                    for site in scope.sites:
                        site.max_pages = s["max_pages"]
            run_websites(out, scope=scope, warcs=s.get("warcs"), html=s.get("html"), base_url=s.get("base_url"),
                         warc_folder=posixpath.join(work, "warc", posixpath.basename(out)), logging_dir=logs,
                         languages=langs, lang_threshold=s.get("lang_threshold", 0.5),
                         keyword_filter=s.get("keyword_filter", True), min_chars=s.get("min_chars", 200),
                         **shard, **ex)
        else:
            from mmedc.corpora import corpus_blocks

            spec = next(corpora)
            blocks = [*corpus_blocks(spec, limit=s.get("limit", -1)), ShardedParquetWriter(out, **shard)]
            _run_blocks(blocks, logs, ex, tasks=1 if spec.hub else None)
        merge_manifests(out)
        outs.append(out)
    return outs


def _nonempty(folders: Sequence[str]) -> list[str]:
    from mmedc.io.parquet import list_shards

    return [f for f in folders if list_shards(f)]


def run_dedupe_stage(cfg: dict[str, Any], inputs: Sequence[str]) -> tuple[str, dict[str, Any] | None]:
    """Stage 2: one dedupe across all sources; returns the folder to read next and the dedupe report."""
    from mmedc.recipes.dedupe import build_dedupe, dedupe_report

    configs = dedup_configs(cfg)
    inputs = _nonempty(inputs)
    if configs is None or not inputs:
        return "", None
    config, boiler, tag_only = configs
    out = posixpath.join(_work(cfg), "deduped")
    dwork = posixpath.join(_work(cfg), "dedup")
    build_dedupe(inputs, out, work_dir=dwork, config=config, boilerplate=boiler, tag_only=tag_only,
                 **_shard_kw(cfg), **_executor_kw(cfg)).run()
    return out, dedupe_report(out, dwork)


def run_final_stage(cfg: dict[str, Any], inputs: Sequence[str]) -> dict[str, Any] | None:
    """Stage 3: (decontaminate and) write ``output/data``; returns the decontamination report."""
    from mmedc.decontam import Decontaminate, build_index, decontam_report

    work = _work(cfg)
    data = posixpath.join(cfg["output"], "data")
    blocks: list = [ShardReader(d) for d in _nonempty(inputs)]
    report = None
    specs = benchmark_specs(cfg)
    if specs:
        index = posixpath.join(work, "decontam", "index")
        dc = decontam_config(cfg)
        if not _index_current(index, specs, dc):
            build_index(specs, index, dc)
        removed = ShardedParquetWriter(posixpath.join(work, "decontam", "removed"), **_shard_kw(cfg))
        blocks.append(Decontaminate(index, mode=cfg.get("decontamination", {}).get("mode", "remove"),
                                    report_folder=posixpath.join(work, "decontam", "report"), exclusion_writer=removed))
    blocks.append(ShardedParquetWriter(data, **_shard_kw(cfg)))
    if len(blocks) > 1 + bool(specs):
        _run_blocks(blocks, posixpath.join(work, "logs", "final"), _executor_kw(cfg))
    merge_manifests(data)
    if specs:
        report = decontam_report(posixpath.join(work, "decontam", "report"), posixpath.join(work, "decontam", "index"))
    return report


def _index_current(index: str, specs: list, config) -> bool:
    from dataclasses import asdict

    path = Path(index) / "index.json"
    if not path.is_file():
        return False
    summary = json.loads(path.read_text())
    return summary.get("config") == asdict(config) and [
        (b["name"], b["path"], b["fields"]) for b in summary["benchmarks"]] == [
        (s.name, s.path, list(s.fields)) for s in specs]


def run_build(config: str | os.PathLike | dict[str, Any], stop_after: str | None = None) -> dict[str, Any]:
    """Build the corpus a corpus.yaml (path, or the dict :func:`load_config` returned) declares.

    Resumes an earlier run of the same request; ``stop_after`` (``"sources"``, ``"dedupe"``) ends early.
    Returns the build report (also written to ``<output>/.mmedc/reports/build_report.json``).
    """
    cfg = config if isinstance(config, dict) else load_config(config)
    request_path = Path(meta_dir(cfg["output"])) / "build_request.json"
    request = json.loads(json.dumps(_request(cfg)))
    if request_path.is_file():
        before = json.loads(request_path.read_text())
        d = _diff(before, request)
        if d:
            raise ConfigError(f"{cfg.get('_file', 'corpus.yaml')}: {cfg['output']} was built from another request "
                              f"({d}); use another output or delete it")
    else:
        atomic_write_text(request_path, json.dumps(request, indent=1, ensure_ascii=False))
    sources = run_sources(cfg)
    report: dict[str, Any] = {"name": cfg["name"], "output": cfg["output"], "sources": []}
    for (kind, out, s), folder in zip(source_outputs(cfg), sources):
        m = merge_manifests(folder)
        report["sources"].append({"kind": kind, "source": SOURCE_NAME[kind], "name": s.get("name", posixpath.basename(out)),
                                  "folder": folder, "documents": m["rows"], "licence": s.get("licence")})
    if stop_after == "sources":
        return report
    deduped, dedupe = run_dedupe_stage(cfg, sources)
    report["dedupe"] = dedupe
    if stop_after == "dedupe":
        return report
    report["decontamination"] = run_final_stage(cfg, [deduped] if deduped else sources)
    from mmedc.card import write_card

    report["card"] = write_card(cfg, report)
    atomic_write_text(report_path(cfg["output"], "build_report.json"),
                      json.dumps(report, indent=1, ensure_ascii=False, default=str))
    return report


# --- doors -----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mmedc build", description="Build the whole corpus a corpus.yaml declares: "
                                "source recipes, one global dedupe, decontamination, a Hugging Face dataset folder.")
    p.add_argument("config", help="the corpus.yaml (see docs/build.md)")
    p.add_argument("--check", action="store_true", help="only check the file (keys, types, inputs) and exit")
    p.add_argument("--stop-after", choices=["sources", "dedupe"], default=None, help="end after this stage")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: a bad corpus.yaml is one line on stderr and exit status 2."""
    import sys

    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(f"mmedc build: {e}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: ok ({sum(len(cfg['sources'].get(k, [])) for k in SOURCE_KINDS)} source(s) -> {cfg['output']})")
        return 0
    try:
        report = run_build(cfg, stop_after=args.stop_after)
    except ConfigError as e:  # another request into the same output
        print(f"mmedc build: {e}", file=sys.stderr)
        return 2
    print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    for s in report["sources"]:
        print(f"source {s['kind']:<10} {s['name']:<24} {s['documents']:>9,} documents")
    if report.get("dedupe"):
        d = report["dedupe"]
        print(f"dedupe: {d['documents_in']:,} in, {d['documents_out']:,} out ("
              + ", ".join(f"{k} {v:,}" for k, v in d["removed"].items()) + ")")
    if report.get("decontamination"):
        d = report["decontamination"]
        print(f"decontamination: {d['contaminated']:,} of {d['documents']:,} documents share n-grams with "
              + ", ".join(f"{k} ({v['documents']})" for k, v in d["by_benchmark"].items()))
    if report.get("card"):
        c = report["card"]
        print(f"corpus: {c['documents']:,} documents, {c['tokens']:,} tokens ({c['tokenizer']}) -> {report['output']}")
        print(f"  card: {c['readme']}; charts: {', '.join(c['charts'])}")


def demo(workdir: Path, **executor_kw: Any) -> dict[str, Any]:
    """Generate the sample inputs in ``workdir/input``, copy the bundled ``corpus.yaml`` there and build it."""
    from mmedc.samples.make_web import make_web_sample
    from mmedc.textbooks.sample import generate_sample_books

    workdir = Path(workdir)
    make_web_sample(workdir / "input" / "web")
    generate_sample_books(workdir / "input" / "textbooks", text_languages=("en", "zh"), scanned_languages=())
    text = (SAMPLES_DIR / "corpus.yaml").read_text(encoding="utf-8")
    if executor_kw:
        import yaml

        data = yaml.safe_load(text)
        data.setdefault("executor", {}).update(executor_kw)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (workdir / "corpus.yaml").write_text(text, encoding="utf-8")
    report = run_build(workdir / "corpus.yaml")
    report["config"] = str(workdir / "corpus.yaml")
    return report


if __name__ == "__main__":
    raise SystemExit(main())
