"""Shared helpers of the dedupe benchmarks: real base texts in six languages from
``../shared/data/text`` beside the repository (or ``--data``; not shipped, see
``../shared/data/SOURCES.md``), planted near-duplicates, and runners for mmedc's and datatrove's
MinHash stages in-process."""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
from pathlib import Path

from datatrove.data import Document

from mmedc.dedup.normalize import shingle_set

# the evaluation texts: ../shared/data/text beside the repository (not shipped with it)
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "text"


def require_data(data: Path) -> None:
    """Exit 0 with one line when the evaluation texts are missing (a fresh clone has none)."""
    if not (data / "general").is_dir():
        print(f"skipped: no evaluation texts at {data} (general/<lang>.txt and medical/*.jsonl; see "
              "../shared/data/SOURCES.md, or pass --data)")
        sys.exit(0)


LANGS = ("en", "fr", "es", "ru", "zh", "ja")
CJK = ("zh", "ja")
MEDICAL = {"en": ["en_pubmedqa.jsonl", "en_medqa.jsonl"], "fr": ["fr_frenchmedmcqa.jsonl"],
           "es": ["es_headqa.jsonl"], "ru": ["ru_rumeddanet.jsonl"]}
BOILERPLATE = {
    "en": "This article is for information only and is not a substitute for professional medical advice. Cookies help us deliver our services.",
    "fr": "Cet article est fourni à titre d'information et ne remplace pas l'avis d'un professionnel de santé. Ce site utilise des cookies.",
    "es": "Este artículo es solo informativo y no sustituye el consejo de un profesional sanitario. Este sitio utiliza cookies.",
    "ru": "Эта статья носит информационный характер и не заменяет консультацию врача. Сайт использует файлы cookie.",
    "zh": "本文仅供参考，不能替代专业医生的诊断和治疗建议。本网站使用cookie以改善用户体验。",
    "ja": "この記事は情報提供のみを目的としており、医師の診断や治療に代わるものではありません。当サイトはクッキーを使用しています。",
}


def _jsonl_texts(path: Path) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line)["text"])
    return out


def base_texts(data: Path, lang: str, per_lang: int, seed: int = 0) -> list[str]:
    """Distinct real documents (about 800-3000 characters, paragraphs split by newlines) of one language."""
    rng = random.Random(seed)
    texts = [t for t in _jsonl_texts(data / "general_docs" / f"{lang}.jsonl") if len(t) >= 500]
    sep = "" if lang in CJK else " "
    sents = [s.strip() for s in (data / "general" / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if s.strip()]
    for i in range(0, len(sents) - 8, 9):  # nine sentences, three paragraphs
        texts.append("\n".join(sep.join(sents[i + j : i + j + 3]) for j in (0, 3, 6)))
    for name in MEDICAL.get(lang, []):
        items = _jsonl_texts(data / "medical" / name)
        for i in range(0, len(items) - 3, 4):
            texts.append("\n".join(items[i : i + 4])[:3000])
    rng.shuffle(texts)
    # drop texts that overlap an earlier one (the sources repeat passages): bases must be distinct
    kept: list[str] = []
    kept_sets: list[set[str]] = []
    for t in texts:
        s = shingle_set(t, lang)
        if len(s) < 20:
            continue
        if any(len(s & o) / len(s | o) > 0.2 for o in kept_sets):
            continue
        kept.append(t)
        kept_sets.append(s)
        if len(kept) >= per_lang:
            break
    return kept


def _units(par: str, lang: str) -> list[str]:
    return list(par) if lang in CJK else par.split()


def _join(units: list[str], lang: str) -> str:
    return "".join(units) if lang in CJK else " ".join(units)


def make_variant(text: str, lang: str, rng: random.Random, pool: list[str]) -> tuple[str, str]:
    """A planted near-copy: edits (substitutions, insertions, deletions) at a random rate, sometimes
    reordered paragraphs and an added boilerplate paragraph. Returns (text, description)."""
    rate = rng.choice([0.0, 0.005, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.12, 0.2])
    ops = rng.sample(["sub", "ins", "del"], rng.randint(1, 3))
    pars = [p for p in re.split(r"\n+", text) if p.strip()]
    if len(pars) < 3:  # split long single paragraphs at sentence ends so that reordering means something
        pieces = re.split(r"(?<=[.!?。！？])\s*", text)
        k = max(1, len(pieces) // 3)
        pars = [("" if lang in CJK else " ").join(pieces[i : i + k]).strip() for i in range(0, len(pieces), k)]
        pars = [p for p in pars if p]
    out = []
    for p in pars:
        u = _units(p, lang)
        n_edit = int(round(rate * len(u)))
        for _ in range(n_edit):
            op = rng.choice(ops)
            if op == "sub" and u:
                u[rng.randrange(len(u))] = rng.choice(pool)
            elif op == "ins":
                u.insert(rng.randrange(len(u) + 1), rng.choice(pool))
            elif op == "del" and len(u) > 1:
                del u[rng.randrange(len(u))]
        out.append(_join(u, lang))
    desc = [f"edit{rate:g}:{'+'.join(ops)}"]
    if rng.random() < 0.3:
        rng.shuffle(out)
        desc.append("reorder")
    if rng.random() < 0.3:
        out.insert(rng.choice([0, len(out)]), BOILERPLATE[lang])
        desc.append("boilerplate")
    return "\n".join(out), ",".join(desc)


def planted_corpus(data: Path, per_lang: int, variants: int = 3, seed: int = 0) -> list[Document]:
    """Bases and ``variants`` planted near-copies each, in six languages, shuffled; metadata has
    ``family``, ``language``, ``source``."""
    rng = random.Random(seed)
    docs: list[Document] = []
    for lang in LANGS:
        bases = base_texts(data, lang, per_lang, seed)
        pool = [u for t in bases for p in t.split("\n") for u in _units(p, lang) if u.strip()]
        for b, text in enumerate(bases):
            fam = f"{lang}{b:04d}"
            docs.append(Document(text=text, id=f"{fam}-0", metadata={"family": fam, "language": lang,
                                                                      "source": "web", "edit": "base"}))
            for v in range(1, variants + 1):
                vt, desc = make_variant(text, lang, rng, pool)
                docs.append(Document(text=vt, id=f"{fam}-{v}", metadata={"family": fam, "language": lang,
                                                                          "source": "web", "edit": desc}))
    rng.shuffle(docs)
    return docs


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def run_mmedc(docs: list[Document], workdir: str | None = None, config=None) -> dict[str, str]:
    """mmedc's four stages in-process (one task); returns doc id -> cluster id for clustered documents."""
    import pyarrow.parquet as pq

    from mmedc.dedup import DedupConfig, MinhashBuckets, MinhashClusters, MinhashSignatures

    config = config or DedupConfig()
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="mmedc_dedup_bench_") as tmp:
            return run_mmedc(docs, tmp, config)
    list(MinhashSignatures(workdir, config).run(iter(docs), 0, 1))
    list(MinhashBuckets(workdir, config).run(None, 0, 1))
    list(MinhashClusters(workdir, config).run(None, 0, 1))
    t = pq.read_table(Path(workdir) / "clusters" / "00000.parquet").to_pydict()
    return {docs[i].id: c for i, c in zip(t["idx"], t["cluster"])}


def patch_datatrove_xxhash() -> None:
    """datatrove 0.10's xxhash wrappers pass ``str`` to xxhash, which xxhash >= 4 refuses; encode first."""
    import datatrove.utils.hashes.xxhash as dt_xxhash
    import xxhash

    def _b(data):
        return data.encode("utf-8") if isinstance(data, str) else data

    dt_xxhash.xxhash32 = lambda data: xxhash.xxh32_intdigest(_b(data))
    dt_xxhash.xxhash64 = lambda data: xxhash.xxh64_intdigest(_b(data))


def run_datatrove(docs: list[Document], language: str, workdir: str | None = None) -> dict[str, str]:
    """datatrove's MinhashDedup stages (default MinhashConfig) in-process; doc id -> cluster id."""
    import struct

    patch_datatrove_xxhash()
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupSignature,
    )

    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="dt_dedup_bench_") as tmp:
            return run_datatrove(docs, language, tmp)
    workdir = Path(workdir)
    cfg = MinhashConfig()
    list(MinhashDedupSignature(str(workdir / "sigs"), config=cfg, language=language).run(iter(docs), 0, 1) or [])
    for r in range(cfg.num_buckets):
        list(MinhashDedupBuckets(str(workdir / "sigs"), str(workdir / "buckets"), config=cfg).run(None, r, cfg.num_buckets) or [])
    list(MinhashDedupCluster(str(workdir / "buckets"), str(workdir / "clusters"), config=cfg,
                             save_cluster_id=True).run(None, 0, 1) or [])
    out: dict[str, str] = {}
    path = workdir / "clusters" / "000000.clusters"
    if path.exists():
        raw = path.read_bytes()
        for doc_idx, cid in struct.iter_unpack("<2I", raw):
            out[docs[doc_idx].id] = f"c{cid}"
    return out
