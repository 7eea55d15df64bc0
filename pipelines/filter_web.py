"""Filter medical documents out of a general multilingual web corpus.

    python pipelines/filter_web.py --input 'culturax/fr/*.parquet' --output out/web --tasks 8 --workers 2

See ``python pipelines/filter_web.py --help`` and docs/filter-web.md.
"""

from mmedc.cli import guarded
from mmedc.recipes.filter_web import main

if __name__ == "__main__":
    raise SystemExit(guarded(main, prog="filter_web.py"))  # one-line errors; --debug: traceback
