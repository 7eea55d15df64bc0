"""Deduplicate mmedc shards: ``python pipelines/dedupe.py --input out/web --input out/textbooks --output out/dedup``."""

from mmedc.cli import guarded
from mmedc.recipes.dedupe import main

if __name__ == "__main__":
    raise SystemExit(guarded(main, prog="dedupe.py"))  # one-line errors; --debug: traceback
