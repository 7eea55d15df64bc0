"""Existing corpora: field mapping over jsonl/CSV/Parquet, source and corpus name, language from the
data or from LanguageID, the optional medical check, bad input counted, missing input named."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmedc.corpora import CorpusLanguage, CorpusSpec, ExistingCorpusReader, check_spec, corpus_blocks

EN_MED = ("Hypertension is persistently raised arterial blood pressure. Treatment with antihypertensive drugs such "
          "as ACE inhibitors, diuretics and calcium channel blockers lowers the risk of stroke and myocardial "
          "infarction. Patients should reduce salt intake and have their blood pressure checked regularly.")
FR_MED = ("L'hypertension artérielle est une maladie chronique. Le traitement repose sur les diurétiques, les "
          "inhibiteurs de l'enzyme de conversion et la réduction du sel. Le patient doit consulter son médecin "
          "régulièrement pour surveiller sa tension artérielle et prévenir les complications cardiaques.")
EN_GENERAL = ("The city council approved the new budget for road repairs and public parks on Tuesday evening after "
              "a long debate about the cost of the bridge and the schedule of the works in the old town centre.")


def run(blocks):
    data = None
    for b in blocks:
        data = b.run(data, 0, 1) if data is not None else b.run(None, 0, 1)
    return list(data)


def test_jsonl_with_field_mapping_and_declared_language(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"body": EN_MED, "doc": 7, "lang": "en", "link": "https://x.org/a", "heading": "HTN", "year": 2020},
        {"body": FR_MED, "doc": 8, "lang": "fr-FR"},
        {"body": EN_MED, "doc": 9, "lang": "de"},
        "not an object", {"body": "", "doc": 10}]) + "\n{broken\n")
    spec = CorpusSpec("medwiki", str(path), fields={"text": "body", "id": "doc", "language": "lang", "url": "link",
                                                     "title": "heading"}, licence="CC BY-SA 4.0")
    reader = ExistingCorpusReader(spec)
    docs = run([reader, CorpusLanguage()])
    assert [d.id for d in docs] == ["medwiki/7", "medwiki/8"]
    m = docs[0].metadata
    assert (m["source"], m["corpus"], m["language"], m["language_source"]) == ("corpus", "medwiki", "en", "data")
    assert (m["url"], m["title"], m["year"], m["licence"]) == ("https://x.org/a", "HTN", 2020, "CC BY-SA 4.0")
    assert docs[1].metadata["language"] == "fr"
    assert reader.stats["bad_line"].total == 2 and reader.stats["empty"].total == 1


def test_csv_and_parquet_without_language_use_langid(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text('text,note\n"' + FR_MED + '",x\n"' + EN_GENERAL + '",y,extra\n')
    pq.write_table(pa.table({"text": [EN_MED, "?!"]}), tmp_path / "in" / "b.parquet")
    spec = CorpusSpec("mix", str(tmp_path / "in"))
    reader = ExistingCorpusReader(spec)
    lang = CorpusLanguage()
    docs = run([reader, lang])
    assert sorted(d.id for d in docs) == ["mix/a.csv/0", "mix/b.parquet/0"]
    assert {d.metadata["language"] for d in docs} == {"fr", "en"}
    assert all(d.metadata["language_source"] == "langid" and d.metadata["language_score"] > 0.5 for d in docs)
    assert reader.stats["bad_line"].total == 1  # the row with more cells than the header


def test_medical_check_and_fixed_language(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": EN_MED}) + "\n" + json.dumps({"text": EN_GENERAL}) + "\n")
    docs = run(corpus_blocks(CorpusSpec("news_and_med", str(path), language="eng", medical_check=True)))
    assert [d.text for d in docs] == [EN_MED]
    assert docs[0].metadata["language"] == "en" and docs[0].metadata["med_kw_count"] > 0
    assert len(run(corpus_blocks(CorpusSpec("all", str(path), language="en")))) == 2


def test_spec_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="exactly one of path or hub"):
        CorpusSpec("x")
    with pytest.raises(ValueError, match="unknown field 'body'"):
        CorpusSpec("x", str(tmp_path), fields={"body": "text"})
    with pytest.raises(FileNotFoundError, match="nowhere"):
        check_spec(CorpusSpec("x", str(tmp_path / "nowhere")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .parquet, .jsonl or .csv"):
        check_spec(CorpusSpec("x", str(tmp_path / "empty")))
    with pytest.raises(FileNotFoundError, match="matches no file"):
        check_spec(CorpusSpec("x", str(tmp_path / "empty" / "*.jsonl")))


def test_unreachable_hub_name_is_an_error_before_work(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match="'nobody/no-such-dataset' is unreachable or unknown"):
        check_spec(CorpusSpec("x", hub="nobody/no-such-dataset"))
