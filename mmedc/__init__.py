"""mmedc: build multilingual medical pretraining corpora and continue pretraining on them.

The blocks are datatrove ``PipelineStep``s, importable flat from here::

    from mmedc import CorpusReader, LanguageID, MedicalKeywordFilter, ShardedParquetWriter

Names are imported on first use, so ``import mmedc`` stays light (no torch, no pyspark).
"""

from __future__ import annotations

from mmedc._lazy import lazy_exports

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
    "DeclareLanguage": "mmedc.langid",
    "LanguageCheck": "mmedc.langid",
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
    # the whole corpus: existing corpora, raw-web quality, decontamination, the build
    "ExistingCorpusReader": "mmedc.corpora",
    "CorpusSpec": "mmedc.corpora",
    "WebQualityFilter": "mmedc.quality",
    "Decontaminate": "mmedc.decontam",
    "BenchmarkSpec": "mmedc.decontam",
    "build_index": "mmedc.decontam",
    "run_build": "mmedc.recipes.build",
    # evaluation
    "evaluate": "mmedc.eval",
    # executors and statistics
    "make_executor": "mmedc.executors",
    "SparkPipelineExecutor": "mmedc.executors.spark",
    "corpus_stats": "mmedc.stats",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
