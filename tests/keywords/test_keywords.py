"""Tests of the medical keyword lists, the matcher and MedicalKeywordFilter (texts written here)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datatrove.data import Document

import mmedc.keywords as kw
from mmedc.keywords import (
    SUPPORTED_LANGUAGES,
    KeywordMatcher,
    MedicalKeywordFilter,
    load_keyword_list,
    load_thresholds,
    parse_keyword_list,
    score_text,
)

EN_MEDICAL = (
    "A 54-year-old man with type 2 diabetes mellitus and hypertension presented to the emergency "
    "department with chest pain and dyspnea. The electrocardiogram showed ST elevation and troponin "
    "was raised; acute myocardial infarction was diagnosed. He received aspirin, clopidogrel and "
    "heparin and underwent percutaneous coronary intervention with a stent. Metformin was continued."
)
EN_GENERAL = (
    "The city council approved the new budget on Tuesday after a long debate about road repairs, "
    "school buses and the summer festival. Residents asked for more parking near the market square, "
    "and the mayor promised a decision before the holidays."
)


def terms(text: str, lang: str) -> set[str]:
    return {t for t, _ in score_text(text, lang, top_k=100).top_terms}


# ---- shipped lists ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_shipped_lists_parse_with_categories_and_sources(lang):
    kl = load_keyword_list(lang)
    assert len(kl.terms) >= 800, f"{lang}: only {len(kl.terms)} terms"
    cats = kl.categories
    assert {"anatomy"} <= set(cats) and len(cats) >= 8
    assert all(n > 0 for n in cats.values())
    header = (kw.KEYWORD_DIR / f"{lang}.txt").read_text(encoding="utf-8")[:1500].lower()
    assert "mesh" in header and ("icd-10" in header or "cim-10" in header or "cie-10" in header or "мкб-10" in header)


def test_thresholds_cover_every_language():
    table = load_thresholds()
    assert set(table) == set(SUPPORTED_LANGUAGES)
    for count, density in table.values():
        assert count >= 1 and 0 < density < 1


# ---- matching --------------------------------------------------------------------------------


def test_english_scores_and_case_insensitivity():
    s = score_text(EN_MEDICAL, "en")
    assert s.count >= 12 and s.density > 0.1
    upper = score_text(EN_MEDICAL.upper(), "en")
    assert (upper.count, upper.occurrences, upper.matched_chars) == (s.count, s.occurrences, s.matched_chars)
    g = score_text(EN_GENERAL, "en")
    assert g.count == 0 and g.density == 0.0


def test_word_boundaries_and_plurals_en():
    assert "colon" not in terms("Colonization of Mars and colonial history.", "en")
    assert "colon" in terms("A tumour of the colon was found.", "en")
    # automatic plural, counted as the same distinct keyword
    s = score_text("Two strokes and one stroke.", "en")
    assert s.count == 1 and s.occurrences == 2
    # hyphen and punctuation are boundaries
    assert terms("(diabetes), hypertension; insulin.", "en") == {"diabetes", "hypertension", "insulin"}
    # leftmost-longest: the phrase wins over its first word
    assert terms("high blood pressure readings", "en") == {"blood pressure"}


def test_density_is_matched_characters_over_text_length():
    text = "Insulin and glucagon."
    s = score_text(text, "en")
    assert s.count == 2 and s.occurrences == 2
    assert s.matched_chars == len("insulin") + len("glucagon")
    assert s.density == pytest.approx(s.matched_chars / len(text))


@pytest.mark.parametrize(
    "text, term",
    [
        ("Пациент перенёс инфаркт миокарда.", "инфаркт"),
        ("Причиной смерти стал обширный инфаркт. После инфаркта больному назначили терапию.", "инфаркт"),
        ("Лечение рака лёгкого включает химиотерапию.", "рак"),
        ("Les hépatites virales sont fréquentes.", "hépatite"),
        ("Les patients diabétiques reçoivent de l'insuline.", "diabétique"),
        ("Los tumores cerebrales y los pacientes diabéticos.", "tumor"),
        ("Los pacientes diabéticos reciben insulina.", "diabétic"),
    ],
)
def test_inflected_forms(text, term):
    lang = "ru" if any("а" <= ch <= "я" for ch in text.lower()) else ("fr" if "Les" in text else "es")
    assert term in terms(text, lang)


def test_russian_case_forms_are_one_keyword_and_short_stems_do_not_overmatch():
    s = score_text("инфаркт, инфаркта, инфарктом, инфаркте", "ru")
    assert s.count == 1 and s.occurrences == 4
    # explicit forms of рак: ракета (rocket) and раковина (sink) must not count
    assert terms("Ракета стартовала, а раковина на кухне протекла.", "ru") == set()
    assert "рак" in terms("Рак желудка выявлен рано.", "ru")
    # a word family counts once: медицина, медицинский
    s = score_text("Медицина и медицинская помощь.", "ru")
    assert s.occurrences == 2 and s.count == 1
    # коренной перелом (turning point) is not a fracture; перелом шейки бедра is
    assert terms("В войне наступил коренной перелом.", "ru") == set()
    assert terms("Перелом шейки бедра.", "ru") != set()


def test_cjk_term_inside_longer_ordinary_word_does_not_count():
    assert terms("作为一名音响发烧友，我很喜欢黑胶唱片。", "zh") == set()
    assert "发烧" in terms("孩子发烧三天，体温三十九度。", "zh")
    assert terms("我的电脑中了计算机病毒。", "zh") == set()
    assert {"病毒性", "肺炎"} <= terms("医生诊断为病毒性肺炎。", "zh")
    assert terms("途中风景很美，这里是中风险地区。", "zh") == set()
    assert terms("明日もがんばろう。コンピュータウイルスに注意。", "ja") == set()
    assert {"胃がん", "手術", "患者"} <= terms("胃がんの手術を受けた患者", "ja")
    assert terms("外来語の辞書と外来種の魚", "ja") == set()


def test_latin_parts_of_cjk_terms_keep_word_boundaries():
    assert terms("这个project很有意思", "zh") == set()
    assert "ct检查" in terms("医生建议做CT检查。", "zh")


def test_both_engines_give_identical_scores(monkeypatch):
    pytest.importorskip("ahocorasick_rs")
    texts = {"en": EN_MEDICAL, "zh": "患者因胸痛入院，心电图提示急性心肌梗死，给予阿司匹林治疗。", "ru": "Инфаркт миокарда и рак желудка."}
    fast = {lang: score_text(t, lang, top_k=20) for lang, t in texts.items()}
    monkeypatch.setenv("MMEDC_KEYWORD_ENGINE", "pyahocorasick")
    for lang, t in texts.items():
        m = KeywordMatcher(load_keyword_list(lang), frozenset(kw.load_context_categories()))
        assert m.engine.name == "pyahocorasick"
        assert m.score(t, top_k=20) == fast[lang]


def test_very_long_document_is_fast_and_linear():
    unit = EN_MEDICAL + " " + EN_GENERAL + " "
    big = unit * (5_000_000 // len(unit))
    one = score_text(unit, "en")
    t0 = time.perf_counter()
    s = score_text(big, "en")
    assert time.perf_counter() - t0 < 30
    reps = len(big) // len(unit)
    assert s.count == one.count and s.occurrences == one.occurrences * reps


def test_empty_text_scores_zero():
    s = score_text("", "en")
    assert (s.count, s.density, s.text_chars) == (0, 0.0, 0)


# ---- list format -----------------------------------------------------------------------------


def test_list_format_braces_stems_blockers_and_errors(tmp_path):
    kl = parse_keyword_list(
        "# == diseases ==\nрак{,а,у} # explicit forms\nинфаркт*\n!ракетный рак\n# == drugs ==\nаспирин\n", "ru"
    )
    assert kl.terms == ["рак", "инфаркт", "аспирин"]
    assert kl.entries[0].forms == ("рак", "рака", "раку")
    assert kl.entries[1].stem and kl.entries[2].blocker
    assert kl.categories == {"diseases": 2, "drugs": 1}
    # alternatives are literal: a leading space makes a phrase
    assert parse_keyword_list("перелом{ кости, бедра}\n", "ru").entries[0].forms == ("перелом кости", "перелом бедра")
    with pytest.raises(ValueError, match=r"bad\.txt:2: .*shorter than 2"):
        parse_keyword_list("心脏\n心\n", "zh", "bad.txt")
    with pytest.raises(ValueError, match="stems need word boundaries"):
        parse_keyword_list("心脏*\n", "zh")
    with pytest.raises(FileNotFoundError, match="no keyword list for language 'xx'"):
        load_keyword_list("xx")


def write_custom_lists(folder: Path) -> Path:
    folder.mkdir()
    (folder / "en.txt").write_text("# == t ==\ninsulin\nglucagon\nmetformin\n!insulin pump museum\n", "utf-8")
    (folder / "thresholds.json").write_text(json.dumps({"thresholds": {"en": {"min_count": 2, "min_density": 0.05}}}))
    return folder


def test_custom_keyword_dir_and_blockers(tmp_path):
    folder = write_custom_lists(tmp_path / "lists")
    assert score_text("Insulin and metformin.", "en", keyword_dir=folder).count == 2
    # the blocker phrase consumes "insulin" without counting it
    assert score_text("The insulin pump museum", "en", keyword_dir=folder).count == 0


# ---- the filter ------------------------------------------------------------------------------


def run_filter(flt: MedicalKeywordFilter, docs: list[Document]) -> list[Document]:
    return list(flt.run(iter(docs)))


def test_filter_keeps_medical_drops_general_and_writes_evidence():
    flt = MedicalKeywordFilter()
    docs = [
        Document(text=EN_MEDICAL, id="med", metadata={"language": "en"}),
        Document(text=EN_GENERAL, id="gen", metadata={"language": "en"}),
        Document(text="医生诊断为病毒性肺炎，给予抗生素治疗，患者住院一周后出院。", id="zh", metadata={"language": "zh-CN"}),
    ]
    kept = run_filter(flt, docs)
    assert [d.id for d in kept] == ["med", "zh"]
    med = kept[0].metadata
    assert med["med_kw_count"] >= 12 and med["med_kw_density"] > 0.1
    assert med["med_kw_top"][0]["count"] >= 1 and all(isinstance(t["term"], str) for t in med["med_kw_top"])
    assert docs[1].metadata["med_kw_count"] == 0  # dropped documents keep their evidence too
    assert flt.stats["dropped_too_few_keywords"].total == 1
    assert flt.stats["forwarded"].total == 2


def test_thresholds_decide(tmp_path):
    folder = write_custom_lists(tmp_path / "lists")
    flt = MedicalKeywordFilter(keyword_dir=folder)
    assert flt.thresholds == {"en": (2, 0.05)}
    one = Document(text="insulin " * 10, id="1", metadata={"language": "en"})
    dense = Document(text="Insulin and glucagon.", id="2", metadata={"language": "en"})
    sparse = Document(text="Insulin and glucagon. " + "x" * 500, id="3", metadata={"language": "en"})
    assert flt.filter(one) == (False, "too_few_keywords")
    assert flt.filter(dense) is True
    assert flt.filter(sparse) == (False, "low_density")
    # per-call overrides
    assert MedicalKeywordFilter(keyword_dir=folder, min_density=0.001).filter(sparse) is True
    assert MedicalKeywordFilter(keyword_dir=folder, thresholds={"en": (1, 0.0)}).filter(one) is True


def test_language_handling():
    text = EN_MEDICAL
    flt = MedicalKeywordFilter()
    assert flt.filter(Document(text=text, id="a", metadata={"language": "de"})) == (False, "unsupported_language")
    assert flt.filter(Document(text=text, id="b", metadata={})) == (False, "no_language")
    keep = MedicalKeywordFilter(unknown_language="keep")
    doc = Document(text=text, id="c", metadata={"language": "de"})
    assert keep.filter(doc) is True and "med_kw_count" not in doc.metadata
    assert MedicalKeywordFilter(default_language="en").filter(Document(text=text, id="d", metadata={})) is True
    forced = MedicalKeywordFilter(language="en")
    assert forced.filter(Document(text=text, id="e", metadata={"language": "fr"})) is True
    with pytest.raises(ValueError, match="unknown_language"):
        MedicalKeywordFilter(unknown_language="maybe")
    with pytest.raises(FileNotFoundError, match="no keyword list"):
        MedicalKeywordFilter(languages=["xx"])


def test_empty_and_invalid_documents_are_counted():
    flt = MedicalKeywordFilter()
    docs = [
        Document(text="   \n", id="empty", metadata={"language": "en"}),
        Document(text=None, id="none", metadata={"language": "en"}),  # type: ignore[arg-type]
    ]
    assert run_filter(flt, docs) == []
    assert flt.stats["dropped_empty"].total == 1
    assert flt.stats["dropped_invalid_text"].total == 1


def test_filter_pickles_without_automaton_and_scores_the_same():
    flt = MedicalKeywordFilter(languages=["en", "zh"])
    doc = Document(text=EN_MEDICAL, id="x", metadata={"language": "en"})
    flt.filter(doc)  # builds the automaton in this process
    matcher = kw.get_matcher("en")
    assert "engine" in matcher.__dict__
    clone = pickle.loads(pickle.dumps(matcher))
    assert "engine" not in clone.__dict__
    assert clone.score(EN_MEDICAL) == matcher.score(EN_MEDICAL)
    payload = pickle.dumps(flt)
    code = (
        "import pickle, sys\n"
        "from datatrove.data import Document\n"
        "flt = pickle.loads(sys.stdin.buffer.read())\n"
        f"d = Document(text={EN_MEDICAL!r}, id='x', metadata={{'language': 'en'}})\n"
        "print(flt.filter(d), d.metadata['med_kw_count'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, check=True)
    assert out.stdout.decode().split() == ["True", str(doc.metadata["med_kw_count"])]


def test_exclusion_writer_keeps_dropped_documents_with_reason(tmp_path):
    from datatrove.pipeline.writers import JsonlWriter

    flt = MedicalKeywordFilter(exclusion_writer=JsonlWriter(str(tmp_path / "rejected"), compression=None))
    docs = [
        Document(text=EN_MEDICAL, id="med", metadata={"language": "en"}),
        Document(text=EN_GENERAL, id="gen", metadata={"language": "en"}),
    ]
    assert [d.id for d in run_filter(flt, docs)] == ["med"]
    rows = [json.loads(line) for f in (tmp_path / "rejected").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert [(r["id"], r["metadata"]["filter_reason"]) for r in rows] == [("gen", "too_few_keywords")]


def test_coverage_rejects_general_page_with_one_medical_paragraph():
    general = " ".join([EN_GENERAL] * 6)  # ~1,400 characters of council news
    page = general + "\n\n" + EN_MEDICAL
    flt = MedicalKeywordFilter(languages=["en"], min_density=0.02)
    doc = Document(text=page, id="mixed", metadata={"language": "en"})
    assert flt.filter(doc) == (False, "low_coverage")
    assert 0 < doc.metadata["med_kw_coverage"] < 0.5 and doc.metadata["med_kw_density"] >= 0.02
    assert MedicalKeywordFilter(languages=["en"], min_density=0.02, min_coverage=0).filter(doc) is True
    # a medical document as long as the page is covered everywhere
    long_medical = Document(text=" ".join([EN_MEDICAL] * 5), id="med", metadata={"language": "en"})
    assert flt.filter(long_medical) is True and long_medical.metadata["med_kw_coverage"] == 1.0
    s = score_text(page, "en")
    assert s.passes(4, 0.02) and not s.passes(4, 0.02, 0.5)


SIX_LANGUAGES = {
    "en": (
        EN_MEDICAL,
        "What a stroke of luck: the computer virus that hit the council last week went viral online, and "
        "the mayor promised new laptops, better passwords and a training day for every clerk in the town hall.",
    ),
    "fr": (
        "Une patiente de 67 ans, diabétique et hypertendue, consulte aux urgences pour une douleur thoracique "
        "et une dyspnée. L'électrocardiogramme montre un sus-décalage du segment ST et la troponine est élevée. "
        "Le diagnostic d'infarctus du myocarde est posé ; elle reçoit de l'aspirine, du clopidogrel et de "
        "l'héparine avant une angioplastie coronaire. La metformine est poursuivie.",
        "Au sein de la rédaction, une quarantaine de journalistes préparent le numéro spécial sur le foie gras "
        "et les vins du Sud-Ouest ; le chef a pris en grippe les photographes qui ratent la lumière du soir.",
    ),
    "es": (
        "Paciente de 58 años con diabetes mellitus tipo 2 e hipertensión arterial que acude a urgencias por "
        "dolor torácico y disnea. El electrocardiograma muestra elevación del ST y la troponina está elevada. "
        "Se diagnostica un infarto agudo de miocardio y se administran aspirina, clopidogrel y heparina antes "
        "de la angioplastia coronaria. Se mantiene el tratamiento con metformina.",
        "Corea del Sur ganó el partido gracias a un gol en el último minuto. Los aficionados, sin una gota de "
        "paciencia, celebraron en la plaza, y el entrenador dijo que el viaje le había costado un riñón al club.",
    ),
    "ru": (
        "Пациентка 64 лет с сахарным диабетом 2 типа и артериальной гипертензией поступила с жалобами на боль "
        "в груди и одышку. На электрокардиограмме подъём сегмента ST, уровень тропонина повышен. Диагностирован "
        "острый инфаркт миокарда; назначены аспирин, клопидогрел и гепарин, выполнена коронарная ангиопластика "
        "со стентированием. Лечение метформином продолжено.",
        "Ракета стартовала точно по расписанию, и в истории программы наступил коренной перелом. Инженеры "
        "лихорадочно проверяли данные, а стационарный телефон в центре управления звонил не переставая.",
    ),
    "zh": (
        "患者，男，62岁，因突发胸痛伴大汗2小时急诊入院。既往有高血压和糖尿病病史。心电图提示前壁ST段抬高，"
        "肌钙蛋白升高，诊断为急性心肌梗死。给予阿司匹林、氯吡格雷和肝素抗栓治疗，并行经皮冠状动脉介入治疗，"
        "植入支架一枚。术后继续口服二甲双胍控制血糖，定期门诊随访。",
        "作为一名音响发烧友，我这周末去了城市的心脏地带逛唱片店。途中风景很美，可惜手机中了计算机病毒，"
        "令人头痛。晚上和朋友吃了火锅，聊起了新上映的电影和明年的旅行计划。",
    ),
    "ja": (
        "62歳男性。突然の胸痛と冷汗を主訴に救急外来を受診した。高血圧と糖尿病の既往がある。心電図でST上昇を"
        "認め、トロポニンが上昇しており、急性心筋梗塞と診断した。アスピリン、クロピドグレル、ヘパリンを投与し、"
        "経皮的冠動脈インターベンションでステントを留置した。退院後もメトホルミンの内服を継続している。",
        "明日もがんばろう。弦楽カルテットの演奏会の帰りに、外来語の辞書を買った。コンピュータウイルスに"
        "注意するよう会社からメールが届き、週末はブダペストの夜景の写真を整理した。",
    ),
}


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_each_language_keeps_medical_and_drops_ordinary_text_with_traps(lang):
    medical, ordinary = SIX_LANGUAGES[lang]
    flt = MedicalKeywordFilter()
    med = Document(text=medical, id="m", metadata={"language": lang})
    gen = Document(text=ordinary, id="g", metadata={"language": lang})
    assert flt.filter(med) is True, med.metadata
    assert flt.filter(gen) == (False, "too_few_keywords"), gen.metadata
    assert gen.metadata["med_kw_count"] == 0, gen.metadata["med_kw_top"]


# ---- the package split and its engines -------------------------------------------------------


def test_scores_unchanged_by_the_package_split():
    """Scores recorded with the single-module implementation (before ``mmedc.keywords`` became a
    package and the per-match work was shortened): every field must stay the same, both engines."""
    rows = json.loads((Path(__file__).parent / "scores_before_split.json").read_text(encoding="utf-8"))
    assert len(rows) >= 20
    for row in rows:
        s = kw.get_matcher(row["lang"]).score(row["text"], top_k=20, window_bytes=120, window_density=0.02)
        got = [s.count, s.occurrences, s.matched_chars, s.text_chars, s.coverage, [list(t) for t in s.top_terms]]
        want = [row[k] for k in ("count", "occurrences", "matched_chars", "text_chars", "coverage", "top_terms")]
        assert got == want, row["text"][:60]


def test_fallback_engine_is_used_when_ahocorasick_rs_is_missing(monkeypatch):
    """With ahocorasick-rs not importable, pyahocorasick is imported (only then) and scores the same."""
    pytest.importorskip("ahocorasick")
    want = KeywordMatcher(load_keyword_list("ru")).score(SIX_LANGUAGES["ru"][0], top_k=20)
    monkeypatch.setitem(sys.modules, "ahocorasick_rs", None)  # import raises ImportError
    m = KeywordMatcher(load_keyword_list("ru"))
    assert m.engine.name == "pyahocorasick"
    assert m.score(SIX_LANGUAGES["ru"][0], top_k=20) == want


def test_no_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ahocorasick_rs", None)
    monkeypatch.setitem(sys.modules, "ahocorasick", None)
    with pytest.raises(ImportError, match="pip install ahocorasick-rs"):
        KeywordMatcher(load_keyword_list("en")).score(EN_MEDICAL)


def test_importing_keywords_loads_no_automaton_package():
    code = "import sys, mmedc.keywords; print('ahocorasick_rs' in sys.modules, 'ahocorasick' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stdout.split() == ["False", "False"]


def test_shipped_lists_load_from_a_zipped_package(tmp_path):
    """The lists are read through importlib.resources: a zipped mmedc (spark-submit --py-files) works."""
    import zipfile

    import mmedc

    root = Path(mmedc.__file__).parent
    archive = tmp_path / "mmedc.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".txt", ".json", ".news"):
                z.write(path, Path("mmedc") / path.relative_to(root))
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import mmedc.keywords as kw\n"
        "assert kw.__file__.startswith(sys.argv[1]), kw.__file__\n"
        "f = kw.MedicalKeywordFilter(languages=['en', 'ru'])\n"
        "print(len(kw.load_keyword_list('ru').terms), kw.score_text('Insulin and metformin for diabetes.', 'en').count)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(archive)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(load_keyword_list("ru").terms)), "3"]


def test_context_terms_count_as_keywords_but_not_as_content():
    """News of someone's illness: a disease among hospitals and doctors. Care settings and professions
    count as keywords (and in the density) but not as content, and the filter needs content."""
    news = ("The former minister was hospitalized on Sunday. Doctors at the city hospital said the patient "
            "had suffered a stroke; the surgeon and the nurses of the intensive care unit were with him.")
    s = score_text(news, "en", top_k=20)
    assert s.count >= 6 and s.content <= 2, s.top_terms
    vignette = EN_MEDICAL
    v = score_text(vignette, "en")
    assert v.content >= 10 and v.content <= v.count
    flt = MedicalKeywordFilter(languages=["en"], min_density=0.0, min_coverage=0.0)
    doc = Document(text=news, id="news", metadata={"language": "en"})
    assert flt.filter(doc) == (False, "few_content_terms") and doc.metadata["med_kw_content"] == s.content
    # without the content test (and the news test, which "said" and "Sunday" would trigger) it passes
    assert MedicalKeywordFilter(
        languages=["en"], min_density=0.0, min_coverage=0.0, min_content=0, news=False
    ).filter(doc) is True
    assert set(kw.load_content_thresholds()) == set(SUPPORTED_LANGUAGES)


def test_script_candidates_route_unknown_documents_to_their_lists():
    from mmedc.keywords import script_candidates

    assert script_candidates("The patient was given aspirin.") == ("en", "fr", "es")
    assert script_candidates("Les hépatites virales sont fréquentes.") == ("en", "fr", "es")
    assert script_candidates("Пациентка поступила с жалобами на боль в груди.") == ("ru",)
    assert script_candidates("医生诊断为病毒性肺炎。") == ("zh", "ja")
    assert script_candidates("胃がんの手術を受けた患者") == ("ja", "zh")
    assert script_candidates("12345 !!") == ()
    # a Russian text quoting English is scored with both scripts' lists
    assert set(script_candidates("Препарат Aspirin (acetylsalicylic acid) снижает риск тромбоза.")) == {"ru", "en", "fr", "es"}
    flt = MedicalKeywordFilter(route_by_script=True)
    doc = Document(text=SIX_LANGUAGES["ru"][0], id="r")
    assert flt.filter(doc) is True and doc.metadata["med_kw_lang"] == "ru"
    assert flt.filter(Document(text="12345 67890", id="n")) == (False, "no_candidate_language")


NEWS = {
    "en": "The former senator was rushed to hospital on Friday after suffering a heart attack at his home, a "
          "spokesman said. Doctors at the medical center said he underwent emergency surgery and remains in "
          "intensive care in a critical but stable condition. His family thanked the nurses and asked for "
          "privacy; fans left flowers outside. The senator, 78, had a stroke in 2019. ",
    "ru": "Известный актёр госпитализирован с инсультом. Как сообщили в пресс-службе городской больницы, его "
          "доставили в реанимацию, врачи оценивают состояние пациента как тяжёлое. Ранее артист перенёс инфаркт "
          "и операцию на сердце. Поклонники желают ему скорейшего выздоровления. Концерт отменён. ",
}


@pytest.mark.parametrize("lang", sorted(NEWS))
def test_news_of_an_illness_does_not_pass_and_clinical_text_does(lang):
    """Dense in clinical words, but reported: news markers raise the content a document needs."""
    text = NEWS[lang] * 2
    flt = MedicalKeywordFilter(languages=[lang])
    doc = Document(text=text, id="news", metadata={"language": lang})
    assert flt.filter(doc) == (False, "news_report"), doc.metadata
    assert doc.metadata["med_kw_news"] >= 2
    # without the news test the same document passes every other test
    assert MedicalKeywordFilter(languages=[lang], news=False).filter(
        Document(text=text, id="n2", metadata={"language": lang})) is True
    clinical = Document(text=SIX_LANGUAGES[lang][0], id="c", metadata={"language": lang})
    assert flt.filter(clinical) is True and clinical.metadata["med_kw_news"] == 0
    assert kw.load_news_settings() == (2, 3)
    assert kw.get_news_matcher("xx") is None


def _reference_score(m: KeywordMatcher, text: str, window_bytes: int = 2000, density: float = 0.01):
    """The matcher's rules written the slow, obvious way (decode every neighbour), on the same automaton."""
    from collections import Counter

    from mmedc.keywords.matcher import normalize_text

    norm = normalize_text(text)
    data = norm.encode("utf-8")
    n = len(data)
    nwin = max(1, (n + window_bytes // 2) // window_bytes)

    def before(i):  # the character that ends at byte i
        return data[:i].decode("utf-8")[-1:] if i else ""

    def after(i):  # the character that starts at byte i
        return data[i:].decode("utf-8")[:1]

    counts, matched, per_window = Counter(), 0, [0] * nwin
    for pid, start, end in m.engine.find(data):
        form = m._forms[pid]
        if m._blocker[pid]:
            continue
        if m.unsegmented:
            if form[0].isascii() and before(start).isascii() and before(start).isalnum():
                continue
            if form[-1].isascii() and after(end).isascii() and after(end).isalnum():
                continue
        else:
            if before(start).isalnum():
                continue
            chars = len(form)
            if after(end).isalnum():
                if m._stem[pid]:
                    while after(end).isalnum():
                        end += len(after(end).encode("utf-8"))
                    chars = len(data[start:end].decode("utf-8"))
                else:
                    suf = next((s for s in m.suffixes if data.startswith(s, end)
                                and not after(end + len(s)).isalnum()), None)
                    if suf is None:
                        continue
                    chars += len(suf)
            matched += chars - len(form)
        counts[m._family[pid]] += 1
        matched += len(form)
        per_window[start * nwin // n] += end - start
    need = density * n / nwin
    return len(counts), matched / len(norm), sum(counts.values()), sum(1 for w in per_window if w >= need) / nwin


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_fast_scan_agrees_with_the_obvious_rules_on_random_texts(lang):
    """The optimised per-match loop (byte tables, counting after the pass) against the same rules
    written the slow way, on texts mixing the list's own forms with boundaries of every kind."""
    import random

    m = kw.get_matcher(lang)
    rng = random.Random(lang)
    forms = [f for f in m._forms]
    glue = [" ", "  ", ", ", ". ", "\n", "-", "'", "«", "»", "\u00a0", "×", "é", "я", "中", "1", "s", "es", "x",
            "ом", "ами", "的", "(", "ct", "a", "·", "…", "—"]
    for trial in range(60):
        parts = []
        for _ in range(rng.randint(1, 300)):
            parts.append(rng.choice(forms) if rng.random() < 0.6 else rng.choice(["word", "слово", "mot", "词", "の"]))
            parts.append(rng.choice(glue))
        text = "".join(parts)
        if rng.random() < 0.3:
            text = text.upper()
        s = m.score(text, top_k=0, window_bytes=400, window_density=0.05)
        ref = _reference_score(m, text, window_bytes=400, density=0.05)
        assert (s.count, s.density, s.occurrences, s.coverage) == pytest.approx(ref), (lang, trial)
        data = kw.prepare_text(text)
        assert m.score_normalized(*data, top_k=0, window_bytes=400, window_density=0.05) == s


NEWS_REGISTER = {
    # a clinical paragraph wrapped in the news register: a day, the police or officials, a news agency
    "en": "On Monday police said, according to officials quoted by Reuters, that ",
    "fr": "Lundi, selon la police et l'Agence France-Presse, les autorités ont indiqué que ",
    "es": "El lunes, según la policía y la agencia EFE, las autoridades informaron que ",
    "ru": "В понедельник, по данным полиции, агентство ТАСС и Интерфакс сообщили, что ",
    "zh": "星期一，据新华社报道，警方和当局表示，",
    "ja": "月曜日、共同通信と時事通信によると、警視庁は次のように述べた。",
}


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_news_register_marks_a_report_whatever_its_medical_terms(lang):
    """Three distinct news markers make a news report even when its clinical content is rich;
    the same clinical text without the register passes."""
    clinical = SIX_LANGUAGES[lang][0]
    flt = MedicalKeywordFilter(languages=[lang])
    assert flt.filter(Document(text=clinical, id="c", metadata={"language": lang})) is True
    doc = Document(text=NEWS_REGISTER[lang] + clinical, id="r", metadata={"language": lang})
    assert flt.filter(doc) == (False, "news_report"), doc.metadata
    assert doc.metadata["med_kw_news"] >= 3 and doc.metadata["med_kw_content"] >= 6
    assert kw.load_news_report_markers() == 3
    # switched off in thresholds.json, the same document passes
    assert MedicalKeywordFilter(languages=[lang], news=False).filter(
        Document(text=doc.text, id="r2", metadata={"language": lang})) is True


def test_lone_surrogate_in_a_document_is_scored_not_a_crash():
    """A str may hold a lone surrogate (JSON "\\ud800" through a reader that keeps it): it is scored
    as U+FFFD, by the language's list and by script routing alike."""
    text = EN_MEDICAL.replace("dyspnea.", "dyspnea \ud800.")
    clean = EN_MEDICAL.replace("dyspnea.", "dyspnea \ufffd.")
    assert score_text(text, "en") == score_text(clean, "en")
    for flt, meta in ((MedicalKeywordFilter(languages=["en"]), {"language": "en"}),
                      (MedicalKeywordFilter(route_by_script=True), {})):
        doc = Document(text=text, id="s", metadata=dict(meta))
        assert flt.filter(doc) is True and doc.metadata["med_kw_lang"] == "en"


@pytest.mark.parametrize("lang,text", [
    ("en", "The actor was rushed to hospital on Monday with a suspected stroke, his wife said. According to her, he "
           "woke with a severe headache and weakness in his left arm. A CT scan confirmed an ischemic stroke, and he "
           "received thrombolysis and anticoagulants in the intensive care unit. He had a myocardial infarction and "
           "coronary artery bypass grafting years ago. Fans left messages of support online."),
    ("ru", "Известный актёр госпитализирован с подозрением на инсульт, сообщила его супруга. По её словам, утром он "
           "пожаловался на сильную головную боль и слабость в левой руке. Компьютерная томография подтвердила "
           "ишемический инсульт, ему назначены тромболитическая терапия и антикоагулянты. Ранее он перенёс инфаркт "
           "миокарда и аортокоронарное шунтирование. Поклонники актёра оставляют слова поддержки."),
])
def test_news_of_a_public_figures_stroke_is_a_report_however_clinical(lang, text):
    """The issue's case: a public figure hospitalised with a stroke, dense in clinical words. The
    public figure, the day, the reporting and the fans make three markers or more."""
    doc = Document(text=text, id="n", metadata={"language": lang})
    assert MedicalKeywordFilter(languages=[lang]).filter(doc) == (False, "news_report"), doc.metadata
    assert doc.metadata["med_kw_news"] >= 3 and doc.metadata["med_kw_content"] >= 6


def test_news_markers_inside_drug_names_do_not_count():
    """ファン ("fans") is a news marker, and part of リファンピシン (rifampicin): the drug name, listed as an
    ordinary word of the markers' list, consumes it; fans still count."""
    markers = kw.get_news_matcher("ja")
    assert markers.distinct(kw.prepare_text("結核にはリファンピシンとイソニアジドを併用する。")[0]) == 0
    assert markers.distinct(kw.prepare_text("会場にはファンが集まった。")[0]) == 1


RESEARCH_ABSTRACT = (
    "Background: Older adults who live alone may use emergency services more often. The aim of this study "
    "was to examine whether living alone predicts emergency department visits. Methods: We analysed data "
    "from a national survey of 4,812 participants aged 70 years and older, followed for five years. "
    "Respondents reported their living arrangements at baseline. Results: Living alone was associated "
    "with more visits after adjustment for dementia, hip fracture and income, and the difference was statistically "
    "significant among women. Conclusions: Services that check on older people living alone deserve study."
)
ECONOMICS_ABSTRACT = (
    "Background: Small firms may respond to tax credits differently. The aim of this study was to examine "
    "whether a regional credit changed investment. Methods: We analysed data from 4,812 firms followed for "
    "five years; respondents reported investment at baseline. Results: The credit was associated with more "
    "investment, and the difference was statistically significant in manufacturing. Conclusions: Credits "
    "work best where capital is scarce."
)


STUDY_NEWS = (
    "Coffee lovers may live longer, a large new survey suggests. Researchers followed 400,000 participants "
    "for thirteen years, and respondents who drank two or three cups a day were significantly less likely to "
    "die of heart failure or a stroke. Drinking coffee was associated with a lower risk even after the "
    "researchers took smoking and age at baseline into account, though the reasons remain unclear and the "
    "questionnaire did not ask what kind of coffee people drank or how they made it at home."
)


def test_a_research_report_with_few_medical_terms_is_held_to_the_research_thresholds():
    """Health-services research names few diseases or drugs: in the register of a research report
    (aims, methods, results) it passes on the lower thresholds of thresholds.json's research section;
    the same register without medical terms does not, and research=False restores the usual ones."""
    spec = kw.load_research_settings()
    assert spec["min_markers"] == 3 and spec["min_count"] < kw.load_thresholds()["en"][0]
    doc = Document(text=RESEARCH_ABSTRACT, id="r", metadata={"language": "en"})
    plain = MedicalKeywordFilter(languages=["en"], research=False)
    assert plain.filter(Document(text=RESEARCH_ABSTRACT, id="p", metadata={"language": "en"}))[0] is False
    assert MedicalKeywordFilter(languages=["en"]).filter(doc) is True, doc.metadata
    assert doc.metadata["med_kw_research"] >= 3 and doc.metadata["med_kw_content"] < kw.load_content_thresholds()["en"]
    econ = Document(text=ECONOMICS_ABSTRACT, id="e", metadata={"language": "en"})
    assert MedicalKeywordFilter(languages=["en"]).filter(econ)[0] is False
    # news about a study shares the results vocabulary but not the authors' voice: no lower thresholds
    news = Document(text=STUDY_NEWS, id="n", metadata={"language": "en"})
    assert MedicalKeywordFilter(languages=["en"]).filter(news)[0] is False
    assert news.metadata["med_kw_research"] >= 3, news.metadata
    report = Document(text=STUDY_NEWS.replace("Researchers followed", "In this study we examined"), id="v",
                      metadata={"language": "en"})
    assert MedicalKeywordFilter(languages=["en"]).filter(report) is True  # the same, in the authors' voice
    assert kw.get_marker_matcher("fr", "research") is None  # only languages with a list use it



HEALTH_ADVICE = {
"en":"Nutritionists have shared which foods help keep the heart and blood vessels healthy. According to them, oatmeal, nuts, oily fish and olive oil help lower cholesterol and reduce the risk of atherosclerosis and heart attack. Experts also advise cutting back on salt and sugar, walking more and getting enough sleep. High blood pressure and excess weight, doctors remind us, remain the main risk factors for cardiovascular disease.",
"fr":"Des nutritionnistes expliquent quels aliments aident à garder un cœur et des vaisseaux en bonne santé. Selon eux, les flocons d'avoine, les noix, les poissons gras et l'huile d'olive aident à faire baisser le cholestérol et à réduire le risque d'athérosclérose et d'infarctus. Les spécialistes conseillent aussi de limiter le sel et le sucre, de marcher davantage et de bien dormir. L'hypertension artérielle et le surpoids, rappellent les médecins, restent les principaux facteurs de risque des maladies cardiovasculaires.",
"es":"Los nutricionistas explican qué alimentos ayudan a mantener sanos el corazón y los vasos sanguíneos. Según ellos, la avena, los frutos secos, el pescado azul y el aceite de oliva ayudan a bajar el colesterol y a reducir el riesgo de aterosclerosis y de infarto. Los especialistas también aconsejan limitar la sal y el azúcar, caminar más y dormir bien. La hipertensión arterial y el exceso de peso, recuerdan los médicos, siguen siendo los principales factores de riesgo de las enfermedades cardiovasculares.",
"ru":"Диетологи рассказали, какие продукты помогают поддерживать здоровье сердца и сосудов. По их словам, в рацион стоит включить овсянку, орехи, жирную рыбу и оливковое масло: они помогают снизить уровень холестерина и уменьшить риск атеросклероза и инфаркта. Специалисты также советуют ограничить соль и сахар, чаще гулять и высыпаться. Повышенное артериальное давление и лишний вес, напоминают врачи, остаются главными факторами риска сердечно-сосудистых заболеваний.",
"zh":"营养师介绍了哪些食物有助于保持心脏和血管健康。他们表示，燕麦、坚果、深海鱼和橄榄油有助于降低胆固醇，减少动脉粥样硬化和心肌梗死的风险。专家还建议少吃盐和糖，多走路，保证充足睡眠。医生提醒，高血压和超重仍然是心血管疾病的主要危险因素。",
"ja":"管理栄養士が、心臓と血管の健康を保つのに役立つ食品を紹介した。それによると、オートミール、ナッツ、青魚、オリーブオイルはコレステロールを下げ、動脈硬化や心筋梗塞のリスクを減らすという。専門家は塩分と糖分を控え、よく歩き、十分に眠ることも勧めている。高血圧と肥満は依然として心血管疾患の主な危険因子だと医師は指摘する。",
}


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_health_advice_quoting_experts_is_journalism_not_medical_text(lang):
    """Diet advice for the heart, dense in cardiology words but told through nutritionists and doctors
    quoted ("according to them", "experts advise", "doctors remind"): the news test drops it."""
    doc = Document(text=HEALTH_ADVICE[lang], id="h", metadata={"language": lang})
    assert MedicalKeywordFilter(languages=[lang]).filter(doc) == (False, "news_report"), doc.metadata
    assert doc.metadata["med_kw_news"] >= 2 and doc.metadata["med_kw_count"] >= 5
