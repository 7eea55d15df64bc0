"""Kept-set difference of filter_web's cost order against the former order, on real dev documents.

Documents: the sets of ``filter_quality.py`` (``../shared/data/text``; six languages, real medical and
general text in en, fr, es, ru, project-written zh/ja medical text). The blocks of
``filter_web_pipeline`` (reader and writer left out) run in this process three ways: ``order="lid_first"``
(language ID on every document, then the keyword filter), ``order="cost"`` with the language known
(a ``<lang>/`` folder in each document's path) and with it unknown (lists by script). Prints the kept
counts, the documents kept by one order and not the other, and how many documents language ID read.

    python benchmarks/filter_web_order.py [--data ../shared/data/text]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datatrove.data import Document  # noqa: E402
from filter_quality import LANGS, build_sets  # noqa: E402

from mmedc.recipes.filter_web import filter_web_pipeline  # noqa: E402


def run(rows: list[tuple[str, str]], order: str, known: bool) -> tuple[set[str], int]:
    steps = filter_web_pipeline("in", "out", order=order)[1:-1]
    data = iter([Document(text=t, id=str(i), metadata={"file_path": f"{lang}/part.parquet" if known else "part.parquet"})
                 for i, (t, lang) in enumerate(rows)])
    for step in steps:
        data = step.run(data)
    kept = {d.id for d in data}
    lid = next(s for s in steps if "LanguageID" in s.name)
    return kept, int(lid.stats["total"].total)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "text")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"evaluation data not found: {args.data} (see benchmarks/filter_web_order.py); nothing to measure")
        return 0
    from datatrove.utils.logging import logger

    logger.remove()
    sets = build_sets(args.data)
    rows = [(t, lang) for lang in LANGS for t, _, _ in sets[lang]]
    base, base_lid = run(rows, "lid_first", False)
    print(f"{len(rows)} documents; lid_first keeps {len(base)}, language ID read {base_lid}")
    for known in (True, False):
        kept, lid = run(rows, "cost", known)
        print(f"cost order, language {'known' if known else 'unknown'}: keeps {len(kept)}, only lid_first kept "
              f"{len(base - kept)}, only cost kept {len(kept - base)}, language ID read {lid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
