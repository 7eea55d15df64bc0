"""mmedc: build multilingual medical pretraining corpora and continue pretraining on them.

The blocks are datatrove ``PipelineStep``s, importable flat from here::

    from mmedc import CorpusReader, LanguageID, MedicalKeywordFilter, ShardedParquetWriter

Names are imported on first use, so ``import mmedc`` stays light (no torch, no pyspark).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # output and input
    "SCHEMA": "mmedc.schema",
    "ShardedParquetWriter": "mmedc.io.parquet",
    "ShardReader": "mmedc.io.parquet",
    "merge_manifests": "mmedc.io.parquet",
    "iter_records": "mmedc.io.parquet",
    "CorpusReader": "mmedc.io.readers",
    # filters
    "LanguageID": "mmedc.langid",
    "predict_language": "mmedc.langid",
    "MedicalKeywordFilter": "mmedc.keywords",
    "score_text": "mmedc.keywords",
    # textbooks
    "PdfReader": "mmedc.textbooks",
    "TextbookCleanup": "mmedc.textbooks",
    # websites
    "Crawler": "mmedc.web.crawl",
    "CrawlConfig": "mmedc.web.crawl",
    "CrawlToWarc": "mmedc.web.crawl",
    "HtmlExtractor": "mmedc.web.extract",
    "HtmlFolderReader": "mmedc.web.extract",
    "WarcHtmlReader": "mmedc.web.warc",
    # dedupe
    "DedupConfig": "mmedc.dedup",
    "MinhashSignatures": "mmedc.dedup",
    "MinhashBuckets": "mmedc.dedup",
    "MinhashClusters": "mmedc.dedup",
    "MinhashFilter": "mmedc.dedup",
    "BoilerplateRemover": "mmedc.dedup",
    # executors and statistics
    "make_executor": "mmedc.executors",
    "SparkPipelineExecutor": "mmedc.executors.spark",
    "corpus_stats": "mmedc.stats",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mmedc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
