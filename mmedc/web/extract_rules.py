"""Page signals and clean-up rules around trafilatura's extraction (used by ``HtmlExtractor``).

trafilatura finds the main content well but has no hook for what happens around it, so these rules
are written here. Each works on signals of the page itself, not on any site's layout, and each was
kept only if it raised the article-extraction benchmark *and* the snippet set on both halves of the
development pages (``benchmarks/web_extract.py``, figures in ``docs/websites.md``):

- **before extraction** (:func:`rescue_boxes`): warning, caution and "important" boxes written as
  ``<aside>`` are turned into ``<div>``; trafilatura deletes every ``<aside>`` by tag, and a medical
  page's contraindication box is exactly what a corpus must keep. trafilatura then judges the box
  like any other block (a box outside the main content is still dropped).
- **split article bodies** (:func:`continue_split_body`): many publishing systems cut an article into
  several sibling containers of the same class around an advertisement or a video; trafilatura keeps
  the first. When one container of a repeated body-like class (``article``, ``body``, ``content``,
  ``story``, ``entry``, ``post``, ``text``) is in the output and others of the same class are almost
  absent, their paragraphs are appended.
- **boilerplate lines** (:func:`drop_boilerplate_lines`): short lines that are calls to subscribe,
  sign up, follow or log in, cookie-consent text, copyright and disclaimer lines, "read more" /
  "related articles" cues (in the six corpus languages and the other languages of the evaluation
  pages) and the link-only lines under such a cue; and the page title when it is repeated as the first
  line (it is kept in ``metadata["title"]``).

Rules tried and rejected on the same pages are listed in ``docs/websites.md`` (dropping the meta
description, URL-only and e-mail lines, link-only lines anywhere, per-page choice between
trafilatura's modes from text and link density).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "PageSignals",
    "continue_split_body",
    "drop_boilerplate_lines",
    "page_signals",
    "rescue_boxes",
]


def _norm(s: str) -> str:
    return " ".join(s.split())


# -- signals ----------------------------------------------------------------------------------------
#: classes of containers that hold an article's body (one of these words in ``class``)
_BODY_CLASS = re.compile(r"(?i)article|body|content|story|entry|post|text")
#: classes that are not the body even when they say "content" (comments, teasers, rails)
_NOT_BODY_CLASS = re.compile(
    r"(?i)comment|related|sidebar|footer|nav|menu|teaser|promo|recirc|newsletter|share|social|caption"
    r"|author|bio|meta|widget|(?<![a-z])ad(?:s|vert\w*)?(?![a-z])"
)
_MIN_PARAGRAPH = 30  # characters: shorter <p> are captions, bylines, buttons
_MIN_CONTAINER = 150  # characters of paragraphs for a container to count as a body part


@dataclass
class PageSignals:
    """What the rules need to know about the raw page, read once before extraction.

    ``titles``: ``og:title``, ``<title>`` and ``<h1>`` texts (whitespace-normalised);
    ``anchors``: the texts of the page's links; ``bodies``: for each body-like class that occurs on
    two or more containers, the paragraph texts of each container, in page order.
    """

    titles: list[str] = field(default_factory=list)
    anchors: frozenset[str] = frozenset()
    bodies: list[list[list[str]]] = field(default_factory=list)

    @property
    def title(self) -> str | None:
        """The page's title: ``og:title``, else the only ``<h1>``, else ``<title>``."""
        return self.titles[0] if self.titles else None


def page_signals(tree) -> PageSignals:
    """Read titles, link texts and repeated body containers from a parsed page (``lxml.html``).

    One pass over the tree. Call it before trafilatura runs on the tree: trafilatura prunes the
    tree it is given.
    """
    og: list[str] = []
    h1: list[str] = []
    html_title = ""
    anchors: set[str] = set()
    parents: dict[int, object] = {}
    for el in tree.iter("a", "p", "h1", "title", "meta"):
        tag = el.tag
        if tag == "a":
            s = _norm(el.text_content() if len(el) else (el.text or ""))
            if len(s) >= 2:
                anchors.add(s)
        elif tag == "p":
            parent = el.getparent()
            if parent is not None and id(parent) not in parents and parent.get("class"):
                parents[id(parent)] = parent
        elif tag == "meta":
            if el.get("property") == "og:title" and (s := _norm(el.get("content") or "")):
                og.append(s)
        elif tag == "h1":
            if s := _norm(el.text_content()):
                h1.append(s)
        elif not html_title:
            html_title = _norm(el.text_content())
    titles = og + (h1 if len(h1) == 1 else [])
    if html_title:
        titles.append(html_title)
    titles += [t for t in h1 if t not in titles]

    groups: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
    for el in parents.values():
        cls = el.get("class")
        if not _BODY_CLASS.search(cls) or _NOT_BODY_CLASS.search(cls):
            continue
        paragraphs = [t for p in el.iterchildren("p") if len(t := _norm(p.text_content())) >= _MIN_PARAGRAPH]
        if sum(map(len, paragraphs)) >= _MIN_CONTAINER:
            groups[(el.tag, cls)].append(paragraphs)
    bodies = [members for members in groups.values() if len(members) >= 2]
    return PageSignals(titles=titles, anchors=frozenset(anchors), bodies=bodies)


# -- before extraction ------------------------------------------------------------------------------
_BOX_CLASS = re.compile(r"(?i)warn|caution|danger|alert|important|contraindicat|callout|safety")
_NOT_BOX_CLASS = re.compile(r"(?i)cookie|consent|gdpr|newsletter|subscri|banner|popup|modal")


def rescue_boxes(tree) -> int:
    """Turn ``<aside>`` warning boxes into ``<div>`` so that trafilatura judges them as content.

    A box is an ``<aside>`` whose ``class``, ``id`` or ``role`` says warning, caution, danger, alert,
    important, contraindication, callout or safety (and not cookie, consent, newsletter, banner).
    Returns the number of boxes rescued.
    """
    n = 0
    for el in tree.iter("aside"):
        attrs = " ".join(filter(None, (el.get("class"), el.get("id"), el.get("role"))))
        if attrs and _BOX_CLASS.search(attrs) and not _NOT_BOX_CLASS.search(attrs):
            el.tag = "div"
            n += 1
    return n


# -- after extraction -------------------------------------------------------------------------------
def _coverage(paragraphs: list[str], text: str) -> float:
    total = sum(map(len, paragraphs))
    return sum(len(p) for p in paragraphs if p in text) / max(1, total)


def continue_split_body(text: str, signals: PageSignals, kept: float = 0.8, missing: float = 0.2) -> tuple[str, int]:
    """Append the parts of a split article body that the extraction left out.

    For each repeated body-like container class, if one container is in ``text`` (at least ``kept``
    of its paragraph characters) and others are almost absent (under ``missing``), the absent ones'
    paragraphs are appended in page order. Returns the text and the number of paragraphs added.
    """
    if not signals.bodies or not text:
        return text, 0
    flat = _norm(text)
    added: list[str] = []
    for members in signals.bodies:
        cover = [_coverage(ps, flat) for ps in members]
        if max(cover) < kept:
            continue
        for ps, c in zip(members, cover):
            if c < missing:
                added.extend(p for p in ps if p not in flat and p not in added)
    if not added:
        return text, 0
    return text + "\n" + "\n".join(added), len(added)


# "read more", "related articles", ... at the start of a line, alone or before ":" / "|" / "»"
_CUES = r"""
read\ more|read\ also|see\ more|see\ also|more\ on\ this(?:\ story|\ topic)?|also\ read|also\ on\ \S+
|related(?:\ articles?|\ stories|\ posts?|\ content|\ links|\ topics)?|recommended(?:\ for\ you|\ articles?)?
|don'?t\ miss|you\ (?:may|might)\ also\ (?:like|be\ interested\ in)|more\ from\ \S+|advertisement|sponsored
|lire\ aussi|à\ lire\ aussi|a\ lire\ aussi|voir\ aussi|sur\ le\ même\ sujet|articles\ liés|publicité
|lesen\ sie\ auch|auch\ interessant|mehr\ zum\ thema|weiterlesen|das\ könnte\ sie\ auch\ interessieren|anzeige|werbung
|le\ puede\ interesar|puedes\ ver|lea\ también|te\ puede\ interesar|ver\ también|noticias\ relacionadas
|artículos\ relacionados|publicidad
|leia\ também|veja\ também|leggi\ anche|czytaj\ także|czytaj\ też|zobacz\ też|zobacz\ także|reklama
|читайте\ также|смотрите\ также|см\.\ также|по\ теме|реклама|похожие\ статьи
|相关阅读|相关文章|相关新闻|延伸阅读|推荐阅读|广告|関連記事|関連リンク|あわせて読みたい|こちらもおすすめ|広告
"""
_CUE = re.compile(r"(?ix)^(?:" + _CUES + r")\s*(?:[:：|»>\-–—]|$)")

# calls to act and site furniture; only short lines are tested, so prose that mentions them stays
_BOILERPLATE = re.compile(
    r"""(?ix)
    \b(?:newsletters?|subscrib\w*|sign(?:ing)?\ up|abonn\w*|suscr[ií]b\w*|inscri[bv]\w*|подпи[сш]\w+
    |all\ rights\ reserved|tous\ droits\ réservés|alle\ rechte\ vorbehalten|todos\ los\ derechos
    |wszelkie\ prawa|все\ права\ защищены|copyright
    |follow\ us|follow\ (?:him|her|them)\ on|s[ií]guenos|suivez-nous|folgen\ sie\ uns|obserwuj\ nas|подписывайтесь
    |log\ in|logged\ in|eingeloggt|connectez-vous|inicia\ sesión
    |disclaimer|haftungsausschluss|aviso\ legal|avertissement
    |not\ (?:be\ )?a\ substitute\ for|does\ not\ replace|ne\ remplace\ pas|no\ sustituye|ersetzt\ nicht|не\ заменяет)\b
    |\bcookies?\b[^.]{0,80}\b(?:use|accept|consent|policy|settings|preferences|browsing|website|site|experience)
    |\b(?:use|accept|consent\ to|enable|allow)\ (?:all\ |the\ use\ of\ )?cookies\b
    |©|訂閱|订阅|版权所有|免责声明|購読|メルマガ|無断転載|免責事項"""
)
_MAX_BOILER_WORDS = 25  # longer lines are prose that happens to mention a cue
_MAX_CUE_WORDS = 30
_MAX_RELATED_WORDS = 20


def _words(s: str) -> int:
    # CJK lines have no spaces: count about two characters a word
    n = len(s.split())
    return max(n, len(s) // 6) if n <= 2 else n


def _title_like(line: str, titles: Iterable[str]) -> bool:
    for t in titles:
        if line == t or (len(line) >= 15 and (t.startswith(line) or t.endswith(line))):
            return True
    return False


def drop_boilerplate_lines(text: str, signals: PageSignals | None = None) -> tuple[str, dict[str, int]]:
    """Drop boilerplate lines from extracted text; return the text and the counts by reason.

    Reasons: ``cue`` ("Read more: ...", "Related articles"), ``related_link`` (a link-only line
    right under a cue), ``boilerplate`` (subscribe / cookie / copyright / disclaimer lines of at most
    25 words), ``title`` (the page title repeated as the first line).
    """
    counts: dict[str, int] = defaultdict(int)
    keep: list[str] = []
    anchors = signals.anchors if signals else frozenset()
    titles = signals.titles if signals else []
    under_cue = False
    for k, line in enumerate(text.split("\n")):
        s = _norm(line)
        core = s[2:] if s.startswith("- ") else s
        if not core:
            keep.append(line)
            continue
        n = _words(core)
        reason = None
        if n <= _MAX_CUE_WORDS and _CUE.match(core):
            reason, under_cue = "cue", True
        elif under_cue and n <= _MAX_RELATED_WORDS and core in anchors:
            reason = "related_link"
        else:
            under_cue = False
            if n <= _MAX_BOILER_WORDS and _BOILERPLATE.search(core):
                reason = "boilerplate"
            elif not keep and k < 2 and _title_like(core, titles):
                reason = "title"
        if reason:
            counts[reason] += 1
        else:
            keep.append(line)
    return "\n".join(keep).strip("\n"), dict(counts)
