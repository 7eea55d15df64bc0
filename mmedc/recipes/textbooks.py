"""Recipe ``textbooks``: PDF books -> PdfReader -> TextbookCleanup -> LanguageID (check) -> Parquet shards.

OCR runs in parallel across tasks (input files are split across ranks), each tesseract with one
thread (``OMP_THREAD_LIMIT=1``). Resumable: completed tasks are skipped on a re-run, and a re-run
task rewrites its own shards (:class:`~mmedc.io.parquet.ShardedParquetWriter`), so a killed run
neither loses nor duplicates a book.

Language ID runs as a check: it annotates ``language``/``language_score`` from the cleaned text,
the book's declared or OCR language stays in ``book_language``, and :class:`LanguageCheck` counts
(and marks in ``language_mismatch``) books where the two disagree. It drops nothing.
"""

from __future__ import annotations

import argparse
import os
import pathlib
from typing import Any

from datatrove.pipeline.base import PipelineStep

from mmedc.executors import ExecutorOptions
from mmedc.io.shards import iter_records
from mmedc.io.writer import ShardedParquetWriter
from mmedc.langid import LanguageCheck  # noqa: F401  (moved to mmedc.langid; this import keeps the old path)
from mmedc.recipes.common import (
    DefaultsHelpFormatter,
    add_execution_args,
    add_shard_args,
    execution_from_args,
    print_rates,
    resolved_options,
    run_recipe,
    shard_kwargs,
    split_execution,
)


def build_pipeline(
    input_folder: str,
    output_folder: str,
    engine: str = "pypdfium2",
    ocr: str = "auto",
    language: str | dict[str, str] | None = None,
    split: str = "book",
    dpi: int = 300,
    max_pixels: int = 12_000_000,
    rotate_pages: bool = False,
    thicken: bool = True,
    cleanup: bool | dict[str, Any] = True,
    langid: bool = True,
    glob_pattern: str | None = "**/*.[pP][dD][fF]",
    max_rows: int = 10_000,
    max_bytes: int = 256 * 2**20,
    reader_options: dict[str, Any] | None = None,
) -> list[PipelineStep]:
    """The textbook pipeline as a list of blocks.

    ``cleanup``: ``True``, ``False``, or a dict of :class:`~mmedc.textbooks.TextbookCleanup` options
    (``{"bibliography": False}``). ``langid``: add the language-ID check. ``reader_options``: more
    :class:`~mmedc.textbooks.PdfReader` options (``{"min_ocr_confidence": 50, "stored_image": False}``).
    """
    from mmedc.textbooks import PdfReader, TextbookCleanup

    steps: list[PipelineStep] = [
        PdfReader(input_folder, glob_pattern=glob_pattern, engine=engine, ocr=ocr, language=language, split=split,
                  dpi=dpi, max_pixels=max_pixels, rotate_pages=rotate_pages, thicken=thicken,
                  **(reader_options or {})),
    ]
    if cleanup:
        steps.append(TextbookCleanup(**(cleanup if isinstance(cleanup, dict) else {})))
    if langid:
        from mmedc.langid import LanguageID

        steps.append(LanguageID(languages=None, threshold=0.0, overwrite=True))
        steps.append(LanguageCheck())
    steps.append(ShardedParquetWriter(output_folder, max_rows=max_rows, max_bytes=max_bytes))
    return steps


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of ``mmedc run textbooks`` / ``pipelines/textbooks.py``."""
    p = argparse.ArgumentParser(formatter_class=DefaultsHelpFormatter, prog="mmedc run textbooks", description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True,
                   help="folder (or fsspec URL) of PDF books; <book>.json sidecars may name their language")
    p.add_argument("--output", required=True, help="output folder for the Parquet shards")
    p.add_argument("--engine", choices=["pypdfium2", "pdfplumber"], default="pypdfium2", help="text-layer engine")
    p.add_argument("--ocr", choices=["auto", "never", "always"], default="auto", help="OCR scanned pages (auto)")
    p.add_argument("--language", default=None,
                   help="language of every book (en, zh, ja, fr, ru, es; 'en+fr' for bilingual); default: sidecar or detection")
    p.add_argument("--split", choices=["book", "chapter"], default="book", help="one document per book or per chapter")
    p.add_argument("--dpi", type=int, default=300, help="OCR render resolution")
    p.add_argument("--max-pixels", type=int, default=12_000_000, help="bound on pixels per rendered page")
    p.add_argument("--rotate-pages", action="store_true",
                   help="turn sideways/upside-down scans upright before OCR (an orientation pass per page)")
    p.add_argument("--no-thicken", action="store_true",
                   help="do not thicken thin strokes of Chinese pages before OCR (see docs/textbooks.md)")
    p.add_argument("--no-cleanup", action="store_true", help="skip TextbookCleanup")
    p.add_argument("--disable-rule", action="append", default=[], metavar="RULE",
                   help="turn one cleanup rule off (repeatable): control_chars, whitespace, page_numbers, "
                        "headers_footers, footnotes, front_matter, toc, index, bibliography, ocr_garbage, hyphenation, join_lines")
    p.add_argument("--no-langid", action="store_true", help="skip the language-ID check")
    p.add_argument("--glob", default="**/*.[pP][dD][fF]", help="which files to read, relative to input")
    add_shard_args(p, max_rows=10_000)
    add_execution_args(p)
    return p


def run_textbooks(
    input: str,
    output: str,
    overwrite: bool = False,
    execution: ExecutorOptions | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run the recipe from ``input`` (a folder of PDFs) into ``output``; return the summary
    (manifest, per-block stats, rates). ``kwargs``: options of :func:`build_pipeline` and executor
    options (:class:`~mmedc.executors.ExecutorOptions` fields)."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one tesseract thread per task: tasks are the parallelism
    execution, kwargs = split_execution(execution, kwargs)
    options = resolved_options(build_pipeline, input, output, exclude=("input_folder", "output_folder"), **kwargs)
    pipeline = build_pipeline(input, output, **kwargs)
    return run_recipe("textbooks", output, pipeline, options=options, inputs=[input], execution=execution,
                      overwrite=overwrite)


def run(args: argparse.Namespace, **overrides: Any) -> dict[str, Any]:
    """Run the recipe from parsed options (``overrides``: executor options); returns the merged manifest."""
    return run_from_args(args, **overrides)["manifest"]


def run_from_args(args: argparse.Namespace, **overrides: Any) -> dict[str, Any]:
    """Run the recipe from parsed options (``overrides``: executor options); returns the summary."""
    from mmedc.textbooks.cleanup import RULES

    bad = [r for r in args.disable_rule if r not in RULES]
    if bad:
        raise ValueError(f"unknown cleanup rule(s): {', '.join(bad)}; known: {', '.join(RULES)}")
    cleanup: bool | dict[str, Any] = False if args.no_cleanup else {r: False for r in args.disable_rule} or True
    execution, unknown = split_execution(execution_from_args(args), overrides)
    if unknown:
        raise TypeError(f"not executor options: {', '.join(sorted(unknown))}")
    summary = run_textbooks(args.input, args.output, overwrite=args.overwrite, execution=execution,
                            engine=args.engine, ocr=args.ocr, language=args.language,
                            split=args.split, dpi=args.dpi, max_pixels=args.max_pixels,
                            rotate_pages=args.rotate_pages, thicken=not args.no_thicken, cleanup=cleanup,
                            langid=not args.no_langid, glob_pattern=args.glob, **shard_kwargs(args))
    return summary


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run; prints where the shards are."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from mmedc.textbooks.cleanup import RULES

    bad = [r for r in args.disable_rule if r not in RULES]
    if bad:
        parser.error(f"unknown cleanup rule(s): {', '.join(bad)}; known: {', '.join(RULES)}")
    summary = run_from_args(args)
    manifest = summary["manifest"]
    print(f"textbooks: {manifest['rows']} documents in {len(manifest['shards'])} shard(s) under {args.output}")
    print_rates(summary)
    return 0


def demo(workdir: pathlib.Path, ocr: bool = True, **executor_kwargs: Any) -> dict[str, Any]:
    """Generate the sample books in ``workdir/input/textbooks`` and run the recipe into ``workdir/textbooks``.

    The samples: an English and a Chinese book with a text layer and, unless ``ocr`` is false, a Russian
    book made of page images (OCR'd); all have a title page, contents, running headers, page numbers
    and hyphenation. ``executor_kwargs`` go to :func:`~mmedc.executors.make_executor` (``executor``,
    ``tasks``, ``workers``, ...).
    """
    import json

    from mmedc.textbooks.sample import generate_sample_books

    workdir = pathlib.Path(workdir)
    inputs = workdir / "input" / "textbooks"
    books = generate_sample_books(inputs, text_languages=("en", "zh"), scanned_languages=("ru",) if ocr else ())
    output = workdir / "textbooks"
    argv = ["--input", str(inputs), "--output", str(output), "--tasks", str(max(1, len(books))), "--workers", "2"]
    if not ocr:
        argv += ["--ocr", "never"]
    args = build_parser().parse_args(argv)
    manifest = run(args, **executor_kwargs)
    pages = ocr_pages = chars = 0
    languages: dict[str, int] = {}
    for row in iter_records(str(output), columns=["text", "lang", "metadata"]):
        meta = json.loads(row["metadata"])
        pages += int(meta.get("page_count", 0))
        ocr_pages += int(meta.get("ocr_pages", 0))
        chars += len(row["text"])
        languages[row["lang"] or "unknown"] = languages.get(row["lang"] or "unknown", 0) + 1
    return {
        "output": str(output),
        "input": str(inputs),
        "books_in": len(books),
        "documents": manifest["rows"],
        "documents_out": manifest["rows"],
        "pages": pages,
        "ocr_pages": ocr_pages,
        "characters": chars,
        "languages": languages,
    }
