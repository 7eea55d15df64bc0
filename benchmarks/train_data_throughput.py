"""Training-data throughput: tokens/s per CPU core (read + tokenize + pack) against what a GPU consumes.

Measured in one run, on the same shards and tokenizer:
- mmedc ``PackedStream`` in the training process (1 core; Rust tokenizer threads pinned to 1),
  and with N tokenizer worker processes;
- baseline: HF ``datasets`` the way ``run_clm.py`` does it (Parquet -> batched ``map`` tokenize ->
  ``group_texts``), one process;
- the original MMedC preparation (every document padded/truncated to ``seq_len``): the share of trained
  tokens that are padding, and of text that truncation throws away.
Then: tokens/s one H100 consumes training a ~1B Llama (``configs/llama-1b.yaml``) at a given MFU, and
how many cores keep 10x ahead of it.

Data: the real multilingual text under ``--data`` (default ``../shared/data/text`` beside the repository; general and
medical documents in en, zh, ja, fr, ru, es), repeated to ``--mb`` megabytes; falls back to the
built-in demo corpus when the folder is missing. Tokenizer: a 32k byte-level BPE trained on the shards,
or ``--tokenizer <local path>`` (e.g. a Llama 3 tokenizer you have on disk).

    .venv/bin/python benchmarks/train_data_throughput.py --mb 20 --workers 2
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import sys
import tempfile
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # one core per tokenizing process
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

H100_BF16_TFLOPS = 989.0


def load_texts(data: str) -> list[tuple[str, str, str]]:
    """(lang, source, text) documents from the evaluation text folder."""
    docs: list[tuple[str, str, str]] = []
    for path in sorted(glob.glob(os.path.join(data, "general_docs", "*.jsonl"))):
        lang = os.path.basename(path).split(".")[0]
        with open(path, encoding="utf-8") as f:
            docs += [(lang, "web", json.loads(line)["text"]) for line in f if line.strip()]
    for path in sorted(glob.glob(os.path.join(data, "medical", "*.jsonl"))):
        lang = os.path.basename(path).split("_")[0]
        with open(path, encoding="utf-8") as f:
            items = [json.loads(line) for line in f if line.strip()]
        texts = [" ".join(str(v) for v in it.values() if isinstance(v, str)) for it in items]
        for i in range(0, len(texts), 4):  # join a few items into a document of realistic length
            docs.append((lang, "corpus", "\n".join(texts[i : i + 4])))
    for path in sorted(glob.glob(os.path.join(data, "general", "*.txt"))):
        lang = os.path.basename(path).split(".")[0]
        with open(path, encoding="utf-8") as f:
            lines = [x.strip() for x in f if x.strip()]
        for i in range(0, len(lines), 10):
            docs.append((lang, "web", " ".join(lines[i : i + 10])))
    return docs


def write_shards(folder: str, docs: list[tuple[str, str, str]], mb: float) -> int:
    from datatrove.data import Document

    from mmedc.io import ShardedParquetWriter, merge_manifests

    target = mb * 2**20
    size, n, rnd = 0, 0, random.Random(0)
    with ShardedParquetWriter(folder, max_rows=20_000, row_group_rows=1000) as w:
        while size < target:
            order = list(range(len(docs)))
            rnd.shuffle(order)
            for i in order:
                lang, src, text = docs[i]
                w.write(Document(text=text, id=f"d{n}", metadata={"language": lang, "source": src}), rank=0)
                size += len(text.encode())
                n += 1
                if size >= target:
                    break
    merge_manifests(folder)
    return n


def bench_stream(shards: str, tok, seq_len: int, workers: int) -> tuple[float, float, int, float]:
    """Tokens/s of a full epoch, and in steady state (after the first block: process start-up excluded)."""
    from mmedc.train.data import PackedStream

    s = PackedStream(shards, tok, seq_len, seed=0, epochs=1, workers=workers, batch_docs=256)
    t = time.perf_counter()
    n, t1, tok1 = 0, None, 0
    for _ in s:
        n += 1
        if t1 is None:
            t1, tok1 = time.perf_counter(), s.stats["tokens"]
    end = time.perf_counter()
    return s.stats["tokens"] / (end - t), (s.stats["tokens"] - tok1) / max(end - t1, 1e-9), n, end - t


def bench_datasets(shards: str, tok, seq_len: int, cache: str) -> tuple[float, float]:
    """run_clm.py's path: load_dataset(parquet) -> map(tokenize, batched) -> map(group_texts)."""
    from itertools import chain

    import datasets

    datasets.disable_progress_bars()
    files = sorted(glob.glob(os.path.join(shards, "*.parquet")))
    t = time.perf_counter()
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=cache)
    ds = ds.map(lambda b: tok(b["text"]), batched=True, remove_columns=ds.column_names)

    def group_texts(examples):
        concatenated = {k: list(chain(*examples[k])) for k in examples}
        total = (len(concatenated["input_ids"]) // seq_len) * seq_len
        return {k: [v[i : i + seq_len] for i in range(0, total, seq_len)] for k, v in concatenated.items()}

    ds = ds.map(group_texts, batched=True)
    dt = time.perf_counter() - t
    return len(ds) * seq_len / dt, dt


def seed_padding(shards: str, tok, seq_len: int) -> dict[str, float]:
    """The original MMedC preparation: each document alone, padded or truncated to seq_len."""
    from mmedc.io import iter_records

    real = kept = 0
    blocks = 0
    for rec in iter_records(shards, columns=["text"]):
        n = len(tok(rec["text"])["input_ids"]) + 1
        real += n
        kept += min(n, seq_len)
        blocks += 1
    return {"padding_share": 1 - kept / (blocks * seq_len), "truncated_share": 1 - kept / real}


def h100_tokens_per_s(config_path: str, mfu: float, seq_len: int) -> tuple[float, int]:
    """Tokens/s one H100 trains for the config's model at the given MFU (PaLM FLOPs per token)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from mmedc.train.config import load_config_file
    from mmedc.train.trainer import flops_per_token

    arch = dict(load_config_file(config_path)["model"])
    cfg = AutoConfig.for_model(arch.pop("model_type", "llama"), **arch)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg)
    n = sum(p.numel() for p in model.parameters())
    return mfu * H100_BF16_TFLOPS * 1e12 / flops_per_token(cfg, n, seq_len), n


def main(argv: list[str] | None = None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data", "text"))
    p.add_argument("--mb", type=float, default=20.0, help="corpus size in MB of UTF-8 text")
    p.add_argument("--seq-len", type=int, default=2048)
    p.add_argument("--workers", type=int, default=2, help="tokenizer processes for the multi-process run")
    p.add_argument("--tokenizer", default=None, help="local tokenizer path (default: train a 32k BPE)")
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--model-config", default=os.path.join(here, "..", "configs", "llama-1b.yaml"))
    p.add_argument("--mfu", type=float, default=0.4, help="MFU assumed for the GPU's consumption")
    a = p.parse_args(argv)
    if not os.path.isdir(a.data):
        print(f"skipped: no text data at {a.data} (the repository's ../shared/data/text; pass --data)")
        return 0

    from mmedc.train.data import train_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        shards = os.path.join(tmp, "shards")
        if os.path.isdir(a.data):
            docs = load_texts(a.data)
            source = f"{a.data} ({len(docs)} documents, repeated)"
        else:
            from mmedc.recipes.pretrain import _DEMO_TEXT

            docs = [(lang, "corpus", " ".join(s)) for lang, s in _DEMO_TEXT.items()]
            source = "built-in demo corpus (repeated)"
        n_docs = write_shards(shards, docs, a.mb)
        print(f"corpus: {a.mb:.0f} MB, {n_docs:,} documents from {source}")
        t = time.perf_counter()
        if a.tokenizer:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(a.tokenizer)
        else:
            tok = train_tokenizer(shards, vocab_size=a.vocab, max_docs=5000)
        print(f"tokenizer: {type(tok).__name__}, {len(tok):,} tokens ({time.perf_counter() - t:.1f}s)")

        rows = []
        tps1, st1, blocks, dt = bench_stream(shards, tok, a.seq_len, workers=0)
        rows.append(("mmedc PackedStream, in-process (1 core)", tps1, st1, 1, dt))
        tpsn, stn, _, dtn = bench_stream(shards, tok, a.seq_len, workers=a.workers)
        rows.append((f"mmedc PackedStream, {a.workers} tokenizer processes", tpsn, stn, a.workers, dtn))
        tpsd, dtd = bench_datasets(shards, tok, a.seq_len, os.path.join(tmp, "hf_cache"))
        rows.append(("baseline: datasets map + group_texts (run_clm), 1 process", tpsd, None, 1, dtd))
        print(f"\n{'pipeline':<60}{'tokens/s':>11}{'steady':>11}{'per core':>11}{'seconds':>9}")
        for name, tps, steady, cores, sec in rows:
            best = steady or tps
            print(f"{name:<60}{tps:>11,.0f}{(f'{steady:,.0f}' if steady else '-'):>11}{best / cores:>11,.0f}{sec:>9.1f}")
        print(f"({blocks:,} blocks of {a.seq_len} tokens; nothing padded. steady: after the first block, "
              f"start-up excluded. load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

        pad = seed_padding(shards, tok, a.seq_len)
        print(f"\nseed preparation (each document padded/truncated to {a.seq_len}): "
              f"{pad['padding_share']:.1%} of trained tokens are padding, {pad['truncated_share']:.1%} of text truncated")

        gpu_tps, n_params = h100_tokens_per_s(a.model_config, a.mfu, a.seq_len)
        cores = 10 * gpu_tps / st1
        print(f"\nH100 training a {n_params / 1e9:.2f}B Llama at {a.mfu:.0%} MFU, {a.seq_len} tokens: "
              f"{gpu_tps:,.0f} tokens/s")
        print(f"one core feeds {st1 / gpu_tps:.1f}x that; 10x needs {cores:.1f} cores per GPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
