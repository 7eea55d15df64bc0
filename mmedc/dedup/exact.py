"""Kept for compatibility: the boilerplate blocks and the exact/URL keys live in :mod:`mmedc.dedup.boilerplate`.

(Exact dedupe itself is two bucket keys of :mod:`mmedc.dedup.minhash`.)
"""

from mmedc.dedup.boilerplate import (  # noqa: F401
    BoilerplateConfig,
    BoilerplateFinder,
    BoilerplateLineCounts,
    BoilerplateRemover,
    source_key,
    text_key,
    url_key,
)
