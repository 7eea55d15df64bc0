"""Build the whole corpus a corpus.yaml declares: ``python pipelines/build_corpus.py corpus.yaml`` (= ``mmedc build``)."""

from mmedc.cli import guarded
from mmedc.recipes.build import main

if __name__ == "__main__":
    raise SystemExit(guarded(main, prog="build_corpus.py"))  # one-line errors; --debug: traceback
