"""Decontamination speed and agreement: mmedc's ``Decontaminate`` vs a plain Python n-gram set.

Data (``--data``, default ``../shared/data``; the script exits 0 with a message when it is missing):
- benchmarks: the real exam items of ``text/medical/*.jsonl`` (MedQA, PubMedQA, HEAD-QA,
  FrenchMedMCQA, RuMedDaNet: 3,328 items), one benchmark per file;
- corpus: the long non-medical documents of ``text/general_docs/<lang>.jsonl`` in six languages,
  copied ``--copies`` times with their sentences shuffled (so copies do not repeat n-grams), and
  ``--plant`` benchmark items planted into random documents, half of them reformatted (upper case,
  options on their own lines, punctuation changed).
- ``--extra-ngrams`` (default 1,000,000): a synthetic benchmark of random-word items added to the
  index so both methods look up against an index of that size (the scale the design promises).

Baseline (what a user would otherwise write, same rules: 13-grams of words, of characters for zh/ja,
any shared n-gram flags the document): ``mmedc.dedup.normalize.normalize_text`` + a regular-expression
unit split + a Python ``set`` of n-gram strings built from the same items. Both run in this process on
the same documents, timed in CPU seconds of this process (fair on a shared machine); the planted
items found and the documents flagged are compared.

    .venv/bin/python benchmarks/decontam.py --copies 4 --plant 200
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

LANGS = ("en", "zh", "ja", "fr", "ru", "es")


def load(data: Path, copies: int, plant: int, seed: int):
    from datatrove.data import Document

    rng = random.Random(seed)
    bench_files = sorted((data / "text" / "medical").glob("*.jsonl"))
    items = [(f.stem, json.loads(line)["text"]) for f in bench_files for line in f.open(encoding="utf-8") if line.strip()]
    base = []
    for lang in LANGS:
        for line in (data / "text" / "general_docs" / f"{lang}.jsonl").open(encoding="utf-8"):
            base.append((lang, json.loads(line)["text"]))
    splitter = re.compile(r"(?<=[.!?。！？])\s*")
    docs, planted = [], {}
    for c in range(copies):
        for i, (lang, text) in enumerate(base):
            sents = [s for s in splitter.split(text) if s]
            if c:
                rng.shuffle(sents)
            sep = "" if lang in ("zh", "ja") else " "
            docs.append(Document(text=sep.join(sents), id=f"{c}/{lang}/{i}", metadata={"language": lang, "source": "web"}))
    for k in rng.sample(range(len(docs)), plant):
        name, item = rng.choice(items)
        if k % 2:
            item = item.upper().replace("? ", "?\n(A) ").replace(", ", " ; ")
        d = docs[k]
        cut = len(d.text) // 2
        d.text = d.text[:cut] + "\n" + item + "\n" + d.text[cut:]
        planted[d.id] = name
    return bench_files, items, docs, planted


def synthetic_items(path: Path, ngrams: int, seed: int) -> list[tuple[str, str]]:
    """Items of 120 random 7-letter words (108 13-grams each) until ``ngrams`` n-grams, as jsonl."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(50_000)]
    out = []
    with path.open("w", encoding="utf-8") as f:
        for _ in range(max(0, ngrams) // 108):
            text = " ".join(rng.choice(vocab) for _ in range(120))
            f.write(json.dumps({"text": text}) + "\n")
            out.append((path.stem, text))
    return out


def baseline(items, docs, n: int = 13):
    from mmedc.dedup.normalize import normalize_text
    from mmedc.lang import CHAR_SCRIPT_RANGES

    unit_re = re.compile(rf"[{CHAR_SCRIPT_RANGES}]|[^\s{CHAR_SCRIPT_RANGES}]+")

    def grams(text):
        u = unit_re.findall(normalize_text(text))
        return {" ".join(u[i:i + n]) for i in range(len(u) - n + 1)}

    tracemalloc.start()
    t0 = time.process_time()
    index: set[str] = set()
    for _, item in items:
        index |= grams(item)
    build = time.process_time() - t0
    mem = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    t0 = time.process_time()
    flagged = {d.id for d in docs if not grams(d.text).isdisjoint(index)}
    return flagged, time.process_time() - t0, build, mem, len(index)


def mmedc_run(bench_files, docs, workdir: Path):
    import copy

    from mmedc.decontam import BenchmarkSpec, Decontaminate, build_index

    t0 = time.process_time()
    summary = build_index([BenchmarkSpec(f.stem, str(f)) for f in bench_files], workdir / "index")
    build = time.process_time() - t0
    block = Decontaminate(workdir / "index", mode="tag")
    docs = copy.deepcopy(docs)
    list(block.run(copy.deepcopy(docs[:600]), 0, 1))  # warm-up: tables, hash powers, page cache
    t0 = time.process_time()
    out = list(Decontaminate(workdir / "index", mode="tag").run(docs, 0, 1))
    elapsed = time.process_time() - t0
    flagged = {d.id for d in out if d.metadata.get("decontam_benchmarks")}
    return flagged, elapsed, build, summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    p.add_argument("--copies", type=int, default=4, help="copies of the general documents (sentences shuffled)")
    p.add_argument("--plant", type=int, default=200, help="benchmark items planted into documents")
    p.add_argument("--extra-ngrams", type=int, default=1_000_000, help="synthetic n-grams added to the index")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = Path(args.data)
    if not (data / "text" / "medical").is_dir() or not (data / "text" / "general_docs").is_dir():
        print(f"benchmarks/decontam.py: {data}/text/medical or text/general_docs not found; nothing measured")
        return 0
    bench_files, items, docs, planted = load(data, args.copies, args.plant, args.seed)
    mb = sum(len(d.text.encode("utf-8")) for d in docs) / 1e6
    print(f"corpus: {len(docs):,} documents, {mb:.1f} MB UTF-8, {len(planted)} planted items; "
          f"benchmarks: {len(bench_files)} files, {len(items):,} items")
    with tempfile.TemporaryDirectory() as tmp:
        if args.extra_ngrams > 0:
            items = items + synthetic_items(Path(tmp) / "synthetic.jsonl", args.extra_ngrams, args.seed)
            bench_files = [*bench_files, Path(tmp) / "synthetic.jsonl"]
        m_flag, m_time, m_build, summary = mmedc_run(bench_files, docs, Path(tmp))
    b_flag, b_time, b_build, b_mem, b_size = baseline(items, docs)
    print(f"index: mmedc {summary['ngrams']:,} n-grams, {summary['bytes'] / 2**20:.1f} MiB on disk (memory-mapped), "
          f"built in {m_build:.2f} CPU s, {summary['template_ngrams_dropped']:,} template n-grams dropped; "
          f"Python set {b_size:,} n-grams, {b_mem / 2**20:.1f} MiB in memory, built in {b_build:.2f} CPU s")
    print(f"{'':24}{'CPU s':>8}{'MB/s per core':>16}{'planted found':>16}{'other docs flagged':>20}")
    for name, flag, t in (("Python n-gram set", b_flag, b_time), ("mmedc Decontaminate", m_flag, m_time)):
        found = len(set(planted) & flag)
        print(f"{name:<24}{t:>8.2f}{mb / t:>16.1f}{f'{found}/{len(planted)}':>16}{len(flag - set(planted)):>20}")
    print(f"speed ratio mmedc / Python set: {b_time / m_time:.1f}x; documents flagged by one method only: "
          f"{len(m_flag ^ b_flag)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
