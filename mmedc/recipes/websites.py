"""Recipe: medical websites (MMedC's third source): crawl politely to WARC, then extract and filter.

    seeds (URLs or a seed list) -> CrawlToWarc -> WARC files            (stage 1, always local)
    WARC files | HTML folder -> HtmlExtractor -> LanguageID -> [MedicalKeywordFilter]
                                                -> ShardedParquetWriter  (stage 2, local or Spark)

Stage 1 is skipped when ``--warcs`` (existing WARC files) or ``--html`` (a folder of HTML files) is
given. Both stages resume: the crawl from its SQLite state (no page fetched twice, none lost), the
extraction through datatrove completion markers. The keyword filter is on by default; turn it off
(``--no-keyword-filter``) for curated medical sites whose every page is wanted.

    mmedc run websites --seed-file pipelines/seeds/medical_sites.json --languages fr --output out/sites
    mmedc run websites --warcs crawl/ --output out/sites
"""

from __future__ import annotations

import argparse
import posixpath
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from datatrove.utils.logging import logger

from mmedc.executors import ExecutorOptions, make_executor
from mmedc.io.layout import logs_dir
from mmedc.io.writer import ShardedParquetWriter
from mmedc.lang import MMEDC_LANGUAGES
from mmedc.options import add_options, options_from_args
from mmedc.recipes.common import (
    DefaultsHelpFormatter,
    add_execution_args,
    add_shard_args,
    block_counters,
    execution_from_args,
    jsonable,
    print_output_summary,
    read_stats,
    resolved_options,
    run_recipe,
    shard_kwargs,
    split_execution,
    throughput,
)

LANGUAGES = MMEDC_LANGUAGES  # the one language table (mmedc.lang)
SAMPLE_SITE = Path(__file__).resolve().parent.parent / "samples" / "site"


def crawl_pipeline(scope: Any, warc_folder: str, config: Any = None) -> list:
    """Stage 1: one :class:`~mmedc.web.crawl.CrawlToWarc` step (hosts split across tasks)."""
    from mmedc.web.crawl import CrawlToWarc

    return [CrawlToWarc(scope, warc_folder, config)]


def websites_pipeline(
    output: str,
    warcs: str | None = None,
    html: str | None = None,
    base_url: str | None = None,
    languages: Sequence[str] | None = LANGUAGES,
    lang_threshold: float = 0.5,
    keyword_filter: bool = True,
    rejected_output: str | None = None,
    min_chars: int = 200,
    extractor_kwargs: dict[str, Any] | None = None,
    max_rows: int = 100_000,
    max_bytes: int = 256 * 2**20,
    limit: int = -1,
    max_record_bytes: int | None = None,
) -> list:
    """Stage 2: the block list from WARC files (``warcs``) or an HTML folder (``html``) to shards.

    ``max_record_bytes``: WARC records over this size are skipped unread (counted as
    ``oversized_record``; default :data:`mmedc.web.warc.MAX_RECORD_BYTES`, 20 MiB)."""
    from mmedc.langid import LanguageID
    from mmedc.web.extract import HtmlExtractor, HtmlFolderReader
    from mmedc.web.warc import MAX_RECORD_BYTES, WarcHtmlReader

    if (warcs is None) == (html is None):
        raise ValueError("give exactly one of warcs (WARC folder) or html (HTML folder)")
    meta = {"source": "website"}
    if warcs is not None:
        reader = WarcHtmlReader(warcs, default_metadata=meta, limit=limit,
                                max_record_bytes=max_record_bytes or MAX_RECORD_BYTES)
    else:
        reader = HtmlFolderReader(html, base_url=base_url, default_metadata=meta, limit=limit)

    def rejected(prefix: str):
        if not rejected_output:
            return None
        return ShardedParquetWriter(rejected_output, prefix=prefix, max_rows=max_rows, max_bytes=max_bytes)

    blocks = [
        reader,
        HtmlExtractor(min_chars=min_chars, **(extractor_kwargs or {})),
        LanguageID(languages=languages, threshold=lang_threshold, exclusion_writer=rejected("lang_")),
    ]
    if keyword_filter:
        from mmedc.keywords import MedicalKeywordFilter

        blocks.append(MedicalKeywordFilter(exclusion_writer=rejected("kw_")))
    blocks.append(ShardedParquetWriter(output, max_rows=max_rows, max_bytes=max_bytes))
    return blocks


# crawl options that change how a resumed crawl behaves, not what the run was asked
_RESUME_ONLY_CRAWL_OPTIONS = ("retry_failed", "progress_every")


class _NothingToRun:
    """Stands in for the extraction executor when the crawl stored no page."""

    def run(self) -> None:
        return None


def run_websites(
    output: str,
    scope: Any = None,
    warcs: str | None = None,
    html: str | None = None,
    warc_folder: str | None = None,
    crawl_config: Any = None,
    crawl_tasks: int = 1,
    overwrite: bool = False,
    execution: ExecutorOptions | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Crawl ``scope`` (a :class:`~mmedc.web.scope.Scope` or seed URLs) into ``warc_folder`` unless
    ``warcs``/``html`` is given, then extract and filter into ``output``. Returns a summary.

    ``kwargs``: options of :func:`websites_pipeline` and executor options. The crawl always runs on
    the local executor (it is I/O-bound and keeps its state in local SQLite files)."""
    execution, kwargs = split_execution(execution, kwargs)
    output = str(output).rstrip("/")
    logging_dir = execution.logging_dir or logs_dir(output)
    crawl = warcs is None and html is None
    if crawl and scope is None:
        raise ValueError("nothing to do: give seeds (scope), warcs or html")
    if crawl:
        warc_folder = str(warc_folder or output + "_warc")
    options = resolved_options(websites_pipeline, output, warcs=warcs, html=html, exclude=("output",), **kwargs)
    if crawl:
        config = jsonable(crawl_config) if crawl_config is not None else None
        for key in _RESUME_ONLY_CRAWL_OPTIONS:
            if isinstance(config, dict):
                config.pop(key, None)
        sites = getattr(scope, "sites", None)
        options.update(scope=jsonable(sites) if sites is not None else jsonable(list(scope)), crawl_config=config,
                       crawl_tasks=crawl_tasks, warc_folder=warc_folder)
    crawl_logs = posixpath.join(logging_dir, "crawl")
    extract_logs = posixpath.join(logging_dir, "extract")
    rejected = kwargs.get("rejected_output")

    retry = bool(getattr(crawl_config, "retry_failed", False))
    if crawl and crawl_config is not None:  # records the crawl itself wrote are never skipped as oversized
        from mmedc.web.warc import MAX_RECORD_BYTES

        kwargs.setdefault("max_record_bytes", max(MAX_RECORD_BYTES, crawl_config.max_bytes + 2**20))

    def build():
        exec_kwargs = execution.kwargs()
        if crawl:
            # the crawl is I/O-bound and keeps its state in local SQLite files: always a local executor;
            # retry_failed re-runs a completed crawl task (its own state keeps stored pages stored)
            make_executor(
                crawl_pipeline(scope, warc_folder, crawl_config), logging_dir=crawl_logs, executor="local",
                tasks=crawl_tasks, workers=crawl_tasks, skip_completed=execution.skip_completed and not retry,
            ).run()
            if not any(Path(warc_folder).glob("*.warc*")):
                # nothing stored (seeds failed, e.g. no network): no extraction, the state says why
                logger.warning(f"crawl: no page stored in {warc_folder}; `python -m mmedc.web.frontier` on its "
                               "_state files says why, and --retry-failed tries failed pages again")
                return _NothingToRun()
            stored = int(next(iter(read_stats(crawl_logs, missing_ok=True).values()), {}).get("stored", 0) or 0)
            if retry and stored > 0:  # pages a retry stored change the extraction's input: it runs again
                exec_kwargs["skip_completed"] = False
        pipeline = websites_pipeline(output, warcs=warc_folder if crawl else warcs, html=html, **kwargs)
        return make_executor(pipeline, logging_dir=extract_logs, **exec_kwargs)

    summary = run_recipe(
        "websites", output, build=build, options=options, inputs=[warcs or html] if not crawl else [],
        execution=execution, overwrite=overwrite, side_outputs=[rejected] if rejected else [],
        owned_folders=[warc_folder] if crawl else [], logging_dir=extract_logs,
    )
    if crawl:
        summary["warc_folder"] = warc_folder
        summary["crawl"] = next(iter(read_stats(crawl_logs, missing_ok=True).values()), {})
        summary.update(throughput(summary["stats"], [warc_folder], summary["seconds"]))
    return summary


_CRAWL_OPTIONS_BY_HAND = ("max_bytes", "warc_max_bytes", "obey_robots", "progress_every")


def build_parser() -> argparse.ArgumentParser:
    from mmedc.web.crawl import CrawlConfig

    p = argparse.ArgumentParser(formatter_class=DefaultsHelpFormatter,
        prog="mmedc run websites",
        description="Crawl medical websites politely to WARC (or take WARCs / HTML files), extract the main "
        "text with trafilatura, identify the language, filter by medical keywords, write Parquet shards.",
    )
    p.add_argument("--output", required=True, help="output folder for the shards")
    src = p.add_argument_group("input (one of)")
    src.add_argument("--seed", action="append", default=[], metavar="URL", help="start URL (repeatable); its host is in scope")
    src.add_argument("--seed-file", default=None, help="JSON seed list with per-site scope rules (pipelines/seeds/)")
    src.add_argument("--warcs", default=None, help="existing WARC files (folder): skip the crawl")
    src.add_argument("--html", default=None, help="folder of .html files: skip the crawl")
    src.add_argument("--base-url", default=None, help="with --html: URL the folder mirrors (for the url column)")
    c = p.add_argument_group("crawl")
    c.add_argument("--warc-folder", default=None, help="where the crawl writes WARCs and its state (default: <output>_warc)")
    # every CrawlConfig field is an option (help and default from CrawlConfig); these few take other units
    add_options(c, CrawlConfig, exclude=_CRAWL_OPTIONS_BY_HAND)
    c.add_argument("--max-response-mb", type=float, default=10, help="cut responses at this size (default: 10)")
    c.add_argument("--warc-mb", type=float, default=1024, help="start a new WARC file after this many MB (default: 1024)")
    c.add_argument("--ignore-robots", action="store_true", help="ignore robots.txt (only for sites you run)")
    c.add_argument("--max-pages-per-site", type=int, default=None, help="override every site's max_pages")
    c.add_argument("--max-depth", type=int, default=None, help="override every site's max_depth")
    c.add_argument("--crawl-tasks", type=int, default=1, help="parallel crawlers (hosts are split between them)")
    f = p.add_argument_group("extraction and filters")
    f.add_argument("--languages", default=",".join(LANGUAGES), help="languages to keep (and seed-list sites to crawl)")
    f.add_argument("--lang-threshold", type=float, default=0.5)
    f.add_argument("--no-keyword-filter", action="store_true", help="keep every page (curated medical sites)")
    f.add_argument("--min-chars", type=int, default=200, help="drop pages with less extracted text")
    f.add_argument("--rejected", default=None, help="also write dropped documents (with reasons) here")
    add_shard_args(f)
    add_execution_args(p)
    return p


def _scope_from_args(args: argparse.Namespace, languages: list[str]):
    from mmedc.web.scope import Scope, load_seed_file

    if args.seed_file:
        scope = load_seed_file(args.seed_file, languages=languages)
        if args.seed:
            scope = Scope(scope.sites + Scope.from_seeds(args.seed).sites)
    elif args.seed:
        scope = Scope.from_seeds(args.seed)
    else:
        return None
    for site in scope.sites:
        if args.max_pages_per_site is not None:
            site.max_pages = args.max_pages_per_site
        if args.max_depth is not None:
            site.max_depth = args.max_depth
    return scope


def main(argv: Sequence[str] | None = None) -> int:
    from mmedc.web.crawl import CrawlConfig

    args = build_parser().parse_args(argv)
    languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    sources = sum(bool(x) for x in (args.seed or args.seed_file, args.warcs, args.html))
    if sources != 1:
        raise SystemExit("give exactly one input: --seed/--seed-file (crawl), --warcs or --html")
    config = options_from_args(
        CrawlConfig, args, exclude=_CRAWL_OPTIONS_BY_HAND, max_bytes=int(args.max_response_mb * 2**20),
        warc_max_bytes=int(args.warc_mb * 2**20), obey_robots=not args.ignore_robots,
    )
    try:
        scope = _scope_from_args(args, languages)
    except ValueError as e:
        raise SystemExit(str(e)) from e
    summary = run_websites(
        args.output, scope=scope, warcs=args.warcs, html=args.html, base_url=args.base_url,
        warc_folder=args.warc_folder, crawl_config=config, crawl_tasks=args.crawl_tasks,
        overwrite=args.overwrite, execution=execution_from_args(args), languages=languages,
        lang_threshold=args.lang_threshold, keyword_filter=not args.no_keyword_filter,
        rejected_output=args.rejected, min_chars=args.min_chars, **shard_kwargs(args),
    )
    print_summary(summary)
    return 0


def print_summary(summary: dict[str, Any]) -> None:
    crawl = summary.get("crawl")
    if crawl:
        print(f"crawl: {crawl.get('stored', 0)} pages stored -> {summary['warc_folder']}; "
              + ", ".join(f"{k}={v}" for k, v in sorted(crawl.items()) if k not in ("stored", "total")))
    print_output_summary(summary)


def demo(workdir: Path, **executor_kwargs: Any) -> dict[str, Any]:
    """Serve the bundled sample site on loopback, crawl it (robots.txt and sitemap included), extract
    and filter it into ``workdir/websites``. Returns output paths and counts."""
    from mmedc.web.crawl import CrawlConfig
    from mmedc.web.extract import HtmlExtractor
    from mmedc.web.localserver import serve_site

    workdir = Path(workdir)
    output = workdir / "websites"
    known = {f.name for f in fields(CrawlConfig)}
    config = CrawlConfig(delay=0.0, progress_every=0, **{k: executor_kwargs.pop(k) for k in list(executor_kwargs) if k in known})
    with serve_site(SAMPLE_SITE) as base:
        summary = run_websites(
            str(output), scope=[base + "/index.html"], warc_folder=str(workdir / "websites_warc"),
            crawl_config=config, **executor_kwargs,
        )
    crawl = summary.get("crawl", {})
    extract = block_counters(summary["stats"], HtmlExtractor)
    summary.update(
        pages_crawled=int(crawl.get("stored", 0)),
        documents_in=int(extract.get("total", 0)),
        documents=summary["manifest"]["rows"],
        documents_out=summary["manifest"]["rows"],
        site_url=base,
    )
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
