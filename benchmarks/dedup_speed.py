"""Signature speed on one core: mmedc's MinhashSignatures vs datatrove's MinhashDedupSignature.

Same documents for both (about ``--doc-chars`` characters each, real text in six languages from
``--data``); datatrove runs once per language with that language's word tokenizer (spaCy; jieba for
Chinese, SudachiPy for Japanese), the configuration that gets its CJK accuracy, tokenizers loaded
before timing. Both write their signature files to a temporary folder, after a warm-up run on a few
documents. Rates are given per CPU second of this process (fair on a shared machine) and per wall
second. A plain datasketch loop (whitespace 5-grams, no normalisation; CJK text then has few
shingles) is timed too, as a floor for what datasketch itself costs.

    .venv/bin/python benchmarks/dedup_speed.py --docs 1200
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datatrove.data import Document  # noqa: E402
from dedup_common import DEFAULT_DATA, LANGS, base_texts, patch_datatrove_xxhash, require_data  # noqa: E402


def corpus(data: Path, n: int, doc_chars: int) -> list[Document]:
    per_lang = {lang: [t[:doc_chars] for t in base_texts(data, lang, 10**6) if len(t) >= doc_chars * 0.8]
                for lang in LANGS}
    docs = []
    i = 0
    while len(docs) < n:
        lang = LANGS[i % len(LANGS)]
        texts = per_lang[lang]
        docs.append(Document(text=texts[(i // len(LANGS)) % len(texts)], id=f"d{i}", metadata={"language": lang}))
        i += 1
    return docs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation texts (default: ../shared/data/text)")
    ap.add_argument("--docs", type=int, default=1200)
    ap.add_argument("--doc-chars", type=int, default=1500)
    args = ap.parse_args()
    require_data(args.data)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    docs = corpus(args.data, args.docs, args.doc_chars)
    avg = sum(len(d.text.encode()) for d in docs) / len(docs)
    print(f"{len(docs)} documents, {avg:.0f} bytes on average, languages {LANGS}, one core")

    from mmedc.dedup import DedupConfig, MinhashSignatures

    def timed(fn) -> tuple[float, float]:
        c, w = time.process_time(), time.perf_counter()
        fn()
        return time.process_time() - c, time.perf_counter() - w

    with tempfile.TemporaryDirectory() as tmp:
        list(MinhashSignatures(os.path.join(tmp, "warm"), DedupConfig()).run(iter(docs[:50]), 0, 1))
        step = MinhashSignatures(tmp, DedupConfig())
        mmedc_cpu, mmedc_wall = timed(lambda: list(step.run(iter(docs), 0, 1)))

    import xxhash
    from datasketch import MinHash

    perms = MinHash(num_perm=128).permutations

    def plain():
        for d in docs:
            w = d.text.split()
            m = MinHash(num_perm=128, hashfunc=xxhash.xxh32_intdigest, permutations=perms, scheme="affine32")
            m.update_batch([" ".join(w[i:i + 5]).encode() for i in range(max(1, len(w) - 4))])

    plain_cpu, plain_wall = timed(plain)

    patch_datatrove_xxhash()
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
    from datatrove.utils.typeshelper import Languages

    tok = {"en": Languages.english, "fr": Languages.french, "es": Languages.spanish, "ru": Languages.russian,
           "zh": Languages.mandarin_chinese, "ja": Languages.japanese}
    dt_cpu = dt_wall = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for lang in LANGS:
            sub = [d for d in docs if d.metadata["language"] == lang]
            step = MinhashDedupSignature(os.path.join(tmp, lang), language=tok[lang])
            list(MinhashDedupSignature(os.path.join(tmp, "warm" + lang), language=tok[lang]).run(iter(sub[:5]), 0, 1) or [])
            c, w = timed(lambda step=step, sub=sub: list(step.run(iter(sub), 0, 1) or []))
            dt_cpu += c
            dt_wall += w

    n = len(docs)
    print(f"{'method':<62}{'docs/CPU-s':>11}{'docs/wall-s':>12}")
    for name, c, w in (("mmedc MinhashSignatures (normalise, shingle, 128 perm, write)", mmedc_cpu, mmedc_wall),
                       ("datatrove MinhashDedupSignature, per-language tokenizers", dt_cpu, dt_wall),
                       ("plain datasketch update_batch, whitespace 5-grams (floor)", plain_cpu, plain_wall)):
        print(f"{name:<62}{n / c:>11.0f}{n / w:>12.0f}")
    print(f"mmedc / datatrove = {dt_cpu / mmedc_cpu:.1f}x (CPU), {dt_wall / mmedc_wall:.1f}x (wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
