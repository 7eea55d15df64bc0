"""PDF textbooks -> clean, language-checked Parquet shards. See ``docs/textbooks.md``."""

from mmedc.cli import guarded
from mmedc.recipes.textbooks import main

if __name__ == "__main__":
    raise SystemExit(guarded(main, prog="textbooks.py"))  # one-line errors; --debug: traceback
