"""The certificate PDF: one A4 landscape page, every script of the region shaped with a bundled font, and
the learner's name read back out of it exactly, by two independent PDF parsers."""

from __future__ import annotations

import io
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import segno
from flask import Flask
from pdfminer.high_level import extract_text
from pypdf import PdfReader

from learning.certificates.pdf import A4_LANDSCAPE, CertificateContent, render_certificate
from learning.certificates.pdf.canvas import Canvas
from learning.certificates.pdf.fonts import cjk_region, face, faces_for, segment

NAMES = json.loads((Path(__file__).resolve().parents[2] / "docs" / "certificates" / "names.json").read_text())
URL = "https://academy.example.org/verify/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def content(name: str, country: str | None = None) -> CertificateContent:
    moment = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    return CertificateContent(
        holder_name=name,
        course_title="Smart port transition: policy and practice",
        hours=7.5,
        completed_at=moment,
        issued_at=moment,
        serial="SPA-7KQ2-M9XD-3FHA",
        verify_url=URL,
        issuer_name="ESCAP capacity-building programme",
        country=country,
    )


@pytest.mark.parametrize("entry", NAMES, ids=[entry["script"] for entry in NAMES])
def test_every_script_renders_without_missing_glyphs_and_reads_back(
    app: Flask, entry: dict[str, str]
) -> None:
    with app.app_context():
        rendered = render_certificate(content(entry["name"], entry["country"]))
    assert rendered.missing == ()
    reader = PdfReader(io.BytesIO(rendered.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)  # A4 landscape
    assert entry["name"] in reader.pages[0].extract_text()
    assert entry["name"] in extract_text(io.BytesIO(rendered.data))


def test_the_page_says_what_it_certifies(app: Flask) -> None:
    with app.app_context():
        rendered = render_certificate(content("Ada Lovelace"))
    text = PdfReader(io.BytesIO(rendered.data)).pages[0].extract_text()
    for expected in (
        "Certificate of Completion",
        "Ada Lovelace",
        "Smart port transition: policy and practice",
        "7.5 hours of study, completed on November 24, 2026",
        "ESCAP capacity-building programme",
        "SPA-7KQ2-M9XD-3FHA",
        URL,
    ):
        assert expected in text, expected


def test_the_qr_code_carries_the_verification_address(app: Flask) -> None:
    with app.app_context():
        rendered = render_certificate(content("Ada Lovelace"))
    page = PdfReader(io.BytesIO(rendered.data)).pages[0]
    stream = page.get_contents().get_data().decode("latin-1")
    expected = Canvas(*A4_LANDSCAPE)
    rows = segno.make_qr(URL, error="m").matrix
    expected.matrix(A4_LANDSCAPE[0] - 70 - 92, 162, 92 / len(rows), rows)
    assert expected.ops[0] in stream


def test_fonts_are_embedded_subsets_with_unicode_maps(app: Flask) -> None:
    with app.app_context():
        rendered = render_certificate(content("สมศักดิ์ 王小明"))
    reader = PdfReader(io.BytesIO(rendered.data))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert len(fonts) == 4  # Noto Sans bold and regular, Thai, CJK
    for ref in fonts.values():
        font = ref.get_object()
        assert font["/Subtype"] == "/Type0" and "/ToUnicode" in font
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor
        assert descriptor["/FontName"][7] == "+"  # a subset: ABCDEF+Name
    assert len(rendered.data) < 60_000  # the CJK font is 19 MB; only the used glyphs go in


def test_names_no_font_covers_are_reported(app: Flask) -> None:
    with app.app_context():
        rendered = render_certificate(content("Ada \U0001f600"))
    assert rendered.missing == ("\U0001f600",)


def test_runs_split_by_script_and_marks_stay_with_their_base() -> None:
    runs = segment("Nam (陳文南) ก่อ", faces_for("x"))
    assert [(f.filename, text) for f, text in runs] == [
        ("NotoSans-Regular.ttf", "Nam ("),
        ("NotoSansCJK-Regular.ttc", "陳文南) "),
        ("NotoSansThai-Regular.ttf", "ก่อ"),
    ]
    # leading punctuation waits for the first letter's face
    assert [text for _, text in segment("(ก)", faces_for("x"))] == ["(ก)"]


def test_cjk_forms_follow_the_script_then_the_country() -> None:
    assert cjk_region("山田 はなこ", "CN") == "ja"
    assert cjk_region("김민준", None) == "ko"
    assert cjk_region("陳美玲", "TW") == "zh-hant"
    assert cjk_region("陳美玲", "HK") == "zh-hk"
    assert cjk_region("王小明", None) == "zh-hans"
    assert face("NotoSansCJK-Regular.ttc", 0).is_cff and not face("NotoSans-Regular.ttf").is_cff


def test_the_content_stream_is_compressed(app: Flask) -> None:
    with app.app_context():
        data = render_certificate(content("Ada")).data
    start = data.index(b"stream\n") + 7
    zlib.decompressobj().decompress(data[start : start + 200])  # raises unless it is a flate stream
