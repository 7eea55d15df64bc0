"""The original MMedC release's keyword rule, reimplemented for the benchmarks only (not part of the library).

Text lowercased; a keyword longer than 10 characters, or longer than 5 with a space, is counted as a
substring (``str.count``, one pass per keyword); a shorter one only as a whole whitespace-separated
token. distinct count and density = sum(count x len(keyword)) / len(text), kept when both reach the
original MMedC per-language thresholds.
"""

from __future__ import annotations

from collections import Counter

from mmedc.keywords import load_keyword_list

SEED_THRESHOLDS: dict[str, tuple[int, float]] = {
    "en": (5, 0.04),
    "zh": (5, 0.05),
    "ja": (5, 0.05),
    "ru": (4, 0.02),
    "es": (4, 0.04),
    "fr": (4, 0.04),
}


class SeedRule:
    """The original MMedC rule over a plain keyword list (by default mmedc's list, every form as a plain string)."""

    def __init__(self, lang: str, keywords: list[str] | None = None):
        if keywords is None:
            kl = load_keyword_list(lang)
            keywords = [form for e in kl.entries if not e.blocker for form in e.forms]
        kws = list(dict.fromkeys(k.lower() for k in keywords))
        self.substring = [k for k in kws if len(k) > 10 or (len(k) > 5 and " " in k)]
        self.token = set(kws) - set(self.substring)
        self.min_count, self.min_density = SEED_THRESHOLDS[lang]

    def score(self, text: str) -> tuple[int, float]:
        t = text.lower()
        if not t:
            return 0, 0.0
        distinct = 0
        chars = 0
        for kw in self.substring:
            c = t.count(kw)
            if c:
                distinct += 1
                chars += c * len(kw)
        tokens = Counter(t.split())
        for kw in self.token & tokens.keys():
            distinct += 1
            chars += tokens[kw] * len(kw)
        return distinct, chars / len(t)

    def keep(self, text: str) -> bool:
        count, density = self.score(text)
        return count >= self.min_count and density >= self.min_density
