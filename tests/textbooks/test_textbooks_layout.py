"""Page margins from line geometry (mmedc.textbooks.layout) and on a real text layer written here."""

from __future__ import annotations

from mmedc.textbooks.layout import line_geometry, margins

BODY = [(700.0 - 13 * i, 10.5) for i in range(30)]  # 30 body lines, 13 pt pitch, 10.5 pt type


def test_header_footnote_and_page_number_set_apart():
    page = [(740.0, 9.0)] + BODY + [(290.0, 8.0), (280.0, 8.0), (260.0, 9.0)]
    top, bottom = margins(page)
    assert top == ["small"]
    assert bottom == ["small", "small", "small"]  # a two-line footnote above the page number


def test_body_lines_are_never_margin():
    assert margins(BODY) == ([], [])
    # a paragraph space (one blank line) at the bottom is not the margin when the page number's is wider
    page = BODY[:20] + [(y - 13, s) for y, s in BODY[20:]] + [(250.0, 9.0)]
    assert margins(page) == ([], ["small"])


def test_heading_under_the_header_is_tagged_large():
    page = [(760.0, 9.0), (735.0, 14.0)] + BODY
    assert margins(page)[0] == ["small", "large"]


def test_unknown_layout():
    assert margins(BODY[:3]) is None  # too few lines to tell the pitch
    assert margins(list(reversed(BODY))) is None  # not top to bottom


def test_line_geometry_of_a_real_text_layer(tmp_path):
    import pypdfium2 as pdfium
    from reportlab.pdfgen import canvas

    path = tmp_path / "page.pdf"
    c = canvas.Canvas(str(path), pagesize=(420, 595))
    c.setFont("Helvetica", 8)
    c.drawString(40, 570, "Clinical Chemistry for Physicians")
    c.setFont("Helvetica", 10)
    for i in range(20):
        c.drawString(40, 540 - 13 * i, f"Body line {i} with the serum sodium at 135-145 mmol/L")
    c.setFont("Helvetica", 7)
    c.drawString(40, 60, "* Reference ranges vary.")
    c.setFont("Helvetica", 8)
    c.drawString(200, 40, "17")
    c.showPage()
    c.save()
    pdf = pdfium.PdfDocument(str(path))
    textpage = pdf[0].get_textpage()
    geometry = line_geometry(textpage, textpage.get_text_range())
    assert len(geometry) == 23 and geometry[0][1] == 8 and geometry[1][1] == 10
    assert margins(geometry) == (["small"], ["small", "small"])
