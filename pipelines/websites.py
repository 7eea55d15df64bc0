"""Crawl medical websites to WARC, extract, filter, write shards: ``python pipelines/websites.py --help``."""

from mmedc.cli import guarded
from mmedc.recipes.websites import main

if __name__ == "__main__":
    raise SystemExit(guarded(main, prog="websites.py"))  # one-line errors; --debug: traceback
