"""Deduplication: MinHash near-duplicates, exact text and URL duplicates, boilerplate lines.

See :mod:`mmedc.dedup.minhash` for the four-stage design and :mod:`mmedc.dedup.boilerplate` for boilerplate
removal; ``mmedc.recipes.dedupe`` chains them over mmedc shards. (The block package is named for the
topic and the recipe for the action, ``mmedc run dedupe``, which users already type; ``dedup.exact`` is
the old path of ``dedup.boilerplate``.)
"""

from mmedc.dedup.boilerplate import (
    BoilerplateConfig,
    BoilerplateFinder,
    BoilerplateLineCounts,
    BoilerplateRemover,
    text_key,
    url_key,
)
from mmedc.dedup.minhash import (
    DedupConfig,
    MinhashBuckets,
    MinhashClusters,
    MinhashFilter,
    MinhashSignatures,
    optimal_bands,
)
from mmedc.dedup.normalize import normalize_text, normalize_url, shingle_set

__all__ = [
    "BoilerplateConfig",
    "BoilerplateFinder",
    "BoilerplateLineCounts",
    "BoilerplateRemover",
    "DedupConfig",
    "MinhashBuckets",
    "MinhashClusters",
    "MinhashFilter",
    "MinhashSignatures",
    "normalize_text",
    "normalize_url",
    "optimal_bands",
    "shingle_set",
    "text_key",
    "url_key",
]
