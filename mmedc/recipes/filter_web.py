"""Recipe: medical text out of a general multilingual web corpus (MMedC's largest source).

    input Parquet/jsonl (files, folder or glob; local or fsspec URL)
      -> CorpusReader -> LanguageID -> MedicalKeywordFilter -> ShardedParquetWriter

Run it from Python (``run_filter_web``), from ``pipelines/filter_web.py``, or as
``mmedc run filter_web --input 'data/*.parquet' --output out/web``. Resumable: re-running the same
command skips the tasks that completed (datatrove completion markers) and redoes the others, whose
writers first remove their own earlier shards; a different command into the same output is refused
(``--overwrite`` starts afresh), see :func:`mmedc.recipes.common.run_recipe`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmedc.executors import ExecutorOptions
from mmedc.io.readers import CorpusReader, split_input
from mmedc.io.writer import ShardedParquetWriter
from mmedc.langid import MMEDC_LANGUAGES, LanguageID
from mmedc.recipes.common import (
    DefaultsHelpFormatter,
    add_execution_args,
    add_shard_args,
    execution_from_args,
    execution_options,
    print_output_summary,
    resolved_options,
    run_recipe,
    shard_kwargs,
)


def filter_web_pipeline(
    input: str,
    output: str,
    languages: Sequence[str] = MMEDC_LANGUAGES,
    lang_threshold: float = 0.5,
    rejected_output: str | None = None,
    text_key: str = "text",
    id_key: str = "id",
    keyword_thresholds: dict[str, tuple[int, float]] | None = None,
    max_rows: int = 100_000,
    max_bytes: int = 256 * 2**20,
    limit: int = -1,
) -> list:
    """The block list of the recipe. ``rejected_output``: also write dropped documents there, with
    their ``filter_reason`` and scores, for audit."""
    from mmedc.keywords import MedicalKeywordFilter

    folder, glob = split_input(input)

    def rejected(prefix: str):
        if not rejected_output:
            return None
        return ShardedParquetWriter(rejected_output, prefix=prefix, max_rows=max_rows, max_bytes=max_bytes)

    kw_args: dict[str, Any] = {"exclusion_writer": rejected("kw_")}
    if keyword_thresholds:
        kw_args["thresholds"] = keyword_thresholds
    return [
        CorpusReader(folder, glob_pattern=glob, text_key=text_key, id_key=id_key, source="web", limit=limit),
        LanguageID(languages=languages, threshold=lang_threshold, exclusion_writer=rejected("lang_")),
        MedicalKeywordFilter(**kw_args),
        ShardedParquetWriter(output, max_rows=max_rows, max_bytes=max_bytes),
    ]


def run_filter_web(
    input: str,
    output: str,
    rejected_output: str | None = None,
    overwrite: bool = False,
    execution: ExecutorOptions | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Build and run the recipe; return a summary (manifest, per-block stats, rates, paths).

    ``kwargs``: options of :func:`filter_web_pipeline` and executor options (``tasks``, ``workers``,
    ``executor``, ``logging_dir``, ... of :class:`~mmedc.executors.ExecutorOptions`). A re-run into the
    same ``output`` resumes when asked the same, and is refused otherwise unless ``overwrite``."""
    execution = execution_options(execution, **kwargs)
    kwargs = {k: v for k, v in kwargs.items() if k not in {f.name for f in dataclasses.fields(ExecutorOptions)}}
    options = resolved_options(filter_web_pipeline, input, output, rejected_output=rejected_output,
                               exclude=("input", "output"), **kwargs)
    pipeline = filter_web_pipeline(input, output, rejected_output=rejected_output, **kwargs)
    summary = run_recipe("filter_web", output, pipeline, options=options, inputs=[input], execution=execution,
                         overwrite=overwrite, side_outputs=[rejected_output] if rejected_output else [])
    summary["rejected_output"] = rejected_output
    return summary


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(formatter_class=DefaultsHelpFormatter,
        prog="mmedc run filter_web",
        description="Filter medical documents out of a general web corpus (Parquet or jsonl with a text column).",
    )
    p.add_argument("--input", required=True, help="file, folder or glob; local or fsspec URL (s3://, hf://)")
    p.add_argument("--output", required=True, help="output folder for the kept shards")
    p.add_argument("--rejected", default=None, help="also write rejected documents (with reasons) to this folder")
    p.add_argument("--languages", default=",".join(MMEDC_LANGUAGES),
                   help="comma-separated ISO 639-1 codes to keep (default: %(default)s)")
    p.add_argument("--lang-threshold", type=float, default=0.5, help="minimum language-ID confidence (default: %(default)s)")
    p.add_argument("--text-key", default="text", help="text column (default: %(default)s)")
    p.add_argument("--id-key", default="id", help="id column; rows without one get path/row ids (default: %(default)s)")
    add_shard_args(p)
    p.add_argument("--limit", type=int, default=-1, help="documents per task at most, for trials (default: all)")
    add_execution_args(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    summary = run_filter_web(
        args.input, args.output, rejected_output=args.rejected, overwrite=args.overwrite,
        execution=execution_from_args(args),
        languages=[x.strip() for x in args.languages.split(",") if x.strip()],
        lang_threshold=args.lang_threshold, text_key=args.text_key, id_key=args.id_key,
        limit=args.limit, **shard_kwargs(args),
    )
    print_summary(summary)
    return 0


print_summary = print_output_summary


def demo(workdir: Path, **executor_kw: Any) -> dict[str, Any]:
    """Generate the bundled general-web sample and filter it; the summary also scores the filter
    against the sample's labels."""
    from mmedc.samples.make_web import make_web_sample

    workdir = Path(workdir)
    inputs = workdir / "input" / "web"
    make_web_sample(inputs)
    summary = run_filter_web(str(inputs), str(workdir / "web"), rejected_output=str(workdir / "web_rejected"),
                             **executor_kw)
    summary["input"] = str(inputs)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
