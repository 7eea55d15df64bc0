"""Page signals and clean-up rules around trafilatura's extraction (used by ``HtmlExtractor``).

trafilatura finds the main content well but has no hook for what happens around it, so these rules
are written here. Each works on signals of the page itself, not on any site's layout. The rules after
extraction were kept only if they raised the article-extraction benchmark and the snippet set, on
both halves of the development pages; the two before extraction change nothing there (those pages
have no such boxes or lists) and are kept for medical pages (``benchmarks/web_extract.py``, figures in
``docs/websites.md``):

- **warning boxes** (:func:`rescue_boxes`): ``<aside>`` boxes saying warning, caution, danger,
  important, contraindication... become ``<div>``; trafilatura deletes every ``<aside>`` by tag, and a
  medical page's contraindication box is what a corpus must keep. trafilatura then judges the box like
  any other block (a box outside the main content is still dropped).
- **definition lists** (:func:`join_definitions`): ``<dt>`` and ``<dd>`` become one
  ``term: definition`` item instead of two unrelated ones.
- **split article bodies** (:func:`continue_split_body`): many publishing systems cut an article into
  several containers of the same class around an advertisement or a video; trafilatura keeps the
  first. When one container of a repeated body-like class (``article``, ``body``, ``content``,
  ``story``, ``entry``, ``post``, ``text``) is in the output and others of the same class are almost
  absent, their paragraphs are appended.
- **boilerplate lines** (:func:`drop_boilerplate_lines`): short lines that are calls to subscribe,
  sign up, follow, log in or click here, cookie-consent text, copyright, disclaimer and affiliate
  lines, page furniture (published, updated, tags, source, reading time), "read more" / "related
  articles" / "comments" / "most read" cues (in the six corpus languages and the other languages of the
  evaluation pages) and the link-only lines under such a cue; and the page title when it is repeated as
  the first line (it is kept in ``metadata["title"]``).

Rules tried and rejected on the same pages are listed in ``docs/websites.md`` (dropping the meta
description, URL-only and e-mail lines, link-only lines anywhere, privacy-policy lines, a per-page
choice between trafilatura's modes from the share of the page kept).
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
    "join_definitions",
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
    two or more containers, the paragraph texts of each container, in page order; ``asides`` and
    ``dls``: the page's ``<aside>`` and ``<dl>`` elements, for :func:`rescue_boxes` and
    :func:`join_definitions` (collected in the same pass over the tree).
    """

    titles: list[str] = field(default_factory=list)
    bodies: list[list[list[str]]] = field(default_factory=list)
    asides: list = field(default_factory=list, repr=False)
    dls: list = field(default_factory=list, repr=False)
    tree: object = field(default=None, repr=False)
    _anchors: frozenset[str] | None = field(default=None, repr=False)

    @property
    def anchors(self) -> frozenset[str]:
        """The texts of the page's links, read from the tree on first use (most pages never need them).

        Reading them after trafilatura ran is safe: it prunes only blocks it never outputs.
        """
        if self._anchors is None:
            found: set[str] = set()
            if self.tree is not None:
                for a in self.tree.iter("a"):
                    s = _norm(a.text_content() if len(a) else (a.text or ""))
                    if len(s) >= 2:
                        found.add(s)
            self._anchors = frozenset(found)
        return self._anchors

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
    parents: dict[int, object] = {}
    asides, dls = [], []
    for el in tree.iter("p", "h1", "title", "meta", "aside", "dl"):
        tag = el.tag
        if tag == "aside":
            asides.append(el)
        elif tag == "dl":
            dls.append(el)
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
    return PageSignals(titles=titles, bodies=bodies, asides=asides, dls=dls, tree=tree)


# -- before extraction ------------------------------------------------------------------------------
_BOX_CLASS = re.compile(r"(?i)warn|caution|danger|alert|important|contraindicat|callout|safety")
_NOT_BOX_CLASS = re.compile(r"(?i)cookie|consent|gdpr|newsletter|subscri|banner|popup|modal")


def rescue_boxes(asides: Iterable) -> int:
    """Turn ``<aside>`` warning boxes into ``<div>`` so that trafilatura judges them as content.

    A box is an ``<aside>`` whose ``class``, ``id`` or ``role`` says warning, caution, danger, alert,
    important, contraindication, callout or safety (and not cookie, consent, newsletter, banner).
    ``asides``: the page's ``<aside>`` elements (``PageSignals.asides`` or ``tree.iter("aside")``).
    Returns the number of boxes rescued.
    """
    n = 0
    for el in asides:
        attrs = " ".join(filter(None, (el.get("class"), el.get("id"), el.get("role"))))
        if attrs and _BOX_CLASS.search(attrs) and not _NOT_BOX_CLASS.search(attrs):
            el.tag = "div"
            n += 1
    return n


_MAX_TERM = 120  # characters: a longer <dt> is not a term


def join_definitions(dls: Iterable) -> int:
    """Write each definition-list entry as one ``term: definition`` item.

    trafilatura renders ``<dt>`` and ``<dd>`` as two unrelated list items, so the definition of a
    term (a drug, a lab value, a condition) loses its subject. A ``<dt>`` directly followed by a
    ``<dd>`` is folded into it. ``dls``: the page's ``<dl>`` elements (``PageSignals.dls`` or
    ``tree.iter("dl")``). Returns the number of entries joined.
    """
    n = 0
    for dl in dls:
        for dt in list(dl.iterchildren("dt")):
            dd = dt.getnext()
            term = _norm(dt.text_content())
            if dd is None or dd.tag != "dd" or not term or len(term) > _MAX_TERM:
                continue
            sep = " " if term[-1] in ":：" else ": "
            dd.text = f"{term}{sep}{dd.text or ''}"
            dl.remove(dt)
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
|most\ (?:read|popular|viewed|shared)(?:\ \w+){0,3}|popular\ on\ \S+|trending(?:\ now)?|\d*\ ?comments?|leave\ a\ (?:comment|reply)
|commentaires?|kommentare?|comentarios?|комментари\w*|评论|コメント|(?:view|show|read|see)\ (?:all\ )?\d*\ ?comments
|topics|temas|thèmes|themen|темы|meistgelesen|meist-?diskutiert|les\ plus\ lus|lo\ más\ leído|más\ leídas|самое\ читаемое
|热门文章|热门|人気記事|ランキング
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
    |follow\ us|follow\b[^.]{0,60}\bon\ (?:facebook|twitter|instagram|linkedin|youtube|tiktok)|s[ií]guenos|suivez-nous|folgen\ sie\ uns|obserwuj\ nas|подписывайтесь
    |log\ in|logged\ in|eingeloggt|connectez-vous|inicia\ sesión
    |click\ here|cliquez\ ici|haga\ clic\ aquí|hier\ klicken|нажмите\ здесь
    |affiliate\ (?:links?|commission)|earn\ (?:a\ )?commission|may\ (?:get|earn|receive)\ (?:a\ share|a\ commission|compensation)
    |advertising\ disclosure|our\ advertisers
    |disclaimer|haftungsausschluss|aviso\ legal|avis\ de\ non-responsabilité)\b
    |(?:not\ (?:be\ )?(?:a\ substitute|intended\ to\ replace)|does\ not\ replace|ne\ (?:remplace|se\ substitue)\ pas
    |no\ sustituye|no\ reemplaza|ersetzt\ nicht|не\ заменяет)\b[^.]{0,80}
    (?:advice|doctor|physician|professional|consultation|médecin|avis|médico|consejo|arzt|ärzt|врач|консультаци)
    |\bcookies?\b[^.]{0,80}\b(?:use|accept|consent|policy|settings|preferences|browsing|website|site|experience)
    |\b(?:use|accept|consent\ to|enable|allow)\ (?:all\ |the\ use\ of\ )?cookies\b
    |©|訂閱|订阅|版权所有|免责声明|購読|メルマガ|無断転載|免責事項"""
)
# page furniture about the page: dates, tags, reading time, credits (only lines of at most 12 words)
_META = re.compile(
    r"""(?ix)^(?:
    (?:(?:first\ |originally\ )?published|updated|last\ (?:updated|reviewed|modified)|page\ last\ reviewed|next\ review\ due
    |posted(?:\ on|\ in|\ by)?|filed\ under|tagged|reading\ time|\d+\ min(?:ute)?s?\ read|additional\ reporting\ by
    |\(?reporting\ by|editing\ by|publié|mis\ à\ jour|temps\ de\ lecture|publicado|actualizado|tiempo\ de\ lectura
    |tempo\ de\ leitura|veröffentlicht|aktualisiert|lesezeit|опубликовано|обновлено|время\ чтения)\b
    |(?:tags?|categor(?:y|ies)|sources?|photo|image|credits?|fuente|foto|quelle|bild|источник|фото|来源|图片|出典|写真)\s*[:：]
    |(?:发布时间|更新时间|更新日期|公開日|更新日))"""
)
_MAX_META_WORDS = 12
_MAX_BOILER_WORDS = 25  # longer lines are prose that happens to mention a cue
_MAX_CUE_WORDS = 30
_MAX_RELATED_WORDS = 20


def _title_like(line: str, titles: Iterable[str]) -> bool:
    for t in titles:
        if line == t or (len(line) >= 15 and (t.startswith(line) or t.endswith(line))):
            return True
    return False


def drop_boilerplate_lines(
    text: str, signals: PageSignals | None = None, drop_title: bool = True
) -> tuple[str, dict[str, int]]:
    """Drop boilerplate lines from extracted text; return the text and the counts by reason.

    Reasons: ``cue`` ("Read more: ...", "Related articles"), ``related_link`` (a link-only line
    right under a cue), ``boilerplate`` (subscribe / cookie / copyright / disclaimer lines of at most
    25 words), ``page_meta`` (published / updated / tags / source lines of at most 12 words),
    ``title`` (the page title repeated as the first line; kept with ``drop_title=False``).
    """
    counts: dict[str, int] = defaultdict(int)
    keep: list[str] = []
    titles = signals.titles if signals else []
    under_cue = False
    longest = max(_MAX_CUE_WORDS, _MAX_BOILER_WORDS, _MAX_RELATED_WORDS)
    for k, line in enumerate(text.split("\n")):
        words = line.split()
        if words and words[0] == "-":  # a list item
            words = words[1:]
        if not words:
            keep.append(line)
            continue
        # a line without spaces (Chinese, Japanese) counts about two characters a word
        n = len(words) if len(words) > 2 else max(len(words), sum(map(len, words)) // 2)
        if n > longest:  # prose: no rule applies
            under_cue = False
            keep.append(line)
            continue
        core = " ".join(words)
        reason = None
        if n <= _MAX_CUE_WORDS and _CUE.match(core):
            reason, under_cue = "cue", True
        elif under_cue and n <= _MAX_RELATED_WORDS and signals is not None and core in signals.anchors:
            reason = "related_link"
        else:
            under_cue = False
            if n <= _MAX_BOILER_WORDS and _BOILERPLATE.search(core):
                reason = "boilerplate"
            elif n <= _MAX_META_WORDS and _META.match(core):
                reason = "page_meta"
            elif drop_title and not keep and k < 2 and _title_like(core, titles):
                reason = "title"
        if reason:
            counts[reason] += 1
        else:
            keep.append(line)
    return "\n".join(keep).strip("\n"), dict(counts)
