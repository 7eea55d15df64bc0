"""The original MMedC release's keyword rule with its own lists: the baseline of the benchmarks (not library code).

The rule, its lists and thresholds are read from ``../shared/data/mmedc_release_rule/`` (``filter.py``
and ``keywords.py`` of MAGIC-AI4Med/MMedLM, ``data_collection/filtering/``), parsed with ``ast`` (the
lists and the ``THRESHOLD`` table are literals; nothing there is executed).

``OriginalRule`` is ``MedicalTextFilter.match_keywords`` as the release runs it (``filter_file`` calls
it with the default ``en_like=True`` for every language): keywords are ``<lang>_medical_biology_words
+ <lang>_medical_words``, deduplicated with ``set`` and lowercased; a keyword longer than 10
characters, or longer than 5 with a space, is a substring (``in`` then ``str.count``), checked first
with an early return; a shorter one must be a whole whitespace-separated token (``in`` and ``count``
on the ``split()`` list). For Chinese and Japanese the release's own ``en_like=False`` branch is
broken (it iterates over the pair of lists, a ``TypeError``), and with ``en_like=True`` short CJK
keywords can never be a whitespace token; the baseline uses the evident intent instead: every keyword
as a substring of the text.

``FastOriginalRule`` takes the same decisions (tested equal in the benchmarks) with a token
``Counter`` instead of list scans: the stronger baseline, so speed-ups are quoted against it too.
"""

from __future__ import annotations

import ast
from collections import Counter
from functools import lru_cache
from pathlib import Path

RULE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mmedc_release_rule"
_RELEASE_CODE = {"ja": "jp"}  # the release names Japanese "jp"


def available(rule_dir: Path = RULE_DIR) -> bool:
    return (rule_dir / "keywords.py").is_file() and (rule_dir / "filter.py").is_file()


def _literals(path: Path) -> dict[str, object]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return out


@lru_cache(maxsize=4)
def release_lists(rule_dir: Path = RULE_DIR) -> dict[str, list[str]]:
    """``{lang: keywords}`` as ``load_keywords`` builds them (set, then lowercased; order as the set gives)."""
    names = _literals(rule_dir / "keywords.py")
    out = {}
    for lang in ("en", "zh", "ja", "fr", "ru", "es"):
        code = _RELEASE_CODE.get(lang, lang)
        words = list(names[f"{code}_medical_biology_words"]) + list(names[f"{code}_medical_words"])  # type: ignore[arg-type]
        out[lang] = [w.lower() for w in set(words)]
    return out


@lru_cache(maxsize=4)
def release_thresholds(rule_dir: Path = RULE_DIR) -> dict[str, tuple[int, float]]:
    """``{lang: (HIT_TIMES_THRESHOLD, HIT_RATIO_THRESHOLD)}`` from the release's ``filter.py``."""
    table = _literals(rule_dir / "filter.py")["THRESHOLD"]
    return {
        lang: (int(table[code]["HIT_TIMES_THRESHOLD"]), float(table[code]["HIT_RATIO_THRESHOLD"]))  # type: ignore[index]
        for lang, code in ((x, _RELEASE_CODE.get(x, x)) for x in ("en", "zh", "ja", "fr", "ru", "es"))
    }


class OriginalRule:
    """``match_keywords`` of the release, line for line, for one language."""

    def __init__(self, lang: str, rule_dir: Path = RULE_DIR):
        keywords = release_lists(rule_dir)[lang]
        self.lang = lang
        self.en_like = lang not in ("zh", "ja")
        self.all = keywords
        self.long = [k for k in keywords if len(k) > 10 or (len(k) > 5 and len(k.split()) > 1)]
        self.short = [k for k in keywords if k not in self.long]
        self.min_count, self.min_density = release_thresholds(rule_dir)[lang]

    def keep(self, text: str) -> bool:
        if not text:
            return False
        unique_hit_cnt, hit_cnt = 0, 0
        t_count, t_ratio = self.min_count, self.min_density
        if self.en_like:
            lower_text = text.lower()
            for long_keyword in self.long:
                if long_keyword in lower_text:
                    unique_hit_cnt += 1
                    hit_cnt += lower_text.count(long_keyword) * len(long_keyword)
            if unique_hit_cnt >= t_count and hit_cnt / len(text) >= t_ratio:
                return True
            split_text = lower_text.split()
            for short_keyword in self.short:
                if short_keyword in split_text:
                    unique_hit_cnt += 1
                    hit_cnt += split_text.count(short_keyword) * len(short_keyword)
        else:
            for keyword in self.all:
                if keyword in text:
                    unique_hit_cnt += 1
                    hit_cnt += text.count(keyword) * len(keyword)
        return unique_hit_cnt >= t_count and hit_cnt / len(text) >= t_ratio


class FastOriginalRule(OriginalRule):
    """The same decisions as :class:`OriginalRule`, with a token ``Counter`` instead of list scans."""

    def __init__(self, lang: str, rule_dir: Path = RULE_DIR):
        super().__init__(lang, rule_dir)
        self.short_set = set(self.short)

    def keep(self, text: str) -> bool:
        if not text:
            return False
        if not self.en_like:
            return super().keep(text)
        lower_text = text.lower()
        unique_hit_cnt, hit_cnt = 0, 0
        for kw in self.long:
            c = lower_text.count(kw)
            if c:
                unique_hit_cnt += 1
                hit_cnt += c * len(kw)
        if unique_hit_cnt >= self.min_count and hit_cnt / len(text) >= self.min_density:
            return True
        tokens = Counter(lower_text.split())
        # duplicates in the release's lowercased list are counted as often as they appear
        for kw in self.short:
            c = tokens.get(kw)
            if c:
                unique_hit_cnt += 1
                hit_cnt += c * len(kw)
        return unique_hit_cnt >= self.min_count and hit_cnt / len(text) >= self.min_density


# kept for the benchmarks that named the rule this way
SeedRule = FastOriginalRule
