"""Metadata that every datatrove writer accepts: the checker and the struct form it recommends."""

from __future__ import annotations

import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.writers import ParquetWriter

from mmedc.schema import arrow_unsafe_keys, document_to_record, record_to_document


def test_arrow_unsafe_keys_names_mixed_lists_only():
    meta = {"med_kw_top": [["fever", 3], ["cough", 1]], "ok_list": [1, 2], "ok": "x",
            "structs": [{"term": "fever", "count": 3}]}
    assert arrow_unsafe_keys(meta) == ["med_kw_top"]


def test_struct_lists_go_through_datatrove_parquet_writer_and_ours(tmp_path):
    docs = [Document(text=f"doc {i}", id=f"d{i}", metadata={
        "med_kw_top": [{"term": "fever", "count": i + 1}, {"term": "cough", "count": 1}], "language": "en"})
        for i in range(3)]
    assert not any(arrow_unsafe_keys(d.metadata) for d in docs)
    with ParquetWriter(str(tmp_path / "dt")) as w:
        for d in docs:
            w.write(d, rank=0)
    table = pq.read_table(str(tmp_path / "dt"))
    assert table.num_rows == 3
    assert table.column("metadata").to_pylist()[2]["med_kw_top"][0] == {"term": "fever", "count": 3}
    back = record_to_document(document_to_record(docs[1]))
    assert back.metadata["med_kw_top"] == docs[1].metadata["med_kw_top"]


def test_keyword_filter_output_goes_through_datatrove_parquet_writer(tmp_path):
    from mmedc.keywords import MedicalKeywordFilter

    text = ("Type 2 diabetes mellitus: insulin resistance and hyperglycemia. Metformin is the first-line drug; "
            "monitor HbA1c, renal function and blood pressure. Complications include nephropathy and retinopathy. ") * 3
    docs = [Document(text=text, id=f"m{i}", metadata={"language": "en"}) for i in range(2)]
    kept = list(MedicalKeywordFilter(languages=["en"]).run(iter(docs)))
    assert kept and not any(arrow_unsafe_keys(d.metadata) for d in kept)
    with ParquetWriter(str(tmp_path / "dt")) as w:
        for d in kept:
            w.write(d, rank=0)
    top = pq.read_table(str(tmp_path / "dt")).column("metadata").to_pylist()[0]["med_kw_top"]
    assert top[0]["term"] and top[0]["count"] >= 1
