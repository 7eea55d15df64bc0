"""PDF textbooks -> clean, language-checked Parquet shards. See ``docs/textbooks.md``."""

from mmedc.recipes.textbooks import main

if __name__ == "__main__":
    raise SystemExit(main())
