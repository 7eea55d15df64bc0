"""A bundled, realistic general-web sample in six languages, for the demo, the tests and the docs.

Real web corpora (CulturaX, mC4, OSCAR) cannot ship with the library, so the project writes its own:
``mmedc/samples/web/<lang>.json`` holds original paragraphs in en, zh, ja, fr, ru and es, written for
this project, in three kinds:

- ``medical``       diseases and treatment, drug leaflets, lab tests, anatomy, surgery, paediatrics,
                    public-health advice, clinical cases, nursing, pharmacology;
- ``general``       travel, sport, finance, cooking, technology, history, culture, cars, housing...;
- ``hard_general``  health-adjacent but not medical: fitness, healthy recipes, biology facts, a match
                    report with an injury, pet care, cosmetics: the negatives a keyword filter gets wrong.

:func:`make_web_sample` joins 2-5 paragraphs of one kind into documents, adds a few documents that
slip one medical paragraph into an otherwise general page of 3-5 paragraphs (labelled ``general``),
and a few bad rows (empty, whitespace-only and null text), then shuffles them and writes
CulturaX-style files: columns ``text``, ``timestamp``, ``url``, ``source`` (``mC4`` or an ``OSCAR-*``
release, as in CulturaX), plus ``id`` and the ground truth ``label`` (``medical`` | ``general`` |
``bad``), ``kind`` (``medical``, ``general``, ``hard_general``, ``mixed``, ``bad``) and ``label_lang``
(the language it was written in), so that a run of the filter can be scored. Everything is drawn
from :class:`StableRandom`, which builds every choice on ``random.Random.random()`` alone (the one
method whose sequence Python promises to keep across versions; ``randrange``, ``sample`` and
``shuffle`` have changed before), and ids are hashes of the text: the same arguments give the same
rows, ids and text on every run, platform and Python version.

Command line: ``python -m mmedc.samples.web OUT_DIR [--docs-per-lang 60] [--files 4] [--format jsonl]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from mmedc.lang import MMEDC_LANGUAGES

LANGUAGES: tuple[str, ...] = MMEDC_LANGUAGES
KINDS: tuple[str, ...] = ("medical", "general", "hard_general")
PARAGRAPH_CHARS = (250, 600)  # inclusive bounds on the length of one paragraph
DATA_DIR = Path(__file__).with_name("web")
FILE_PREFIX = "web_sample_"
FORMATS = ("parquet", "jsonl")

# Column order of the written files (CulturaX's four first, then the id and the ground truth).
COLUMNS: tuple[str, ...] = ("text", "timestamp", "url", "source", "id", "label", "kind", "label_lang")

# Fictional domains (RFC 2606-style "example-" names) by language and by kind of page.
_DOMAINS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "medical": ("www.example-health.com", "www.example-clinic.org", "www.example-pharmacy.co.uk",
                    "www.example-nursing.net"),
        "general": ("www.example-news.com", "www.example-travel.co.uk", "www.example-kitchen.com",
                    "www.example-sports.net", "www.example-motors.com", "www.example-homes.com"),
        "hard_general": ("www.example-fitness.com", "www.example-petcare.com", "www.example-beauty.co.uk"),
    },
    "fr": {
        "medical": ("www.example-sante.fr", "www.example-medecin.fr", "www.example-pharmacie.fr"),
        "general": ("www.example-actu.fr", "www.example-voyage.fr", "www.example-cuisine.fr",
                    "www.example-auto.fr", "www.example-immo.fr"),
        "hard_general": ("www.example-forme.fr", "www.example-animaux.fr", "www.example-beaute.fr"),
    },
    "es": {
        "medical": ("www.example-salud.es", "www.example-clinica.es", "www.example-farmacia.com.mx"),
        "general": ("www.example-noticias.es", "www.example-viajes.es", "www.example-recetas.com.mx",
                    "www.example-motor.es", "www.example-inmobiliaria.es"),
        "hard_general": ("www.example-fitness.es", "www.example-mascotas.es", "www.example-belleza.com.ar"),
    },
    "ru": {
        "medical": ("www.example-zdorovie.ru", "www.example-klinika.ru", "www.example-apteka.ru"),
        "general": ("www.example-novosti.ru", "www.example-puteshestvia.ru", "www.example-recepty.ru",
                    "www.example-avto.ru", "www.example-nedvizhimost.ru"),
        "hard_general": ("www.example-fitnes.ru", "www.example-pitomcy.ru", "www.example-krasota.ru"),
    },
    "zh": {
        "medical": ("www.example-jiankang.cn", "www.example-yiyuan.com.cn", "www.example-yaopin.cn"),
        "general": ("www.example-xinwen.cn", "www.example-lvyou.cn", "www.example-meishi.com.cn",
                    "www.example-qiche.cn", "www.example-fangchan.cn"),
        "hard_general": ("www.example-jianshen.cn", "www.example-chongwu.cn", "www.example-meizhuang.cn"),
    },
    "ja": {
        "medical": ("www.example-kenko.jp", "www.example-clinic.jp", "www.example-kusuri.jp"),
        "general": ("www.example-news.jp", "www.example-ryoko.jp", "www.example-recipe.jp",
                    "www.example-kuruma.jp", "www.example-fudosan.jp"),
        "hard_general": ("www.example-fitness.jp", "www.example-pet.jp", "www.example-cosme.jp"),
    },
}
_SECTIONS = {
    "medical": ("health", "conditions", "medicines", "articles", "patients"),
    "general": ("news", "blog", "guides", "articles", "lifestyle"),
    "hard_general": ("blog", "tips", "lifestyle", "articles"),
}
# CulturaX's `source` values: mC4 and the OSCAR releases it merged.
_CRAWLS = ("mC4", "mC4", "mC4", "OSCAR-2019", "OSCAR-2109", "OSCAR-2201", "OSCAR-2301")
_T0 = dt.datetime(2016, 1, 1, tzinfo=dt.timezone.utc)
_T1 = dt.datetime(2023, 3, 31, tzinfo=dt.timezone.utc)


# ------------------------------------------------------------------------------------------------
# paragraphs
# ------------------------------------------------------------------------------------------------
def load_paragraphs(lang: str, data_dir: str | Path | None = None) -> dict[str, list[str]]:
    """The paragraphs of one language, checked: ``{"medical": [...], "general": [...], "hard_general": [...]}``.

    Raises ``FileNotFoundError`` or ``ValueError`` naming the file and what is wrong with it (a missing
    kind, a non-string item, a paragraph outside 250-600 characters, a duplicate)."""
    cached = _load(lang, str(data_dir) if data_dir is not None else str(DATA_DIR))
    return {kind: list(items) for kind, items in cached.items()}  # callers may edit their copy


@lru_cache(maxsize=64)
def _load(lang: str, data_dir: str) -> dict[str, list[str]]:
    path = Path(data_dir) / f"{lang}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no sample paragraphs for language {lang!r}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a UTF-8 JSON file: {e}") from e
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object with keys {', '.join(KINDS)}")
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    lo, hi = PARAGRAPH_CHARS
    for kind in KINDS:
        items = raw.get(kind)
        if not isinstance(items, list) or not items:
            raise ValueError(f"{path}: {kind!r} must be a non-empty list of paragraphs")
        for i, text in enumerate(items):
            if not isinstance(text, str):
                raise ValueError(f"{path}: {kind}[{i}] is a {type(text).__name__}, not a string")
            if not lo <= len(text) <= hi:
                raise ValueError(f"{path}: {kind}[{i}] has {len(text)} characters, outside {lo}-{hi}: {text[:40]!r}")
            if text in seen:
                raise ValueError(f"{path}: {kind}[{i}] is a duplicate paragraph: {text[:40]!r}")
            seen.add(text)
        out[kind] = list(items)
    return out


# ------------------------------------------------------------------------------------------------
# documents
# ------------------------------------------------------------------------------------------------
class StableRandom:
    """Seeded choices built only on ``random.Random(seed).random()``, reproducible across Python versions."""

    def __init__(self, seed: int):
        self._random = random.Random(seed).random

    def random(self) -> float:
        return self._random()

    def below(self, n: int) -> int:
        """An integer in ``[0, n)``."""
        return min(int(self._random() * n), n - 1)

    def randint(self, a: int, b: int) -> int:
        """An integer in ``[a, b]``."""
        return a + self.below(b - a + 1)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.below(len(seq))]

    def shuffle(self, items: list[Any]) -> None:
        """Fisher-Yates, in place."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def sample(self, seq: Sequence[Any], k: int) -> list[Any]:
        items = list(seq)
        self.shuffle(items)
        return items[:k]


def _slug(text: str, words: int = 5) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    tokens = re.findall(r"[a-z0-9]+", ascii_text)
    return "-".join(tokens[:words])


def _url(rng: StableRandom, lang: str, kind: str, first_paragraph: str) -> str:
    domain = rng.choice(_DOMAINS[lang][kind])
    section = rng.choice(_SECTIONS[kind])
    number = 1000 + rng.below(99000)
    slug = _slug(first_paragraph) if lang in ("en", "fr", "es") else ""
    page = f"{slug}-{number}.html" if slug else f"{number}.html"
    return f"https://{domain}/{section}/{page}"


def _timestamp(rng: StableRandom) -> str:
    span = int((_T1 - _T0).total_seconds())
    return (_T0 + dt.timedelta(seconds=rng.below(span))).strftime("%Y-%m-%dT%H:%M:%SZ")


def _doc_id(lang: str, text: str) -> str:
    return f"web-{lang}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:16]}"


def _pick(rng: StableRandom, pool: Sequence[str], k_min: int, k_max: int) -> list[str]:
    k = rng.randint(min(k_min, len(pool)), min(k_max, len(pool)))
    return rng.sample(list(pool), k)


def _split_counts(docs_per_lang: int) -> tuple[int, int, int]:
    """(medical, general, mixed) documents per language: about half medical, ~7% mixed."""
    mixed = max(1, round(docs_per_lang * 0.07)) if docs_per_lang >= 4 else 0
    medical = (docs_per_lang - mixed + 1) // 2
    return medical, docs_per_lang - mixed - medical, mixed


def build_web_rows(
    docs_per_lang: int = 60,
    seed: int = 0,
    languages: Sequence[str] = LANGUAGES,
    bad_rows: bool = True,
    data_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """The sample's rows (dicts with :data:`COLUMNS`), shuffled; deterministic for given arguments.

    Per language: about half ``medical`` documents (2-5 medical paragraphs), the rest ``general``
    (2-5 paragraphs of general and health-adjacent text; about a third of them wholly health-adjacent,
    kind ``hard_general``) and ~7% ``mixed`` (one medical paragraph among 3-5 general ones, labelled
    ``general``: a page that mentions health in passing). With ``bad_rows``, three rows with empty,
    whitespace-only and null text are added. Ids are unique: ``ValueError`` when ``docs_per_lang`` is
    too large for the paragraphs to make that many distinct documents."""
    if docs_per_lang < 1:
        raise ValueError(f"docs_per_lang must be at least 1, not {docs_per_lang}")
    unknown = [lang for lang in languages if lang not in _DOMAINS]
    if unknown:
        raise ValueError(f"no sample for language(s) {', '.join(unknown)}; known: {', '.join(LANGUAGES)}")
    rng = StableRandom(seed)
    rows: list[dict[str, Any]] = []
    for lang in languages:
        paras = load_paragraphs(lang, data_dir)
        medical, general, hard = paras["medical"], paras["general"], paras["hard_general"]
        n_med, n_gen, n_mixed = _split_counts(docs_per_lang)
        plan = ["medical"] * n_med + ["general"] * n_gen + ["mixed"] * n_mixed
        seen: set[frozenset[str]] = set()
        for kind in plan:
            for _ in range(100):  # redraw a document with the paragraphs of an earlier one (any order)
                url_kind = kind
                if kind == "medical":
                    chosen, label = _pick(rng, medical, 2, 5), "medical"
                elif kind == "mixed":
                    chosen = _pick(rng, general + hard, 3, 5)
                    chosen.insert(rng.below(len(chosen) + 1), rng.choice(medical))
                    label, url_kind = "general", "general"
                elif rng.random() < 1 / 3:
                    chosen, label, url_kind = _pick(rng, hard, 2, 4), "general", "hard_general"
                else:
                    chosen, label = _pick(rng, general + hard, 2, 5), "general"
                if frozenset(chosen) not in seen:
                    break
            else:
                raise ValueError(f"docs_per_lang={docs_per_lang} is too many for the {lang} paragraphs: "
                                 f"no new distinct {kind} document in 100 draws")
            seen.add(frozenset(chosen))
            text = "\n".join(chosen)
            kind_out = url_kind if kind == "general" else kind
            rows.append({
                "text": text,
                "timestamp": _timestamp(rng),
                "url": _url(rng, lang, url_kind, chosen[0]),
                "source": rng.choice(_CRAWLS),
                "id": _doc_id(lang, text),
                "label": label,
                "kind": kind_out,
                "label_lang": lang,
            })
    if bad_rows:
        for i, text in enumerate(("", "  \n\t \n ", None)):
            lang = rng.choice(list(languages))
            rows.append({
                "text": text,
                "timestamp": _timestamp(rng),
                "url": f"https://{rng.choice(_DOMAINS[lang]['general'])}/page/{1000 + rng.below(99000)}.html",
                "source": rng.choice(_CRAWLS),
                "id": f"web-bad-{i}",
                "label": "bad",
                "kind": "bad",
                "label_lang": lang,
            })
    rng.shuffle(rows)
    return rows


# ------------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------------
def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c, pa.string(), nullable=(c == "text")) for c in COLUMNS])
    table = pa.Table.from_pylist([{c: r[c] for c in COLUMNS} for r in rows], schema=schema)
    pq.write_table(table, path, compression="zstd")


def _write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps({c: r[c] for c in COLUMNS}, ensure_ascii=False) + "\n")


def make_web_sample(
    out_dir: str | Path,
    docs_per_lang: int = 60,
    seed: int = 0,
    files: int = 4,
    fmt: str = "parquet",
    languages: Sequence[str] = LANGUAGES,
    bad_rows: bool = True,
    data_dir: str | Path | None = None,
) -> list[Path]:
    """Write the sample as ``files`` files ``web_sample_NNNNN.{parquet,jsonl}`` in ``out_dir``.

    Parquet files are zstd-compressed; jsonl files are UTF-8, one JSON object a line. Each file is
    written under a temporary name and renamed when complete; sample files of an earlier call that
    this one does not rewrite are removed, so the folder holds exactly this sample. Returns the paths."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if files < 1:
        raise ValueError(f"files must be at least 1, not {files}")
    rows = build_web_rows(docs_per_lang, seed=seed, languages=languages, bad_rows=bad_rows, data_dir=data_dir)
    if files > len(rows):
        raise ValueError(f"files={files} is more than the {len(rows)} rows of the sample")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer = _write_parquet if fmt == "parquet" else _write_jsonl
    paths: list[Path] = []
    for i in range(files):
        chunk = rows[i * len(rows) // files:(i + 1) * len(rows) // files]
        path = out / f"{FILE_PREFIX}{i:05d}.{fmt}"
        tmp = path.with_name(f".{path.name}.tmp")
        writer(chunk, tmp)
        os.replace(tmp, path)
        paths.append(path)
    keep = {p.name for p in paths}
    for old in out.glob(f"{FILE_PREFIX}*"):
        if old.name not in keep and old.suffix in (".parquet", ".jsonl"):
            old.unlink()
    return paths


def summarize_rows(rows: Sequence[dict[str, Any]]) -> str:
    """A small text table of a sample: documents by language and kind, and characters."""
    kinds = ("medical", "general", "hard_general", "mixed")
    langs = sorted({r["label_lang"] for r in rows}, key=lambda x: (LANGUAGES + (x,)).index(x))
    lines = [f"{'lang':<6}" + "".join(f"{k:>14}" for k in kinds) + f"{'characters':>12}"]
    for lang in langs:
        mine = [r for r in rows if r["label_lang"] == lang and r["label"] != "bad"]
        counts = "".join(f"{sum(r['kind'] == k for r in mine):>14}" for k in kinds)
        lines.append(f"{lang:<6}{counts}{sum(len(r['text']) for r in mine):>12,}")
    n_bad = sum(r["label"] == "bad" for r in rows)
    n_med = sum(r["label"] == "medical" for r in rows)
    lines.append(f"{len(rows)} documents: {n_med} medical, {len(rows) - n_med - n_bad} general "
                 f"(hard_general and mixed included), {n_bad} bad rows (empty, whitespace-only, null text)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the sample into a folder and print what was written."""
    p = argparse.ArgumentParser(prog="python -m mmedc.samples.web", description=__doc__.splitlines()[0])
    p.add_argument("out_dir", help="folder to write the sample files into")
    p.add_argument("--docs-per-lang", type=int, default=60, help="documents per language (default 60)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--files", type=int, default=4, help="number of files to split the sample into")
    p.add_argument("--format", choices=FORMATS, default="parquet", dest="fmt")
    p.add_argument("--languages", default=",".join(LANGUAGES), help="comma-separated subset of the six languages")
    p.add_argument("--no-bad-rows", action="store_true", help="leave out the empty/whitespace/null rows")
    args = p.parse_args(argv)
    languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    try:
        paths = make_web_sample(args.out_dir, args.docs_per_lang, seed=args.seed, files=args.files,
                                fmt=args.fmt, languages=languages, bad_rows=not args.no_bad_rows)
    except (ValueError, FileNotFoundError) as e:
        p.error(str(e))
    rows = build_web_rows(args.docs_per_lang, seed=args.seed, languages=languages, bad_rows=not args.no_bad_rows)
    print(summarize_rows(rows))
    print(f"in {len(paths)} {args.fmt} files:")
    for path in paths:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
