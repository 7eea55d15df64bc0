"""Crawl scope rules.

Scope is per site: which hosts, path prefixes, include/exclude regular expressions, maximum link depth
and maximum pages. courlan and trafilatura filter by "same domain" heuristics that are right for a
generic crawl but cannot express "only ``/health/`` pages of this host", and they reject IP-address
hosts, so the rules are written here.

``normalize_url`` and ``url_host`` live in :mod:`mmedc.web.links`; they are importable from here too,
kept for compatibility.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mmedc.web.links import normalize_url, url_host

__all__ = ["Scope", "SiteRule", "load_seed_file", "normalize_url", "url_host"]


@dataclass
class SiteRule:
    """Scope of one site.

    Args:
        seeds: start URLs (their hosts are the site's hosts unless ``hosts`` is given).
        hosts: allowed ``host`` or ``host:port`` names; ``*.example.org`` allows subdomains.
        path_prefixes: when given, a URL's path must start with one of them.
        include: regular expressions; when given, a URL must match (``re.search``) one of them.
        exclude: regular expressions; a URL matching any of them is out of scope.
        max_depth: link hops from a seed (seeds are depth 0, sitemap URLs depth 1); ``None``: no limit.
        max_pages: pages stored for this site; ``None``: no limit.
        sitemaps: look for sitemaps (robots.txt ``Sitemap:`` lines, then ``/sitemap.xml``).
        feeds: read the RSS/Atom/JSON feeds that seed pages announce, for recent pages.
        name, language, licence, notes: descriptive; kept in the WARC metadata and the docs.
    """

    seeds: list[str]
    hosts: list[str] = field(default_factory=list)
    path_prefixes: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    max_depth: int | None = None
    max_pages: int | None = None
    sitemaps: bool = True
    feeds: bool = True
    name: str = ""
    language: str | None = None
    licence: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.seeds, str):
            self.seeds = [self.seeds]
        normalized = []
        for s in self.seeds:
            n = normalize_url(s)
            if n is None:
                raise ValueError(f"seed {s!r} is not an http(s) URL")
            normalized.append(n)
        self.seeds = normalized
        if not self.hosts:
            self.hosts = sorted({url_host(s) for s in self.seeds})
        self.hosts = [h.lower() for h in self.hosts]
        self._include = [re.compile(p) for p in self.include]
        self._exclude = [re.compile(p) for p in self.exclude]

    def matches_host(self, host: str) -> bool:
        hostname = host.split(":", 1)[0]
        for h in self.hosts:
            if h.startswith("*."):
                root = h[2:]
                if hostname == root or hostname.endswith("." + root) or host == root:
                    return True
            elif host == h or (":" not in h and hostname == h and (":" not in host)):
                return True
        return False

    def reject_reason(self, url: str, depth: int = 0) -> str | None:
        """``None`` when ``url`` (normalised) at ``depth`` is in scope, else the reason it is not."""
        parts = urlsplit(url)
        if not self.matches_host(parts.netloc.lower()):
            return "offscope_host"
        if self.path_prefixes and not any(parts.path.startswith(p) for p in self.path_prefixes):
            return "offscope_path"
        if self._include and not any(p.search(url) for p in self._include):
            return "not_included"
        if any(p.search(url) for p in self._exclude):
            return "excluded"
        if self.max_depth is not None and depth > self.max_depth:
            return "too_deep"
        return None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SiteRule:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown site keys {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**d)


class Scope:
    """A set of :class:`SiteRule`: a URL is in scope when the first site owning its host accepts it."""

    def __init__(self, sites: Iterable[SiteRule]):
        self.sites = list(sites)
        if not self.sites:
            raise ValueError("a crawl needs at least one site")

    @classmethod
    def from_seeds(cls, seeds: Iterable[str], **rules: Any) -> Scope:
        """One site per seed host, with the same ``rules`` (``path_prefixes``, ``max_depth``...)."""
        by_host: dict[str, list[str]] = {}
        for s in seeds:
            n = normalize_url(s)
            if n is None:
                raise ValueError(f"seed {s!r} is not an http(s) URL")
            by_host.setdefault(url_host(n), []).append(n)
        return cls(SiteRule(seeds=v, **rules) for v in by_host.values())

    def site_for(self, url: str) -> SiteRule | None:
        host = url_host(url)
        for site in self.sites:
            if site.matches_host(host):
                return site
        return None

    def reject_reason(self, url: str, depth: int = 0) -> str | None:
        site = self.site_for(url)
        if site is None:
            return "offscope_host"
        return site.reject_reason(url, depth)

    @property
    def seeds(self) -> list[str]:
        return [s for site in self.sites for s in site.seeds]


def load_seed_file(path: str | Path, languages: Iterable[str] | None = None) -> Scope:
    """Read a seed list (JSON: ``{"sites": [{"name", "language", "seeds", ...SiteRule keys}]}``).

    ``languages`` keeps only the sites of those languages (and sites that name none). Errors name
    the file and the site.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read seed list: {e}") from e
    sites_raw = data.get("sites") if isinstance(data, dict) else None
    if not isinstance(sites_raw, list):
        raise ValueError(f"{path}: expected an object with a 'sites' list")
    wanted = set(languages) if languages else None
    sites = []
    for i, raw in enumerate(sites_raw):
        if wanted is not None and raw.get("language") and raw["language"] not in wanted:
            continue
        try:
            sites.append(SiteRule.from_dict(raw))
        except (TypeError, ValueError, re.error) as e:
            raise ValueError(f"{path}: site #{i} ({raw.get('name', '?')}): {e}") from e
    if not sites:
        raise ValueError(f"{path}: no site to crawl" + (f" for languages {sorted(wanted)}" if wanted else ""))
    return Scope(sites)
