"""The certificate as a one-page A4 landscape PDF.

Text is shaped with HarfBuzz in bundled Noto fonts and written with our own small PDF writer: see fonts.py
for why, and docs/certificates/ for every script's rendering.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import segno
from flask_babel import format_date
from flask_babel import gettext as _

from learning.certificates.pdf.canvas import Canvas
from learning.certificates.pdf.writer import PdfWriter, pdf_date, pdf_text_string

A4_LANDSCAPE = (841.89, 595.28)
NAVY = (0.067, 0.200, 0.380)
TEAL = (0.000, 0.420, 0.470)
GREY = (0.330, 0.330, 0.330)


@dataclass(frozen=True)
class CertificateContent:
    """Everything printed on a certificate; taken from the certificate row, so re-rendering is stable."""

    holder_name: str
    course_title: str
    hours: float
    completed_at: datetime
    issued_at: datetime
    serial: str
    verify_url: str
    issuer_name: str
    country: str | None = None  # picks regional CJK glyph forms when the name does not tell


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    missing: tuple[str, ...]  # characters no bundled font has (drawn as empty boxes)


def hours_text(hours: float) -> str:
    return f"{hours:g}"


def render_certificate(content: CertificateContent) -> RenderedPdf:
    """Render the certificate; needs an application context (for translations and date formats)."""
    width, height = A4_LANDSCAPE
    page = Canvas(width, height, content.country)
    centre = width / 2
    page.rect(22, 22, width - 44, height - 44, stroke=NAVY, line_width=3)
    page.rect(31, 31, width - 62, height - 62, stroke=TEAL, line_width=0.75)

    page.draw_text(centre, 522, _("SMART PORT ACADEMY"), 12, bold=True, align="center", colour=TEAL)
    page.draw_text(centre, 504, content.issuer_name, 11, align="center", colour=GREY)
    page.draw_text(centre, 438, _("Certificate of Completion"), 34, bold=True, align="center", colour=NAVY)
    page.draw_text(centre, 392, _("This certifies that"), 14, align="center", colour=GREY)
    name_size = page.fit_size(content.holder_name, 34, 660)
    page.draw_text(centre, 342, content.holder_name, name_size, align="center")
    page.line(centre - 300, 326, centre + 300, 326, NAVY, 0.75)
    page.draw_text(centre, 294, _("has completed the course"), 14, align="center", colour=GREY)
    title_size = page.fit_size(content.course_title, 22, 660, bold=True)
    page.draw_text(centre, 258, content.course_title, title_size, bold=True, align="center", colour=NAVY)
    completed = format_date(content.completed_at, "long")
    details = _(
        "%(hours)s hours of study, completed on %(date)s", hours=hours_text(content.hours), date=completed
    )
    page.draw_text(centre, 226, details, 13, align="center")

    page.draw_text(70, 138, _("Issued by"), 9, colour=GREY)
    page.draw_text(70, 123, content.issuer_name, 11, bold=True, colour=NAVY)
    page.draw_text(70, 100, _("Serial number"), 9, colour=GREY)
    page.draw_text(70, 85, content.serial, 11, bold=True)
    page.draw_text(
        70, 62, _("Issued on %(date)s", date=format_date(content.issued_at, "long")), 9, colour=GREY
    )

    qr = segno.make_qr(content.verify_url, error="m")
    rows = qr.matrix
    module = 92 / len(rows)
    qr_x, qr_top = width - 70 - 92, 162
    page.matrix(qr_x, qr_top, module, rows)
    page.draw_text(qr_x - 12, 106, _("Verify this certificate at"), 9, align="right", colour=GREY)
    page.draw_text(qr_x - 12, 92, content.verify_url, 8, align="right", colour=NAVY)

    pdf = PdfWriter()
    pages = pdf.reserve()
    page_number = page.write_page(pdf, pages)
    pdf.put(pages, f"<< /Type /Pages /Kids [{page_number} 0 R] /Count 1 >>")
    title = _("Certificate of completion: %(course)s", course=content.course_title)
    info = pdf.add(
        f"<< /Title {pdf_text_string(title)} /Author {pdf_text_string(content.issuer_name)} "
        f"/Subject {pdf_text_string(content.holder_name)} /Creator {pdf_text_string('Smart Port Academy')} "
        f"/CreationDate {pdf_date(content.issued_at)} >>"
    )
    root = pdf.add(f"<< /Type /Catalog /Pages {pages} 0 R /Lang (en) /MarkInfo << /Marked true >> >>")
    identifier = hashlib.sha256(content.serial.encode()).digest()[:16]
    return RenderedPdf(pdf.serialise(root, info, identifier), tuple(dict.fromkeys(page.missing)))
