"""Benchmark decontamination: drop (or tag) documents that share a long n-gram with a benchmark item.

Two steps, so the benchmarks are read once and the corpus once:

1. :func:`build_index` reads benchmark files given by path (jsonl, CSV or Parquet; a field mapping
   names the columns whose text makes an item, e.g. question + options + answer), and writes the
   sorted 64-bit hashes of every item n-gram, with the benchmark and item each came from, as ``.npy``
   files plus ``index.json``.
2. :class:`Decontaminate` (any number of tasks, one streaming pass) hashes each document's n-grams the
   same way and looks them up in the index, which every task opens memory-mapped (``np.load(...,
   mmap_mode="r")``): the operating system shares its pages between the worker processes instead of
   each task holding a copy. A million n-grams take 14 MB (8 + 2 + 4 bytes each).

Settings, and where they come from:

- Word 13-grams for space-separated languages: GPT-3's decontamination (Brown et al. 2020, appendix C)
  flags a training document that shares any 13-gram with a test item; datatrove's ``NGramsDecontFilter``
  and the Llama/OLMo decontamination tools use the same word n-gram family (12-13).
- Character 13-grams for Chinese and Japanese, which have no spaces: each Han or kana character is one
  unit. GPT-3 scaled N down to 8 words for short items; at about 1.6 characters per Chinese word,
  13 characters is about 8 words, the same evidence at the lower bound of GPT-3's range. Mixed text is
  handled unit by unit (an English drug name inside Chinese text is one unit), so an English question
  quoted in a Chinese page is still found when both sizes are equal (the default).
- Normalisation before hashing, as GPT-3 and datatrove do: NFKC, case folding, every digit to ``0``,
  punctuation and symbols to spaces, whitespace ignored; so reformatted, re-spaced and re-cased
  copies match.
- Template n-grams: an n-gram found in more than ``max_item_frequency`` items of the benchmarks
  ("which of the following is the most likely diagnosis in a 00 year old...") is boilerplate of the
  exam format, not evidence of a leaked item; it is left out of the index and counted.

Why hand-written: datatrove's n-gram indexer takes its items from lighteval task names (not local
files with a field mapping), and both it and a Python n-gram set hash each n-gram in the interpreter
(about 1 MB/s). Here a document's normalisation, unit split and n-gram hashes are a dozen numpy
array operations (codepoint table lookup, prefix sums of a polynomial hash modulo 2**64 finished by
the splitmix64 mixer), and the lookup is one ``searchsorted`` over the sorted index. The speed and the
comparison with the Python-set baseline are in ``docs/decontam.md`` (``benchmarks/decontam.py``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import posixpath
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.logging import logger

from mmedc.io.atomic import atomic_open
from mmedc.lang import CHAR_SCRIPT_RANGES, UNSEGMENTED_LANGUAGES, normalize_language, script_language

__all__ = [
    "BenchmarkSpec",
    "DecontamConfig",
    "DecontamIndex",
    "Decontaminate",
    "build_index",
    "decontam_report",
    "item_ngrams",
    "ngram_hashes",
    "read_benchmark",
]

INDEX_FILES = ("ngrams.npy", "bench.npy", "item.npy", "bloom.npy")
MAX_LINE_BYTES = 64 * 2**20  # a benchmark line longer than this is an error (untrusted input is bounded)
MAX_BENCHMARKS = 65535

def _folder(path: Any):
    """A datatrove DataFolder from a str, a ``pathlib.Path`` or a DataFolder."""
    return get_datafolder(os.fspath(path) if isinstance(path, os.PathLike) else path)


# --- normalisation and hashing (vectorised) ---------------------------------------------------------
_SPACE = 32
_M64 = 2**64
_P = 0x100000001B3  # odd, so it has an inverse modulo 2**64
_P_INV = pow(_P, -1, _M64)
_EXT_CJK = (0x20000, 0x3134F)  # CJK extensions B-G (beyond the BMP table)


def _build_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per BMP codepoint: its normalised codepoint (space for punctuation/symbols/controls), whether it
    is a unit on its own (Han, kana, Thai-like scripts), and whether the text around it needs a full
    NFKC pass (its NFKC form is several characters or composes: ligatures, combining marks)."""
    import re

    char_unit_re = re.compile(f"[{CHAR_SCRIPT_RANGES}]")
    table = np.empty(0x10000, dtype=np.uint64)
    alone = np.zeros(0x10000, dtype=bool)
    full = np.zeros(0x10000, dtype=bool)
    for c in range(0x10000):
        if 0xD800 <= c <= 0xDFFF:
            table[c] = _SPACE
            continue
        ch = chr(c)
        nf = unicodedata.normalize("NFKC", ch)
        full[c] = len(nf) != 1 or any(unicodedata.combining(x) for x in nf)
        if len(nf) != 1:
            nf = ch
        low = nf.casefold()
        if len(low) != 1:
            low = nf.lower() if len(nf.lower()) == 1 else nf
        cat = unicodedata.category(low)
        if cat == "Nd":
            table[c] = ord("0")
        elif cat[0] in "LMN":
            table[c] = ord(low)
            alone[c] = bool(char_unit_re.match(low))
        else:
            table[c] = _SPACE
    return table, alone, full


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    table, alone, full = _build_tables()
    return table, alone, table[:128].astype(np.uint8), full


class _Powers:
    """P**i and P**-i modulo 2**64 for i < size, grown on demand (one copy per process)."""

    def __init__(self) -> None:
        self.pw = np.empty(0, dtype=np.uint64)
        self.ipw = np.empty(0, dtype=np.uint64)

    def get(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        if size > len(self.pw):
            n = max(size, 2 * len(self.pw), 1 << 16)
            with np.errstate(over="ignore"):
                self.pw = np.cumprod(np.r_[np.uint64(1), np.full(n - 1, _P, dtype=np.uint64)], dtype=np.uint64)
                self.ipw = np.cumprod(np.r_[np.uint64(1), np.full(n - 1, _P_INV, dtype=np.uint64)], dtype=np.uint64)
        return self.pw[:size], self.ipw[:size]


_POWERS = _Powers()
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the 64 output bits."""
    z = z ^ (z >> np.uint64(30))
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    return z


def nfkc(text: str) -> str:
    """NFKC form of ``text`` (a no-op check for ASCII and already-normalised text)."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def _prepare(texts: Sequence[str]) -> list[str]:
    """The texts with a full NFKC pass where the per-character table is not enough.

    The table already applies every one-character NFKC mapping (full-width forms, compatibility
    ideographs); only texts holding a character whose NFKC form is longer or composes (ligatures,
    combining marks, half-width dakuten) need ``unicodedata.normalize``, which is slow on CJK text.
    """
    joined = "\n".join(texts)
    if joined.isascii():
        return list(texts)
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    full = _tables()[3]
    hit = np.flatnonzero(full[np.where(cp < 0x10000, cp, 0)])
    if not len(hit):
        return list(texts)
    ends = np.cumsum(np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts)))
    out = list(texts)
    for i in np.unique(np.searchsorted(ends, hit, side="right")).tolist():
        out[i] = unicodedata.normalize("NFKC", out[i])
    return out


def normalized_codepoints(text: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Normalised codepoints of NFKC ``text`` (32 where a separator is) and the stand-alone-unit mask
    (``None`` for ASCII text, which has no stand-alone characters)."""
    table, alone, ascii_table, _ = _tables()
    if text.isascii():
        return ascii_table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)], None
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if not len(cp) or int(cp.max()) < 0x10000:
        return table[cp], alone[cp]
    bmp = cp < 0x10000
    low = np.where(bmp, cp, 0)
    norm = np.where(bmp, table[low], cp.astype(np.uint64))
    solo = np.where(bmp, alone[low], (cp >= _EXT_CJK[0]) & (cp <= _EXT_CJK[1]))
    return norm, solo


def unit_spans(norm: np.ndarray, solo: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every unit: a run of non-separators, a stand-alone character alone."""
    word = norm != _SPACE
    if not len(word):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    edge = word[1:] != word[:-1]  # word/separator changes
    if solo is not None and solo.any():
        cut = (solo[1:] | solo[:-1]) & word[1:] & word[:-1]
        edge |= cut
        start = np.flatnonzero(np.r_[word[0], edge & word[1:]])
        end = np.flatnonzero(np.r_[edge & word[:-1], word[-1]])
        return start, end + 1
    pos = np.flatnonzero(edge) + 1
    if word[0]:
        pos = np.r_[0, pos]
    if word[-1]:
        pos = np.r_[pos, len(word)]
    return pos[0::2], pos[1::2]


def _unit_hashes_and_starts(text: str) -> tuple[np.ndarray, np.ndarray]:
    norm, solo = normalized_codepoints(text)
    s, e = unit_spans(norm, solo)
    if not len(s):
        return np.empty(0, dtype=np.uint64), s
    pw, ipw = _POWERS.get(len(norm) + 1)
    with np.errstate(over="ignore"):
        g = np.zeros(len(norm) + 1, dtype=np.uint64)
        np.cumsum(norm * pw[: len(norm)], out=g[1:])
        return _mix((g[e] - g[s]) * ipw[s]), s


def unit_hashes(text: str) -> np.ndarray:
    """One mixed 64-bit hash per unit of the normalised text (words; single Han/kana characters)."""
    return _unit_hashes_and_starts(_prepare([text])[0])[0]


def ngram_hashes(units: np.ndarray, n: int) -> np.ndarray:
    """Hashes of the ``n``-unit windows of a unit-hash sequence (empty when shorter than ``n``)."""
    m = len(units)
    if m < n:
        return np.empty(0, dtype=np.uint64)
    pw, ipw = _POWERS.get(m + 1)
    with np.errstate(over="ignore"):
        f = np.zeros(m + 1, dtype=np.uint64)
        np.cumsum(units * pw[:m], out=f[1:])
        h = (f[n:] - f[: m - n + 1]) * ipw[: m - n + 1]
        h ^= np.uint64(n)
        return _mix(h)


def batch_ngram_hashes(texts: Sequence[str], sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """N-gram hashes of many texts at once (text ``i`` at size ``sizes[i]``) and the text each came
    from. One set of array operations for the whole batch: small documents cost no per-call overhead."""
    texts = _prepare(texts)
    units, starts = _unit_hashes_and_starts("\n".join(texts))  # "\n" is a separator: no unit spans two texts
    ends = np.cumsum(np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts)))
    doc = np.searchsorted(ends, starts, side="right")
    sizes_arr = np.asarray(sizes, dtype=np.int64)
    out_h, out_d = [], []
    for n in np.unique(sizes_arr).tolist():
        h = ngram_hashes(units, n)
        if not len(h):
            continue
        first, last = doc[: len(h)], doc[n - 1:]
        ok = (first == last) & (sizes_arr[first] == n)
        out_h.append(h[ok])
        out_d.append(first[ok])
    if not out_h:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(out_h), np.concatenate(out_d)


# --- configuration and benchmark input -------------------------------------------------------------
@dataclass(frozen=True)
class DecontamConfig:
    """How n-grams are made and when a document counts as contaminated.

    Args:
        word_ngram: n-gram size in words for space-separated languages (GPT-3: 13).
        char_ngram: n-gram size in characters for Chinese and Japanese (13 characters ~ 8 words).
        min_matches: distinct benchmark n-grams a document must contain to be contaminated (GPT-3: 1).
        max_item_frequency: n-grams found in more items than this are exam templates, left out.
    """

    word_ngram: int = 13
    char_ngram: int = 13
    min_matches: int = 1
    max_item_frequency: int = 10

    def __post_init__(self) -> None:
        if self.word_ngram < 4 or self.char_ngram < 4:
            raise ValueError(f"n-gram sizes below 4 match ordinary text: word_ngram={self.word_ngram}, "
                             f"char_ngram={self.char_ngram}")
        if self.min_matches < 1 or self.max_item_frequency < 1:
            raise ValueError("min_matches and max_item_frequency must be at least 1")

    def size_for(self, language: str | None, text: str = "") -> int:
        """The n of a text: ``char_ngram`` for zh/ja (from ``language``, else from the script), else ``word_ngram``."""
        lang = normalize_language(language)
        if not lang and text:
            lang = script_language(text, sample_chars=2000)[0]
        return self.char_ngram if lang in UNSEGMENTED_LANGUAGES else self.word_ngram

    def sizes(self) -> tuple[int, ...]:
        return tuple(sorted({self.word_ngram, self.char_ngram}))


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark file and how to read its items.

    Args:
        name: the benchmark's name in reports (``medqa``, ``mmlu_anatomy``...).
        path: a ``.jsonl`` (``.jsonl.gz``), ``.csv`` or ``.parquet`` file (local or fsspec URL).
        fields: columns whose text, in this order, makes one item (question, options, answer). A
            list or dict value (options) contributes its values.
        language: the language of every item, or ``None`` to decide by script (zh/ja) per item.
        language_field: a column holding each item's language (overrides ``language``).
        format: ``jsonl`` | ``csv`` | ``parquet``; default from the file name.
    """

    name: str
    path: str
    fields: tuple[str, ...] = ("text",)
    language: str | None = None
    language_field: str | None = None
    format: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", os.fspath(self.path))
        object.__setattr__(self, "fields", tuple([self.fields] if isinstance(self.fields, str) else self.fields))
        if not self.fields:
            raise ValueError(f"benchmark {self.name!r}: give at least one field")
        if self.file_format() not in ("jsonl", "csv", "parquet"):
            raise ValueError(f"benchmark {self.name!r}: {self.path}: unknown format {self.file_format()!r} "
                             "(use .jsonl, .csv or .parquet, or set format)")

    def file_format(self) -> str:
        if self.format:
            return self.format
        p = self.path.lower()
        for suffix in (".gz", ".zst", ".bz2", ".xz"):
            p = p.removesuffix(suffix)
        ext = p.rsplit(".", 1)[-1]
        return {"json": "jsonl", "ndjson": "jsonl", "pq": "parquet"}.get(ext, ext)


def _flatten(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(_flatten(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return " ".join(_flatten(v) for v in value)
    if hasattr(value, "tolist"):
        return _flatten(value.tolist())
    return str(value)


def _rows(spec: BenchmarkSpec) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row) of every record; ``where`` names file and line/row for error messages."""
    import fsspec

    fmt = spec.file_format()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with fsspec.open(spec.path, "rb") as f:
            pf = pq.ParquetFile(f)
            i = 0
            for batch in pf.iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    i += 1
                    yield f"{spec.path}: row {i}", row
        return
    with fsspec.open(spec.path, "rb", compression="infer") as raw:
        if fmt == "csv":
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            for i, row in enumerate(csv.DictReader(text), start=2):
                yield f"{spec.path}: line {i}", row
            return
        for i, line in enumerate(iter(lambda: raw.readline(MAX_LINE_BYTES + 1), b""), start=1):
            if len(line) > MAX_LINE_BYTES:
                raise ValueError(f"{spec.path}: line {i} is longer than {MAX_LINE_BYTES} bytes")
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{spec.path}: line {i}: not JSON ({e})") from e
            if not isinstance(row, dict):
                raise ValueError(f"{spec.path}: line {i}: a JSON {type(row).__name__}, not an object")
            yield f"{spec.path}: line {i}", row


def read_benchmark(spec: BenchmarkSpec) -> Iterator[tuple[str, str | None]]:
    """``(item text, language)`` of every item; a missing field is a ``ValueError`` naming file and field."""
    if "://" not in spec.path:
        from pathlib import Path

        if not Path(spec.path).is_file():
            raise FileNotFoundError(f"benchmark {spec.name!r}: {spec.path} does not exist")
    wanted = spec.fields + ((spec.language_field,) if spec.language_field else ())
    for where, row in _rows(spec):
        missing = [f for f in wanted if f not in row]
        if missing:
            raise ValueError(f"{where}: benchmark {spec.name!r} has no field {missing[0]!r} "
                             f"(fields: {', '.join(map(str, row)) or 'none'})")
        text = "\n".join(_flatten(row[f]) for f in spec.fields)
        lang = row.get(spec.language_field) if spec.language_field else spec.language
        yield text, (str(lang) if lang else None)


def item_ngrams(text: str, language: str | None, config: DecontamConfig) -> dict[int, np.ndarray]:
    """The item's n-gram hashes for each size the index holds (both sizes: a document is queried at
    the size of its own language)."""
    units = unit_hashes(text)
    return {n: np.unique(ngram_hashes(units, n)) for n in config.sizes()}


# --- the index ------------------------------------------------------------------------------------
def _bloom_bits(count: int) -> int:
    """log2 of the prefilter's bit count: about 16 bits per n-gram (one probe: ~6% false positives)."""
    return max(20, min(36, int(np.ceil(np.log2(max(1, count) * 16)))))


def _bloom(h: np.ndarray) -> np.ndarray:
    """A one-probe bit prefilter over the top bits of each hash (rejects most lookups without a search)."""
    bits = _bloom_bits(len(h))
    arr = np.zeros(1 << (bits - 3), dtype=np.uint8)
    idx = h >> np.uint64(64 - bits)
    np.bitwise_or.at(arr, (idx >> np.uint64(3)).astype(np.int64), (1 << (idx & np.uint64(7))).astype(np.uint8))
    return arr


def build_index(benchmarks: Sequence[BenchmarkSpec], folder: DataFolderLike,
                config: DecontamConfig | None = None) -> dict[str, Any]:
    """Read every benchmark once and write the n-gram index to ``folder``; return its summary.

    Holds the benchmarks' n-grams in memory while sorting (16 bytes each): a million n-grams is 16 MB.
    """
    config = config or DecontamConfig()
    if not benchmarks:
        raise ValueError("decontamination needs at least one benchmark")
    if len(benchmarks) > MAX_BENCHMARKS:
        raise ValueError(f"at most {MAX_BENCHMARKS} benchmarks")
    names = [b.name for b in benchmarks]
    if len(set(names)) != len(names):
        raise ValueError(f"benchmark names must be unique: {names}")
    folder = _folder(folder)
    hashes, bench_ids, item_ids = [], [], []
    info: list[dict[str, Any]] = []
    for b, spec in enumerate(benchmarks):
        items = short = 0
        for text, lang in read_benchmark(spec):
            per_size = item_ngrams(text, lang, config)
            own = per_size[config.size_for(lang, text)]
            if not len(own):
                short += 1
            for arr in per_size.values():
                hashes.append(arr)
                bench_ids.append(np.full(len(arr), b, dtype=np.uint16))
                item_ids.append(np.full(len(arr), items, dtype=np.uint32))
            items += 1
        info.append({"name": spec.name, "path": spec.path, "fields": list(spec.fields), "items": items,
                     "items_too_short": short})
        if short:
            logger.warning(f"decontam: {spec.name}: {short} of {items} items have fewer units than the n-gram "
                           "size and cannot be detected")
    h = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    bid = np.concatenate(bench_ids) if bench_ids else np.empty(0, np.uint16)
    iid = np.concatenate(item_ids) if item_ids else np.empty(0, np.uint32)
    order = np.lexsort((iid, bid, h))
    h, bid, iid = h[order], bid[order], iid[order]
    # template n-grams: in more than max_item_frequency distinct items (over all benchmarks)
    templates = 0
    if len(h):
        new_group = np.r_[True, h[1:] != h[:-1]]
        group = np.cumsum(new_group) - 1
        new_item = new_group | np.r_[True, (bid[1:] != bid[:-1]) | (iid[1:] != iid[:-1])]
        per_group = np.bincount(group, weights=new_item).astype(np.int64)
        common = per_group > config.max_item_frequency
        templates = int(common.sum())
        keep = ~common[group]
        h, bid, iid = h[keep], bid[keep], iid[keep]
        # one row per (n-gram, benchmark, item)
        first = np.r_[True, (h[1:] != h[:-1]) | (bid[1:] != bid[:-1]) | (iid[1:] != iid[:-1])]
        h, bid, iid = h[first], bid[first], iid[first]
    for name, arr in zip(INDEX_FILES, (h, bid, iid, _bloom(h))):
        buf = io.BytesIO()
        np.save(buf, arr)
        with atomic_open(folder, name, "wb") as f:
            f.write(buf.getvalue())
    summary = {"benchmarks": info, "ngrams": int(len(h)), "distinct_ngrams": int(len(np.unique(h))),
               "template_ngrams_dropped": templates, "bytes": int(h.nbytes + bid.nbytes + iid.nbytes),
               "config": asdict(config)}
    with atomic_open(folder, "index.json", "w") as f:
        f.write(json.dumps(summary, indent=1))
    logger.info(f"decontam index: {summary['ngrams']:,} n-grams from {len(benchmarks)} benchmark(s) "
                f"-> {folder.path}")
    return summary


class DecontamIndex:
    """The n-gram index, memory-mapped when local (shared between processes by the page cache)."""

    def __init__(self, folder: DataFolderLike):
        self.folder = _folder(folder)
        if not self.folder.exists("index.json"):
            raise FileNotFoundError(f"{posixpath.join(self.folder.path, 'index.json')} missing: run build_index first")
        with self.folder.open("index.json", "r") as f:
            self.summary = json.load(f)
        self.config = DecontamConfig(**self.summary["config"])
        self.names = [b["name"] for b in self.summary["benchmarks"]]
        local = "file" in (self.folder.fs.protocol if isinstance(self.folder.fs.protocol, tuple)
                           else (self.folder.fs.protocol,))
        arrays = []
        for name in INDEX_FILES:
            if not self.folder.exists(name):
                raise FileNotFoundError(f"{posixpath.join(self.folder.path, name)} missing: re-run build_index")
            if local:
                arrays.append(np.load(self.folder.resolve_paths(name), mmap_mode="r", allow_pickle=False))
            else:  # remote index: one copy per task (it is small)
                with self.folder.open(name, "rb") as f:
                    arrays.append(np.load(io.BytesIO(f.read()), allow_pickle=False))
        self.ngrams, self.bench, self.item, self.bloom = arrays
        self._shift = np.uint64(64 - int(np.log2(len(self.bloom) * 8)))

    def __len__(self) -> int:
        return len(self.ngrams)

    def candidates(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of the hashes that pass the bit prefilter (all that are in the index, and a few more)."""
        idx = hashes >> self._shift
        return ((self.bloom[idx >> np.uint64(3)] >> (idx & np.uint64(7)).astype(np.uint8)) & 1).astype(bool)

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(query, row)`` pairs: for each hash found, its position in ``hashes`` and its index row
        (a hash in several items gives one pair per item)."""
        none = (np.empty(0, np.int64), np.empty(0, np.int64))
        if not len(hashes) or not len(self.ngrams):
            return none
        qpos = np.flatnonzero(self.candidates(hashes))
        q = hashes[qpos]
        lo = np.searchsorted(self.ngrams, q, side="left")
        found = lo < len(self.ngrams)
        found[found] = self.ngrams[lo[found]] == q[found]
        if not found.any():
            return none
        qpos, q, lo = qpos[found], q[found], lo[found]
        hi = np.searchsorted(self.ngrams, q, side="right")
        counts = hi - lo
        if np.all(counts == 1):
            return qpos, lo
        rows = np.concatenate([np.arange(a, b) for a, b in zip(lo.tolist(), hi.tolist())])
        return np.repeat(qpos, counts), rows


# --- the block ------------------------------------------------------------------------------------
class Decontaminate(BaseFilter):
    """Remove (or with ``mode="tag"`` only mark) documents sharing n-grams with benchmark items.

    Metadata on a contaminated document: ``decontam_benchmarks`` (names), ``decontam_matches``
    (distinct matching n-grams). Counters: ``contaminated``, ``bench_<name>``, ``source_<source>``.
    With ``report_folder`` each task writes ``<rank>.json`` (hits per benchmark and per source, and the
    benchmark items found), merged by :func:`decontam_report`.
    """

    name = "🧪 Decontaminate"

    def __init__(self, index_folder: DataFolderLike, mode: str = "remove", report_folder: DataFolderLike | None = None,
                 exclusion_writer=None, batch_size: int = 256):
        super().__init__(exclusion_writer=exclusion_writer, batch_size=batch_size)
        if mode not in ("remove", "tag"):
            raise ValueError(f"mode must be 'remove' or 'tag', got {mode!r}")
        self.index_folder = index_folder
        self.mode = mode
        self.report_folder = _folder(report_folder) if report_folder is not None else None
        self._index: DecontamIndex | None = None
        self._report: dict[str, Any] = {}

    @property
    def index(self) -> DecontamIndex:
        if self._index is None:
            self._index = DecontamIndex(self.index_folder)
        return self._index

    def batch_matches(self, docs: Sequence[Document]) -> list[dict[str, list[int]]]:
        """Per document: benchmark name -> items whose n-grams it contains (``{}`` below ``min_matches``)."""
        idx = self.index
        cfg = idx.config
        texts = [d.text for d in docs]
        sizes = [cfg.size_for(d.metadata.get("language"), d.text) for d in docs]
        hashes, doc_of = batch_ngram_hashes(texts, sizes)
        out: list[dict[str, list[int]]] = [{} for _ in docs]
        qpos, rows = idx.lookup(hashes)
        if not len(rows):
            return out
        owner = doc_of[qpos]
        for d in np.unique(owner).tolist():
            mine = rows[owner == d]
            matched = int(len(np.unique(idx.ngrams[mine])))
            if matched < cfg.min_matches:
                continue
            hits: dict[str, set[int]] = {}
            for b, i in zip(idx.bench[mine].tolist(), idx.item[mine].tolist()):
                hits.setdefault(idx.names[b], set()).add(i)
            docs[d].metadata["decontam_matches"] = matched
            out[d] = {k: sorted(v) for k, v in sorted(hits.items())}
        return out

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        results: list[bool | tuple[bool, str]] = [True] * len(batch)
        good = []
        for i, doc in enumerate(batch):
            if not isinstance(doc.text, str):
                self.stat_update("bad_text")
                logger.warning(f"decontam: document {doc.id!r} ({doc.metadata.get('file_path', '?')}) has "
                               f"{type(doc.text).__name__} text; passed on unchecked")
                continue
            self._count("documents", doc, chars=len(doc.text))
            good.append(i)
        for i, hits in zip(good, self.batch_matches([batch[i] for i in good])):
            if not hits:
                continue
            doc = batch[i]
            doc.metadata["decontam_benchmarks"] = sorted(hits)
            self.stat_update("contaminated")
            self._count("contaminated", doc, chars=len(doc.text), hits=hits)
            for name in hits:
                self.stat_update(f"bench_{name}")
            self.stat_update(f"source_{doc.metadata.get('source') or 'unknown'}")
            if self.mode == "remove":
                results[i] = (False, "contaminated")
        return results

    def update_doc_stats(self, document: Document) -> None:
        if isinstance(document.text, str):  # a document passed on unchecked has no length to count
            super().update_doc_stats(document)

    def _count(self, key: str, doc: Document, chars: int, hits: dict[str, list[int]] | None = None) -> None:
        source = str(doc.metadata.get("source") or "unknown")
        r = self._report
        by_source = r.setdefault("by_source", {}).setdefault(source, {"documents": 0, "contaminated": 0,
                                                                       "characters_removed": 0})
        by_source[key] += 1
        if hits is None:
            return
        by_source["characters_removed"] += chars if self.mode == "remove" else 0
        for name, items in hits.items():
            b = r.setdefault("by_benchmark", {}).setdefault(name, {"documents": 0, "items": set(), "by_source": {}})
            b["documents"] += 1
            b["items"].update(items)
            b["by_source"][source] = b["by_source"].get(source, 0) + 1

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._report = {"rank": rank, "world_size": world_size, "mode": self.mode}
        _ = self.index  # fail before reading input when the index is missing
        if self.exclusion_writer is not None and hasattr(self.exclusion_writer, "start_rank"):
            self.exclusion_writer.start_rank(rank)  # clears this rank's removed shards of an earlier attempt
        yield from super().run(data, rank, world_size)
        if self.report_folder is not None:
            rep = dict(self._report)
            rep["by_benchmark"] = {k: {**v, "items": sorted(v["items"])}
                                   for k, v in rep.get("by_benchmark", {}).items()}
            with atomic_open(self.report_folder, f"{rank:05d}.json", "w") as f:
                f.write(json.dumps(rep, indent=1))


def decontam_report(report_folder: DataFolderLike, index_folder: DataFolderLike | None = None) -> dict[str, Any]:
    """Merge the per-task reports: documents checked and contaminated per source, and per benchmark
    the documents hit, the distinct items found (and, with the index, the items it has)."""
    folder = _folder(report_folder)
    parts = sorted(p for p in folder.list_files() if p.endswith(".json") and posixpath.basename(p)[:5].isdigit())
    by_source: dict[str, dict[str, int]] = {}
    by_bench: dict[str, dict[str, Any]] = {}
    for p in parts:
        with folder.open(p, "r") as f:
            rep = json.load(f)
        for s, c in rep.get("by_source", {}).items():
            tgt = by_source.setdefault(s, {"documents": 0, "contaminated": 0, "characters_removed": 0})
            for k, v in c.items():
                tgt[k] = tgt.get(k, 0) + v
        for name, c in rep.get("by_benchmark", {}).items():
            tgt = by_bench.setdefault(name, {"documents": 0, "items": set(), "by_source": {}})
            tgt["documents"] += c["documents"]
            tgt["items"].update(c["items"])
            for s, v in c["by_source"].items():
                tgt["by_source"][s] = tgt["by_source"].get(s, 0) + v
    totals = {}
    if index_folder is not None:
        totals = {b["name"]: b["items"] for b in DecontamIndex(index_folder).summary["benchmarks"]}
    benches = {}
    for name in sorted(set(by_bench) | set(totals)):
        c = by_bench.get(name, {"documents": 0, "items": set(), "by_source": {}})
        benches[name] = {"documents": c["documents"], "items_found": len(c["items"]),
                         "items": totals.get(name), "by_source": dict(sorted(c["by_source"].items()))}
    return {
        "tasks": len(parts),
        "documents": sum(c["documents"] for c in by_source.values()),
        "contaminated": sum(c["contaminated"] for c in by_source.values()),
        "by_source": dict(sorted(by_source.items())),
        "by_benchmark": benches,
    }


def benchmark_specs(entries: Iterable[dict[str, Any]]) -> list[BenchmarkSpec]:
    """Benchmark specs from plain dicts (a corpus.yaml ``decontamination.benchmarks`` list)."""
    known = {f.name for f in BenchmarkSpec.__dataclass_fields__.values()}
    out = []
    for i, e in enumerate(entries):
        unknown = sorted(set(e) - known)
        if unknown:
            raise ValueError(f"benchmark #{i + 1}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
        out.append(BenchmarkSpec(**e))
    return out


