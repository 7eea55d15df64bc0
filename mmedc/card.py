"""The dataset card of a built corpus: ``README.md`` with the YAML header Hugging Face ``datasets`` reads,
the composition by language x source (documents, characters, tokens), the dedupe and decontamination
figures, the sources and their licences; and three PNG charts in ``charts/``:

- ``composition.png``: tokens per language and source on a log scale (MMedC's Fig. 2 as grouped bars,
  so a source a thousand times smaller than the web is still a visible bar), with the numbers beside;
- ``lengths.png``: document-length histograms (characters, log bins), one panel per language;
- ``scores.png``: the distributions of the scores that decided the filters (language-ID confidence,
  medical-keyword density), per source.

Tokens are real tokenizer counts when ``card.tokenizer`` names a local Hugging Face tokenizer, else
the model-free estimate of :func:`mmedc.stats.estimate_tokens`; the card says which. The charts need
matplotlib (``pip install mmedc[plot]``); without it the card is written without them. One streaming pass
over the shards for the histograms (fixed bins: bounded memory) and one for the token counts.
"""

from __future__ import annotations

import importlib.util
import json
import posixpath
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from datatrove.utils.logging import logger

from mmedc.io.atomic import atomic_write_text
from mmedc.io.layout import report_path
from mmedc.io.parquet import list_shards

LENGTH_BINS = np.arange(0, 7.01, 0.1)  # log10(characters)
SCORE_BINS = np.linspace(0, 1, 51)
DENSITY_BINS = np.linspace(0, 1, 101)


def distributions(data: str) -> dict[str, Any]:
    """Histograms of document length per language and of ``lang_score``/``med_kw_density`` per source."""
    import fsspec
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    lengths: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(LENGTH_BINS) - 1, np.int64))
    lang_score: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(SCORE_BINS) - 1, np.int64))
    density: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(DENSITY_BINS) - 1, np.int64))
    for path in list_shards(data):
        with fsspec.open(path, "rb") as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=4096, columns=["text", "lang", "source",
                                                                                  "lang_score", "med_kw_density"]):
                n = pc.utf8_length(batch.column("text")).to_numpy(zero_copy_only=False)
                langs = np.array(batch.column("lang").fill_null("unknown").to_pylist(), dtype=object)
                sources = np.array(batch.column("source").fill_null("unknown").to_pylist(), dtype=object)
                ls = batch.column("lang_score").to_numpy(zero_copy_only=False).astype(float)
                dens = batch.column("med_kw_density").to_numpy(zero_copy_only=False).astype(float)
                logn = np.log10(np.maximum(n, 1))
                for lang in np.unique(langs):
                    lengths[lang] += np.histogram(logn[langs == lang], LENGTH_BINS)[0]
                for src in np.unique(sources):
                    m = sources == src
                    lang_score[src] += np.histogram(ls[m][~np.isnan(ls[m])], SCORE_BINS)[0]
                    density[src] += np.histogram(np.clip(dens[m][~np.isnan(dens[m])], 0, DENSITY_BINS[-1]),
                                                 DENSITY_BINS)[0]
    return {"lengths": dict(sorted(lengths.items())), "lang_score": dict(sorted(lang_score.items())),
            "med_kw_density": dict(sorted(density.items()))}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_composition(stats: dict[str, Any], png: Path, title: str) -> Path:
    """Grouped bars of tokens per language and source, log scale, values printed above the bars."""
    plt = _plt()
    langs = sorted({r["lang"] for r in stats["rows"]})
    sources = sorted({r["source"] for r in stats["rows"]})
    value = {(r["lang"], r["source"]): r["tokens"] for r in stats["rows"]}
    width = 0.8 / max(1, len(sources))
    fig, ax = plt.subplots(figsize=(1.6 * max(3, len(langs)) + 2.5, 4.8))
    for j, source in enumerate(sources):
        xs = [i + (j - (len(sources) - 1) / 2) * width for i in range(len(langs))]
        hs = [value.get((lang, source), 0) for lang in langs]
        ax.bar(xs, [h if h > 0 else np.nan for h in hs], width=width, label=source)
        for x, h in zip(xs, hs):
            if h > 0:
                ax.annotate(f"{h:,}", (x, h), ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_yscale("log")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_ylabel(f"tokens ({stats['tokenizer']}, log scale)")
    ax.set_xlabel("language")
    ax.set_title(title)
    ax.legend(title="source", fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png


def plot_lengths(dist: dict[str, Any], png: Path) -> Path:
    plt = _plt()
    langs = list(dist["lengths"]) or ["none"]
    cols = min(3, len(langs))
    rows = (len(langs) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    centers = 10 ** ((LENGTH_BINS[:-1] + LENGTH_BINS[1:]) / 2)
    for ax, lang in zip(axes.flat, langs):
        counts = dist["lengths"].get(lang, np.zeros(len(centers)))
        ax.bar(centers, counts, width=np.diff(10 ** LENGTH_BINS), align="center")
        ax.set_xscale("log")
        ax.set_title(f"{lang} ({int(np.sum(counts)):,} documents)", fontsize=9)
        ax.set_xlabel("characters", fontsize=8)
    for ax in list(axes.flat)[len(langs):]:
        ax.axis("off")
    fig.suptitle("Document length per language")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def plot_scores(dist: dict[str, Any], png: Path) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, bins, label in ((axes[0], "lang_score", SCORE_BINS, "language-ID confidence"),
                                 (axes[1], "med_kw_density", DENSITY_BINS, "medical-keyword density")):
        centers = (bins[:-1] + bins[1:]) / 2
        for source, counts in dist[key].items():
            if np.sum(counts):
                ax.step(centers, counts, where="mid", label=f"{source} ({int(np.sum(counts)):,})")
        ax.set_xlabel(label)
        ax.set_ylabel("documents")
        ax.legend(fontsize=7)
    fig.suptitle("Scores that decided the filters, per source")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                        (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")):
        if n < limit:
            return name
    return "n>100M"


def render_readme(cfg: dict[str, Any], report: dict[str, Any], stats: dict[str, Any], charts: list[str]) -> str:
    """The card's Markdown, YAML header first."""
    import yaml

    card = cfg.get("card", {})
    langs = sorted({r["lang"] for r in stats["rows"] if r["lang"] != "unknown"}) or list(cfg["languages"])
    header = {
        "pretty_name": card.get("pretty_name", cfg["name"]),
        "language": langs,
        "license": card.get("licence", "other"),
        "tags": ["medical", "pretraining", "mmedc"],
        "task_categories": ["text-generation"],
        "size_categories": [_size_category(stats["totals"]["documents"])],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
    }
    t = stats["totals"]
    out = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).strip(), "---", "",
           f"# {card.get('pretty_name', cfg['name'])}", ""]
    if cfg.get("description"):
        out += [cfg["description"].strip(), ""]
    out += [f"{t['documents']:,} documents, {t['characters']:,} characters, {t['tokens']:,} tokens "
            f"({'tokenizer ' + stats['tokenizer'] if stats['tokenizer'] != 'estimate' else 'estimated without a tokenizer: one per CJK character, 1.3 per other word'}), "
            "built with mmedc (sources, one global dedupe, decontamination).", "",
            "```python", "from datasets import load_dataset", "", 'ds = load_dataset("path/to/this/folder", split="train")',
            "```", "", "## Composition", "", "| language | source | documents | characters | tokens |",
            "|---|---|---:|---:|---:|"]
    for r in stats["rows"]:
        out.append(f"| {r['lang']} | {r['source']} | {r['documents']:,} | {r['characters']:,} | {r['tokens']:,} |")
    out.append(f"| **all** | | **{t['documents']:,}** | **{t['characters']:,}** | **{t['tokens']:,}** |")
    sources = sorted({r["source"] for r in stats["rows"]})
    by = {(r["lang"], r["source"]): r["tokens"] for r in stats["rows"]}
    out += ["", "Tokens by language (rows) and source (columns):", "",
            "| | " + " | ".join(sources) + " | total |", "|---|" + "---:|" * (len(sources) + 1)]
    for lang in sorted({r["lang"] for r in stats["rows"]}):
        vals = [by.get((lang, s), 0) for s in sources]
        out.append(f"| {lang} | " + " | ".join(f"{v:,}" for v in vals) + f" | {sum(vals):,} |")
    out += [""] + [f"![{Path(c).stem}](charts/{Path(c).name})" for c in charts] + [""]
    out += ["## Sources", "", "| kind | name | documents after its recipe | licence |", "|---|---|---:|---|"]
    for s in report["sources"]:
        out.append(f"| {s['source']} | {s['name']} | {s['documents']:,} | {s.get('licence') or 'not given'} |")
    d = report.get("dedupe")
    out += ["", "## Deduplication", ""]
    if d:
        out += [f"{d['documents_in']:,} documents in, {d['documents_out']:,} out; removed: "
                + ", ".join(f"{k} {v:,}" for k, v in d["removed"].items())
                + f". {d['clusters']:,} duplicate clusters; every kept document carries `dedup_cluster_size` "
                "(1 when it had no duplicate) for upsampling.", ""]
        cfgd = d.get("config", {})
        out += [f"MinHash: Jaccard threshold {cfgd.get('threshold')}, {cfgd.get('num_perm')} permutations, "
                f"{cfgd.get('word_ngram')}-word / {cfgd.get('char_ngram')}-character shingles.", ""]
    else:
        out += ["Not run (`dedupe: false`).", ""]
    c = report.get("decontamination")
    out += ["## Decontamination", ""]
    if c:
        mode = cfg.get("decontamination", {}).get("mode", "remove")
        out += [f"{c['contaminated']:,} of {c['documents']:,} documents shared a long n-gram with a benchmark item "
                f"({'removed' if mode == 'remove' else 'kept, tagged `decontam_benchmarks`'}).", "",
                "| benchmark | items | items found | documents | by source |", "|---|---:|---:|---:|---|"]
        for name, b in c["by_benchmark"].items():
            srcs = ", ".join(f"{k} {v}" for k, v in b["by_source"].items()) or "-"
            out.append(f"| {name} | {b['items'] if b['items'] is not None else '?'} | {b['items_found']} | "
                       f"{b['documents']} | {srcs} |")
        out.append("")
    else:
        out += ["No benchmark given.", ""]
    return "\n".join(out) + "\n"


def write_card(cfg: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """Write ``README.md`` and ``charts/*.png`` into the output folder; return what was written."""
    from mmedc.stats import corpus_stats

    output = Path(cfg["output"])
    data = posixpath.join(cfg["output"], "data")
    card = cfg.get("card", {})
    if list_shards(data):
        stats = corpus_stats(data, tokenizer=card.get("tokenizer"))
    else:
        stats = {"shards": 0, "tokenizer": card.get("tokenizer") or "estimate", "rows": [],
                 "totals": {"documents": 0, "characters": 0, "tokens": 0}}
    charts: list[str] = []
    if card.get("charts", True) and stats["rows"] and importlib.util.find_spec("matplotlib") is None:
        logger.warning("dataset card: no charts, matplotlib is not installed (pip install mmedc[plot])")
    elif card.get("charts", True) and stats["rows"]:
        dist = distributions(data)
        charts = [str(plot_composition(stats, output / "charts" / "composition.png", f"{cfg['name']}: composition")),
                  str(plot_lengths(dist, output / "charts" / "lengths.png")),
                  str(plot_scores(dist, output / "charts" / "scores.png"))]
    readme = output / "README.md"
    atomic_write_text(readme, render_readme(cfg, report, stats, charts))
    atomic_write_text(report_path(cfg["output"], "stats.json"), json.dumps(stats, indent=1, ensure_ascii=False))
    return {"readme": str(readme), "charts": charts, "documents": stats["totals"]["documents"],
            "tokens": stats["totals"]["tokens"], "tokenizer": stats["tokenizer"], "rows": stats["rows"]}
