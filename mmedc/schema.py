"""The mmedc output record, as a fixed pyarrow schema.

Every shard mmedc writes has exactly these columns, whatever metadata the documents carry, so shards
from different sources, runs and executors concatenate without schema merging (pyarrow, HF
``datasets``, Spark and DuckDB read them as one table).

Columns
-------
``id``            stable document id (source + hash, or path + page range)
``text``          the document text
``lang``          ISO 639-1 code from language ID (datatrove metadata key ``language``)
``lang_score``    language-ID confidence (datatrove key ``language_score``)
``source``        ``web`` | ``textbook`` | ``website`` | ``corpus``
``url``           URL or file path the text came from (may be empty)
``title``         title when known (may be empty)
``med_kw_count``  distinct medical keywords matched (null when the filter did not run)
``med_kw_density`` matched keyword characters / text characters (null when not run)
``metadata``      every other metadata key, as a JSON object string (types preserved by JSON)

Metadata values that blocks put on Documents should also suit datatrove's own writers (its
``ParquetWriter`` infers an Arrow type per key): scalars, lists of one type, dicts with fixed keys.
A list mixing types (``[["fever", 3]]``) is not; write it as a list of structs
(``[{"term": "fever", "count": 3}]``). :func:`arrow_unsafe_keys` names the keys that break that rule.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float32()),
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("med_kw_count", pa.int32()),
        pa.field("med_kw_density", pa.float32()),
        pa.field("metadata", pa.string()),
    ]
)

COLUMNS = SCHEMA.names
SOURCES = ("web", "textbook", "website", "corpus")

# metadata key in datatrove Documents -> column name in the schema
_PROMOTED = {
    "language": "lang",
    "language_score": "lang_score",
    "source": "source",
    "url": "url",
    "title": "title",
    "med_kw_count": "med_kw_count",
    "med_kw_density": "med_kw_density",
}
_COLUMN_TO_KEY = {v: k for k, v in _PROMOTED.items()}


def _json_default(obj: Any) -> Any:
    # numpy scalars, sets, datetimes: anything JSON cannot take is written as plain Python or str
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def document_to_record(doc) -> dict[str, Any]:
    """Turn a datatrove ``Document`` into a row dict matching :data:`SCHEMA`."""
    meta = dict(doc.metadata or {})
    row: dict[str, Any] = {"id": str(doc.id), "text": doc.text}
    for key, col in _PROMOTED.items():
        value = meta.pop(key, None)
        if value is not None:
            if col in ("lang_score", "med_kw_density"):
                value = float(value)
            elif col == "med_kw_count":
                value = int(value)
            else:
                value = str(value)
        row[col] = value
    row["metadata"] = json.dumps(meta, ensure_ascii=False, default=_json_default, sort_keys=True) if meta else "{}"
    return row


def record_to_document(row: dict[str, Any], path: str | None = None):
    """Inverse of :func:`document_to_record`: a row dict (from a shard) back to a ``Document``."""
    from datatrove.data import Document

    raw = row.get("metadata") or "{}"
    try:
        meta = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except json.JSONDecodeError:
        meta = {"metadata_raw": raw}
    for col, key in _COLUMN_TO_KEY.items():
        value = row.get(col)
        if value is not None:
            meta[key] = value
    if path is not None:
        meta.setdefault("file_path", path)
    return Document(text=row["text"], id=str(row["id"]), metadata=meta)


def arrow_unsafe_keys(metadata: dict[str, Any]) -> list[str]:
    """Metadata keys whose values pyarrow cannot type (mixed-type lists, ...): what datatrove's
    ``ParquetWriter`` would fail on. Empty when every value is fine."""
    bad = []
    for key, value in (metadata or {}).items():
        try:
            pa.array([value])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
            bad.append(key)
    return bad
