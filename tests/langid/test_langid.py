"""LanguageID: the six languages, the kana rule, thresholds, awkward inputs, evidence in metadata."""

from __future__ import annotations

import time
import types

import pytest
from datatrove.data import Document

from mmedc.lang import MMEDC_LANGUAGES
from mmedc.langid import LanguageID, predict_language, script_correction

SAMPLES = {
    "en": "The weather was lovely and we walked along the river until the sun went down behind the hills.",
    "fr": "Nous avons passé l'après-midi au marché, puis nous sommes rentrés à pied par les petites rues du quartier.",
    "es": "El domingo fuimos al mercado del pueblo y después comimos con toda la familia en la casa de mis abuelos.",
    "ru": "В воскресенье мы гуляли по парку, а вечером вся семья собралась за большим столом у бабушки.",
    "zh": "周末我们去了市中心的博物馆，看了很多古代的书画作品，然后在附近的小饭馆吃了晚饭。",
    "ja": "週末は家族と一緒に近くの公園へ行き、お弁当を食べながらゆっくりと桜を見て過ごしました。",
}


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_six_languages(lang):
    got, score = predict_language(SAMPLES[lang])
    assert got == lang
    assert 0.5 < score <= 1.0


def test_kana_means_japanese_and_han_alone_means_chinese():
    # mostly kanji with a little kana: Japanese
    assert script_correction("届出者数は26％増の51万5168人。", "zh")[0] == "ja"
    # Han without kana: Chinese, even if the model said Japanese
    assert script_correction("国家统计局今天发布了最新的人口数据报告。", "ja")[0] == "zh"
    # Latin text is not touched
    assert script_correction("Hello there, general", "en") == ("en", 0.0)
    assert predict_language("東京都の感染者数は前週比で減少した。")[0] == "ja"


def test_newlines_and_long_documents_are_bounded():
    text = "\n\n".join([SAMPLES["fr"]] * 20000)  # ~2 MB, many newlines
    t = time.perf_counter()
    lang, _ = predict_language(text)
    assert lang == "fr"
    assert time.perf_counter() - t < 2.0  # three windows, not the whole text


def test_block_writes_metadata_and_filters_with_reasons():
    block = LanguageID(languages=["en", "fr"], threshold={"default": 0.5, "fr": 1.01})
    docs = [
        Document(text=SAMPLES["en"], id="en"),
        Document(text=SAMPLES["fr"], id="fr"),  # below its (very strict) threshold
        Document(text=SAMPLES["ru"], id="ru"),  # not wanted
        Document(text="   \n ", id="empty"),
    ]
    kept = list(block.run(iter(docs)))
    assert [d.id for d in kept] == ["en"]
    assert kept[0].metadata["language"] == "en" and kept[0].metadata["language_score"] > 0.5
    s = block.stats.to_dict()["stats"]
    assert s["dropped_low_confidence"] == 1 and s["dropped_not_wanted"] == 1 and s["dropped_empty"] == 1
    assert docs[2].metadata["language"] == "ru"  # evidence kept on dropped documents too


def test_annotate_only_keeps_everything():
    block = LanguageID(languages=None, threshold=0.0)
    kept = list(block.run(iter([Document(text=SAMPLES[x], id=x) for x in SAMPLES])))
    assert {d.metadata["language"] for d in kept} == set(SAMPLES)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        LanguageID(model_path=str(tmp_path / "nope.bin"))


def test_long_document_is_judged_on_its_middle_window_when_the_model_is_sure(monkeypatch):
    import mmedc.langid as langid

    calls: list[str] = []
    real = langid._raw_predict

    def counting(model, line, k):
        calls.append(line)
        return real(model, line, k)

    monkeypatch.setattr(langid, "_raw_predict", counting)
    # an English cookie banner opens a French page: the middle window decides, in one call
    page = "Accept all cookies to continue browsing. " * 30 + (SAMPLES["fr"] + "\n") * 40
    lang, score = predict_language(page)
    assert (lang, len(calls)) == ("fr", 1) and score >= 0.9
    # an uncertain middle brings in the start and end windows, averaged
    calls.clear()
    mixed = (SAMPLES["en"] + " ") * 12 + "Ile-de-France Est (3) " * 40 + (SAMPLES["en"] + " ") * 12
    assert predict_language(mixed)[0] == "en" and len(calls) == 3
    # newlines are flattened only inside the window that is read
    assert all("\n" not in line and len(line) <= 1000 for line in calls)


def test_script_rule_is_the_one_in_mmedc_lang():
    from mmedc.lang import script_language

    for text in ("届出者数は26％増の51万5168人。", "国家统计局今天发布了最新的人口数据报告。"):
        assert script_correction(text, "xx")[0] == script_language(text)[0]
    # a Chinese sentence the compressed model alone calls another language is Chinese
    assert predict_language("广西壮族自治区")[0] == "zh"


def test_default_thresholds_are_per_language():
    from mmedc.langid import LANGUAGE_THRESHOLDS

    block = LanguageID()
    assert block.thresholds == {k: v for k, v in LANGUAGE_THRESHOLDS.items() if k != "default"}
    assert block.default_threshold == LANGUAGE_THRESHOLDS["default"]
    assert set(MMEDC_LANGUAGES) <= set(block.thresholds)
    assert all(0.5 <= v < 1 for v in block.thresholds.values())
    # a confident sentence of each language passes its own threshold
    for lang, text in SAMPLES.items():
        assert block.filter(Document(text=text, id=lang)) is True, lang


def test_short_line_over_predicted_labels_give_way_to_a_wanted_language(monkeypatch):
    """lid.176 calls some short lines Cebuano, Esperanto or Latin; a wanted runner-up wins over those
    labels only (not over Portuguese), and only on short lines."""
    import mmedc.langid as langid

    answers = {"ceb": [(0.63, "__label__ceb"), (0.26, "__label__es"), (0.03, "__label__it")],
               "pt": [(0.63, "__label__pt"), (0.26, "__label__es"), (0.03, "__label__gl")]}
    top = {"now": "ceb"}

    class Fake:  # stands for the fastText model: .f.predict(line, k, threshold, on_unicode_error)
        f = types.SimpleNamespace(predict=lambda line, k, threshold, mode: answers[top["now"]][:k])

    monkeypatch.setattr(langid, "load_model", lambda model_path=None: Fake)
    wanted = {"es", "en"}
    assert predict_language("Cada unidad tiene su nombre.", prefer=wanted) == ("es", 0.26)
    assert predict_language("Cada unidad tiene su nombre.", prefer=None)[0] == "ceb"
    assert predict_language("Cada unidad tiene su nombre. " * 10, prefer=wanted)[0] == "ceb"  # not short
    top["now"] = "pt"
    assert predict_language("Cada unidade tem o seu nome.", prefer=wanted)[0] == "pt"  # a real language


def test_lone_surrogates_are_judged_as_replacement_characters_and_counted():
    """fastText takes no lone surrogate (a JSON "\\ud800" kept by a reader): the text is judged with
    U+FFFD in its place, short and long alike, and the block counts it either way."""
    line = "Le patient a été hospitalisé pour une pneumonie \ud800 sévère."
    fixed = line.replace("\ud800", "\ufffd")
    assert predict_language(line) == predict_language(fixed)
    long = " ".join([line] * 60)
    assert predict_language(long) == predict_language(long.replace("\ud800", "\ufffd"))
    block = LanguageID()
    doc = Document(text=line, id="s")
    assert block.filter(doc) is True and doc.metadata["language"] == "fr"
    assert block.stats.to_dict()["stats"]["repaired_surrogates"] == 1
    block = LanguageID()
    assert block.filter(Document(text=long, id="l")) is True
    assert block.stats.to_dict()["stats"]["repaired_surrogates"] == 1
