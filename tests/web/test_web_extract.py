"""HtmlExtractor, HTML folder and WARC readers, charset handling, WARC writer rotation and roll-back."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from datatrove.data import Document
from warcio.archiveiterator import ArchiveIterator

from mmedc.web.crawl import extract_links, robots_directives
from mmedc.web.encoding import decode_html
from mmedc.web.extract import HtmlExtractor, HtmlFolderReader, html_language_hint
from mmedc.web.frontier import Frontier
from mmedc.web.scope import Scope, SiteRule, load_seed_file, normalize_url
from mmedc.web.warc import RotatingWarcWriter, WarcHtmlReader

SITE = Path(__file__).resolve().parents[2] / "mmedc" / "samples" / "site"
SEEDS = Path(__file__).resolve().parents[2] / "pipelines" / "seeds" / "medical_sites.json"


def _extract(html: str, url: str = "http://x.test/p", **kw) -> list[Document]:
    ex = HtmlExtractor(timeout=None, **kw)
    return list(ex.run(iter([Document(text=html, id="1", metadata={"url": url})])))


# -- charset ----------------------------------------------------------------------------------------
def test_decode_declared_charsets_and_fallbacks():
    ru = "<html><body>Грипп и пневмония</body></html>"
    assert decode_html(ru.encode("cp1251"), "text/html; charset=windows-1251") == (ru, "cp1251")
    meta = '<html><head><meta charset="shift_jis"></head><body>インフルエンザ</body></html>'
    text, codec = decode_html(meta.encode("cp932"))
    assert "インフルエンザ" in text and codec == "cp932"
    # a wrong single-byte declaration would "decode" anything: valid UTF-8 wins over it
    assert decode_html("<p>糖尿病 diabète</p>".encode(), "text/html; charset=iso-8859-5") == ("<p>糖尿病 diabète</p>", "utf_8")
    # a declaration that cannot decode the bytes is skipped for the next clue (here <meta>)
    page = '<meta charset="windows-1251"><p>Грипп</p>'.encode("cp1251")
    assert decode_html(page, "text/html; charset=utf-8") == ('<meta charset="windows-1251"><p>Грипп</p>', "cp1251")
    # undeclared GB18030 is detected
    zh = "<html><body><p>糖尿病是一种慢性代谢性疾病，长期高血糖会损害血管和神经。</p></body></html>" * 3
    text, codec = decode_html(zh.encode("gb18030"))
    assert "糖尿病" in text
    # a BOM wins over a contradicting declaration
    text, codec = decode_html("\ufeff<p>é</p>".encode("utf-8"), "text/html; charset=latin-1")
    assert text == "<p>é</p>" and codec == "utf-8"


def test_declared_latin1_is_read_as_cp1252():
    text, codec = decode_html("<p>“quoted” – dash</p>".encode("cp1252"), "text/html; charset=ISO-8859-1")
    assert text == "<p>“quoted” – dash</p>" and codec == "cp1252"


# -- extractor --------------------------------------------------------------------------------------
def test_extractor_keeps_lists_and_tables_drops_boilerplate():
    html = (SITE / "en" / "diabetes.html").read_text(encoding="utf-8")
    (doc,) = _extract(html)
    assert "- Increased thirst and frequent urination" in doc.text
    assert "| HbA1c | 6.5% or higher |" in doc.text
    assert "Subscribe to our newsletter" not in doc.text and "Cookie settings" not in doc.text
    assert doc.metadata["title"] == "Type 2 diabetes: symptoms, diagnosis and treatment"
    assert "date" not in doc.metadata  # the date costs htmldate's time: only on request
    assert doc.metadata["html_lang"] == "en"
    assert doc.metadata["source"] == "website" and doc.metadata["url"] == "http://x.test/p"
    # the title is metadata, not repeated as the text's first line, unless asked for
    assert not doc.text.startswith("Type 2 diabetes: symptoms")
    (titled,) = _extract(html, title_in_text=True)
    assert titled.text == "Type 2 diabetes: symptoms, diagnosis and treatment\n" + doc.text
    (dated,) = _extract(html, with_date=True)
    assert dated.metadata["date"] == "2024-03-15" and dated.text == doc.text


def test_extractor_drops_comments_by_default():
    html = """<html><body><article><h1>Asthma</h1><p>{}</p></article>
    <div class="comments" id="comments"><h3>Comments</h3><div class="comment"><p>Great post, visit my casino site!</p></div></div>
    </body></html>""".format("Asthma is a chronic inflammatory disease of the airways. " * 8)
    (doc,) = _extract(html)
    assert "chronic inflammatory disease" in doc.text and "casino" not in doc.text
    (doc,) = _extract(html, include_comments=True)
    assert "casino" in doc.text


def test_extractor_counts_drops():
    ex = HtmlExtractor(timeout=None, min_chars=200)
    docs = [
        Document(text="", id="empty", metadata={}),
        Document(text="<html><body><p>Too short.</p></body></html>", id="short", metadata={}),
        Document(text="<html><body><nav><a href='/'>Home</a></nav></body></html>", id="nav", metadata={}),
        Document(text="<html><body><p>" + "Hypertension raises the risk of stroke. " * 10 + "</p></body></html>",
                 id="ok", metadata={}),
    ]
    out = list(ex.run(iter(docs)))
    assert [d.id for d in out] == ["ok"]
    stats = ex.stats.to_dict() if hasattr(ex.stats, "to_dict") else ex.stats
    flat = json.dumps(stats, default=str)
    assert "too_short" in flat and "empty_extraction" in flat


def test_extractor_sandbox_survives_broken_html():
    broken = "<html><body><p>Unclosed <b>bold <table><tr><td>" + "pneumonia treatment with antibiotics " * 10
    ex = HtmlExtractor(timeout=5.0, min_chars=50)
    out = list(ex.run(iter([Document(text=broken, id="b", metadata={}), Document(text="\x00\x01", id="bin", metadata={})])))
    assert [d.id for d in out] == ["b"] and "pneumonia treatment" in out[0].text


def test_html_language_hint():
    assert html_language_hint('<html lang="fr-FR"><body>') == "fr"
    assert html_language_hint('<html><head><meta http-equiv="Content-Language" content="ja"></head>') == "ja"
    assert html_language_hint("<html><body>") is None


# -- readers ----------------------------------------------------------------------------------------
def test_html_folder_reader_decodes_every_page(tmp_path):
    docs = {d.id.removeprefix("https://health.example/"): d
            for d in HtmlFolderReader(str(SITE), base_url="https://health.example/")()}
    assert len(docs) == 10  # index + 9 pages (robots.txt, sitemap.xml, the PDF are not HTML)
    assert docs["ja/influenza.html"].metadata["charset"] == "cp932"
    assert "インフルエンザウイルス" in docs["ja/influenza.html"].text
    assert "вирусом гриппа" in docs["ru/gripp.html"].text
    assert docs["fr/asthme.html"].metadata["url"] == "https://health.example/fr/asthme.html"
    # gzipped and unreadable files
    (tmp_path / "a.html.gz").write_bytes(gzip.compress((SITE / "fr" / "asthme.html").read_bytes()))
    (tmp_path / "bad.html.gz").write_bytes(b"not gzip at all")
    (tmp_path / "empty.html").write_bytes(b"")
    reader = HtmlFolderReader(str(tmp_path))
    got = list(reader())
    assert [d.id for d in got] == [f"{tmp_path}/a.html"] and "bronches" in got[0].text
    assert got[0].metadata["url"].startswith("file://")


def _write_sample_warc(folder: Path, max_bytes: int = 1 << 30, frontier=None) -> RotatingWarcWriter:
    w = RotatingWarcWriter(folder, "t", max_bytes=max_bytes, frontier=frontier)
    for path in ("en/diabetes.html", "ja/influenza.html", "ru/gripp.html"):
        ctype = {"ja": "text/html; charset=Shift_JIS", "ru": "text/html"}.get(path[:2], "text/html; charset=utf-8")
        w.write_response(f"http://site.test/{path}", 200, "OK", [("Content-Type", ctype)], (SITE / path).read_bytes())
    w.write_response("http://site.test/missing", 404, "Not Found", [("Content-Type", "text/html")], b"<p>no</p>")
    w.write_response("http://site.test/a.pdf", 200, "OK", [("Content-Type", "application/pdf")], b"%PDF-1.4")
    w.close()
    return w


def test_warc_reader_keeps_2xx_html_and_decodes(tmp_path):
    _write_sample_warc(tmp_path)
    reader = WarcHtmlReader(str(tmp_path))
    docs = {d.metadata["url"]: d for d in reader()}
    assert set(docs) == {f"http://site.test/{p}" for p in ("en/diabetes.html", "ja/influenza.html", "ru/gripp.html")}
    assert "インフルエンザウイルス" in docs["http://site.test/ja/influenza.html"].text
    assert docs["http://site.test/ru/gripp.html"].metadata["charset"] == "cp1251"  # from <meta charset>
    assert docs["http://site.test/en/diabetes.html"].id.startswith("url:")
    flat = json.dumps(reader.stats.to_dict() if hasattr(reader.stats, "to_dict") else reader.stats, default=str)
    assert "skipped_http_status" in flat and "skipped_not_html" in flat


def test_warc_reader_survives_a_corrupt_file(tmp_path):
    _write_sample_warc(tmp_path)
    (tmp_path / "zz-broken.warc.gz").write_bytes(gzip.compress(b"WARC/1.0\r\nWARC-Type: resp") [:-4] + b"junk")
    docs = list(WarcHtmlReader(str(tmp_path))())
    assert len(docs) == 3


def test_warc_rotation_and_rollback_of_uncommitted_bytes(tmp_path):
    frontier = Frontier(tmp_path / "state.sqlite")
    w = RotatingWarcWriter(tmp_path, "r", max_bytes=3000, frontier=frontier)
    ends = []
    for i in range(6):
        name, start, end = w.write_response(f"http://s.test/{i}", 200, "OK", [("Content-Type", "text/html")],
                                            b"<p>" + os.urandom(1500).hex().encode() + b"</p>")
        ends.append((name, end))
        if i < 4:  # commit four pages
            frontier.db.execute("UPDATE warc_files SET committed=? WHERE name=?", (end, name))
    files = sorted(tmp_path.glob("r-*.warc.gz"))
    assert len(files) >= 2
    # simulate a kill: no close(); reopen with the same state
    w._file.flush()
    w2 = RotatingWarcWriter(tmp_path, "r", max_bytes=3000, frontier=frontier)
    urls = []
    for f in sorted(tmp_path.glob("r-*.warc.gz")):
        with open(f, "rb") as fh:
            urls += [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh) if r.rec_type == "response"]
    assert urls == [f"http://s.test/{i}" for i in range(4)]
    w2.write_response("http://s.test/4", 200, "OK", [("Content-Type", "text/html")], b"<p>again</p>")
    w2.close()
    urls = []
    for f in sorted(tmp_path.glob("r-*.warc.gz")):
        with open(f, "rb") as fh:
            urls += [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh) if r.rec_type == "response"]
    assert urls == [f"http://s.test/{i}" for i in range(5)]
    frontier.close()


def test_writer_never_touches_warcs_it_did_not_write(tmp_path):
    foreign = tmp_path / "r-00000.warc.gz"
    foreign.write_bytes(b"someone else's archive")
    frontier = Frontier(tmp_path / "state.sqlite")
    w = RotatingWarcWriter(tmp_path, "r", frontier=frontier)
    name, _, _ = w.write_response("http://s.test/", 200, "OK", [("Content-Type", "text/html")], b"<p>x</p>")
    w.close()
    assert foreign.read_bytes() == b"someone else's archive" and name == "r-00001.warc.gz"
    frontier.close()


# -- URLs, links, scope, seeds ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw,expected",
    [
        ("HTTP://Example.ORG:80/a/../b/?utm_source=x&z=2&a=1#top", "http://example.org/b/?a=1&z=2"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/a/./b", "https://example.org/a/b"),
        ("mailto:someone@example.org", None),
        ("ftp://example.org/file", None),
    ],
)
def test_normalize_url(raw, expected):
    assert normalize_url(raw) == expected


def test_extract_links_resolves_base():
    html = """<html><head><base href="/docs/"></head><body>
    <a href="a.html">a</a> <a href='/b.html#x'>b</a> <a href=c.html>c</a> <a href="#top">t</a>
    <a href="mailto:x@y.z">m</a> <a href="javascript:void(0)">j</a> <a class="x" href="https://other.org/?b=2&amp;a=1">o</a>
    </body></html>"""
    assert extract_links(html, "http://s.test/index.html") == [
        "http://s.test/docs/a.html", "http://s.test/b.html", "http://s.test/docs/c.html", "https://other.org/?a=1&b=2"]


def test_robots_directives():
    assert robots_directives('<meta name="robots" content="noindex, nofollow">') == {"noindex", "nofollow"}
    assert robots_directives("<meta content='NOINDEX' name='Robots'>") == {"noindex"}
    assert robots_directives('<meta name="description" content="noindex">') == set()
    assert robots_directives("<p>", "none") == {"noindex", "nofollow"}
    assert robots_directives("<p>", "googlebot: noindex") == set()


def test_scope_rules():
    site = SiteRule(seeds=["https://www.health.test/en/"], hosts=["*.health.test"], path_prefixes=["/en/"],
                    exclude=[r"\.pdf$"], max_depth=2)
    scope = Scope([site])
    assert scope.reject_reason("https://www.health.test/en/flu") is None
    assert scope.reject_reason("https://cdn.health.test/en/flu") is None
    assert scope.reject_reason("https://health.test/en/flu") is None
    assert scope.reject_reason("https://evil-health.test/en/flu") == "offscope_host"
    assert scope.reject_reason("https://www.health.test/fr/grippe") == "offscope_path"
    assert scope.reject_reason("https://www.health.test/en/leaflet.pdf") == "excluded"
    assert scope.reject_reason("https://www.health.test/en/flu", depth=3) == "too_deep"
    with pytest.raises(ValueError, match="not an http"):
        SiteRule(seeds=["file:///etc/passwd"])


def test_seed_file_loads_and_reports_errors(tmp_path):
    scope = load_seed_file(SEEDS)
    langs = {s.language for s in scope.sites}
    assert langs == {"en", "zh", "ja", "fr", "ru", "es"}
    assert all(s.licence for s in scope.sites), "every seed site notes its licence or terms"
    fr = load_seed_file(SEEDS, languages=["fr"])
    assert fr.sites and {s.language for s in fr.sites} == {"fr"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sites": [{"name": "x", "seeds": ["https://x.test/"], "max_dept": 2}]}))
    with pytest.raises(ValueError, match=r"bad\.json: site #0 \(x\).*max_dept"):
        load_seed_file(bad)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json: cannot read seed list"):
        load_seed_file(tmp_path / "broken.json")


class _SlowOnMarker(HtmlExtractor):
    def extract_record(self, html, url=None):
        if "STALL" in html:
            import time

            time.sleep(30)
        return super().extract_record(html, url)


def test_extractor_timeout_drops_the_page_and_goes_on():
    ex = _SlowOnMarker(timeout=1.0, min_chars=20)
    good = "<html><body><p>" + "Influenza vaccination is recommended every autumn. " * 3 + "</p></body></html>"
    docs = [Document(text="<html><body><p>STALL</p></body></html>", id="slow", metadata={"url": "http://x/slow"}),
            Document(text=good, id="good", metadata={})]
    out = list(ex.run(iter(docs)))
    assert [d.id for d in out] == ["good"]
    flat = json.dumps(ex.stats.to_dict() if hasattr(ex.stats, "to_dict") else ex.stats, default=str)
    assert "timeout" in flat


# -- extraction rules (mmedc.web.extract_rules) on pages written for these tests -------------------
MEDICINE_PAGE = """<html lang="en"><head><title>Amoxicillin: dosage and side effects | Health Site</title>
<meta property="og:title" content="Amoxicillin: dosage and side effects"></head><body>
<nav><a href="/">Home</a> <a href="/drugs">Drugs A-Z</a></nav>
<main><article>
<h1>Amoxicillin: dosage and side effects</h1>
<p>Amoxicillin is a penicillin antibiotic used to treat bacterial infections such as chest infections,
dental abscesses and urinary tract infections. It works by stopping the growth of bacteria.</p>
<p>We use cookies to give you the best experience on our website. By continuing to browse you accept our cookie policy.</p>
<h2>Dosage</h2>
<table><thead><tr><th>Age</th><th>Dose</th><th>Frequency</th></tr></thead>
<tbody><tr><td>Adults</td><td>500 mg</td><td>3 times a day</td></tr>
<tr><td>Children 1 to 4 years</td><td>250 mg</td><td>3 times a day</td></tr></tbody></table>
<h2>Terms</h2>
<dl><dt>Penicillin allergy</dt><dd>An immune reaction to penicillin antibiotics, ranging from rash to anaphylaxis.</dd>
<dt>Creatinine clearance</dt><dd>A measure of kidney function used to adjust the dose.</dd></dl>
<h2>Side effects</h2>
<ul><li>feeling sick (nausea)</li><li>diarrhoea</li><li>skin rash</li></ul>
<p>Most people who take amoxicillin have no side effects, or only mild ones that go away when treatment
ends. Tell your doctor if side effects bother you or do not go away.</p>
<aside class="warning-box"><p>Warning: amoxicillin can stop the contraceptive pill working if you are
sick or have diarrhoea for more than 24 hours.</p></aside>
<p>Related articles</p>
<ul><li><a href="/a">Penicillin explained</a></li><li><a href="/b">Antibiotic resistance</a></li></ul>
<p>Sign up for our newsletter to get health tips in your inbox every week.</p>
<p>Disclaimer: this information is not a substitute for professional medical advice.</p>
<p>© 2024 Health Site. All rights reserved.</p>
</article></main></body></html>"""


def test_rules_keep_medical_content_and_drop_boilerplate():
    (doc,) = _extract(MEDICINE_PAGE)
    text = doc.text
    assert "| Adults | 500 mg | 3 times a day |" in text  # dosage table
    assert "Warning: amoxicillin can stop the contraceptive pill" in text  # <aside> warning box
    assert "- Penicillin allergy: An immune reaction to penicillin" in text  # term and definition together
    assert "- diarrhoea" in text and "Tell your doctor if side effects bother you" in text
    for boiler in ("cookie", "Related articles", "Penicillin explained", "newsletter", "Disclaimer", "All rights reserved"):
        assert boiler not in text, boiler
    assert not text.startswith("Amoxicillin: dosage")  # the title is metadata
    assert doc.metadata["title"] == "Amoxicillin: dosage and side effects"  # og:title over <title>
    # trafilatura alone: loses the warning box, splits the definition, keeps the boilerplate
    (raw,) = _extract(MEDICINE_PAGE, rules=False)
    assert "contraceptive pill" not in raw.text and "- Penicillin allergy\n" in raw.text
    assert "cookie policy" in raw.text and "Disclaimer" in raw.text


def test_rules_are_counted_in_the_block_stats():
    ex = HtmlExtractor(timeout=None)
    list(ex.run(iter([Document(text=MEDICINE_PAGE, id="1")])))
    stats = {k: v["total"] if isinstance(v, dict) else v for k, v in ex.stats.to_dict()["stats"].items()}
    assert stats["rule_boxes"] == 1 and stats["rule_definitions"] == 2 and stats["rule_title"] == 1
    assert stats["rule_cue"] == 1 and stats["rule_boilerplate"] == 4


SPLIT_PAGE = """<html lang="en"><head><title>Measles outbreak: what parents should know</title></head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<div class="page">
<div class="grid"><div class="article__body body-content">
<p>Measles cases have risen sharply this winter, and health officials are urging parents to check that
their children have had both doses of the MMR vaccine before the school holidays begin.</p>
<p>The virus spreads through coughs and sneezes and is one of the most contagious diseases known; nine in
ten unvaccinated people who are exposed to it will catch it.</p>
</div><div class="rail"><div class="most-popular"><a href="/x">Most read story</a></div></div></div>
<div class="ad-slot"><span>Advertisement</span></div>
<div class="grid"><div class="article__body body-content">
<p>Early symptoms include a high fever, a runny nose, red and watery eyes and a cough, followed a few days
later by a rash that starts on the face and behind the ears.</p>
<p>Complications are most common in children under five and in adults over twenty, and include
pneumonia, encephalitis and, rarely, death; there is no specific antiviral treatment.</p>
</div></div>
</div><footer><p>About us</p></footer></body></html>"""


def test_split_article_body_is_joined_in_page_order():
    (doc,) = _extract(SPLIT_PAGE)
    first = doc.text.index("Measles cases have risen")
    assert first < doc.text.index("Early symptoms include") < doc.text.index("no specific antiviral treatment")
    assert "Most read story" not in doc.text and "Advertisement" not in doc.text
    (raw,) = _extract(SPLIT_PAGE, rules=False)  # trafilatura keeps the first part only
    assert "Early symptoms include" not in raw.text


def test_split_body_needs_one_part_kept_and_a_body_like_class():
    from lxml import html as lhtml

    from mmedc.web.extract_rules import continue_split_body, page_signals

    signals = page_signals(lhtml.fromstring(SPLIT_PAGE))
    assert len(signals.bodies) == 1 and len(signals.bodies[0]) == 2
    # nothing of the body in the text: the extraction chose something else, leave it alone
    assert continue_split_body("An unrelated extraction.", signals) == ("An unrelated extraction.", 0)
    # repeated comment containers are not article parts
    comments = SPLIT_PAGE.replace("article__body body-content", "comment-body")
    assert page_signals(lhtml.fromstring(comments)).bodies == []


def test_boilerplate_lines_by_reason_and_prose_kept():
    from mmedc.web.extract_rules import PageSignals, drop_boilerplate_lines

    signals = PageSignals(titles=["Influenza in adults"])
    signals._anchors = frozenset({"Flu vaccine: who should have it", "Грипп у детей"})
    text = "\n".join([
        "Influenza in adults",
        "Influenza is an acute viral infection of the respiratory tract.",
        "Read more: Flu vaccine: who should have it",
        "Related articles",
        "- Flu vaccine: who should have it",
        "- cookies and biscuits",  # a food list item, not a cookie banner
        "Читайте также: Грипп у детей",
        "相关阅读：流感疫苗接种指南",
        "Follow us on Twitter and Facebook",
        "Subscribe to our newsletter",
        "This information does not replace the advice of your doctor.",
        "Avertissement : ne pas dépasser 3 g de paracétamol par jour.",  # a French warning: content
        "Vitamin supplements do not replace a balanced diet.",
        "Many patients subscribe to the view that antibiotics cure the flu, but antibiotics act on bacteria, "
        "not on viruses, so they neither shorten nor ease an uncomplicated influenza; they are given only "
        "when a bacterial complication such as pneumonia is suspected.",
        "Грипп — острое вирусное заболевание дыхательных путей.",
        "流感是由流感病毒引起的急性呼吸道传染病。",
        "接种流感疫苗是预防流感最有效的手段，医院会通过短信和公众号推送提醒，患者也可以订阅门诊的接种通知，"
        "在流行季节到来之前完成接种，尤其是老年人、孕妇和慢性病患者。",
    ])
    out, counts = drop_boilerplate_lines(text, signals)
    assert out.split("\n") == [
        "Influenza is an acute viral infection of the respiratory tract.",
        "- cookies and biscuits",
        "Avertissement : ne pas dépasser 3 g de paracétamol par jour.",
        "Vitamin supplements do not replace a balanced diet.",
        text.split("\n")[13],
        "Грипп — острое вирусное заболевание дыхательных путей.",
        "流感是由流感病毒引起的急性呼吸道传染病。",
        text.split("\n")[-1],  # a Chinese sentence that mentions subscribing is prose, not a banner
    ]
    assert counts == {"title": 1, "cue": 4, "related_link": 1, "boilerplate": 3}
    # the title is dropped only as the first line
    assert drop_boilerplate_lines("Intro.\nInfluenza in adults", signals)[0] == "Intro.\nInfluenza in adults"


def test_aside_boxes_rescued_only_for_warnings():
    from lxml import html as lhtml

    from mmedc.web.extract_rules import rescue_boxes

    tree = lhtml.fromstring(
        '<html><body><aside class="alert alert-danger">Do not exceed 4 g a day.</aside>'
        '<aside class="cookie-alert">We use cookies.</aside><aside class="sidebar">Popular</aside></body></html>'
    )
    assert rescue_boxes(tree.iter("aside")) == 1
    assert [el.tag for el in tree.body] == ["div", "aside", "aside"]


def test_fallbacks_run_only_on_short_fast_extractions():
    import trafilatura

    (doc,) = _extract(MEDICINE_PAGE, rules=False)
    assert doc.text == trafilatura.extract(MEDICINE_PAGE, include_comments=False, fast=True)
    # fallback_below=None: trafilatura's whole cascade on every page (its best mode here)
    full = HtmlExtractor(timeout=None, rules=False, fallback_below=None).extract_record(MEDICINE_PAGE)
    assert full["text"] == trafilatura.extract(MEDICINE_PAGE, include_comments=False)
    # a page whose fast extraction is short gets the cascade, counted as rule_fallback
    short = "<html><body><div><p>Hand washing with soap removes most germs from the skin.</p></div></body></html>"
    ex = HtmlExtractor(timeout=None, min_chars=0)
    record = ex.extract_record(short)
    assert record["rules"].get("fallback") == 1 and "Hand washing" in record["text"]
    assert "fallback" not in ex.extract_record(MEDICINE_PAGE)["rules"]


def test_folder_reader_inflates_gzip_within_its_bound(tmp_path):
    """A small .html.gz that inflates to 64 MiB is cut at max_bytes while it inflates, not after."""
    import gzip as _gzip
    import tracemalloc

    from mmedc.web.extract import HtmlFolderReader

    body = b"<html><body><p>" + b"a" * (64 * 2**20) + b"</p></body></html>"
    (tmp_path / "bomb.html.gz").write_bytes(_gzip.compress(body, compresslevel=9))
    (tmp_path / "ok.html").write_bytes(b"<html><body><p>Insulin lowers blood glucose.</p></body></html>")
    reader = HtmlFolderReader(str(tmp_path), glob_pattern="*", max_bytes=2**20)
    tracemalloc.start()
    try:
        docs = sorted(reader.run(), key=lambda d: d.id)
        grown_mib = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert len(docs) == 2 and grown_mib < 48
    assert reader.stats["truncated_file"].total == 1
