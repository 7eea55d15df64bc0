"""A small bundled corpus with known duplicates in six languages, for the dedupe demo and tests.

:func:`sample_documents` returns distinct base documents (medical paragraphs written for this
project) plus planted duplicates: exact copies from another source, near-copies with a few edited
words, a copy under the same URL, and copies with a repeated disclaimer line. Each document's
``metadata["expected"]`` says what dedupe should do with it (``keep`` or the removal reason) and
``metadata["family"]`` which base it came from.
"""

from __future__ import annotations

import random

from datatrove.data import Document

BASE_TEXTS: dict[str, list[str]] = {
    "en": [
        "Type 2 diabetes is a chronic condition in which the body does not use insulin properly. "
        "Risk factors include obesity, physical inactivity, family history and age over forty-five. "
        "Early symptoms are often mild: increased thirst, frequent urination, fatigue and blurred vision. "
        "Diagnosis relies on fasting plasma glucose, an oral glucose tolerance test or HbA1c. "
        "First-line treatment combines lifestyle changes with metformin, and patients should have their "
        "kidney function, eyes and feet examined at least once a year to detect complications early.",
        "Community-acquired pneumonia is an infection of the lung parenchyma acquired outside hospital. "
        "Streptococcus pneumoniae remains the most frequent bacterial cause in adults. Patients present "
        "with cough, fever, pleuritic chest pain and shortness of breath, and crackles may be heard on "
        "auscultation. A chest radiograph confirms the diagnosis. Severity scores such as CURB-65 guide "
        "the decision between outpatient treatment and admission, and empirical antibiotics should be "
        "started promptly according to local resistance patterns.",
    ],
    "fr": [
        "L'hypertension artérielle est définie par une pression systolique supérieure ou égale à 140 mmHg "
        "ou une pression diastolique supérieure ou égale à 90 mmHg, mesurée à plusieurs reprises. Elle "
        "reste longtemps silencieuse mais augmente le risque d'accident vasculaire cérébral, d'infarctus "
        "du myocarde et d'insuffisance rénale. La prise en charge associe la réduction du sel, l'activité "
        "physique régulière, l'arrêt du tabac et, si nécessaire, un traitement antihypertenseur adapté.",
        "L'asthme est une maladie inflammatoire chronique des bronches qui provoque des épisodes de "
        "sifflements, d'essoufflement et de toux, souvent la nuit ou au petit matin. Les crises peuvent "
        "être déclenchées par les allergènes, l'effort, le froid ou les infections virales. Le traitement "
        "de fond repose sur les corticoïdes inhalés, et chaque patient doit disposer d'un plan d'action "
        "écrit ainsi que d'un bronchodilatateur de secours à action rapide.",
    ],
    "es": [
        "La anemia ferropénica es la forma más común de anemia en el mundo y se debe a la falta de hierro "
        "disponible para fabricar hemoglobina. Es frecuente en mujeres en edad fértil, embarazadas y niños "
        "pequeños. Produce cansancio, palidez, caída del cabello y dificultad para concentrarse. El "
        "diagnóstico se confirma con la ferritina baja, y el tratamiento consiste en suplementos orales de "
        "hierro y en buscar siempre la causa de la pérdida, como un sangrado digestivo oculto.",
        "La insuficiencia cardíaca aparece cuando el corazón no bombea la sangre que el organismo necesita. "
        "Los pacientes refieren disnea de esfuerzo, hinchazón de tobillos y cansancio. El ecocardiograma "
        "permite medir la fracción de eyección y orientar el tratamiento, que incluye diuréticos para la "
        "congestión, inhibidores del sistema renina angiotensina y betabloqueantes, además de controlar el "
        "peso a diario y limitar la sal en la dieta.",
    ],
    "ru": [
        "Гипертоническая болезнь — одно из самых распространённых хронических заболеваний у взрослых. "
        "Длительное повышение артериального давления поражает сердце, почки, головной мозг и сосуды "
        "сетчатки. Пациентам рекомендуют регулярно измерять давление дома, уменьшить потребление соли, "
        "снизить массу тела и отказаться от курения. При недостаточном эффекте назначают "
        "антигипертензивные препараты, и цель лечения подбирают с учётом возраста и сопутствующих болезней.",
        "Острый аппендицит — воспаление червеобразного отростка слепой кишки, требующее срочной помощи. "
        "Боль обычно начинается около пупка, а затем смещается в правую подвздошную область, появляются "
        "тошнота, потеря аппетита и повышение температуры. Диагноз ставят по осмотру, анализу крови и "
        "ультразвуковому исследованию. Основной метод лечения — аппендэктомия, которую всё чаще выполняют "
        "лапароскопически.",
    ],
    "zh": [
        "糖尿病是一组以高血糖为特征的代谢性疾病，主要由胰岛素分泌缺陷或其生物作用受损引起。长期高血糖会导致"
        "眼、肾、心脏、血管和神经的慢性损害。典型症状包括多饮、多尿、多食和体重下降。诊断依据空腹血糖、"
        "口服葡萄糖耐量试验或糖化血红蛋白。治疗包括饮食控制、规律运动、血糖监测和药物治疗，患者应定期"
        "检查眼底、肾功能和足部，以便尽早发现并发症。",
        "高血压是最常见的慢性病之一，也是心脑血管疾病最重要的危险因素。多数患者早期没有明显症状，部分人会"
        "出现头痛、头晕、心悸等不适。血压长期控制不佳会损害心、脑、肾等重要器官。生活方式干预包括减少"
        "钠盐摄入、控制体重、戒烟限酒和适量运动，必要时在医生指导下长期规律服用降压药物，不可随意停药。",
    ],
    "ja": [
        "インフルエンザはインフルエンザウイルスによる急性の呼吸器感染症で、毎年冬に流行します。突然の高熱、"
        "頭痛、関節痛、筋肉痛、全身のだるさなどが特徴で、普通の風邪よりも症状が重くなりやすいです。高齢者"
        "や持病のある人は肺炎などの合併症に注意が必要です。予防には毎年のワクチン接種、手洗い、適度な湿度"
        "の保持が有効で、発症から四十八時間以内であれば抗ウイルス薬の効果が期待できます。",
        "脳卒中は脳の血管が詰まったり破れたりして、脳の働きが急に損なわれる病気です。顔のゆがみ、片側の"
        "手足のまひ、言葉のもつれなどが突然現れたら、すぐに救急車を呼ぶことが大切です。脳梗塞では発症から"
        "早い時間であれば血栓を溶かす治療が可能です。再発を防ぐために、血圧の管理、禁煙、糖尿病や脂質"
        "異常症の治療を続けることが重要です。",
    ],
}

#: near-copy edits per language: (original, replacement) pairs applied to the first base text
NEAR_EDITS: dict[str, list[tuple[str, str]]] = {
    "en": [("often mild", "usually mild"), ("at least once a year", "every year")],
    "fr": [("longtemps silencieuse", "souvent silencieuse"), ("régulière", "quotidienne")],
    "es": [("más común", "más frecuente"), ("siempre", "en todos los casos")],
    "ru": [("регулярно", "ежедневно")],
    "zh": [("典型症状", "常见症状"), ("规律运动", "适量运动")],
    "ja": [("毎年冬に", "冬になると"), ("有効で", "効果的で")],
}

DISCLAIMER = "This page is for general information only and does not replace advice from your doctor."


def sample_documents(boilerplate_copies: int = 0) -> list[Document]:
    """The bundled corpus: bases, planted duplicates, and ``boilerplate_copies`` documents with a disclaimer.

    Expected outcome with the default :class:`~mmedc.dedup.minhash.DedupConfig`: every document whose
    ``metadata["expected"]`` is not ``"keep"`` is removed, for that reason.
    """
    docs: list[Document] = []
    for lang, texts in BASE_TEXTS.items():
        for i, text in enumerate(texts):
            fam = f"{lang}{i}"
            url = f"https://health.example.org/{lang}/article-{i}"
            if i == 0:
                # the textbook has the original; the web copy differs only in case and spacing (an exact
                # duplicate after normalisation); a website mirror has a few edited words (a near one)
                docs.append(Document(text=text, id=f"textbook/{fam}", metadata={
                    "language": lang, "source": "textbook", "url": "", "family": fam, "expected": "keep"}))
                docs.append(Document(text="  " + text.upper().replace(" ", "  ") + "\n", id=f"web/{fam}", metadata={
                    "language": lang, "source": "web", "url": url, "family": fam, "expected": "exact"}))
                edited = text
                for a, b in NEAR_EDITS[lang]:
                    assert a in edited, (lang, a)
                    edited = edited.replace(a, b)
                docs.append(Document(text=edited, id=f"website/{fam}", metadata={
                    "language": lang, "source": "website", "url": f"https://mirror.example.net/{fam}",
                    "family": fam, "expected": "near"}))
            else:
                docs.append(Document(text=text, id=f"web/{fam}", metadata={
                    "language": lang, "source": "web", "url": url, "family": fam, "expected": "keep"}))
                # the same URL crawled again (tracking parameter, no www) with a shorter extraction
                docs.append(Document(text=text[: len(text) // 2], id=f"web/{fam}-recrawl", metadata={
                    "language": lang, "source": "web", "url": url.replace("https://", "http://www.") + "?utm_source=x",
                    "family": fam, "expected": "url"}))
    vocabulary = sorted({w.strip(".,:;") for t in BASE_TEXTS["en"] for w in t.split() if len(w) > 3})
    rng = random.Random(0)
    for j in range(boilerplate_copies):
        # distinct bodies (random draws from the English vocabulary) sharing one disclaimer line
        body = " ".join(rng.sample(vocabulary, 40))
        docs.append(Document(text=f"Reference note.\n{body}\n{DISCLAIMER}", id=f"web/boiler{j:03d}", metadata={
            "language": "en", "source": "web", "family": f"boiler{j}", "expected": "keep"}))
    return docs
