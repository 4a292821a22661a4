"""One PDF page: shaped text in embedded fonts, lines, rectangles and a QR code."""

from __future__ import annotations

from collections.abc import Sequence

from learning.certificates.pdf.fonts import EmbeddedFont, Face, ShapedRun, faces_for, segment, shape
from learning.certificates.pdf.writer import PdfWriter, pdf_number, pdf_text_string

Colour = tuple[float, float, float]


class Canvas:
    """Collects drawing operators and the fonts they use; ``finish`` writes the page objects."""

    def __init__(self, width: float, height: float, country: str | None = None) -> None:
        self.width = width
        self.height = height
        self.country = country
        self.ops: list[str] = []
        self.fonts: dict[tuple[str, int], EmbeddedFont] = {}
        self.missing: list[str] = []

    # --- text -------------------------------------------------------------------------------------------

    def shape_text(self, text: str, bold: bool = False) -> list[ShapedRun]:
        """Shape ``text``, choosing a face for each script in it."""
        runs = [shape(f, part) for f, part in segment(text, faces_for(text, bold, self.country))]
        for run in runs:
            self.missing.extend(run.missing)
        return runs

    @staticmethod
    def runs_width(runs: Sequence[ShapedRun], size: float) -> float:
        return sum(run.advance * size / run.face.upem for run in runs)

    def text_width(self, text: str, size: float, bold: bool = False) -> float:
        return self.runs_width(self.shape_text(text, bold), size)

    def fit_size(self, text: str, size: float, max_width: float, bold: bool = False) -> float:
        """The largest size up to ``size`` at which ``text`` fits in ``max_width``."""
        width = self.text_width(text, size, bold)
        return size if width <= max_width else size * max_width / width

    def draw_text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        bold: bool = False,
        align: str = "left",
        colour: Colour = (0, 0, 0),
    ) -> float:
        """Draw ``text`` with its baseline at ``y``; ``align`` is left, center or right of ``x``."""
        runs = self.shape_text(text, bold)
        width = self.runs_width(runs, size)
        if align == "center":
            x -= width / 2
        elif align == "right":
            x -= width
        self.ops.append(f"/Span << /ActualText {pdf_text_string(text)} >> BDC")
        self.ops.append(f"BT {_rgb(colour)} rg")
        for run in runs:
            self._draw_run(x, y, run, size)
            x += run.advance * size / run.face.upem
        self.ops.append("ET EMC")
        return width

    def _font(self, run_face: Face) -> EmbeddedFont:
        key = (run_face.filename, run_face.index)
        if key not in self.fonts:
            self.fonts[key] = EmbeddedFont(run_face, f"F{len(self.fonts) + 1}")
        return self.fonts[key]

    def _draw_run(self, x: float, y: float, run: ShapedRun, size: float) -> None:
        font = self._font(run.face)
        f = run.face
        self.ops.append(f"/{font.resource} {pdf_number(size)} Tf 1 0 0 1 {pdf_number(x)} {pdf_number(y)} Tm")
        items: list[str] = []
        rise = 0
        for glyph in run.glyphs:
            if glyph.y_offset != rise:
                self._show(items)
                rise = glyph.y_offset
                self.ops.append(f"{pdf_number(rise * size / f.upem)} Ts")
            code = font.code(glyph)
            # TJ numbers move left by n/1000 em: shift by the glyph's offset, draw it (the reader
            # advances by its /W width) and correct to HarfBuzz's advance.
            offset = f.thousandths(glyph.x_offset)
            if offset:
                items.append(str(-offset))
            items.append(f"<{code:04X}>")
            correction = font.width(code) + offset - f.thousandths(glyph.x_advance)
            if correction:
                items.append(str(correction))
        self._show(items)
        if rise:
            self.ops.append("0 Ts")

    def _show(self, items: list[str]) -> None:
        if items:
            self.ops.append(f"[{' '.join(items)}] TJ")
            items.clear()

    # --- shapes -----------------------------------------------------------------------------------------

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        stroke: Colour | None = None,
        fill: Colour | None = None,
        line_width: float = 1,
    ) -> None:
        parts = [f"{pdf_number(line_width)} w"]
        if stroke:
            parts.append(f"{_rgb(stroke)} RG")
        if fill:
            parts.append(f"{_rgb(fill)} rg")
        parts.append(f"{pdf_number(x)} {pdf_number(y)} {pdf_number(w)} {pdf_number(h)} re")
        parts.append("B" if stroke and fill else ("S" if stroke else "f"))
        self.ops.append(" ".join(parts))

    def line(self, x1: float, y1: float, x2: float, y2: float, colour: Colour, width: float = 1) -> None:
        self.ops.append(
            f"{pdf_number(width)} w {_rgb(colour)} RG {pdf_number(x1)} {pdf_number(y1)} m "
            f"{pdf_number(x2)} {pdf_number(y2)} l S"
        )

    def matrix(self, x: float, y: float, module: float, rows: Sequence[Sequence[int]]) -> None:
        """Draw a QR code's dark modules, one rectangle per horizontal run, top row at ``y``."""
        parts = ["0 0 0 rg"]
        for r, row in enumerate(rows):
            c = 0
            while c < len(row):
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                top = y - (r + 1) * module
                parts.append(
                    f"{pdf_number(x + start * module)} {pdf_number(top)} "
                    f"{pdf_number((c - start) * module)} {pdf_number(module)} re"
                )
        parts.append("f")
        self.ops.append("\n".join(parts))

    # --- output -----------------------------------------------------------------------------------------

    def write_page(self, pdf: PdfWriter, parent: int) -> int:
        """Write the page, its content stream and its fonts; return the page's object number."""
        resources = " ".join(f"/{font.resource} {_write_font(pdf, font)} 0 R" for font in self.fonts.values())
        content = pdf.add_stream("\n".join(self.ops).encode("latin-1"))
        return pdf.add(
            f"<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 {pdf_number(self.width)} "
            f"{pdf_number(self.height)}] /Resources << /Font << {resources} >> >> /Contents {content} 0 R >>"
        )


def _rgb(colour: Colour) -> str:
    return " ".join(pdf_number(c) for c in colour)


def _to_unicode(font: EmbeddedFont) -> bytes:
    lines = []
    for code, text in sorted(font.text_of.items()):
        lines.append(f"<{code:04X}> <{text.encode('utf-16-be').hex().upper()}>")
    blocks = []
    for start in range(0, len(lines), 100):  # a bfchar block holds at most 100 entries
        chunk = lines[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    ).encode("latin-1")


def _write_font(pdf: PdfWriter, font: EmbeddedFont) -> int:
    """Write a Type 0 font with its CID font, descriptor, subset program and ToUnicode map."""
    f = font.face
    program, new_gid = font.subset()
    name = f"{font.subset_tag()}+{f.postscript_name}"
    if f.is_cff:
        file_entry = f"/FontFile3 {pdf.add_stream(program, '/Subtype /CIDFontType0C')} 0 R"
        subtype, gid_map = "CIDFontType0", ""
    else:
        file_entry = f"/FontFile2 {pdf.add_stream(program, f'/Length1 {len(program)}')} 0 R"
        table = bytearray(2 * (max(font.glyph_of) + 1))
        for code, gid in font.glyph_of.items():
            table[2 * code : 2 * code + 2] = new_gid[gid].to_bytes(2, "big")
        subtype, gid_map = "CIDFontType2", f"/CIDToGIDMap {pdf.add_stream(bytes(table))} 0 R"
    descriptor = pdf.add(
        f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{' '.join(map(str, f.bbox))}] "
        f"/ItalicAngle 0 /Ascent {f.ascent} /Descent {f.descent} /CapHeight {f.cap_height} /StemV 80 "
        f"{file_entry} >>"
    )
    widths = " ".join(f"{code} [{font.width(code)}]" for code in sorted(font.glyph_of))
    cid_font = pdf.add(
        f"<< /Type /Font /Subtype /{subtype} /BaseFont /{name} "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        f"/FontDescriptor {descriptor} 0 R /DW 1000 /W [{widths}] {gid_map} >>"
    )
    to_unicode = pdf.add_stream(_to_unicode(font))
    return pdf.add(
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
        f"/DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>"
    )
