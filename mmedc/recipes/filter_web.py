"""Recipe: medical text out of a general multilingual web corpus (MMedC's largest source).

    input Parquet/jsonl (files, folder or glob; local or fsspec URL)
      -> CorpusReader -> DeclareLanguage -> MedicalKeywordFilter (declared language, or lists by script)
      -> LanguageID (survivors only) -> MedicalKeywordFilter (re-scored if LID named another list)
      -> ShardedParquetWriter

Run it from Python (``run_filter_web``), from ``pipelines/filter_web.py``, or as
``mmedc run filter_web --input 'data/*.parquet' --output out/web``. Resumable: re-running the same
command skips the tasks that completed (datatrove completion markers) and redoes the others, whose
writers first remove their own earlier shards; a different command into the same output is refused
(``--overwrite`` starts afresh), see :func:`mmedc.recipes.common.run_recipe`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from mmedc.executors import ExecutorOptions
from mmedc.io.readers import CorpusReader, split_input
from mmedc.io.writer import ShardedParquetWriter
from mmedc.langid import DEFAULT_PATH_PATTERN, MMEDC_LANGUAGES, DeclareLanguage, LanguageID
from mmedc.recipes.common import (
    DefaultsHelpFormatter,
    add_execution_args,
    add_shard_args,
    execution_from_args,
    print_output_summary,
    resolved_options,
    run_recipe,
    shard_kwargs,
    split_execution,
)


class Progress(PipelineStep):
    """Log documents, documents/s, MB/s (UTF-8 text) and an ETA every ``every_s`` seconds.

    The ETA comes from the row counts in the Parquet footers of this task's files (read once, cheap);
    for jsonl input the total is unknown and only rates are logged. Documents pass through unchanged.
    """

    name = "⏱ Progress"
    type = "📊 - STATS"

    def __init__(self, data_folder: str, glob_pattern: str | None = None, limit: int = -1, every_s: float = 30.0):
        super().__init__()
        self.data_folder = data_folder
        self.glob_pattern = glob_pattern
        self.limit = limit
        self.every_s = every_s

    def _total(self, rank: int, world_size: int) -> int | None:
        import pyarrow.parquet as pq
        from datatrove.io import get_datafolder

        folder = get_datafolder(self.data_folder)
        total = 0
        for path in folder.get_shard(rank, world_size, recursive=True, glob_pattern=self.glob_pattern):
            if not path.endswith(".parquet"):
                return None
            try:
                with folder.open(path, "rb") as f:
                    total += pq.ParquetFile(f).metadata.num_rows
            except Exception:  # noqa: BLE001 - the reader reports unreadable files; no ETA then
                return None
        return min(total, self.limit) if self.limit > 0 else total

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        total = self._total(rank, world_size)
        start = last = time.monotonic()
        docs = nbytes = 0
        for doc in data:
            docs += 1
            nbytes += len(doc.text.encode("utf-8")) if isinstance(doc.text, str) else 0
            if docs % 256 == 0:
                now = time.monotonic()
                if now - last >= self.every_s:
                    last = now
                    logger.info(self.line(docs, nbytes, now - start, total, rank))
            yield doc
        if docs:
            logger.info(self.line(docs, nbytes, time.monotonic() - start, total, rank))

    @staticmethod
    def line(docs: int, nbytes: int, elapsed: float, total: int | None, rank: int = 0) -> str:
        """One progress line: ``task 0: 12,800 docs (35.2 MB) 410 docs/s, 1.1 MB/s, 31% of 41,000, ETA 1m13s``."""
        elapsed = max(elapsed, 1e-9)
        rate = docs / elapsed
        out = f"task {rank}: {docs:,} docs ({nbytes / 1e6:.1f} MB) {rate:,.0f} docs/s, {nbytes / 1e6 / elapsed:.2f} MB/s"
        if total:
            left = max(0, total - docs) / rate if rate else 0.0
            out += f", {min(100, 100 * docs // total)}% of {total:,} rows, ETA {int(left // 60)}m{int(left % 60):02d}s"
        return out


def filter_web_pipeline(
    input: str,
    output: str,
    languages: Sequence[str] = MMEDC_LANGUAGES,
    lang_threshold: float | None = None,
    rejected_output: str | None = None,
    text_key: str = "text",
    id_key: str = "id",
    keyword_thresholds: dict[str, tuple[int, float]] | None = None,
    max_rows: int = 100_000,
    max_bytes: int = 256 * 2**20,
    limit: int = -1,
    language: str | None = None,
    language_from_path: str | None = DEFAULT_PATH_PATTERN,
    order: str = "cost",
    progress: bool = False,
) -> list:
    """The block list of the recipe, cheapest work first (``order="cost"``):

    * language known (``language``, a ``language`` column, or ``language_from_path``, a regex with a
      group ``lang`` over the file path; by default a path segment that is a language code): the
      keyword filter runs first with that language, language ID only on its survivors, as a check
      (a document detected as another language is dropped as ``language_mismatch``);
    * language unknown: the document's script routes it to its lists (Latin -> en, fr, es; Cyrillic
      -> ru; Han/kana -> zh or ja), language ID runs on the candidates that pass, and a candidate
      scored with another list than its detected language is scored again with its own.

    ``order="lid_first"``: language ID on every document, then the keyword filter (the order before
    this one; kept to measure the difference). ``lang_threshold``: one language-ID threshold for every
    language instead of the per-language ``LANGUAGE_THRESHOLDS``. ``rejected_output``: also write
    dropped documents there, with their ``filter_reason`` and scores, for audit. ``progress``:
    documents/s, MB/s and ETA in the log while the run goes.
    """
    from mmedc.keywords import MedicalKeywordFilter

    if order not in ("cost", "lid_first"):
        raise ValueError(f"order must be 'cost' or 'lid_first', not {order!r}")
    folder, glob = split_input(input)

    def rejected(prefix: str):
        if not rejected_output:
            return None
        return ShardedParquetWriter(rejected_output, prefix=prefix, max_rows=max_rows, max_bytes=max_bytes)

    kw_args: dict[str, Any] = {"languages": list(languages)}
    if keyword_thresholds:
        kw_args["thresholds"] = keyword_thresholds
    steps: list = [
        CorpusReader(folder, glob_pattern=glob, text_key=text_key, id_key=id_key, source="web", limit=limit)
    ]
    if progress:
        steps.append(Progress(folder, glob_pattern=glob, limit=limit))
    if order == "lid_first":
        return steps + [
            LanguageID(languages=languages, threshold=lang_threshold, exclusion_writer=rejected("lang_")),
            MedicalKeywordFilter(exclusion_writer=rejected("kw_"), **kw_args),
            ShardedParquetWriter(output, max_rows=max_rows, max_bytes=max_bytes),
        ]
    return steps + [
        DeclareLanguage(language=language, path_pattern=language_from_path, root=folder),
        MedicalKeywordFilter(route_by_script=True, exclusion_writer=rejected("kw_"), **kw_args),
        LanguageID(languages=languages, threshold=lang_threshold, check_declared=True,
                   exclusion_writer=rejected("lang_")),
        MedicalKeywordFilter(keep_scored=True, exclusion_writer=rejected("kw2_"), **kw_args),
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
    execution, kwargs = split_execution(execution, kwargs)
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
    p.add_argument("--languages", default=",".join(MMEDC_LANGUAGES), help="comma-separated ISO 639-1 codes to keep")
    p.add_argument("--lang-threshold", type=float, default=None,
                   help="one minimum language-ID confidence for every language (default: the per-language table)")
    p.add_argument("--language", default=None, help="the language of every input document, when known")
    p.add_argument("--language-from-path", default=DEFAULT_PATH_PATTERN,
                   help="regex with a group 'lang' over each file's path (default: a folder named en/, zh/, ...)")
    p.add_argument("--order", choices=("cost", "lid_first"), default="cost",
                   help="cost: keyword filter first, language ID on its survivors; lid_first: the former order")
    p.add_argument("--progress", action="store_true", help="log docs/s, MB/s and ETA while the run goes")
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
        language=args.language, language_from_path=args.language_from_path, order=args.order,
        progress=args.progress,
        limit=args.limit, **shard_kwargs(args),
    )
    print_summary(summary)
    return 0


print_summary = print_output_summary


def demo(workdir: Path, **executor_kw: Any) -> dict[str, Any]:
    """Generate the bundled general-web sample and filter it; the summary also scores the filter
    against the sample's labels."""
    from mmedc.samples.web import make_web_sample

    workdir = Path(workdir)
    inputs = workdir / "input" / "web"
    make_web_sample(inputs)
    summary = run_filter_web(str(inputs), str(workdir / "web"), rejected_output=str(workdir / "web_rejected"),
                             **executor_kw)
    summary["input"] = str(inputs)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
