"""Decontamination: the vectorised units and hashes against a plain reference, benchmark files and
their field mapping, planted items (exact, reformatted, re-spaced, CJK) removed, near misses kept,
reports, tag mode, and an index that is memory-mapped and small."""

from __future__ import annotations

import copy
import csv
import json
import random
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from mmedc.decontam import (
    BenchmarkSpec,
    DecontamConfig,
    Decontaminate,
    DecontamIndex,
    batch_ngram_hashes,
    build_index,
    decontam_report,
    ngram_hashes,
    normalized_codepoints,
    read_benchmark,
    unit_hashes,
    unit_spans,
)
from mmedc.lang import CHAR_SCRIPT_RANGES

QUESTION = ("A 45-year-old man presents to the emergency department with crushing substernal chest pain radiating "
            "to his left arm for the past two hours. His blood pressure is 150/90 mm Hg. Which of the following "
            "is the most appropriate initial step in management?")
OPTIONS = {"A": "Aspirin and sublingual nitroglycerin", "B": "Intravenous heparin bolus",
           "C": "Coronary angiography", "D": "Oral metoprolol", "E": "Observation"}
ZH_QUESTION = "患者男性，五十岁，突发胸骨后压榨性疼痛两小时，向左上肢放射，血压一百五十比九十毫米汞柱，首选的初步处理是什么"
JA_QUESTION = "五十歳の男性が二時間前からの胸骨後部の締め付けられるような痛みを訴えて救急外来を受診した。最初に行うべき処置はどれか"
FILLER = ("The hospital library is open every weekday from nine until five, and visitors may borrow up to three "
          "books at a time after registering at the front desk with a valid identity card. ")

_UNIT_RE = re.compile(rf"[{CHAR_SCRIPT_RANGES}]|[^\s{CHAR_SCRIPT_RANGES}]+")


def reference_units(text: str) -> list[str]:
    """Plain-Python units with the same rules: NFKC, casefold, digits to 0, non-letters to spaces."""
    text = unicodedata.normalize("NFKC", text)
    out = []
    for ch in text:
        nf = unicodedata.normalize("NFKC", ch)
        nf = nf if len(nf) == 1 else ch
        low = nf.casefold() if len(nf.casefold()) == 1 else (nf.lower() if len(nf.lower()) == 1 else nf)
        cat = unicodedata.category(low)
        out.append("0" if cat == "Nd" else (low if cat[0] in "LMN" else " "))
    return _UNIT_RE.findall("".join(out))


@pytest.mark.parametrize("text", [
    "Hello,   WORLD!! 12 apples\tand ﬁsh", "Ｆｕｌｌ-width ＡＢＣ １２３", QUESTION, ZH_QUESTION, JA_QUESTION,
    "糖尿病(diabetes mellitus)は2型が多い。HbA1c 7.0%", "Гипертония — это болезнь", "", "   ...  ", "𠀀𠀁 x𠀂y",
])
def test_units_match_a_plain_python_reference(text):
    norm = unicodedata.normalize("NFKC", text)
    cp, solo = normalized_codepoints(norm)
    s, e = unit_spans(cp, solo)
    got = ["".join(map(chr, cp[a:b].tolist())) for a, b in zip(s, e)]
    assert got == reference_units(text)


def test_ngram_hashes_are_a_function_of_the_unit_sequence():
    a = unit_hashes("Alpha beta, GAMMA delta epsilon zeta eta theta iota kappa lambda mu nu xi.")
    b = unit_hashes("alpha\nbeta gamma   delta EPSILON zeta eta theta iota kappa lambda mu nu xi")
    assert len(a) == 14 and np.array_equal(a, b)
    h = ngram_hashes(a, 13)
    assert len(h) == 2 and h[0] != h[1]
    assert len(ngram_hashes(a[:12], 13)) == 0
    # same windows in another text give the same hashes
    c = unit_hashes("prefix words " + "beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi")
    assert ngram_hashes(c, 13)[-1] == h[1]


def test_batches_give_the_same_hashes_as_single_texts():
    rng = random.Random(1)
    vocab = [w for w in re.findall(r"\w+", QUESTION + " " + FILLER)]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))) for _ in range(30)]
    texts += [ZH_QUESTION, JA_QUESTION, "ｆｕｌｌ ｗｉｄｔｈ " * 10]
    sizes = [rng.choice([5, 13]) for _ in texts]
    h, d = batch_ngram_hashes(texts, sizes)
    for i, (t, n) in enumerate(zip(texts, sizes)):
        assert sorted(h[d == i].tolist()) == sorted(ngram_hashes(unit_hashes(t), n).tolist()), i


def _write_benchmarks(tmp_path):
    medqa = tmp_path / "medqa.jsonl"
    medqa.write_text(json.dumps({"question": QUESTION, "options": OPTIONS, "answer": "A"}) + "\n"
                     + json.dumps({"question": "Which vitamin deficiency causes scurvy in sailors on long voyages "
                                               "without fresh fruit or vegetables available on board?",
                                   "options": ["A", "B", "C"], "answer": "vitamin C"}) + "\n", encoding="utf-8")
    cmb = tmp_path / "cmb.csv"
    with cmb.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["question", "answer", "lang"])
        w.writeheader()
        w.writerow({"question": ZH_QUESTION, "answer": "阿司匹林", "lang": "zh"})
    igaku = tmp_path / "igaku.parquet"
    pq.write_table(pa.table({"q": [JA_QUESTION], "choices": [["アスピリン", "ヘパリン"]]}), igaku)
    return [BenchmarkSpec("medqa", str(medqa), fields=("question", "options", "answer")),
            BenchmarkSpec("cmb", str(cmb), fields=("question", "answer"), language_field="lang"),
            BenchmarkSpec("igakuqa", str(igaku), fields=("q", "choices"), language="ja")]


def _doc(i, text, source="web", lang=None):
    return Document(text=text, id=f"d{i}", metadata={"source": source, **({"language": lang} if lang else {})})


def test_planted_items_are_removed_and_near_misses_kept(tmp_path):
    specs = _write_benchmarks(tmp_path)
    summary = build_index(specs, tmp_path / "index")
    assert [b["items"] for b in summary["benchmarks"]] == [2, 1, 1]
    words = QUESTION.split()
    units = reference_units(QUESTION)
    reformatted = (FILLER + "\n\nQuestion 12.\n" + QUESTION.upper().replace(",", " ;").replace(".", " .")
                   + "\n(A) aspirin and sublingual nitroglycerin\n(B) intravenous heparin bolus\n" + FILLER)
    respaced = FILLER + "\n".join(" \t ".join(words[i:i + 3]) for i in range(0, len(words), 3)) + FILLER
    docs = [
        _doc(0, FILLER + QUESTION + " " + " ".join(OPTIONS.values()) + " " + FILLER),  # exact
        _doc(1, reformatted, source="website"),  # reformatted: case, punctuation, options as lines
        _doc(2, respaced),  # whitespace changed
        _doc(3, "医学考试真题：" + " ".join(ZH_QUESTION) + "。答案见下页。", source="corpus", lang="zh"),  # CJK, spaced out
        _doc(4, "問題：" + JA_QUESTION.replace("、", "　") + "。", source="textbook"),  # Japanese, no language tag
        _doc(5, FILLER + " ".join(units[:12]) + " and then he went home. " + FILLER),  # 12 words: near miss
        _doc(6, "A 45-year-old man presents with chest pain; aspirin and nitroglycerin are given first, then "
                "an electrocardiogram is recorded within ten minutes of arrival. " + FILLER),  # same topic
        _doc(7, " ".join(w if k % 10 else "changed" for k, w in enumerate(units))),  # a word changed every 10
        _doc(8, ZH_QUESTION[:12] + "，其他内容完全不同的一段中文文本，讲述医院图书馆的开放时间。", lang="zh"),  # 12 chars
    ]
    block = Decontaminate(tmp_path / "index", report_folder=tmp_path / "report", batch_size=4)
    kept = {d.id: d for d in block.run(copy.deepcopy(docs), 0, 1)}
    assert sorted(kept) == ["d5", "d6", "d7", "d8"]
    report = decontam_report(tmp_path / "report", tmp_path / "index")
    assert report["documents"] == 9 and report["contaminated"] == 5
    assert report["by_benchmark"]["medqa"] == {"documents": 3, "items_found": 1, "items": 2,
                                               "by_source": {"web": 2, "website": 1}}
    assert report["by_benchmark"]["cmb"]["by_source"] == {"corpus": 1}
    assert report["by_benchmark"]["igakuqa"]["by_source"] == {"textbook": 1}
    assert report["by_source"]["web"] == {"documents": 6, "contaminated": 2,
                                          "characters_removed": len(docs[0].text) + len(docs[2].text)}


def test_tag_mode_keeps_everything_with_evidence(tmp_path):
    build_index(_write_benchmarks(tmp_path), tmp_path / "index")
    docs = [_doc(0, FILLER + QUESTION), _doc(1, FILLER * 3)]
    out = list(Decontaminate(tmp_path / "index", mode="tag").run(docs, 0, 1))
    assert [d.id for d in out] == ["d0", "d1"]
    assert out[0].metadata["decontam_benchmarks"] == ["medqa"]
    assert out[0].metadata["decontam_matches"] == len(reference_units(QUESTION)) - 13 + 1
    assert "decontam_benchmarks" not in out[1].metadata


def test_min_matches_needs_that_many_distinct_ngrams(tmp_path):
    build_index(_write_benchmarks(tmp_path), tmp_path / "index", DecontamConfig(min_matches=3))
    units = reference_units(QUESTION)
    docs = [_doc(0, " ".join(units[:14]) + " " + FILLER), _doc(1, " ".join(units[:15]) + " " + FILLER)]
    kept = [d.id for d in Decontaminate(tmp_path / "index").run(docs, 0, 1)]
    assert kept == ["d0"]  # 2 shared 13-grams are below 3; 3 are enough


def test_template_ngrams_shared_by_many_items_are_not_evidence(tmp_path):
    template = "which of the following is the most likely diagnosis in this patient given the findings above"
    path = tmp_path / "exam.jsonl"
    rng = random.Random(0)
    with path.open("w") as f:
        for i in range(20):
            own = " ".join(rng.choice(["fever", "rash", "cough", "pain", "nausea", "edema", "itch"]) for _ in range(20))
            f.write(json.dumps({"text": f"case {i}: {own}. {template}"}) + "\n")
    summary = build_index([BenchmarkSpec("exam", str(path))], tmp_path / "index")
    assert summary["template_ngrams_dropped"] > 0
    docs = [_doc(0, FILLER + template + " " + FILLER)]
    assert [d.id for d in Decontaminate(tmp_path / "index").run(docs, 0, 1)] == ["d0"]


def test_benchmark_with_a_missing_field_names_file_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"question": "q", "answer": "a"}) + "\n" + json.dumps({"question": "q2"}) + "\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl: line 2: .*no field 'answer'"):
        list(read_benchmark(BenchmarkSpec("b", str(path), fields=("question", "answer"))))
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("question,answer\nq,a\n")
    with pytest.raises(ValueError, match=r"bad\.csv: line 2: .*no field 'options'"):
        build_index([BenchmarkSpec("c", str(csv_path), fields=("question", "options"))], tmp_path / "i")
    with pytest.raises(FileNotFoundError, match="nowhere.jsonl"):
        build_index([BenchmarkSpec("n", str(tmp_path / "nowhere.jsonl"))], tmp_path / "i")
    with pytest.raises(ValueError, match="unknown format"):
        BenchmarkSpec("x", str(tmp_path / "data.txt"))
    (tmp_path / "notjson.jsonl").write_text("{oops\n")
    with pytest.raises(ValueError, match=r"notjson\.jsonl: line 1: not JSON"):
        list(read_benchmark(BenchmarkSpec("j", str(tmp_path / "notjson.jsonl"))))


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.json missing"):
        list(Decontaminate(tmp_path / "none").run([_doc(0, "x")], 0, 1))


def test_bad_documents_pass_counted(tmp_path):
    build_index(_write_benchmarks(tmp_path), tmp_path / "index")
    block = Decontaminate(tmp_path / "index")
    docs = [Document(text=None, id="n", metadata={}), _doc(1, "")]
    assert [d.id for d in block.run(docs, 0, 1)] == ["n", "d1"]
    assert block.stats["bad_text"].total == 1


def test_a_million_ngram_index_is_small_and_memory_mapped(tmp_path):
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = np.array(["".join(rng.choice(letters, 7)) for _ in range(50_000)])
    path = tmp_path / "big.jsonl"
    with path.open("w") as f:
        for _ in range(10_000):  # 10k items x 113 13-grams ~ 1.1M n-grams
            f.write(json.dumps({"text": " ".join(rng.choice(words, 125))}) + "\n")
    summary = build_index([BenchmarkSpec("big", str(path))], tmp_path / "index")
    assert summary["ngrams"] >= 1_000_000
    size = sum(p.stat().st_size for p in (tmp_path / "index").iterdir())
    assert size < 2**30 and size < 40 * summary["ngrams"]
    idx = DecontamIndex(tmp_path / "index")
    assert isinstance(idx.ngrams, np.memmap) and isinstance(idx.bloom, np.memmap)
    assert np.all(idx.ngrams[1:] >= idx.ngrams[:-1])
