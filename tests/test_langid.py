"""LanguageID: the six languages, the kana rule, thresholds, awkward inputs, evidence in metadata."""

from __future__ import annotations

import time

import pytest
from datatrove.data import Document

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
