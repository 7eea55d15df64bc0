"""The bundled multilingual web sample: its paragraphs, and the generator's files."""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.parquet as pq
import pytest

from mmedc.samples import web as make_web
from mmedc.samples.web import (
    COLUMNS,
    KINDS,
    LANGUAGES,
    StableRandom,
    build_web_rows,
    load_paragraphs,
    make_web_sample,
)

HIRAGANA = re.compile(r"[\u3040-\u309f]")
KANA = re.compile(r"[\u3040-\u30ff]")
HAN = re.compile(r"[\u4e00-\u9fff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[A-Za-zÀ-ÿ]")
# common characters that exist only in traditional script (their simplified forms differ)
TRADITIONAL = set("們這國醫藥療體學時會說過當為與發經長開間場還對點無應該")


# -- the paragraphs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGUAGES)
def test_paragraph_files_are_complete_and_in_bounds(lang):
    paras = load_paragraphs(lang)
    assert set(paras) == set(KINDS)
    assert len(paras["medical"]) >= 14
    assert len(paras["general"]) >= 14
    assert len(paras["hard_general"]) >= 8
    for items in paras.values():
        for text in items:
            assert 250 <= len(text) <= 600, text[:40]
            assert text == text.strip() and "\n" not in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_paragraphs_are_written_in_their_language_and_script(lang):
    for kind, items in load_paragraphs(lang).items():
        for text in items:
            where = f"{lang}/{kind}: {text[:30]!r}"
            if lang == "zh":
                assert not KANA.search(text), where
                assert len(HAN.findall(text)) > 0.6 * len(text), where
                assert not TRADITIONAL & set(text), f"traditional characters in {where}"
            elif lang == "ja":
                assert len(HIRAGANA.findall(text)) > 0.2 * len(text), where
                assert len(HAN.findall(text)) > 0.15 * len(text), where
            elif lang == "ru":
                assert len(CYRILLIC.findall(text)) > 0.6 * len(text), where
            else:
                assert len(LATIN.findall(text)) > 0.6 * len(text), where
                assert not CYRILLIC.search(text) and not HAN.search(text), where


def test_no_paragraph_is_shared_between_languages():
    seen: dict[str, str] = {}
    for lang in LANGUAGES:
        for items in load_paragraphs(lang).values():
            for text in items:
                assert text not in seen, f"{lang} repeats a {seen.get(text)} paragraph"
                seen[text] = lang


def test_paragraphs_are_identified_as_their_language():
    langid = pytest.importorskip("mmedc.langid")
    wrong = []
    for lang in LANGUAGES:
        for kind, items in load_paragraphs(lang).items():
            for i, text in enumerate(items):
                got, score = langid.predict_language(text)
                if got != lang or score < 0.5:
                    wrong.append(f"{lang}/{kind}[{i}] -> {got} {score:.2f}")
    assert not wrong, wrong


def _write_json(folder: Path, lang: str, data) -> Path:
    path = folder / f"{lang}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_bad_paragraph_files_are_refused_with_the_file_named(tmp_path):
    good = load_paragraphs("en")
    short = {**good, "general": good["general"][:-1] + ["Too short to be a web paragraph."]}
    _write_json(tmp_path, "en", short)
    with pytest.raises(ValueError, match=r"en\.json: general\[13\] has 32 characters"):
        load_paragraphs("en", tmp_path)

    _write_json(tmp_path, "fr", {"medical": good["medical"], "general": good["general"]})
    with pytest.raises(ValueError, match=r"fr\.json: 'hard_general' must be a non-empty list"):
        load_paragraphs("fr", tmp_path)

    dup = {**good, "hard_general": good["hard_general"] + [good["medical"][0]]}
    _write_json(tmp_path, "es", dup)
    with pytest.raises(ValueError, match=r"es\.json: hard_general\[8\] is a duplicate"):
        load_paragraphs("es", tmp_path)

    (tmp_path / "ru.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ru\.json: not a UTF-8 JSON file"):
        load_paragraphs("ru", tmp_path)

    with pytest.raises(FileNotFoundError, match=r"zh\.json"):
        load_paragraphs("zh", tmp_path)


# -- the rows -----------------------------------------------------------------------------------------
def test_rows_are_deterministic_for_a_seed():
    a = build_web_rows(docs_per_lang=30, seed=3)
    b = build_web_rows(docs_per_lang=30, seed=3)
    assert a == b
    c = build_web_rows(docs_per_lang=30, seed=4)
    assert [r["id"] for r in a] != [r["id"] for r in c]
    assert {r["text"] for r in a} != {r["text"] for r in c}


def test_stable_random_is_pinned():
    # built on random.Random.random() only, whose sequence Python keeps across versions:
    # if this changes, every sample id changes with it
    rng = StableRandom(0)
    assert [rng.below(100) for _ in range(5)] == [84, 75, 42, 25, 51]
    items = list(range(6))
    StableRandom(1).shuffle(items)
    assert sorted(items) == list(range(6)) and items != list(range(6))


def test_rows_cover_languages_labels_kinds_and_bad_rows():
    rows = build_web_rows()  # the defaults the demo uses
    assert len(rows) == 6 * 60 + 3
    assert {r["label_lang"] for r in rows} == set(LANGUAGES)
    by = collections.Counter((r["label_lang"], r["label"]) for r in rows if r["label"] != "bad")
    for lang in LANGUAGES:
        assert by[(lang, "medical")] >= 25 and by[(lang, "general")] >= 25
    kinds = collections.Counter(r["kind"] for r in rows)
    assert set(kinds) == {"medical", "general", "hard_general", "mixed", "bad"}
    assert kinds["hard_general"] >= 30 and kinds["mixed"] == 6 * 4
    bad = [r["text"] for r in rows if r["label"] == "bad"]
    assert "" in bad and None in bad and any(t and not t.strip() for t in bad)
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"] for r in rows if r["label"] != "bad"}) == len(rows) - 3
    # no two documents are made of the same paragraphs, even in another order
    assert len({frozenset(r["text"].split("\n")) for r in rows if r["label"] != "bad"}) == len(rows) - 3


def test_documents_are_built_from_paragraphs_of_their_kind():
    rows = build_web_rows(docs_per_lang=40, seed=7)
    for r in rows:
        if r["label"] == "bad":
            continue
        paras = load_paragraphs(r["label_lang"])
        medical = set(paras["medical"])
        general = set(paras["general"])
        hard = set(paras["hard_general"])
        parts = r["text"].split("\n")
        assert len(set(parts)) == len(parts), "a paragraph repeated inside one document"
        n_med = sum(p in medical for p in parts)
        assert all(p in medical | general | hard for p in parts)
        if r["kind"] == "medical":
            assert r["label"] == "medical" and 2 <= len(parts) <= 5 and n_med == len(parts)
        elif r["kind"] == "mixed":
            assert r["label"] == "general" and 4 <= len(parts) <= 6 and n_med == 1
        elif r["kind"] == "hard_general":
            assert r["label"] == "general" and 2 <= len(parts) <= 4 and all(p in hard for p in parts)
        else:
            assert r["kind"] == "general" and r["label"] == "general" and 2 <= len(parts) <= 5 and n_med == 0


def test_rows_look_like_culturax():
    for r in build_web_rows(docs_per_lang=20):
        url = urlparse(r["url"])
        assert url.scheme == "https" and url.netloc.startswith("www.example-") and url.path.endswith(".html")
        ts = dt.datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        assert dt.datetime(2016, 1, 1) <= ts <= dt.datetime(2023, 3, 31)
        assert r["source"] == "mC4" or r["source"].startswith("OSCAR-")


def test_language_subset_and_bad_arguments():
    rows = build_web_rows(docs_per_lang=10, languages=["ja", "ru"], bad_rows=False)
    assert len(rows) == 20 and {r["label_lang"] for r in rows} == {"ja", "ru"}
    with pytest.raises(ValueError, match="de"):
        build_web_rows(languages=["en", "de"])
    with pytest.raises(ValueError, match="docs_per_lang"):
        build_web_rows(docs_per_lang=0)


# -- the files -------------------------------------------------------------------------------------------
def test_parquet_files_are_zstd_deterministic_and_complete(tmp_path):
    paths = make_web_sample(tmp_path / "a", docs_per_lang=20, seed=1, files=3)
    again = make_web_sample(tmp_path / "b", docs_per_lang=20, seed=1, files=3)
    assert [p.name for p in paths] == [f"web_sample_{i:05d}.parquet" for i in range(3)]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [p.name for p in paths]  # no temp files left
    tables = [pq.read_table(p) for p in paths]
    for p, q in zip(paths, again):
        assert pq.read_table(p).equals(pq.read_table(q))
    for t in tables:
        assert t.column_names == list(COLUMNS)
    meta = pq.ParquetFile(paths[0]).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    rows = [row for t in tables for row in t.to_pylist()]
    assert rows == build_web_rows(docs_per_lang=20, seed=1)
    assert abs(len(tables[0]) - len(tables[-1])) <= 1


def test_jsonl_variant_holds_the_same_rows(tmp_path):
    paths = make_web_sample(tmp_path, docs_per_lang=15, seed=2, files=2, fmt="jsonl")
    assert [p.suffix for p in paths] == [".jsonl", ".jsonl"]
    rows = []
    for p in paths:
        raw = p.read_bytes()
        raw.decode("utf-8")  # strict UTF-8
        rows += [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert rows == build_web_rows(docs_per_lang=15, seed=2)
    assert "病" in paths[0].read_text(encoding="utf-8") + paths[1].read_text(encoding="utf-8")  # not \u-escaped


def test_rewrite_replaces_an_earlier_sample(tmp_path):
    make_web_sample(tmp_path, docs_per_lang=10, files=4)
    (tmp_path / "notes.txt").write_text("keep me")
    make_web_sample(tmp_path, docs_per_lang=10, files=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "web_sample_00000.parquet",
                                                         "web_sample_00001.parquet"]
    with pytest.raises(ValueError, match="fmt"):
        make_web_sample(tmp_path, fmt="csv")
    with pytest.raises(ValueError, match="files=1000"):
        make_web_sample(tmp_path, docs_per_lang=10, files=1000)


def test_command_line(tmp_path, capsys):
    assert make_web.main([str(tmp_path), "--docs-per-lang", "8", "--files", "2", "--languages", "en,zh"]) == 0
    out = capsys.readouterr().out
    assert "19 documents: 8 medical, 8 general" in out and "3 bad rows" in out and "\nzh " in out
    assert len(list(tmp_path.glob("web_sample_*.parquet"))) == 2
    with pytest.raises(SystemExit):
        make_web.main([str(tmp_path), "--languages", "xx"])


def test_module_runs_as_a_script(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mmedc.samples.web", str(tmp_path), "--docs-per-lang", "4", "--files", "1",
         "--format", "jsonl"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "web_sample_00000.jsonl").read_text(encoding="utf-8").splitlines()) == 6 * 4 + 3


def test_corpus_reader_skips_the_bad_rows(tmp_path):
    readers = pytest.importorskip("mmedc.io.readers")
    make_web_sample(tmp_path, docs_per_lang=10, files=2)
    reader = readers.CorpusReader(str(tmp_path), glob_pattern="*.parquet")
    docs = list(reader.run())
    assert len(docs) == 6 * 10
    assert {d.metadata["label_lang"] for d in docs} == set(LANGUAGES)
    assert {d.metadata["origin"] for d in docs} <= {"mC4", "OSCAR-2019", "OSCAR-2109", "OSCAR-2201", "OSCAR-2301"}
    assert len({d.id for d in docs}) == len(docs) and all(d.id.startswith("web-") for d in docs)
    assert reader.stats["empty"].total + reader.stats["non_string_text"].total == 3


def test_own_paragraphs_and_a_pool_too_small_for_distinct_documents(tmp_path):
    en = load_paragraphs("en")
    small = {"medical": en["medical"][:3], "general": en["general"][:3], "hard_general": en["hard_general"][:2]}
    _write_json(tmp_path, "en", small)
    rows = build_web_rows(docs_per_lang=4, languages=["en"], bad_rows=False, data_dir=tmp_path)
    assert {p for r in rows for p in r["text"].split("\n")} <= {p for v in small.values() for p in v}
    with pytest.raises(ValueError, match="too many for the en paragraphs"):
        build_web_rows(docs_per_lang=20, languages=["en"], data_dir=tmp_path)
