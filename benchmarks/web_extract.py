"""Extraction quality and speed: mmedc's HtmlExtractor settings against trafilatura's defaults.

Data (not shipped; see ../shared/data/SOURCES.md):
- ``web/aeb``: article-extraction-benchmark pages with the expected ``articleBody``. Scored by token
  precision / recall / F1 (bag of tokens; words for alphabetic scripts, single characters for CJK),
  averaged over pages (a page with no output scores 0).
- ``web/trafilatura_eval``: pages with snippets that must (``with``) and must not (``without``) appear.
  Scored as trafilatura's own evaluation does: a ``with`` snippet found is a true positive, missed a
  false negative; a ``without`` snippet found is a false positive.

Both systems get the same bytes. The baseline is ``trafilatura.extract(raw_bytes)`` with its defaults;
mmedc decodes with :func:`mmedc.web.encoding.decode_html` and extracts with ``HtmlExtractor``'s
settings. Speed: documents/s of the ``HtmlExtractor`` block (datatrove pipeline step, with its
timeout sandbox) against raw ``trafilatura.extract`` with the same settings, same documents.

    .venv/bin/python benchmarks/web_extract.py [--data ../shared/data/web] [--limit N] [--speed-docs N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+", re.UNICODE)


def tokens(text: str) -> Counter:
    """Words for alphabetic scripts, single characters for CJK, lower-cased."""
    return Counter(t.lower() for t in _TOKEN.findall(text or ""))


def prf(pred: str, gold: str) -> tuple[float, float, float]:
    p, g = tokens(pred), tokens(gold)
    if not p or not g:
        return 0.0, 0.0, 0.0
    overlap = sum((p & g).values())
    precision = overlap / sum(p.values())
    recall = overlap / sum(g.values())
    f1 = 0.0 if overlap == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def _norm(s: str) -> str:
    return " ".join((s or "").split())


def load_aeb(root: Path, limit: int | None) -> list[tuple[bytes, str, str]]:
    gt = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for key in sorted(gt)[:limit]:
        path = root / "html" / f"{key}.html.gz"
        if path.exists():
            out.append((gzip.decompress(path.read_bytes()), gt[key]["articleBody"], gt[key].get("url", "")))
    return out


def load_snippets(root: Path, limit: int | None) -> list[tuple[bytes, list[str], list[str], str]]:
    ev = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    out = []
    for url in sorted(ev)[:limit]:
        item = ev[url]
        path = root / "html" / (item["file"] + ".gz")
        if not path.exists():
            path = root / "html" / item["file"]
        if not path.exists():
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        out.append((data, item.get("with") or [], item.get("without") or [], url))
    return out


def trafilatura_default(data: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(data, url=url) or ""


def mmedc_extract(extractor) -> callable:
    from mmedc.web.encoding import decode_html

    def run(data: bytes, url: str) -> str:
        html, _ = decode_html(data)
        result = extractor.extract_record(html, url)
        return (result or {}).get("text", "")

    return run


def score_aeb(pages, fn) -> dict[str, float]:
    ps, rs, fs = [], [], []
    for data, gold, url in pages:
        p, r, f = prf(fn(data, url), gold)
        ps.append(p)
        rs.append(r)
        fs.append(f)
    n = max(1, len(fs))
    return {"precision": sum(ps) / n, "recall": sum(rs) / n, "f1": sum(fs) / n, "pages": len(fs)}


def score_snippets(pages, fn) -> dict[str, float]:
    tp = fn_ = fp = tn = 0
    for data, with_, without, url in pages:
        text = _norm(fn(data, url))
        for s in with_:
            if _norm(s) in text:
                tp += 1
            else:
                fn_ += 1
        for s in without:
            if _norm(s) in text:
                fp += 1
            else:
                tn += 1
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn_)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": (tp + tn) / max(1, tp + tn + fp + fn_), "pages": len(pages)}


def speed(pages_html: list[tuple[str, str]], extractor, repeat: int) -> tuple[float, float]:
    """(HtmlExtractor block docs/s, raw trafilatura docs/s) on the same decoded pages.

    Both are warmed up first, then timed in alternating rounds; the best round of each is reported
    (the machine is shared, so the best round is the least disturbed one).
    """
    import trafilatura
    from datatrove.data import Document

    opts = extractor.trafilatura_kwargs()

    def raw_pass(docs):
        t = time.perf_counter()
        for html, url in docs:
            trafilatura.bare_extraction(html, url=url, **opts)
        return len(docs) / (time.perf_counter() - t)

    def block_pass(docs):
        stream = (Document(text=html, id=str(i), metadata={"url": url}) for i, (html, url) in enumerate(docs))
        t = time.perf_counter()
        for _ in extractor.run(stream):
            pass
        return len(docs) / (time.perf_counter() - t)

    raw_pass(pages_html[:5])
    block_pass(pages_html[:5])
    raw, block = [], []
    for _ in range(repeat):
        raw.append(raw_pass(pages_html))
        block.append(block_pass(pages_html))
    return max(block), max(raw)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "web"))
    ap.add_argument("--limit", type=int, default=None, help="pages per set (default: all)")
    ap.add_argument("--speed-docs", type=int, default=60, help="pages for the speed test")
    ap.add_argument("--speed-repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from mmedc.web.extract import HtmlExtractor

    data = Path(args.data)
    if not (data / "aeb").is_dir():
        print(f"{data}/aeb not found: pass --data", file=sys.stderr)
        return 2
    extractor = HtmlExtractor(min_chars=0)
    systems = {"trafilatura defaults": trafilatura_default, "mmedc HtmlExtractor": mmedc_extract(extractor)}

    aeb = load_aeb(data / "aeb", args.limit)
    snip = load_snippets(data / "trafilatura_eval", args.limit)
    print(f"settings: {extractor.trafilatura_kwargs()}")
    print(f"\nAEB ({len(aeb)} pages): token P / R / F1 against articleBody")
    for name, fn in systems.items():
        s = score_aeb(aeb, fn)
        print(f"  {name:24s} P={s['precision']:.3f} R={s['recall']:.3f} F1={s['f1']:.3f}")
    print(f"\ntrafilatura_eval ({len(snip)} pages): snippet P / R / F1 / accuracy")
    for name, fn in systems.items():
        s = score_snippets(snip, fn)
        print(f"  {name:24s} P={s['precision']:.3f} R={s['recall']:.3f} F1={s['f1']:.3f} acc={s['accuracy']:.3f}")

    from mmedc.web.encoding import decode_html

    sample = [(decode_html(d)[0], u) for d, _, u in aeb[: args.speed_docs]]
    block, raw = speed(sample, extractor, args.speed_repeat)
    print(f"\nspeed ({len(sample)} docs, best of {args.speed_repeat} rounds): HtmlExtractor block {block:.1f} docs/s, "
          f"raw trafilatura (same settings) {raw:.1f} docs/s, ratio {block / raw:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
