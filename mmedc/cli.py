"""The ``mmedc`` command.

    mmedc run <pipeline> [options]     run a prebuilt pipeline (filter_web, textbooks, websites, dedupe, pretrain)
    mmedc build corpus.yaml            the whole corpus: sources, global dedupe, decontamination, dataset card
    mmedc inspect <shards>             schema, row counts and sample records of mmedc shards
    mmedc stats <shards> [--out DIR]   documents/characters/tokens by language x source, and a PNG chart
    mmedc train --config FILE          continued pretraining (same as ``mmedc run pretrain``)
    mmedc eval --model M --data FILES  accuracy on multiple-choice medical questions, per language
    mmedc demo [--workdir DIR]         every source on the bundled samples, dedupe, stats, a tiny training run

Errors (a missing input, an output that holds another run, a file that is not an mmedc shard) are
one line naming the file and the reason, with exit code 1; ``--debug`` (anywhere on the command
line) shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence

from mmedc.recipes import RECIPES, get_recipe
from mmedc.recipes.common import DefaultsHelpFormatter


def _cmd_run(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: mmedc run <pipeline> [options]\n\npipelines: " + ", ".join(sorted(RECIPES)))
        print("\n`mmedc run <pipeline> --help` lists a pipeline's options.")
        return 0 if argv else 2
    try:
        recipe = get_recipe(argv[0])
    except KeyError as e:
        print(f"mmedc run: {e.args[0]}", file=sys.stderr)
        return 2
    return int(recipe.main(argv[1:]) or 0)


def _cmd_inspect(args: argparse.Namespace) -> int:
    import fsspec
    import pyarrow.parquet as pq

    from mmedc.io.shards import list_shards

    shards = list_shards(args.paths)
    if not shards:
        print(f"no .parquet shards under {' '.join(args.paths)}", file=sys.stderr)
        return 1
    from mmedc.recipes.common import read_run_record

    for path in args.paths:
        try:
            record = read_run_record(path)
        except Exception:  # noqa: BLE001 - a glob or file has no run record; neither has a broken one
            record = None
        if record:
            state = f"completed {record['completed_at']}" if record.get("completed_at") else "not completed (resumable)"
            print(f"{path}: run {record.get('recipe')} over {', '.join(record.get('inputs') or ['-'])}, "
                  f"{record.get('tasks')} task(s), {state}, mmedc {record.get('versions', {}).get('mmedc', '?')}")
    total = 0
    langs: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    samples = []
    schema = None
    for path in shards:
        with fsspec.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            schema = schema or pf.schema_arrow
            rows = pf.metadata.num_rows
            total += rows
            print(f"{path}  {rows:,} rows  {pf.metadata.num_row_groups} row group(s)")
            cols = [c for c in ("lang", "source") if c in pf.schema_arrow.names]
            if cols:
                t = pf.read(columns=cols).to_pydict()
                langs.update(t.get("lang", []))
                sources.update(t.get("source", []))
            if len(samples) < args.samples:
                for batch in pf.iter_batches(batch_size=max(1, args.samples)):
                    samples.extend(batch.to_pylist()[: args.samples - len(samples)])
                    break
    print(f"\nschema:\n{schema}\n")
    print(f"{total:,} rows in {len(shards)} shard(s)")
    print("by language: " + ", ".join(f"{k}={v}" for k, v in langs.most_common()))
    print("by source:   " + ", ".join(f"{k}={v}" for k, v in sources.most_common()))
    for row in samples:
        text = row.get("text", "")
        row = {k: v for k, v in row.items() if k != "text"}
        print("\n--- " + json.dumps(row, ensure_ascii=False, default=str)[:400])
        print(text[: args.chars] + ("..." if len(text) > args.chars else ""))
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from mmedc.stats import format_stats, plot_composition, write_report

    if args.out:
        stats = write_report(args.paths, args.out, tokenizer=args.tokenizer)
        print(format_stats(stats))
        print(f"report: {args.out}/stats.json, chart: {stats['png']}")
    else:
        from mmedc.stats import corpus_stats

        stats = corpus_stats(args.paths, tokenizer=args.tokenizer)
        print(format_stats(stats))
        if args.png:
            print(f"chart: {plot_composition(stats, args.png)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from mmedc.demo import run_demo

    run_demo(args.workdir, executor=args.executor, tasks=args.tasks, workers=args.workers, quick=args.quick,
             verbose=args.verbose)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mmedc", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = p.add_subparsers(dest="command", metavar="command")
    sub.add_parser("run", help="run a prebuilt pipeline", add_help=False)
    sub.add_parser("train", help="continued pretraining (mmedc run pretrain)", add_help=False)
    sub.add_parser("build", help="build the whole corpus a corpus.yaml declares", add_help=False)
    sub.add_parser("eval", help="accuracy on multiple-choice medical questions (mmedc eval --help)", add_help=False)

    ins = sub.add_parser("inspect", help="schema, counts and samples of shards", formatter_class=DefaultsHelpFormatter)
    ins.add_argument("paths", nargs="+", help="shard files, folders or globs (fsspec URLs ok)")
    ins.add_argument("-n", "--samples", type=int, default=3, help="sample records to print")
    ins.add_argument("--chars", type=int, default=300, help="characters of text per sample")

    st = sub.add_parser("stats", help="documents, characters, tokens by language x source",
                        formatter_class=DefaultsHelpFormatter)
    st.add_argument("paths", nargs="+", help="mmedc output folders, shard files or globs (fsspec URLs ok)")
    st.add_argument("--out", default=None, help="write stats.json and composition.png here")
    st.add_argument("--png", default=None, help="write the chart here (without --out)")
    st.add_argument("--tokenizer", default=None, help="local HF tokenizer folder or tokenizer.json (default: estimate)")

    de = sub.add_parser("demo", help="run every source on the bundled samples", formatter_class=DefaultsHelpFormatter)
    de.add_argument("--workdir", default="demo_output", help="folder for everything the demo writes (recreated)")
    de.add_argument("--executor", choices=["local", "spark"], default="local", help="where to run")
    de.add_argument("--tasks", type=int, default=2, help="tasks per recipe")
    de.add_argument("--workers", type=int, default=2, help="processes at once (local executor)")
    de.add_argument("--quick", action="store_true", help="skip OCR and training")
    de.add_argument("--verbose", action="store_true", help="block logs on the console instead of <workdir>/demo.log")
    return p


def _error_line(e: BaseException) -> str:
    """One line for an error: its message (first line), or its type when it has none."""
    text = str(e).strip()
    if isinstance(e, KeyError) and len(e.args) == 1:
        text = str(e.args[0])
    first = text.splitlines()[0] if text else type(e).__name__
    if isinstance(e, ImportError) and type(e).__name__ not in first:
        first = f"{type(e).__name__}: {first}"
    return first


def guarded(func: Callable[[list[str]], int | None], argv: Sequence[str] | None = None, prog: str = "mmedc") -> int:
    """Call ``func(argv)`` (a command's ``main``) turning a library error into one line on stderr and
    exit code 1; ``--debug`` in ``argv`` shows the traceback instead. ``pipelines/*.py`` can use it:
    ``raise SystemExit(guarded(main))``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        return int(func(argv) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the one place where library errors become exit codes
        if debug:
            raise
        print(f"{prog}: error: {_error_line(e)}  (--debug shows the traceback)", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mmedc`` command; library errors become one line on stderr and exit code 1."""
    return guarded(_dispatch, argv)


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "run":
        return _cmd_run(argv[1:])
    if argv and argv[0] == "train":
        return _cmd_run(["pretrain", *argv[1:]])
    if argv and argv[0] == "build":
        from mmedc.recipes.build import main as build_main

        return build_main(argv[1:])
    if argv and argv[0] == "eval":
        from mmedc.eval.run import main as eval_main

        return eval_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return {"inspect": _cmd_inspect, "stats": _cmd_stats, "demo": _cmd_demo}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
