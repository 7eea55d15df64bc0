"""Existing medical corpora (MMedC's fourth source): any Parquet/jsonl/CSV files or Hugging Face dataset
mapped into the mmedc schema with ``source = "corpus"`` and the corpus name.

    CorpusSpec -> ExistingCorpusReader (files) | HuggingFaceDatasetReader (hub name)
               -> CorpusLanguage (language from the data, else LanguageID)
               -> [MedicalKeywordFilter]  (optional: for corpora that are not medical throughout)

A field mapping names the input columns holding the text, the id, the language, the URL and the
title (``{"text": "body", "language": "lang"}``); every other column is kept in ``metadata``. The
corpus name goes to ``metadata["corpus"]`` and its licence, when given, to ``metadata["licence"]``
(the build's dataset card lists both). Ids are ``<corpus>/<id column>`` (or ``<corpus>/<file>/<row>``)
so they are unique across corpora and stable between runs.

Bad input is counted and logged by the reader, never fatal (see :mod:`mmedc.io.readers`), with one
more reason for CSV: ``bad_line`` for a row with more cells than the header.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from mmedc.io.readers import JSONL_SUFFIXES, PARQUET_SUFFIXES, CorpusReader, split_input
from mmedc.lang import MMEDC_LANGUAGES, normalize_language

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
FIELD_KEYS = ("text", "id", "language", "url", "title")
_META_KEY = {"language": "language", "url": "url", "title": "title"}


@dataclass
class CorpusSpec:
    """One existing corpus.

    Args:
        name: the corpus name (``metadata["corpus"]``, the card's source list).
        path: file, folder or glob of ``.parquet``/``.jsonl``(``.gz``)/``.csv`` files (local or fsspec URL).
        hub: a Hugging Face dataset name instead of ``path`` (read with ``datasets``; ``split``, ``subset``).
        fields: input column for each of ``text`` (default ``"text"``), ``id``, ``language``, ``url``, ``title``.
        language: the language of every document (when the data has no language column).
        languages: languages to keep.
        langid_threshold: minimum LanguageID confidence for documents whose language is not in the data.
        medical_check: run the medical keyword filter (off: the corpus is medical throughout).
        licence: the corpus licence, for the dataset card.
    """

    name: str
    path: str | None = None
    hub: str | None = None
    split: str = "train"
    subset: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    language: str | None = None
    languages: Sequence[str] = MMEDC_LANGUAGES
    langid_threshold: float = 0.5
    medical_check: bool = False
    licence: str | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"corpus name {self.name!r}: give a non-empty name without '/'")
        if (self.path is None) == (self.hub is None):
            raise ValueError(f"corpus {self.name!r}: give exactly one of path or hub")
        if self.path is not None:
            self.path = os.fspath(self.path)
        unknown = sorted(set(self.fields) - set(FIELD_KEYS))
        if unknown:
            raise ValueError(f"corpus {self.name!r}: unknown field {unknown[0]!r} (known: {', '.join(FIELD_KEYS)})")
        if self.language is not None:
            self.language = normalize_language(self.language)

    def column(self, key: str) -> str | None:
        """The input column mapped to ``key`` (``text`` and ``id`` default to their own names)."""
        return self.fields.get(key, "text" if key == "text" else ("id" if key == "id" else None))


class ExistingCorpusReader(CorpusReader):
    """:class:`~mmedc.io.readers.CorpusReader` plus CSV, a field mapping and the corpus name.

    Writes ``source = "corpus"``, ``corpus``, and ``language``/``url``/``title`` from their mapped columns.
    """

    name = "📚 Existing corpus"

    def __init__(self, spec: CorpusSpec, limit: int = -1, **kwargs: Any):
        folder, glob = split_input(spec.path)
        super().__init__(folder, glob_pattern=glob, text_key=spec.column("text"), id_key=spec.column("id"),
                         source="corpus", limit=limit, **kwargs)
        self.spec = spec

    def _make_document(self, row: dict[str, Any], filepath: str, index: int) -> Document | None:
        has_id = row.get(self.id_key) is not None
        mapped = {key: row.pop(col, None) for key, col in
                  ((k, self.spec.column(k)) for k in _META_KEY) if col}
        doc = super()._make_document(row, filepath, index)
        if doc is None:
            return None
        doc.id = f"{self.spec.name}/{doc.id}" if has_id else f"{self.spec.name}/{filepath}/{index}"
        for key, value in mapped.items():
            if value not in (None, ""):
                doc.metadata[_META_KEY[key]] = str(value)
        if self.spec.language and not doc.metadata.get("language"):
            doc.metadata["language"] = self.spec.language
        doc.metadata["corpus"] = self.spec.name
        if self.spec.licence:
            doc.metadata["licence"] = self.spec.licence
        return doc

    def _read_csv(self, filepath: str) -> Iterator[Document]:
        delimiter = "\t" if ".tsv" in filepath.lower() else ","
        with self.data_folder.open(filepath, "rb", compression="infer") as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""), delimiter=delimiter)
            if reader.fieldnames is None or self.text_key not in reader.fieldnames:
                raise ValueError(f"no {self.text_key!r} column (columns: {', '.join(reader.fieldnames or [])})")
            for index, row in enumerate(reader):
                if None in row:  # more cells than the header
                    self.stat_update("bad_line")
                    logger.warning(f"{filepath}: line {index + 2}: {len(row[None])} cells more than the header; skipped")
                    continue
                doc = self._make_document(dict(row), filepath, index)
                if doc is not None:
                    yield doc

    def read_file(self, filepath: str) -> Iterator[Document]:
        if filepath.lower().endswith(CSV_SUFFIXES):
            try:
                yield from self._read_csv(filepath)
            except Exception as e:  # noqa: BLE001 - one bad file is that file's, not the run's
                self.stat_update("bad_file")
                logger.error(f"{filepath}: unreadable, rest of the file skipped: {type(e).__name__}: {e}")
            return
        yield from super().read_file(filepath)


def hub_reader(spec: CorpusSpec, limit: int = -1) -> PipelineStep:
    """datatrove's ``HuggingFaceDatasetReader`` for ``spec.hub`` with the same mapping and metadata."""
    from datatrove.pipeline.readers import HuggingFaceDatasetReader

    text_col, id_col = spec.column("text"), spec.column("id")

    def adapter(self, data: dict, path: str, id_in_file: int | str) -> dict:
        data = dict(data)
        text = data.pop(text_col, None)
        ident = data.pop(id_col, None)
        meta: dict[str, Any] = {}
        for key, meta_key in _META_KEY.items():
            col = spec.column(key)
            if col and data.get(col) not in (None, ""):
                meta[meta_key] = str(data.pop(col))
        for k, v in data.items():
            if v is not None:
                meta["origin" if k == "source" else k] = v if isinstance(v, (str, int, float, bool)) else str(v)
        if spec.language and not meta.get("language"):
            meta["language"] = spec.language
        meta.update(source="corpus", corpus=spec.name, **({"licence": spec.licence} if spec.licence else {}))
        return {"text": text, "id": f"{spec.name}/{ident if ident is not None else id_in_file}", "metadata": meta}

    options = {"split": spec.split, **({"name": spec.subset} if spec.subset else {})}
    return HuggingFaceDatasetReader(spec.hub, dataset_options=options, streaming=True, limit=limit, adapter=adapter)


class CorpusLanguage(PipelineStep):
    """Language from the data where it has one (``language_source = "data"``), else from LanguageID
    (``"langid"``, with its confidence threshold); documents outside ``languages`` are dropped
    (``not_wanted``), as are those LanguageID cannot place (``low_confidence``, ``empty``)."""

    name = "🌍 Corpus language"
    type = "🔻 - FILTER"

    def __init__(self, languages: Sequence[str] | None = MMEDC_LANGUAGES, threshold: float = 0.5):
        super().__init__()
        self.languages = set(languages) if languages is not None else None
        self.threshold = threshold

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from mmedc.langid import predict_language

        for doc in data:
            with self.track_time():
                declared = normalize_language(doc.metadata.get("language"))
                if declared:
                    doc.metadata["language"] = declared
                    doc.metadata["language_source"] = "data"
                else:
                    lang, score = predict_language(doc.text, prefer=self.languages)
                    doc.metadata.update(language=lang, language_score=round(score, 4), language_source="langid")
                    if not lang:
                        self.stat_update("dropped_empty")
                        continue
                    if score < self.threshold:
                        self.stat_update("dropped_low_confidence")
                        continue
                lang = doc.metadata["language"]
                if self.languages is not None and lang not in self.languages:
                    self.stat_update("dropped_not_wanted")
                    continue
                self.stat_update(f"lang_{lang}", f"from_{doc.metadata['language_source']}")
            yield doc


def corpus_blocks(spec: CorpusSpec, limit: int = -1, exclusion_writer=None) -> list[PipelineStep]:
    """The reading and checking blocks of one existing corpus (add a writer after them)."""
    reader = hub_reader(spec, limit) if spec.hub else ExistingCorpusReader(spec, limit=limit)
    blocks: list[PipelineStep] = [reader, CorpusLanguage(spec.languages, spec.langid_threshold)]
    if spec.medical_check:
        from mmedc.keywords import MedicalKeywordFilter

        blocks.append(MedicalKeywordFilter(exclusion_writer=exclusion_writer))
    return blocks


def check_spec(spec: CorpusSpec) -> None:
    """Fail before any work when the input is missing: a path that matches no file, a hub name the
    Hugging Face Hub does not know (or cannot be reached to confirm)."""
    if spec.path is not None:
        import fsspec

        folder, glob = split_input(spec.path)
        fs, root = fsspec.core.url_to_fs(folder)
        if not fs.exists(root):
            raise FileNotFoundError(f"corpus {spec.name!r}: {spec.path} does not exist")
        if glob and not fs.glob(f"{root.rstrip('/')}/{glob}"):
            raise FileNotFoundError(f"corpus {spec.name!r}: {spec.path} matches no file")
        if fs.isdir(root) and not glob and not any(
                f.lower().endswith(PARQUET_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES) for f in fs.find(root)):
            raise FileNotFoundError(f"corpus {spec.name!r}: no .parquet, .jsonl or .csv file under {spec.path}")
        return
    try:
        from huggingface_hub import HfApi

        HfApi().dataset_info(spec.hub, timeout=10)
    except ImportError as e:
        raise ImportError(f"corpus {spec.name!r}: reading {spec.hub!r} from the Hub needs `pip install mmedc[train]` "
                          "(datasets, huggingface_hub)") from e
    except Exception as e:  # noqa: BLE001 - any failure means the name cannot be used
        raise ValueError(f"corpus {spec.name!r}: Hugging Face dataset {spec.hub!r} is unreachable or unknown "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from e
