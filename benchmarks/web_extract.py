"""Extraction quality and speed: mmedc's ``HtmlExtractor`` against every trafilatura mode, same run.

Data (not shipped; see ../shared/data/SOURCES.md); the benchmark exits 0 with a message without it:
- ``web/aeb``: article-extraction-benchmark pages with the expected ``articleBody``. Scored with that
  benchmark's own metric (its ``evaluate.py``): shingles of 4 ``\\w+`` tokens, per page
  true/false positives and negatives normalised to sum 1, precision and recall averaged over pages,
  F1 of the two averages. ``\\w+`` glues a whole CJK sentence into one token, so CJK pages are also
  scored apart with characters as tokens, and Cyrillic pages apart.
- ``web/trafilatura_eval``: pages with snippets that must (``with``) and must not (``without``)
  appear. Scored as trafilatura's own evaluation does: a ``with`` snippet found is a true positive,
  missed a false negative; a ``without`` snippet found is a false positive.

Every system gets the same decoded page (``mmedc.web.encoding.decode_html``; trafilatura scores
the same on the raw bytes). Baselines: ``trafilatura.extract`` in each mode a user would pick
(defaults; ``include_comments=False``; ``favor_precision``; ``favor_recall``; ``fast``; each also
without comments); the best of them on each set is the baseline that mmedc has to beat. Each set is
also split in two halves (by a hash of the page key) and scored on each, so that a gain that only
one half shows is visible. Speed: pages per CPU-second (``time.process_time``) of each system over
the same pages, extraction in-process; for mmedc and trafilatura's best mode the best of
``--speed-repeat`` alternating rounds. mmedc is also scored with its rules off, with trafilatura's
fallbacks on every page, and (``--sweep``) with other ``fallback_below`` values.

    .venv/bin/python benchmarks/web_extract.py [--data ../shared/data/web] [--limit N] [--speed-repeat 3]
        [--sweep 0 300 800 1000 2000] [--json figures.json]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(_ROOT))

from mmedc.lang import CJK_RANGES  # noqa: E402

_WORD = re.compile(r"\w+")  # the article benchmark's tokeniser
_CJK_CHAR = f"[{CJK_RANGES}\uac00-\ud7af]"
_CJK_TOKEN = re.compile(f"{_CJK_CHAR}|(?:(?!{_CJK_CHAR})\\w)+")
_CJK = re.compile(_CJK_CHAR)
_CYRILLIC = re.compile("[\u0400-\u04ff]")

TRAFILATURA_MODES: dict[str, dict] = {
    "defaults": {},
    "include_comments=False": {"include_comments": False},
    "favor_precision": {"favor_precision": True},
    "favor_precision, no comments": {"favor_precision": True, "include_comments": False},
    "favor_recall": {"favor_recall": True},
    "favor_recall, no comments": {"favor_recall": True, "include_comments": False},
    "fast": {"fast": True},
    "fast, no comments": {"fast": True, "include_comments": False},
}


# -- the article benchmark's metric -----------------------------------------------------------------
def _shingles(text: str, token: re.Pattern, n: int = 4) -> Counter:
    tokens = token.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def shingle_counts(gold: str, pred: str, token: re.Pattern = _WORD) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) over 4-token shingles, as the article benchmark's ``evaluate.py``."""
    g, p = _shingles(gold, token), _shingles(pred, token)
    tp, fp, fn = sum((g & p).values()), sum((p - g).values()), sum((g - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def aeb_metric(counts: list[tuple[float, float, float]]) -> dict[str, float]:
    """Precision and recall averaged over pages, F1 of the averages (the benchmark's definition)."""
    ps = [_precision(*c) for c in counts if c[0] + c[1] > 0]
    rs = [_recall(*c) for c in counts if c[0] + c[2] > 0]
    p = statistics.mean(ps) if ps else 0.0
    r = statistics.mean(rs) if rs else 0.0
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r, "pages": len(counts)}


def script_of(gold: str) -> str:
    """``cjk``, ``cyrillic`` or ``other`` by the share of the expected text's characters."""
    n = max(1, len(gold))
    if len(_CJK.findall(gold)) / n > 0.2:
        return "cjk"
    if len(_CYRILLIC.findall(gold)) / n > 0.3:
        return "cyrillic"
    return "other"


# -- snippets ---------------------------------------------------------------------------------------
def _norm(s: str) -> str:
    return " ".join((s or "").split())


def snippet_counts(text: str, with_: list[str], without: list[str]) -> tuple[int, int, int, int]:
    """(tp, fn, fp, tn) of one page."""
    t = _norm(text)
    tp = sum(_norm(s) in t for s in with_)
    fp = sum(_norm(s) in t for s in without)
    return tp, len(with_) - tp, fp, len(without) - fp


def snippet_metric(counts: list[tuple[int, int, int, int]]) -> dict[str, float]:
    tp, fn, fp, tn = (sum(c[i] for c in counts) for i in range(4))
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r,
            "accuracy": (tp + tn) / max(1, tp + tn + fp + fn), "pages": len(counts)}


# -- data -------------------------------------------------------------------------------------------
def half_of(key: str) -> int:
    """0 or 1: a fixed split of a set into two halves."""
    return int(hashlib.md5(key.encode()).hexdigest(), 16) % 2


def load_aeb(root: Path, limit: int | None) -> list[dict]:
    gt = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for key in sorted(gt)[:limit]:
        path = root / "html" / f"{key}.html.gz"
        if path.exists():
            out.append({"key": key, "data": gzip.decompress(path.read_bytes()), "gold": gt[key]["articleBody"],
                        "url": gt[key].get("url", "")})
    return out


def load_snippets(root: Path, limit: int | None) -> list[dict]:
    ev = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    out = []
    for key in sorted(ev)[:limit]:
        item = ev[key]
        path = root / "html" / (item["file"] + ".gz")
        if not path.exists():
            path = root / "html" / item["file"]
        if not path.exists():
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        url = key.split("::", 1)[1] if key.startswith("hard::") else key
        out.append({"key": key, "data": data, "with": item.get("with") or [], "without": item.get("without") or [],
                    "url": url if url.startswith("http") else ""})
    return out


# -- systems ----------------------------------------------------------------------------------------
def trafilatura_system(kwargs: dict) -> Callable[[str, str], str]:
    import trafilatura

    def run(html: str, url: str) -> str:
        return trafilatura.extract(html, url=url or None, **kwargs) or ""

    return run


def mmedc_system(**kwargs) -> Callable[[str, str], str]:
    from mmedc.web.extract import HtmlExtractor

    extractor = HtmlExtractor(min_chars=0, timeout=None, **kwargs)

    def run(html: str, url: str) -> str:
        return (extractor.extract_record(html, url or None) or {}).get("text", "")

    return run


def run_system(fn: Callable[[str, str], str], pages: list[dict]) -> tuple[list[str], float]:
    """Outputs for every page and the CPU seconds they took."""
    t = time.process_time()
    outputs = [fn(p["html"], p["url"]) for p in pages]
    return outputs, time.process_time() - t


def score(aeb: list[dict], snip: list[dict], outputs: list[str]) -> dict:
    """Every figure of one system: article benchmark (all, per half, per script) and snippets."""
    a_out, s_out = outputs[: len(aeb)], outputs[len(aeb) :]
    a_counts = [shingle_counts(p["gold"], o) for p, o in zip(aeb, a_out)]
    s_counts = [snippet_counts(o, p["with"], p["without"]) for p, o in zip(snip, s_out)]
    res = {
        "aeb": aeb_metric(a_counts),
        "snip": snippet_metric(s_counts),
        "aeb_halves": [aeb_metric([c for p, c in zip(aeb, a_counts) if half_of(p["key"]) == h]) for h in (0, 1)],
        "snip_halves": [snippet_metric([c for p, c in zip(snip, s_counts) if half_of(p["key"]) == h]) for h in (0, 1)],
    }
    for name in ("cjk", "cyrillic", "other"):
        token = _CJK_TOKEN if name == "cjk" else _WORD
        counts = [shingle_counts(p["gold"], o, token) for p, o in zip(aeb, a_out) if script_of(p["gold"]) == name]
        res[f"aeb_{name}"] = aeb_metric(counts) if counts else None
        counts = [c for p, c in zip(snip, s_counts) if script_of(" ".join(p["with"] + p["without"])) == name]
        res[f"snip_{name}"] = snippet_metric(counts) if counts else None
    return res


def _fmt_row(name: str, r: dict, speed: float) -> str:
    a, s = r["aeb"], r["snip"]
    ah, sh = r["aeb_halves"], r["snip_halves"]
    scripts = "  ".join(
        f"{k}: AEB {r[f'aeb_{k}']['f1']:.3f} snippets {r[f'snip_{k}']['f1'] if r.get(f'snip_{k}') else float('nan'):.3f}"
        for k in ("cjk", "cyrillic") if r.get(f"aeb_{k}")
    )
    return (f"  {name:30s} AEB F1={a['f1']:.4f} (P={a['precision']:.3f} R={a['recall']:.3f}; halves "
            f"{ah[0]['f1']:.4f}/{ah[1]['f1']:.4f})  snippets F1={s['f1']:.4f} (P={s['precision']:.3f} "
            f"R={s['recall']:.3f}; halves {sh[0]['f1']:.4f}/{sh[1]['f1']:.4f})  {speed:6.1f} pages/CPU-s  {scripts}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(_ROOT.parent / "shared" / "data" / "web"))
    ap.add_argument("--limit", type=int, default=None, help="pages per set (default: all)")
    ap.add_argument("--speed-repeat", type=int, default=3, help="alternating timed rounds, mmedc and best mode")
    ap.add_argument("--json", default=None, help="also write every figure to this JSON file")
    ap.add_argument("--sweep", type=int, nargs="*", default=[],
                    help="also score HtmlExtractor with these fallback_below values (e.g. 0 300 800 1000 2000)")
    args = ap.parse_args(argv)

    data = Path(args.data)
    if not (data / "aeb" / "ground-truth.json").is_file() or not (data / "trafilatura_eval" / "evaldata.json").is_file():
        print(f"evaluation pages not found under {data} (see ../shared/data/SOURCES.md); pass --data. Skipped.")
        return 0
    import logging

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    from mmedc.web.encoding import decode_html

    aeb = load_aeb(data / "aeb", args.limit)
    snip = load_snippets(data / "trafilatura_eval", args.limit)
    pages = aeb + snip
    for p in pages:
        p["html"] = decode_html(p["data"])[0]
    n_scripts = Counter(script_of(p["gold"]) for p in aeb)
    print(f"article benchmark: {len(aeb)} pages ({n_scripts['cjk']} CJK, {n_scripts['cyrillic']} Cyrillic); "
          f"snippet pages: {len(snip)}; one CPU, shared machine: speed figures are comparable within this run only")

    systems: dict[str, Callable[[str, str], str]] = {f"trafilatura {k}": trafilatura_system(v) for k, v in TRAFILATURA_MODES.items()}
    systems["mmedc HtmlExtractor, rules off"] = mmedc_system(rules=False)
    systems["mmedc, fallbacks on every page"] = mmedc_system(fallback_below=None)
    for below in args.sweep:
        systems[f"mmedc, fallback_below={below}"] = mmedc_system(fallback_below=below)
    systems["mmedc HtmlExtractor"] = mmedc_system()
    for fn in systems.values():  # warm-up (imports, stoplists, regex caches)
        run_system(fn, pages[:3])

    results, speeds, outputs = {}, {}, {}
    for name, fn in systems.items():
        out, cpu = run_system(fn, pages)
        outputs[name], results[name], speeds[name] = out, score(aeb, snip, out), len(pages) / cpu
    baselines = [n for n in systems if n.startswith("trafilatura")]
    best_aeb = max(baselines, key=lambda n: results[n]["aeb"]["f1"])
    best_snip = max(baselines, key=lambda n: results[n]["snip"]["f1"])
    best_mode = "trafilatura include_comments=False"  # trafilatura's best mode on these pages as a whole

    # speed: alternate mmedc and trafilatura's best mode, best round of each (least disturbed)
    ours, theirs = [speeds["mmedc HtmlExtractor"]], [speeds[best_mode]]
    for _ in range(max(0, args.speed_repeat - 1)):
        theirs.append(len(pages) / run_system(systems[best_mode], pages)[1])
        ours.append(len(pages) / run_system(systems["mmedc HtmlExtractor"], pages)[1])
    speeds["mmedc HtmlExtractor"], speeds[best_mode] = max(ours), max(theirs)

    print("\nall systems (AEB: the article benchmark's metric; snippets: trafilatura's evaluation):")
    for name in systems:
        print(_fmt_row(name, results[name], speeds[name]))
    m = results["mmedc HtmlExtractor"]
    print(f"\nbest trafilatura mode on the article benchmark: {best_aeb} ({results[best_aeb]['aeb']['f1']:.4f}); "
          f"mmedc {m['aeb']['f1']:.4f}, difference {m['aeb']['f1'] - results[best_aeb]['aeb']['f1']:+.4f}")
    print(f"best trafilatura mode on the snippets: {best_snip} ({results[best_snip]['snip']['f1']:.4f}); "
          f"mmedc {m['snip']['f1']:.4f}, difference {m['snip']['f1'] - results[best_snip]['snip']['f1']:+.4f}")
    for k in ("cjk", "cyrillic"):
        if m.get(f"aeb_{k}"):
            print(f"{k} article pages ({m[f'aeb_{k}']['pages']}, {'characters' if k == 'cjk' else 'words'} as tokens): "
                  f"mmedc {m[f'aeb_{k}']['f1']:.4f}, {best_mode} {results[best_mode][f'aeb_{k}']['f1']:.4f}")
        if m.get(f"snip_{k}"):
            print(f"{k} snippet pages ({m[f'snip_{k}']['pages']}): mmedc {m[f'snip_{k}']['f1']:.4f}, "
                  f"{best_mode} {results[best_mode][f'snip_{k}']['f1']:.4f}")
    print(f"speed: mmedc {speeds['mmedc HtmlExtractor']:.1f} pages/CPU-s, {best_mode} {speeds[best_mode]:.1f}: "
          f"ratio {speeds['mmedc HtmlExtractor'] / speeds[best_mode]:.2f} (best of {len(ours)} alternating rounds)")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "speed": speeds}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
