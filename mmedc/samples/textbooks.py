"""Sample textbooks the project generates itself, for the demo, the tests and the benchmarks.

Real textbooks cannot ship with the library, so this module writes small books that carry the same
features a real one has: a title page, a copyright page, a table of contents, chapters with an outline
(bookmarks), running headers that alternate between the book title and the chapter title, page
numbers in the footer, words hyphenated at line ends, and a references section. Each book comes in
two forms: a PDF with a text layer (reportlab) and an image-only PDF (pages rendered with Pillow, as a
scanner would produce). The clean text each book was made from is returned with it, so cleanup and
OCR quality can be measured against it.

Languages: en, fr, es, ru, zh, ja. Chinese and Japanese text-layer books use reportlab's built-in CID
fonts (``STSong-Light``, ``HeiseiMin-W3``); the rendered pages need a CJK font file, looked up in
``/usr/share/fonts/opentype/noto/`` (``fonts-noto-cjk``); Latin and Cyrillic use DejaVu when present.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = ("en", "fr", "es", "ru", "zh", "ja")
CJK = ("zh", "ja")

# Short original medical texts, written for this project (no third-party text).
TEXTS: dict[str, dict] = {
    "en": {
        "title": "Essentials of Internal Medicine",
        "chapters": [
            ("Chapter 1. The Cardiovascular System", [
                "Hypertension is the most common chronic condition seen in primary care. Persistent elevation of "
                "arterial pressure damages the vascular endothelium and accelerates atherosclerosis in the coronary, "
                "cerebral and renal circulations.",
                "The diagnosis rests on repeated measurements taken with a validated device. Ambulatory monitoring "
                "distinguishes sustained hypertension from the white coat effect and identifies patients whose "
                "pressure fails to fall during sleep.",
                "Myocardial infarction results from thrombotic occlusion of a coronary artery after rupture of an "
                "atherosclerotic plaque. Characteristic symptoms include crushing retrosternal pain radiating to the "
                "left arm, diaphoresis and breathlessness. Electrocardiography and cardiac troponin measurement "
                "confirm the diagnosis, and early reperfusion limits the extent of necrosis.",
            ]),
            ("Chapter 2. The Respiratory System", [
                "Asthma is a chronic inflammatory disorder of the airways characterised by reversible bronchial "
                "obstruction and bronchial hyperresponsiveness. Inhaled corticosteroids remain the cornerstone of "
                "maintenance therapy.",
                "Community acquired pneumonia presents with fever, productive cough and pleuritic chest pain. Chest "
                "radiography shows consolidation, and the choice of antimicrobial treatment depends on the severity "
                "score and local resistance patterns.",
                "Chronic obstructive pulmonary disease is caused mainly by tobacco smoke. Spirometry demonstrates a "
                "persistent reduction of the forced expiratory volume in one second, and smoking cessation is the "
                "only intervention proven to slow the decline of lung function.",
            ]),
        ],
    },
    "fr": {
        "title": "Précis de médecine interne",
        "chapters": [
            ("Chapitre 1. Le système cardiovasculaire", [
                "L'hypertension artérielle est la pathologie chronique la plus fréquente en médecine générale. "
                "L'élévation prolongée de la pression artérielle altère l'endothélium vasculaire et favorise "
                "l'athérosclérose coronarienne et cérébrale.",
                "L'infarctus du myocarde résulte de l'occlusion thrombotique d'une artère coronaire. La douleur "
                "thoracique constrictive irradiant vers le bras gauche, associée à des sueurs, doit faire pratiquer "
                "un électrocardiogramme sans délai.",
            ]),
            ("Chapitre 2. Le système respiratoire", [
                "L'asthme est une maladie inflammatoire chronique des voies aériennes caractérisée par une obstruction "
                "bronchique réversible. Les corticoïdes inhalés constituent le traitement de fond.",
            ]),
        ],
    },
    "es": {
        "title": "Manual de medicina interna",
        "chapters": [
            ("Capítulo 1. El sistema cardiovascular", [
                "La hipertensión arterial es la enfermedad crónica más frecuente en atención primaria. La elevación "
                "mantenida de la presión arterial lesiona el endotelio vascular y acelera la aterosclerosis.",
                "El infarto agudo de miocardio se produce por la oclusión trombótica de una arteria coronaria. El "
                "dolor torácico opresivo irradiado al brazo izquierdo obliga a realizar un electrocardiograma.",
            ]),
            ("Capítulo 2. El sistema respiratorio", [
                "El asma es una enfermedad inflamatoria crónica de las vías respiratorias con obstrucción bronquial "
                "reversible. Los corticoides inhalados son la base del tratamiento de mantenimiento.",
            ]),
        ],
    },
    "ru": {
        "title": "Основы внутренней медицины",
        "chapters": [
            ("Глава 1. Сердечно-сосудистая система", [
                "Артериальная гипертензия является самым частым хроническим заболеванием в общей врачебной практике. "
                "Длительное повышение артериального давления повреждает эндотелий сосудов и ускоряет развитие "
                "атеросклероза.",
                "Инфаркт миокарда возникает вследствие тромботической окклюзии коронарной артерии. Давящая боль за "
                "грудиной с иррадиацией в левую руку требует немедленной регистрации электрокардиограммы.",
            ]),
            ("Глава 2. Дыхательная система", [
                "Бронхиальная астма представляет собой хроническое воспалительное заболевание дыхательных путей с "
                "обратимой бронхиальной обструкцией. Основой базисной терапии служат ингаляционные глюкокортикоиды.",
            ]),
        ],
    },
    "zh": {
        "title": "内科学基础",
        "chapters": [
            ("第一章 心血管系统", [
                "高血压是基层医疗中最常见的慢性疾病。血压长期升高会损伤血管内皮，加速冠状动脉、脑动脉和肾动脉的动脉粥样硬化。",
                "急性心肌梗死是由于动脉粥样硬化斑块破裂后冠状动脉血栓性闭塞所致。典型症状为胸骨后压榨性疼痛，可放射至左臂，伴有出汗和呼吸困难。心电图和心肌肌钙蛋白检测可以明确诊断。",
            ]),
            ("第二章 呼吸系统", [
                "支气管哮喘是气道的慢性炎症性疾病，以可逆性气流受限为特征。吸入糖皮质激素是长期控制治疗的基础。",
                "社区获得性肺炎表现为发热、咳嗽、咳痰和胸痛。胸部影像学检查可见肺实变，抗菌药物的选择取决于病情严重程度。",
            ]),
        ],
    },
    "ja": {
        "title": "内科学の基礎",
        "chapters": [
            ("第1章 循環器系", [
                "高血圧はプライマリケアで最もよくみられる慢性疾患である。血圧の持続的な上昇は血管内皮を傷害し、冠動脈や脳動脈の動脈硬化を進行させる。",
                "急性心筋梗塞は、動脈硬化のプラークが破綻した後に冠動脈が血栓で閉塞することによって起こる。胸骨の後ろの締め付けられるような痛みが特徴であり、心電図とトロポニンの測定で診断する。",
            ]),
            ("第2章 呼吸器系", [
                "気管支喘息は気道の慢性炎症性疾患であり、可逆性の気流制限を特徴とする。吸入ステロイド薬が長期管理の基本となる。",
            ]),
        ],
    },
}

REFERENCES = {
    "en": ("References", [
        "1. Smith J, Brown K. Blood pressure and vascular risk. J Clin Med. 2019;12(3):145-152. doi:10.1000/jcm.2019.145",
        "2. Garcia L, et al. Inhaled therapy in asthma. Lancet Respir. 2020;8:77-85.",
        "3. Wang H, Chen Y. Myocardial infarction in the elderly (2nd ed.). Beijing: Medical Press; 2018.",
    ]),
}
FRONT = {
    "en": ("Contents", "© 2024 The mmedc authors. All rights reserved. ISBN 978-0-00-000000-2"),
    "fr": ("Table des matières", "© 2024 Les auteurs de mmedc. Tous droits réservés. ISBN 978-0-00-000000-2"),
    "es": ("Índice", "© 2024 Los autores de mmedc. Todos los derechos reservados. ISBN 978-0-00-000000-2"),
    "ru": ("Содержание", "© 2024 Авторы mmedc. Все права защищены. ISBN 978-0-00-000000-2"),
    "zh": ("目录", "© 2024 mmedc 作者 版权所有 ISBN 978-0-00-000000-2"),
    "ja": ("目次", "© 2024 mmedc 著者 無断転載禁止 ISBN 978-0-00-000000-2"),
}

NOTO_DIR = "/usr/share/fonts/opentype/noto"
LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
)


def cjk_font_path() -> str | None:
    """The Noto CJK font file to render Chinese/Japanese pages with, or ``None`` when not installed."""
    for name in ("NotoSerifCJK-Regular.ttc", "NotoSansCJK-Regular.ttc"):
        path = os.path.join(NOTO_DIR, name)
        if os.path.exists(path):
            return path
    return None


def latin_font_path() -> str | None:
    """A TrueType font with Latin and Cyrillic glyphs (DejaVu/Liberation), or ``None``."""
    return next((p for p in LATIN_FONTS if os.path.exists(p)), None)


def can_render(lang: str) -> bool:
    """Whether this machine has the fonts to draw ``lang`` (text layer and rendered pages)."""
    return cjk_font_path() is not None if lang in CJK else latin_font_path() is not None or lang != "ru"


@dataclass
class SampleBook:
    """A generated book and the truth it was made from."""

    path: Path
    language: str
    title: str
    scanned: bool
    body: str  # the clean text: chapter headings and paragraphs separated by blank lines
    headers: list[str] = field(default_factory=list)  # running header texts
    hyphenated: list[str] = field(default_factory=list)  # words split across lines with a hyphen
    pages: int = 0
    chapters: list[tuple[str, int]] = field(default_factory=list)  # (title, first page, 1-based)


# ---------------------------------------------------------------------------------------------
# layout
def _hyphen_split(word: str, room: Callable[[str], bool]) -> tuple[str, str] | None:
    """Split ``word`` as ``head-`` / ``tail`` with the longest head that fits (3+ letters each side)."""
    core = word.rstrip(".,;:!?)")
    if len(core) < 7 or not core.isalpha():
        return None
    for cut in range(len(core) - 3, 2, -1):
        if room(word[:cut] + "-"):
            return word[:cut] + "-", word[cut:]
    return None


def wrap(text: str, fits: Callable[[str], bool], cjk: bool, hyphenate: bool = True) -> tuple[list[str], list[str]]:
    """Greedy line breaking; returns the lines and the words hyphenated at line ends."""
    lines: list[str] = []
    hyphenated: list[str] = []
    if cjk:
        line = ""
        for ch in text:
            if fits(line + ch) or not line:
                line += ch
            elif ch in "，。、；：！？）」』":  # no closing punctuation at a line start
                line += ch
            else:
                lines.append(line)
                line = ch
        if line:
            lines.append(line)
        return lines, hyphenated
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if fits(candidate):
            line = candidate
            continue
        prefix = f"{line} " if line else ""
        split = _hyphen_split(word, lambda head, prefix=prefix: fits(prefix + head)) if hyphenate else None
        if split and line:
            lines.append(f"{line} {split[0]}")
            hyphenated.append(word.rstrip(".,;:!?)"))
            line = split[1]
        else:
            if line:
                lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines, hyphenated


@dataclass
class _Page:
    header: str | None
    footer: str | None
    lines: list[tuple[str, bool]]  # (text, is_heading)
    bookmark: str | None = None


def _paginate(lang: str, measure: Callable[[str, float], float], width: float, lines_per_page: int,
              body_size: float, with_front: bool = True, hyphenate: bool = True):
    spec = TEXTS[lang]
    cjk = lang in CJK
    title = spec["title"]
    pages: list[_Page] = []
    hyphenated: list[str] = []
    body_parts: list[str] = []
    chapters: list[tuple[str, int]] = []
    toc_title, copyright_line = FRONT[lang]
    if with_front:
        pages.append(_Page(None, None, [(title, True)]))
        pages.append(_Page(None, None, [(copyright_line, False)]))
        pages.append(_Page(None, None, [(toc_title, True)] + [(f"{c}{' ' if cjk else ' ..... '}{3 + 2 * i}", False)
                                                             for i, (c, _) in enumerate(spec["chapters"])]))
    first_body = len(pages)

    def fits(s: str) -> bool:
        return measure(s, body_size) <= width

    current: list[tuple[str, bool]] = []
    chapter_title = ""
    bookmark = None

    def flush():
        nonlocal current, bookmark
        if current:
            n = len(pages) + 1
            printed = n - first_body + 1
            # running headers alternate book title / chapter title; a chapter's first page has none
            header = None if bookmark else (title if printed % 2 == 0 else chapter_title)
            pages.append(_Page(header, str(printed), current, bookmark))
            current, bookmark = [], None

    for ch_title, paragraphs in spec["chapters"]:
        flush()
        chapter_title = ch_title
        bookmark = ch_title
        chapters.append((ch_title, len(pages) + 1))
        current.append((ch_title, True))
        body_parts.append(ch_title)
        for para in paragraphs:
            plines, hyph = wrap(para, fits, cjk, hyphenate=hyphenate)
            hyphenated += hyph
            body_parts.append(para)
            for pl in plines:
                if len(current) >= lines_per_page:
                    flush()
                current.append((pl, False))
            current.append(("", False))
    if lang in REFERENCES:
        flush()
        head, refs = REFERENCES[lang]
        chapter_title = head
        current = [(head, True)] + [(r, False) for r in refs]
        bookmark = head
        flush()
    flush()
    headers = sorted({p.header for p in pages if p.header})
    return pages, "\n\n".join(body_parts), hyphenated, chapters, headers


# ---------------------------------------------------------------------------------------------
# writers
PAGE_W, PAGE_H = 420.0, 595.0  # A5 in points: small pages keep OCR in the tests fast
MARGIN = 48.0


def _reportlab_font(lang: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if lang == "zh":
        name = "STSong-Light"
    elif lang == "ja":
        name = "HeiseiMin-W3"
    else:
        path = latin_font_path()
        if path is None:
            if lang == "ru":
                raise RuntimeError("no TrueType font with Cyrillic glyphs found (install fonts-dejavu-core)")
            return "Times-Roman"
        name = "mmedc-serif"
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, path))
        return name
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


def write_text_pdf(path: str | Path, lang: str, lines_per_page: int = 10, with_front: bool = True) -> SampleBook:
    """Write a book with a text layer (reportlab): headers, footers, outline, hyphenation."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    path = Path(path)
    font = _reportlab_font(lang)
    body_size = 11.0
    pages, body, hyph, chapters, headers = _paginate(
        lang, lambda s, size: stringWidth(s, font, size), PAGE_W - 2 * MARGIN, lines_per_page, body_size, with_front)
    c = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H))
    c.setTitle(TEXTS[lang]["title"])
    c.setAuthor("mmedc")
    for i, page in enumerate(pages):
        if page.header:
            c.setFont(font, 9)
            c.drawCentredString(PAGE_W / 2, PAGE_H - 30, page.header)
        y = PAGE_H - MARGIN - 20
        for text, heading in page.lines:
            c.setFont(font, 13 if heading else body_size)
            c.drawString(MARGIN, y, text)
            y -= 26 if heading else 16
        if page.footer:
            c.setFont(font, 9)
            c.drawCentredString(PAGE_W / 2, 24, page.footer)
        if page.bookmark:
            key = f"p{i}"
            c.bookmarkPage(key)
            c.addOutlineEntry(page.bookmark, key, level=0)
        c.showPage()
    c.save()
    return SampleBook(path, lang, TEXTS[lang]["title"], False, body, headers, hyph, len(pages), chapters)


def render_pages(lang: str, dpi: int = 300, lines_per_page: int = 10, with_front: bool = True, noise: bool = False):
    """Render a book's pages as Pillow images (what a scanner produces); returns (images, book fields)."""
    from PIL import Image, ImageDraw, ImageFont

    scale = dpi / 72.0
    fpath = cjk_font_path() if lang in CJK else latin_font_path()
    index = _cjk_index(lang) if lang in CJK else 0
    if fpath is None:
        raise RuntimeError(f"no font to render {lang!r} pages (install fonts-noto-cjk / fonts-dejavu-core)")
    fonts: dict[float, ImageFont.FreeTypeFont] = {}

    def font(size: float):
        if size not in fonts:
            fonts[size] = ImageFont.truetype(fpath, int(round(size * scale)), index=index)
        return fonts[size]

    body_size = 11.0
    pages, body, hyph, chapters, headers = _paginate(
        lang, lambda s, size: font(size).getlength(s) / scale, PAGE_W - 2 * MARGIN, lines_per_page, body_size,
        with_front)
    images = []
    w, h = int(PAGE_W * scale), int(PAGE_H * scale)
    for page in pages:
        img = Image.new("L", (w, h), 255)
        draw = ImageDraw.Draw(img)
        if page.header:
            f = font(9)
            draw.text(((w - f.getlength(page.header)) / 2, 22 * scale), page.header, font=f, fill=0)
        y = (MARGIN + 6) * scale
        for text, heading in page.lines:
            draw.text((MARGIN * scale, y), text, font=font(13 if heading else body_size), fill=0)
            y += (26 if heading else 16) * scale
        if page.footer:
            f = font(9)
            draw.text(((w - f.getlength(page.footer)) / 2, (PAGE_H - 32) * scale), page.footer, font=f, fill=0)
        if noise:
            import random

            rnd = random.Random(len(images))
            px = img.load()
            for _ in range(w * h // 400):
                px[rnd.randrange(w), rnd.randrange(h)] = 0
        images.append(img)
    return images, pages, body, hyph, chapters, headers


def _cjk_index(lang: str) -> int:
    """Face index in the Noto CJK collection: the SC face for Chinese, the JP face for Japanese."""
    from PIL import ImageFont

    path = cjk_font_path()
    want = "SC" if lang == "zh" else "JP"
    for i in range(10):
        try:
            name = ImageFont.truetype(path, 12, index=i).getname()[0]
        except OSError:
            break
        if name.endswith(f" {want}"):
            return i
    return 0


def write_scanned_pdf(path: str | Path, lang: str, dpi: int = 200, lines_per_page: int = 10,
                      with_front: bool = True, sidecar: bool = True) -> SampleBook:
    """Write an image-only book (no text layer), optionally with a ``<name>.json`` sidecar naming its language."""
    path = Path(path)
    images, pages, body, hyph, chapters, headers = render_pages(lang, dpi, lines_per_page, with_front)
    images = [im.convert("1").convert("L") for im in images]  # binarised, like a scanner's output
    images[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:],
                   title=TEXTS[lang]["title"])
    if sidecar:
        Path(path).with_suffix(".json").write_text(json.dumps({"language": lang, "title": TEXTS[lang]["title"]},
                                                              ensure_ascii=False))
    return SampleBook(path, lang, TEXTS[lang]["title"], True, body, headers, hyph, len(pages), chapters)


def generate_sample_books(folder: str | Path, text_languages: Iterable[str] = ("en", "zh"),
                          scanned_languages: Iterable[str] = ("ru",), scanned_dpi: int = 200) -> list[SampleBook]:
    """Write the sample books into ``folder``: text-layer books and image-only (scanned) books.

    Languages whose fonts are missing on this machine are skipped (see :func:`can_render`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    books = []
    for lang in text_languages:
        if can_render(lang):
            books.append(write_text_pdf(folder / f"textbook_{lang}.pdf", lang))
    for lang in scanned_languages:
        if can_render(lang):
            books.append(write_scanned_pdf(folder / f"scanned_{lang}.pdf", lang, dpi=scanned_dpi))
    return books


_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Collapse whitespace (and drop it between CJK characters) for comparisons."""
    text = _WS.sub(" ", text).strip()
    return re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])", "", text)


def render_text_page(text: str, lang: str, dpi: int = 300, size: float = 11.0, max_lines: int = 30):
    """Lay ``text`` out on one A5 page image (greyscale) as a scanner would see it.

    Returns ``(image, lines)``: the lines actually drawn (the text is cut at ``max_lines``), so OCR
    output can be compared with exactly what is on the page.
    """
    from PIL import Image, ImageDraw, ImageFont

    fpath = cjk_font_path() if lang in CJK else latin_font_path()
    if fpath is None:
        raise RuntimeError(f"no font to render {lang!r} pages (install fonts-noto-cjk / fonts-dejavu-core)")
    scale = dpi / 72.0
    font = ImageFont.truetype(fpath, int(round(size * scale)), index=_cjk_index(lang) if lang in CJK else 0)
    width = (PAGE_W - 2 * MARGIN) * scale
    lines, _ = wrap(text, lambda s: font.getlength(s) <= width, lang in CJK, hyphenate=False)
    lines = lines[:max_lines]
    img = Image.new("L", (int(PAGE_W * scale), int(PAGE_H * scale)), 255)
    draw = ImageDraw.Draw(img)
    y = MARGIN * scale
    for line in lines:
        draw.text((MARGIN * scale, y), line, font=font, fill=0)
        y += size * 1.45 * scale
    return img, lines
