"""Raw-web quality filters: junk dropped with its reason, prose kept with the filters it passed,
FineWeb-2's per-language settings, languages without a word segmenter passed on and counted."""

from __future__ import annotations

import copy

import pytest
from datatrove.data import Document

from mmedc.quality import (
    FINEWEB2_SETTINGS,
    RegexWordTokenizer,
    WebQualityFilter,
    language_filters,
    quality_blocks,
    quality_options,
)

PROSE_EN = (
    "Asthma is a long-term condition that affects the airways, the tubes that carry air in and out of the lungs. "
    "People with asthma have airways that are sensitive and become inflamed when they meet a trigger, such as "
    "pollen, smoke, cold air or a chest infection. The muscles around the airways tighten, the lining swells and "
    "sticky mucus builds up, which makes it harder to breathe.\n"
    "The usual symptoms are wheezing, a tight chest, shortness of breath and coughing, and they are often worse "
    "at night or early in the morning. A doctor makes the diagnosis from the history and from breathing tests "
    "that measure how much air a person can blow out and how fast.\n"
    "Most people control their asthma well with a preventer inhaler taken every day and a reliever inhaler kept "
    "for attacks. An action plan agreed with the nurse explains what to do when symptoms get worse and when to "
    "call for help. Regular reviews check the inhaler technique and whether the treatment can be reduced.\n"
)
PROSE_FR = (
    "L'asthme est une maladie chronique des bronches qui touche les enfants comme les adultes. Les voies "
    "respiratoires sont enflammées et se resserrent au contact de certains facteurs, comme le pollen, la fumée "
    "de tabac, le froid ou une infection respiratoire. Les symptômes sont la toux, les sifflements et la gêne "
    "respiratoire, souvent la nuit.\n"
    "Le diagnostic repose sur l'interrogatoire du patient et sur les épreuves fonctionnelles respiratoires. Le "
    "traitement de fond associe des corticoïdes inhalés pris chaque jour, et un bronchodilatateur est utilisé en "
    "cas de crise. Le médecin explique au patient comment utiliser son inhalateur et quand consulter en urgence.\n"
)
REPEATED = "\n".join(["Buy cheap pills online now! Best price guaranteed!"] * 40)
MENU = "\n".join(["Home", "About", "Contact", "Login", "Cart", "Shop", "FAQ", "Blog"] * 10)


def doc(text: str, lang: str, i: int = 0) -> Document:
    return Document(text=text, id=f"d{i}", metadata={"language": lang})


def test_junk_is_dropped_with_its_reason_and_prose_kept_with_evidence():
    block = WebQualityFilter()
    docs = [doc(PROSE_EN, "en", 0), doc(REPEATED, "en", 1), doc(MENU, "en", 2), doc(PROSE_FR, "fr", 3)]
    kept = {d.id: d for d in block.run(copy.deepcopy(docs), 0, 1)}
    assert sorted(kept) == ["d0", "d3"]
    assert kept["d0"].metadata["quality_filters"] == "gopher_repetition,fineweb,gopher_quality,c4"
    assert kept["d3"].metadata["quality_filters"] == "gopher_repetition,fineweb,gopher_quality"  # no C4 outside English
    dropped = [k for k in block.stats.stats if str(k).startswith("dropped_")]
    assert dropped and any("gopher_repetition" in str(k) for k in dropped)


def test_dropped_documents_carry_the_reason_to_the_exclusion_writer():
    written = []

    class Sink:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def write(self, d, rank=0):
            written.append(d)

    list(WebQualityFilter(exclusion_writer=Sink()).run([doc(REPEATED, "en")], 0, 1))
    assert written[0].metadata["quality_reason"].startswith("gopher_repetition:")
    assert written[0].metadata["filter_reason"] == written[0].metadata["quality_reason"]


def test_fineweb2_settings_are_used_per_language():
    names = dict(language_filters("es", quality_options(True)))
    assert set(names) == {"gopher_repetition", "fineweb", "gopher_quality"}
    s = FINEWEB2_SETTINGS["es"]
    assert names["gopher_quality"].min_avg_word_length == s["min_avg_word_length"] == 4
    assert names["gopher_quality"].stop_words == set(s["stopwords"])
    assert names["fineweb"].line_punct_thr == s["line_punct_thr"]
    assert names["gopher_repetition"].dup_line_frac == s["dup_line_frac"]
    en = dict(language_filters("en", quality_options(True)))
    assert en["gopher_quality"].min_avg_word_length == 3 and "c4" in en  # FineWeb English = datatrove defaults
    # French prose without French stop words fails the French Gopher check
    stripped = " ".join(w for w in PROSE_FR.split() if w.lower() not in FINEWEB2_SETTINGS["fr"]["stopwords"])
    out = list(WebQualityFilter().run([doc(PROSE_FR, "fr", 0), doc(stripped, "fr", 1)], 0, 1))
    assert [d.id for d in out] == ["d0"]


def test_languages_without_a_segmenter_pass_and_are_counted():
    import importlib.util

    if importlib.util.find_spec("spacy") and importlib.util.find_spec("jieba"):
        pytest.skip("a Chinese segmenter is installed here")
    block = WebQualityFilter()
    out = list(block.run([doc("高血压是一种常见的慢性疾病。" * 20, "zh")], 0, 1))
    assert len(out) == 1 and block.stats["skipped_no_segmenter"].total == 1


def test_options():
    assert quality_options({"c4": False}) == {"gopher_repetition": True, "fineweb": True, "gopher_quality": True,
                                              "c4": False}
    assert quality_blocks(False) == []
    with pytest.raises(ValueError, match="unknown filter 'bert'"):
        quality_options({"bert": True})
    tok = RegexWordTokenizer("en")
    assert tok.word_tokenize("Don't stop, it's fine.") == ["Don't", "stop", ",", "it's", "fine", "."]
    assert tok.sent_tokenize("One. Two!\nThree") == ["One.", "Two!", "Three"]
