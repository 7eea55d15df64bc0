"""TextbookCleanup rules, one by one, on page texts built in the test."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from mmedc.textbooks.cleanup import (
    RULES,
    TextbookCleanup,
    is_garbage_line,
    page_number_value,
)
from mmedc.textbooks.pdf import classify_page

BODY = [
    "The heart pumps blood through two circulations, the pulmonary and the systemic one, and",
    "its output depends on preload, afterload and contractility of the ventricular muscle in",
    "every beat. Cardiac output rises during exercise as heart rate and stroke volume increase",
    "under sympathetic stimulation of the sinoatrial node and of the ventricular myocardium.",
]


SENTENCES = [
    "Asthma is a chronic inflammatory disorder of the airways with reversible obstruction, and",
    "inhaled corticosteroids remain the cornerstone of maintenance therapy for most patients.",
    "Pneumonia presents with fever, productive cough and pleuritic chest pain in adults, while",
    "chest radiography shows consolidation that guides the choice of antimicrobial treatment.",
    "Chronic obstructive pulmonary disease is caused mainly by tobacco smoke in most countries;",
    "spirometry demonstrates a persistent reduction of the forced expiratory volume in a second.",
    "Diabetes mellitus results from absolute or relative deficiency of insulin secretion, and",
    "its complications include retinopathy, nephropathy and neuropathy after years of disease.",
    "Thyroid hormone excess causes weight loss, tremor, heat intolerance and palpitations, with",
    "atrial fibrillation in older patients whose thyroid function tests show suppressed TSH.",
    "Anaemia is a reduction of haemoglobin concentration below the reference range for age, and",
    "iron deficiency is its commonest cause worldwide, followed by chronic disease and thalassemia.",
]


def body(i: int) -> list[str]:
    """Four distinct lines of prose for page ``i`` (no two pages share a line)."""
    if i == 0:
        return list(BODY)
    return SENTENCES[(4 * (i - 1)) % 12:(4 * (i - 1)) % 12 + 4] if i <= 3 else [
        f"{s[:-1]} in case {chr(96 + i)}{s[-1]}" for s in SENTENCES[(4 * i) % 12:(4 * i) % 12 + 4]]


def book(pages: list[list[str]]) -> str:
    return "\f".join("\n".join(p) for p in pages)


def only(rule: str, **extra) -> TextbookCleanup:
    """A cleanup with every rule off except ``rule`` (and whitespace, which every rule relies on)."""
    flags = {r: False for r in RULES}
    flags[rule] = True
    flags["whitespace"] = True
    return TextbookCleanup(**flags, **extra)


def run(cleanup: TextbookCleanup, text: str, **meta) -> tuple[Document, bool]:
    doc = Document(text=text, id="t", metadata=dict(meta))
    kept = cleanup.filter(doc)
    return doc, kept is True


@pytest.mark.parametrize("line,value", [
    ("12", "12"), ("- 12 -", "12"), ("— 7 —", "7"), ("Page 12", "12"), ("page 3 of 120", "3"), ("xii", "xii"),
    ("第12页", "12"), ("стр. 45", "45"), ("Página 9", "9"), ("[ 101 ]", "101"),
])
def test_page_number_lines(line, value):
    assert page_number_value(line) == value


@pytest.mark.parametrize("line", ["12 patients were enrolled", "Chapter 12", "1.5 mg/kg", "", "mix", "Vitamin D"])
def test_not_page_numbers(line):
    assert page_number_value(line) is None


def test_page_numbers_removed_only_at_page_edges():
    pages = [[f"{i + 1}"] + body(i) + ["42"] for i in range(3)]
    pages[1].insert(3, "17")  # a number in the middle of a page is content (a table cell)
    doc, _ = run(only("page_numbers"), book(pages))
    assert doc.metadata["cleanup"]["removed_lines_page_numbers"] == 6
    assert "\n17\n" in doc.text or "17" in doc.text.split("\n")


def test_running_headers_and_footers_exact_and_fuzzy():
    pages = []
    for i in range(6):
        header = "ESSENTIALS OF MEDICINE" if i % 2 == 0 else f"{i + 10} Chapter 3 · Cardiology"
        if i == 4:
            header = "ESSENTlALS OF MEDlCINE"  # OCR noise: l for I
        pages.append([header] + SENTENCES[2 * i:2 * i + 2] + [["Figure 1. Normal ECG", "Table 2: doses of loop diuretics by renal function",
                                 "Box: when to refer", "Figure 3. Chest X-ray of a lobar pneumonia",
                                 "Key points of diagnosis", "Figure 4. Spirometry curves"][i]])
    doc, _ = run(only("headers_footers"), book(pages))
    assert "ESSENTIALS" not in doc.text and "ESSENTlALS" not in doc.text
    assert "Cardiology" not in doc.text
    for caption in ("Normal ECG", "loop diuretics", "when to refer", "lobar pneumonia", "Key points", "Spirometry"):
        assert caption in doc.text  # last lines that differ from page to page are kept
    assert doc.metadata["cleanup"]["removed_lines_headers_footers"] == 6
    for i in range(6):
        assert SENTENCES[2 * i] in doc.text


def test_repeated_footer_removed():
    pages = [body(i) + ["Harrison's Principles — Cardiology"] for i in range(4)]
    doc, _ = run(only("headers_footers"), book(pages))
    assert "Harrison" not in doc.text
    assert all(body(i)[-1] in doc.text for i in range(4))


def test_chapter_heading_kept_when_outline_says_so():
    pages = [["Chapter 2. Lungs"] + body(i) for i in range(3)]
    meta = {"pages": [{"page": 10 + i} for i in range(3)], "outline": [{"title": "Chapter 2. Lungs", "page": 10}]}
    doc, _ = run(only("headers_footers"), book(pages), **meta)
    assert doc.text.count("Chapter 2. Lungs") == 1
    assert doc.text.startswith("Chapter 2. Lungs")


def test_hyphenation_joins_and_keeps_real_hyphens():
    text = "\n".join([
        "The anti-inflammatory drugs reduce swelling; anti-",
        "inflammatory therapy is first line. Atherosclerosis of the coron-",
        "ary arteries is the main cause of ischaemic heart disease in adults",
    ])
    doc, _ = run(only("hyphenation"), text)
    assert "anti-inflammatory therapy" in doc.text
    assert "coronary arteries" in doc.text
    assert doc.metadata["cleanup"]["hyphenation"] == 2


def test_hyphenation_across_pages():
    pages = [BODY[:3] + ["the disease is called athero-"], ["sclerosis and it progresses with age in most adults."]]
    doc, _ = run(TextbookCleanup(), book(pages))
    assert "atherosclerosis and it progresses" in doc.text


def test_join_lines_into_paragraphs():
    text = "\n".join(["Heart failure", *BODY, "Short last line.", "Treatment starts with diuretics and ACE",
                      "inhibitors in most patients with reduced ejection fraction today.", "• loop diuretics",
                      "• ACE inhibitors"])
    doc, _ = run(only("join_lines"), text)
    paras = doc.text.split("\n\n")
    assert paras[0] == "Heart failure"
    assert paras[1].startswith("The heart pumps") and paras[1].endswith("Short last line.")
    assert "\n" not in paras[1]
    assert paras[2] == ("Treatment starts with diuretics and ACE inhibitors in most patients with reduced "
                        "ejection fraction today.")
    assert paras[3:] == ["• loop diuretics", "• ACE inhibitors"]


def test_join_lines_cjk_without_spaces():
    lines = ["高血压是基层医疗中最常见的慢性疾病。血压长期升高会损伤血管", "内皮，加速冠状动脉、脑动脉和肾动脉的动脉粥样硬化。",
             "急性心肌梗死是由于动脉粥样硬化斑块破裂后冠状动脉血栓性闭", "塞所致。"]
    doc, _ = run(only("join_lines"), "\n".join(lines))
    assert "损伤血管内皮" in doc.text and "血栓性闭塞所致" in doc.text
    assert " " not in doc.text


def test_front_matter_toc_index_bibliography_pages():
    pages = [
        ["ESSENTIALS OF MEDICINE", "Third edition"],
        ["© 2020 Medical Press. All rights reserved.", "ISBN 978-3-16-148410-0"],
        ["Contents", "1 The heart ........ 1", "2 The lungs ........ 23", "3 The kidney ........ 41"],
        body(1), body(2),
        ["References", "1. Smith J, et al. Heart failure. N Engl J Med. 2019;380:1-10.",
         "2. Lee K. Cardiology (3rd ed.). London: Medical Press; 2018. pp. 22-31."],
        ["Index", "aorta, 12, 45", "asthma, 23-25", "atrium, 3", "bronchus, 30", "cardiac output, 7, 9",
         "diuretics, 14", "embolism, 50-52", "fibrillation, 8"],
    ]
    doc, _ = run(TextbookCleanup(), book(pages), pages=[{"page": i + 1} for i in range(len(pages))])
    counts = doc.metadata["cleanup"]
    assert counts["removed_pages_front_matter"] == 2
    assert counts["removed_pages_toc"] == 1
    assert counts["removed_pages_bibliography"] == 1
    assert counts["removed_pages_index"] == 1
    assert "ISBN" not in doc.text and "Smith J" not in doc.text and "aorta" not in doc.text
    assert body(1)[0] in doc.text and body(2)[-1] in doc.text
    removed = [p.get("removed") for p in doc.metadata["pages"]]
    assert removed == ["front_matter", "front_matter", "toc", None, None, "bibliography", "index"]


def test_bibliography_at_chapter_end_keeps_text_above():
    page = BODY + ["References", "1. Smith J, et al. Heart failure. N Engl J Med. 2019;380:1-10.",
                   "2. Lee K. Asthma. Lancet. 2020;395(3):22-31."]
    doc, _ = run(only("bibliography"), "\n".join(page))
    assert "sinoatrial" in doc.text and "Smith" not in doc.text


def test_ocr_garbage_lines_and_pages():
    assert is_garbage_line("~ ' , | . ‘ ; :")
    assert is_garbage_line("_________")
    assert not is_garbage_line("Table 3. Doses of loop diuretics")
    assert not is_garbage_line("高血压是最常见的慢性疾病。")
    noisy = BODY[:2] + ["~ ' , | . ‘ ;", "-- ~~ == ;;"] + BODY[2:]
    garbage_page = ["~ ' , | .", "|| // \\\\ ~~", "; : ' ` ~ ^", "a"]
    meta = [{"page": i + 1, "method": "ocr"} for i in range(3)]
    doc, _ = run(only("ocr_garbage"), book([noisy, garbage_page, BODY]), pages=meta)
    assert "~" not in doc.text and "|" not in doc.text
    assert doc.metadata["cleanup"]["removed_pages_ocr_garbage"] == 1
    assert doc.metadata["cleanup"]["removed_lines_ocr_garbage"] == 2 + 4  # two lines, and the page's four
    assert doc.metadata["pages"][0]["removed_lines"] == {"ocr_garbage": 2}
    assert doc.metadata["pages"][1]["removed"] == "ocr_garbage"


FORMULA_PAGE = BODY[:2] + ["E = mc^2", "∂u/∂t = α ∇²u", "(a + b)² ≥ 4ab", "x = (−b ± √Δ) / 2a", "| | |",
                           "—", "Na+ 135–145", "K+ 3.5–5.0"] + BODY[2:]


def test_ocr_garbage_leaves_a_text_layer_alone():
    """Formulas, lab values and short lines of a text layer are content; only unmapped glyphs go."""
    page = FORMULA_PAGE + ["(cid:12)(cid:7)(cid:88)(cid:3)"]
    meta = [{"page": 1, "method": "text"}]
    doc, _ = run(only("ocr_garbage"), page and "\n".join(page), pages=meta)
    for line in FORMULA_PAGE:
        assert line in doc.text
    assert "cid:" not in doc.text
    assert doc.metadata["cleanup"]["removed_lines_ocr_garbage"] == 1
    # without page metadata the origin is unknown: nothing but unmapped glyphs goes either
    doc, _ = run(only("ocr_garbage"), "\n".join(FORMULA_PAGE))
    assert all(line in doc.text for line in FORMULA_PAGE)
    # unless the text is declared OCR output
    doc, _ = run(only("ocr_garbage", assume_ocr=True), "\n".join(FORMULA_PAGE))
    assert "| | |" not in doc.text and "E = mc^2" in doc.text


def test_layout_margins_decide_headers_footers_and_footnotes():
    """With the reader's layout, only lines set apart from the body are candidates: body lines at the
    page edges that repeat (a recurring first line of a dosage table) stay."""
    pages, meta = [], []
    for i in range(5):
        header = "Essentials of Medicine" if i % 2 else "Chapter 2. The Lungs"
        lines = [header, "Dose (mg/kg) Interval"] + body(i) + ["Dose (mg/kg) Interval"]
        m = {"page": i + 1, "method": "text", "margin_top": ["small"], "margin_bottom": ["small"]}
        if i == 1:
            lines += ["* Doses are for adults with normal renal function."]
            m["margin_bottom"] = ["small", "small"]
        lines += [str(i + 40)]
        pages.append(lines)
        meta.append(m)
    pages[3].insert(3, "Chapter 3. The Kidney")  # a heading in the body, named later by a running header
    pages[4][0] = "Chapter 3. The Kidney"  # the header of a chapter too short to repeat it
    doc, _ = run(TextbookCleanup(front_matter=False), book(pages), pages=meta)
    assert doc.text.count("Dose (mg/kg) Interval") == 10
    assert "Essentials of Medicine" not in doc.text and "The Lungs" not in doc.text
    assert doc.text.count("Chapter 3. The Kidney") == 1
    assert "Doses are for adults" not in doc.text
    counts = doc.metadata["cleanup"]
    assert counts["removed_lines_footnotes"] == 1
    assert counts["removed_lines_page_numbers"] == 5
    assert counts["removed_lines_headers_footers"] == 5
    # the same book without the layout: the repeated first and last lines would be taken for headers
    plain, _ = run(TextbookCleanup(front_matter=False), book(pages))
    assert plain.text.count("Dose (mg/kg) Interval") < 10


def test_chapter_heading_under_a_running_header_of_the_same_words():
    """With an outline and a measured layout, the small running header goes and the large heading stays."""
    title = "Chapter 2. Lungs"
    pages = [[title, title] + body(0)] + [[title] + body(i) for i in (1, 2)]
    meta = [{"page": 10, "method": "text", "margin_top": ["small", "large"], "margin_bottom": []}] + [
        {"page": 10 + i, "method": "text", "margin_top": ["small"], "margin_bottom": []} for i in (1, 2)]
    doc, _ = run(only("headers_footers"), book(pages), pages=meta, outline=[{"title": title, "page": 10}])
    assert doc.text.count(title) == 1 and doc.text.startswith(title)


def test_large_type_at_the_top_is_a_heading():
    pages = [["Cardiology"] + body(i) for i in range(3)]
    meta = [{"page": i + 1, "method": "text", "margin_top": ["large"]} for i in range(3)]
    doc, _ = run(only("headers_footers"), book(pages), pages=meta)
    assert doc.text.count("Cardiology") == 3


def test_control_chars_and_whitespace():
    text = "Heart\x00 fail\u200bure   with\u00a0\u00a0oedema\x07 and \ufb01brosis"
    doc, _ = run(TextbookCleanup(), text)
    assert doc.text == "Heart failure with oedema and fibrosis"


def test_each_rule_can_be_switched_off():
    pages = [["Running head"] + body(i) + ["12"] for i in range(4)]
    text = book(pages)
    on, _ = run(TextbookCleanup(), text)
    off, _ = run(TextbookCleanup(**{r: False for r in RULES}), text)
    assert "Running head" not in on.text and "Running head" in off.text
    assert off.text.count("\n12") == 4
    assert "cleanup" in off.metadata


def test_page_spans_rewritten():
    pages = [["Head"] + body(i) + [str(i + 1)] for i in range(3)]
    meta = [{"page": i + 1, "method": "text"} for i in range(3)]
    doc, _ = run(TextbookCleanup(front_matter=False), book(pages), pages=meta)
    spans = doc.metadata["pages"]
    assert [s["page"] for s in spans] == [1, 2, 3]
    for i, s in enumerate(spans):
        assert doc.text[s["start"]:s["end"]].startswith(body(i)[0])
        assert doc.text[s["start"]:s["end"]].endswith(body(i)[-1])


def test_empty_result_is_dropped_with_reason():
    cleanup = TextbookCleanup(min_chars=10)
    doc = Document(text="12\f13\f14", id="x", metadata={})
    assert cleanup.filter(doc) == (False, "too_short")


@pytest.mark.parametrize("text,images,kind", [
    ("", True, "scanned"), ("", False, "empty"), ("   \n  ", True, "scanned"),
    ("(cid:12)(cid:13)(cid:14)" * 5 + " some words here", False, "scanned"),
    ("~~~ ||| ... ;;; ''' ``` ^^^ *** ### @@@", False, "scanned"),
    (" ".join(BODY), False, "text"), ("内科学" * 20, False, "text"),
    ("Contents\n" + "\n".join(f"{i} Chapter {i} . . . . . . . . . . . . . . . . {i * 9}" for i in range(1, 9)), False, "text"),
    ("Contents\n" + "\n".join(f"{i} Heart ..................................... {i * 9}" for i in range(1, 9)), False, "text"),
    ("∂u/∂t = α ∇²u\n∑ aᵢ ≤ ∫ f(x) dx\nx = (−b ± √Δ) / 2a\n|x − y| ≥ ε ⇒ ∀ δ > 0", False, "text"),
])
def test_classify_page(text, images, kind):
    assert classify_page(text, has_images=images)[0] == kind


def test_bad_options_are_errors():
    with pytest.raises(ValueError):
        TextbookCleanup(zone=0)
    with pytest.raises(ValueError):
        TextbookCleanup(header_similarity=1.5)


def test_chapter_heading_kept_when_contents_name_it():
    contents = ["Contents", "1 The Heart ........ 4", "2 The Lungs ........ 9", "3 The Kidney ........ 15"]
    pages = [["Title page"], contents]
    for i in range(6):
        top = ["The Heart"] if i % 2 == 0 else ["Essentials of Medicine"]
        pages.append(top + body(i) + [str(i + 1)])
    doc, _ = run(TextbookCleanup(), book(pages))
    assert doc.text.count("The Heart") == 1 and doc.text.startswith("The Heart\n\n")
    assert "Essentials of Medicine" not in doc.text


def test_spaced_out_cjk_text_layer_is_closed_up():
    spaced = " ".join("高血压是基层医疗中最常见的慢性疾病。") + "\n" + " ".join("血压长期升高会损伤血管内皮。")
    doc, _ = run(TextbookCleanup(), spaced)
    assert doc.text.startswith("高血压是基层医疗中最常见的慢性疾病。")
    doc, _ = run(TextbookCleanup(), "第一章 心血管系统\n\n高血压是基层医疗中最常见的慢性疾病。")
    assert doc.text.startswith("第一章 心血管系统")  # a single real space stays
