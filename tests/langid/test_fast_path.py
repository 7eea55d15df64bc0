"""The short-text path of LanguageID: same answers as the general path and as the rules it replaced.

Texts are generated (six languages, CJK, mixed script, empty, whitespace-only, newline-heavy); the
reference implementations below are the previous versions of the code, kept here to prove that the
faster code gives the same answers.
"""

from __future__ import annotations

import pickle
import random
import types

import pytest
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

import mmedc.langid as langid
from mmedc.lang import HAN_RE, KANA_RE, MMEDC_LANGUAGES, script_language
from mmedc.langid import LanguageID, load_model, predict_language

WORDS = {
    "en": "the patient was given a small dose of aspirin after the long walk in the park".split(),
    "fr": "nous avons passé une semaine très agréable au bord de la mer avec les enfants".split(),
    "es": "el médico recomendó descansar varios días y beber mucha agua durante el verano".split(),
    "ru": "врач посоветовал больному больше отдыхать и пить много воды летом".split(),
    "zh": list("医生建议病人多休息并且在夏天多喝水我们周末去了博物馆"),
    "ja": list("医者は患者にもっと休んで夏は水をたくさん飲むように勧めました週末は公園へ行きました"),
}
ODD = ["", " ", "\n", "\n\n\n", "\t", "123", "(3)", "—", "・", "゛", "COVID-19", "ＡＢＣ", "１２３", "。", "\u3000",
       "\ufa6e", "〇", "①", "😀", "Ⅷ", "ー", "ｶﾀｶﾅ"]


def generated_texts(n: int = 1500, seed: int = 0) -> list[str]:
    """Short texts of every kind the block meets, and some longer than one window."""
    rng = random.Random(seed)
    texts = ["", " ", "\n", " \n\t \n", "\n" * 50]
    for _ in range(n):
        kind = rng.random()
        langs = rng.sample(MMEDC_LANGUAGES, 2 if kind < 0.3 else 1)  # 30% mixed language / script
        parts = []
        for _ in range(rng.randint(1, 12)):
            lang = rng.choice(langs)
            word = rng.choice(WORDS[lang])
            if rng.random() < 0.2:
                word = word.capitalize() if rng.random() < 0.5 else word.upper()
            parts.append(word)
            if rng.random() < 0.15:
                parts.append(rng.choice(ODD))
        sep = "" if set(langs) <= {"zh", "ja"} else " "
        text = sep.join(parts)
        if rng.random() < 0.2:  # newline-heavy
            text = "\n".join(text[i : i + rng.randint(1, 8)] for i in range(0, len(text), 5))
        if rng.random() < 0.05:  # past one window: the general path on both sides
            text = (text + "\n") * (1000 // max(1, len(text)) + 2)
        texts.append(text)
    return texts


def old_script_language(text, sample_chars=5000, min_cjk_share=0.5, min_kana_share=0.05):
    """The zh/ja rule as first written (regex findall and a Python loop per character)."""
    sample = text[:sample_chars]
    kana = len(KANA_RE.findall(sample))
    han = len(HAN_RE.findall(sample))
    cjk = kana + han
    if cjk == 0:
        return None, 0.0
    letters = sum(1 for ch in sample if ch.isalpha())
    share = cjk / max(1, letters)
    if share < min_cjk_share:
        return None, share
    return ("ja" if kana >= min_kana_share * cjk else "zh"), share


def test_script_language_gives_the_answers_of_the_rule_it_replaced():
    rng = random.Random(1)
    pools = ["abcXYZ éàçœ", "приветмир", "的是不了人我在有他这国", "あいうえおをんカタカナヴー・゛゜ｦｱｰﾞﾟ",
             "\u3040\u3097\u3099\u309a\u309b\u30a0\u30fb\u31f0\ufa6e\ufa6f\ufada\ufaff\u4dbf\u9fff\u3400\uf900",
             "。、！？「」（）１２３　", "0123456789 ,.;\n\t", "〇一二三①²½Ⅷ", "\U00020000\U0002a6d6😀"]
    for _ in range(20000):
        chars = "".join(rng.sample(pools, rng.randint(1, 4)))
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 80)))
        sample_chars = rng.choice([3, 40, 400, 5000])
        kana_share = rng.choice([0.0, 0.05, 0.5])
        assert script_language(text, sample_chars, 0.5, kana_share) == old_script_language(
            text, sample_chars, 0.5, kana_share), text
    for text in generated_texts(300):
        assert script_language(text, 400) == old_script_language(text, 400)


def test_block_fast_path_gives_the_answers_of_predict_language():
    block = LanguageID()
    for text in generated_texts():
        doc = Document(text=text, id="x")
        block.filter(doc)
        lang, score = predict_language(text, prefer=block.languages)
        assert (doc.metadata["language"], doc.metadata["language_score"]) == (lang, score), repr(text)


class CountingModel:
    """The real model, counting calls to its C++ ``predict``."""

    def __init__(self):
        real = load_model()
        self.calls: list[tuple[str, int]] = []

        def predict(line, k, threshold, mode):
            self.calls.append((line, k))
            return real.f.predict(line, k, threshold, mode)

        self.f = types.SimpleNamespace(predict=predict)


def test_all_han_or_kana_lines_skip_the_model_with_the_same_answer(monkeypatch):
    """A line whose letters are all Han or kana scored ``min(1, max(model's CJK labels, share))`` with
    share >= 1: 1.0 whatever the model says, so the model is not asked."""
    model = CountingModel()
    monkeypatch.setattr(langid, "load_model", lambda model_path=None: model)
    for text in ["周末我们去了市中心的博物馆，看了很多书画。", "週末は家族と公園へ行きました。", "２０２０年、東京。", "广西壮族自治区"]:
        model.calls.clear()
        fixed, share = script_language(text, 400)
        assert share >= 1.0
        assert predict_language(text) == (fixed, 1.0) and model.calls == []
    # a long document whose middle window starts with Han/kana letters only: decided there, no model
    page = "Cookie settings: accept all. " * 40 + "周末我们去了市中心的博物馆，看了很多书画。\n" * 200
    model.calls.clear()
    assert predict_language(page) == ("zh", 1.0) and model.calls == []
    # Latin letters among the Han: the model is read, and its CJK labels give the score
    text = "新型冠状病毒COVID-19疫苗接种"
    model.calls.clear()
    lang, score = predict_language(text)
    fixed, share = script_language(text, 400)
    assert share < 1.0 and len(model.calls) == 1 and lang == fixed == "zh"
    preds = load_model().f.predict(text + "\n", 3, 0.0, "strict")
    cjk = sum(p for p, label in preds if label[9:] in ("zh", "ja", "yue", "wuu"))
    assert score == min(1.0, max(cjk, share))


def test_unsure_short_capitalised_lines_get_a_second_lowercased_reading(monkeypatch):
    model = CountingModel()
    monkeypatch.setattr(langid, "load_model", lambda model_path=None: model)
    wanted = set(MMEDC_LANGUAGES)
    # title case tilts lid.176 to Italian, English, Catalan; lowercased, the words decide
    for text, lang in (("Quoi De Neuf, Les Amis?", "fr"), ("Val-De-Marne Ouest (4)", "fr"),
                       ("La Casa De Papel", "es")):
        model.calls.clear()
        top = load_model().f.predict(text + "\n", 1, 0.0, "strict")[0]
        assert top[0] < langid.UNSURE and top[1] != f"__label__{lang}"
        got, score = predict_language(text, prefer=wanted)
        assert got == lang and 0 < score < 1
        assert [k for _, k in model.calls] == [1, langid.SECOND_LOOK_K, langid.SECOND_LOOK_K]
        assert model.calls[2][0] == text.lower() + "\n"
    # a sure line is read once; an unsure line without capitals or a long line is not read again lowercased
    model.calls.clear()
    predict_language("Bonjour tout le monde, quelle belle journée.", prefer=wanted)
    assert model.calls == [("Bonjour tout le monde, quelle belle journée.\n", 1)]
    text = "val de marne ouest (4)"
    assert load_model().f.predict(text + "\n", 1, 0.0, "strict")[0][0] < langid.UNSURE
    model.calls.clear()
    predict_language(text, prefer=wanted)
    assert model.calls == [(text + "\n", 1)]
    text = ("Val-De-Marne Ouest (4) " * 10).strip()
    assert len(text) > langid.SHORT_TEXT
    model.calls.clear()
    predict_language(text, prefer=wanted)
    assert model.calls[0] == (text + "\n", 1) and all(line != text.lower() + "\n" for line, _ in model.calls)


def test_the_average_of_two_readings():
    first = [(0.4, "__label__en"), (0.3, "__label__fr")]
    second = [(0.6, "__label__fr"), (0.1, "__label__it")]
    assert langid._average(first, second) == [
        pytest.approx((0.45, "__label__fr")), pytest.approx((0.2, "__label__en")), pytest.approx((0.05, "__label__it"))]


class Counter(PipelineStep):
    name = "counter"

    def run(self, data, rank=0, world_size=1):
        yield from data


def test_language_counters_equal_datatrove_stat_update():
    block = LanguageID(languages=None, threshold=0.0)
    expected = Counter()
    texts = [t for t in generated_texts(400, seed=3) if t.strip()]
    for text in texts:
        doc = Document(text=text, id="x")
        block.filter(doc)
        expected.stat_update(f"lang_{doc.metadata['language']}")
    got = {k: v for k, v in block.stats.to_dict()["stats"].items() if k.startswith("lang_")}
    want = {k: v for k, v in expected.stats.to_dict()["stats"].items() if k.startswith("lang_")}
    assert got == want and sum(want.values()) == len(texts)
    for key in want:  # the whole MetricStats, not only the total
        assert vars(block.stats[key]) == vars(expected.stats[key])
    # a fresh Stats object (datatrove resets or merges them) is counted into, not the old one
    block.stats = type(block.stats)(block.stats.name)
    block.filter(Document(text=texts[0], id="y"))
    assert sum(v for k, v in block.stats.to_dict()["stats"].items() if k.startswith("lang_")) == 1


def test_block_pickles_for_worker_processes():
    block = LanguageID(languages=["en", "fr"])
    block.filter(Document(text="The weather was lovely today.", id="a"))
    clone = pickle.loads(pickle.dumps(block))
    doc = Document(text="Nous avons passé une semaine au bord de la mer.", id="b")
    assert clone.filter(doc) is True and doc.metadata["language"] == "fr"
    assert clone.stats["lang_fr"].total == 1 and clone.stats["lang_en"].total == 1
