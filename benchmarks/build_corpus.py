"""Wall time of ``mmedc build`` against the recipes a user would otherwise chain by hand, same input, same run.

Input (``--data``, default ``../shared/data``; exits 0 with a message when missing): a general-web
jsonl corpus of about ``--mb`` MB made of the real documents of ``text/general_docs/<lang>.jsonl`` (six
languages) and of medical documents joined from the exam items of ``text/medical/*.jsonl`` (both with
their sentences shuffled per copy, so copies are near-duplicates, not exact ones), plus the medical
items as an existing corpus (jsonl) and as the decontamination benchmark.

- baseline: ``run_filter_web`` on the web input, then ``run_dedupe`` over its output and the corpus
  shards written by a plain reader + writer pipeline (what a user stitches today);
- build: one corpus.yaml with the same two sources, the same dedupe, plus decontamination and the card.

Both run on the local executor with ``--tasks``/``--workers``; wall seconds of the whole thing.

    .venv/bin/python benchmarks/build_corpus.py --mb 200 --tasks 4 --workers 2
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

LANGS = ("en", "zh", "ja", "fr", "ru", "es")


def make_input(data: Path, out: Path, mb: float, seed: int) -> tuple[Path, Path, float]:
    rng = random.Random(seed)
    general = [(lang, json.loads(line)["text"]) for lang in LANGS
               for line in (data / "text" / "general_docs" / f"{lang}.jsonl").open(encoding="utf-8")]
    all_items = [(f.stem.split("_")[0], json.loads(line)["text"]) for f in sorted((data / "text" / "medical").glob("*.jsonl"))
                 for line in f.open(encoding="utf-8") if line.strip()]
    # every 10th item is the held-out benchmark; the others make the medical documents and the corpus
    held_out = all_items[::10]
    items = [x for i, x in enumerate(all_items) if i % 10]
    medical = []
    by_lang: dict[str, list[str]] = {}
    for lang, text in items:
        by_lang.setdefault(lang, []).append(text)
    for lang, texts in by_lang.items():
        for i in range(0, len(texts) - 3, 4):
            medical.append((lang, "\n".join(texts[i:i + 4])))
    split = re.compile(r"(?<=[.!?。！？])\s*")
    web = out / "web"
    web.mkdir(parents=True)
    size, n, part = 0, 0, 0
    f = (web / f"part-{part:03d}.jsonl").open("w", encoding="utf-8")
    while size < mb * 1e6:
        lang, text = rng.choice(general if rng.random() < 0.7 else medical)
        sents = [s for s in split.split(text) if s]
        rng.shuffle(sents)
        doc = ("" if lang in ("zh", "ja") else " ").join(sents)
        if n % 1000 == 0:  # a benchmark item leaked into one web page in a thousand
            doc += "\n" + rng.choice(held_out)[1]
        line = json.dumps({"id": f"w{n}", "text": doc, "url": f"https://example.org/{n}"}, ensure_ascii=False) + "\n"
        f.write(line)
        size += len(line.encode())
        n += 1
        if n % 20000 == 0:
            f.close()
            part += 1
            f = (web / f"part-{part:03d}.jsonl").open("w", encoding="utf-8")
    f.close()
    corpus = out / "corpus.jsonl"
    with corpus.open("w", encoding="utf-8") as g:
        for i, (lang, text) in enumerate(items):
            g.write(json.dumps({"id": i, "text": text, "lang": lang}, ensure_ascii=False) + "\n")
    bench = out / "benchmark.jsonl"
    with bench.open("w", encoding="utf-8") as g:
        for _, text in held_out:
            g.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    return web, corpus, size / 1e6


def baseline(web: Path, corpus: Path, work: Path, tasks: int, workers: int) -> float:
    from mmedc.corpora import CorpusSpec, corpus_blocks
    from mmedc.executors import make_executor
    from mmedc.io.parquet import ShardedParquetWriter
    from mmedc.recipes.dedupe import run_dedupe
    from mmedc.recipes.filter_web import run_filter_web

    t0 = time.perf_counter()
    run_filter_web(str(web), str(work / "web"), tasks=tasks, workers=workers)
    spec = CorpusSpec("items", str(corpus), fields={"language": "lang"})
    make_executor([*corpus_blocks(spec), ShardedParquetWriter(str(work / "corpus"))], str(work / "logs_corpus"),
                  tasks=1, workers=1).run()
    run_dedupe([str(work / "web"), str(work / "corpus")], str(work / "dedup"), tasks=tasks, workers=workers)
    return time.perf_counter() - t0


def build(web: Path, corpus: Path, work: Path, tasks: int, workers: int) -> tuple[float, dict]:
    import yaml

    from mmedc.recipes.build import run_build

    cfg = {"name": "bench", "output": str(work / "out"), "executor": {"tasks": tasks, "workers": workers},
           "sources": {"web": [{"input": str(web)}],
                       "corpora": [{"name": "items", "path": str(corpus), "fields": {"language": "lang"}}]},
           "decontamination": {"benchmarks": [{"name": "held_out", "path": str(corpus.parent / "benchmark.jsonl")}]}}
    path = work / "corpus.yaml"
    path.write_text(yaml.safe_dump(cfg))
    t0 = time.perf_counter()
    report = run_build(path)
    return time.perf_counter() - t0, report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    p.add_argument("--mb", type=float, default=200)
    p.add_argument("--tasks", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = Path(args.data)
    if not (data / "text" / "general_docs").is_dir() or not (data / "text" / "medical").is_dir():
        print(f"benchmarks/build_corpus.py: {data}/text/general_docs or text/medical not found; nothing measured")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        web, corpus, mb = make_input(data, tmp / "input", args.mb, args.seed)
        print(f"input: {mb:.1f} MB of web jsonl + {corpus.stat().st_size / 1e6:.1f} MB existing corpus; "
              f"tasks={args.tasks}, workers={args.workers}")
        (tmp / "b").mkdir()
        (tmp / "c").mkdir()
        tb = baseline(web, corpus, tmp / "b", args.tasks, args.workers)
        tc, report = build(web, corpus, tmp / "c", args.tasks, args.workers)
    print(f"{'baseline: filter_web + corpus reader + dedupe, by hand':<58}{tb:>8.1f} s")
    print(f"{'mmedc build (same + decontamination + card)':<58}{tc:>8.1f} s   ratio {tc / tb:.2f}x")
    print(f"build: {report['card']['documents']:,} documents out; dedupe removed {report['dedupe']['removed']}; "
          f"decontamination removed {report['decontamination']['contaminated']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
