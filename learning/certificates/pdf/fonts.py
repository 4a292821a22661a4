"""Fonts for certificates: choosing a face per script, shaping with HarfBuzz, embedding subsets.

Complex scripts (Thai, Lao, Khmer, Myanmar, Devanagari, Sinhala) need OpenType shaping: glyphs are
reordered, stacked and joined into conjuncts, so a glyph does not stand for one character. For text
extraction (copying the name, search, screen readers) each glyph of a HarfBuzz cluster gets its own code in
the PDF font; the first glyph of the cluster maps to the cluster's whole text in the ToUnicode table and the
others to nothing, so the text reads back in logical order. Each drawn string is also wrapped in an
/ActualText span for readers that honour it.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import uharfbuzz as hb

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
CJK_FILE = "NotoSansCJK-Regular.ttc"
# Faces of the CJK collection: the same characters with each region's glyph forms.
CJK_FACES = {"ja": 0, "ko": 1, "zh-hans": 2, "zh-hant": 3, "zh-hk": 4}
SCRIPT_FILES = (
    "NotoSansThai-Regular.ttf",
    "NotoSansLao-Regular.ttf",
    "NotoSansKhmer-Regular.ttf",
    "NotoSansMyanmar-Regular.ttf",
    "NotoSansDevanagari-Regular.ttf",
    "NotoSansSinhala-Regular.ttf",
)
# Characters that take the face of the text around them rather than choosing one.
INHERITING = frozenset({"Mn", "Mc", "Me", "Cf", "Zs", "Pd", "Po", "Ps", "Pe", "Pc", "Nd"})


def _tag(name: str) -> int:
    return int.from_bytes(name.encode("latin-1"), "big")


class Face:
    """A font file loaded once per process: HarfBuzz face and font, coverage and metrics."""

    def __init__(self, filename: str, index: int = 0) -> None:
        self.filename = filename
        self.index = index
        self.hb_face = hb.Face(hb.Blob.from_file_path(str(FONT_DIR / filename)), index)
        self.hb_font = hb.Font(self.hb_face)
        self.upem = self.hb_face.upem
        self.coverage = frozenset(self.hb_face.unicodes)
        self.is_cff = "CFF " in self.hb_face.table_tags
        name = self.hb_face.get_name(hb.OTNameIdPredefined.POSTSCRIPT_NAME) or Path(filename).stem
        self.postscript_name = "".join(ch for ch in name if ch.isalnum() or ch == "-")
        extents = self.hb_font.get_font_extents("ltr")
        self.ascent = self.thousandths(extents.ascender)
        self.descent = self.thousandths(extents.descender)
        cap = self.hb_font.get_metric_position_with_fallback(hb.OTMetricsTag.CAP_HEIGHT)
        self.cap_height = self.thousandths(cap)
        head = self.hb_face.reference_table("head").data
        self.bbox = tuple(self.thousandths(v) for v in struct.unpack(">hhhh", head[36:44]))

    def __repr__(self) -> str:
        return f"<Face {self.filename}#{self.index}>"

    def thousandths(self, units: float) -> int:
        """Convert font units to the PDF glyph space (1000 units to the em)."""
        return round(units * 1000 / self.upem)

    def cid(self, gid: int) -> int:
        """The CID a CID-keyed CFF font (Noto CJK) gives this glyph; TrueType fonts have none."""
        name = self.hb_font.get_glyph_name(gid) or ""
        return int(name[3:]) if name.startswith("cid") and name[3:].isdigit() else gid


@cache
def face(filename: str, index: int = 0) -> Face:
    """Return the process-wide Face for a bundled font file."""
    return Face(filename, index)


def cjk_region(text: str, country: str | None) -> str:
    """Pick the CJK regional forms: kana means Japanese, Hangul Korean; else the holder's country decides."""
    for ch in text:
        block = unicodedata.name(ch, "")
        if block.startswith(("HIRAGANA", "KATAKANA")):
            return "ja"
        if block.startswith("HANGUL"):
            return "ko"
    return {"JP": "ja", "KR": "ko", "KP": "ko", "TW": "zh-hant", "HK": "zh-hk", "MO": "zh-hk"}.get(
        (country or "").upper(), "zh-hans"
    )


def faces_for(text: str, bold: bool = False, country: str | None = None) -> list[Face]:
    """The faces to try, in order, for ``text``: Latin first (bold or regular), then each script's."""
    latin = face("NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf")
    scripts = [face(name) for name in SCRIPT_FILES]
    return [latin, *scripts, face(CJK_FILE, CJK_FACES[cjk_region(text, country)])]


def segment(text: str, candidates: list[Face]) -> list[tuple[Face, str]]:
    """Split ``text`` into runs, each set in the first candidate face that has its characters.

    Marks, joiners, spaces, digits and punctuation stay with the run they are in, so that a cluster is
    never split between fonts.
    """
    runs: list[tuple[Face, str]] = []
    current: Face | None = None
    pending = ""  # inheriting characters before the first run
    for ch in text:
        inherits = unicodedata.category(ch) in INHERITING
        if current is not None and (inherits or ord(ch) in current.coverage):
            runs[-1] = (current, runs[-1][1] + ch)
            continue
        if inherits and current is None:
            pending += ch
            continue
        chosen = next((f for f in candidates if ord(ch) in f.coverage), candidates[0])
        if chosen is current:
            runs[-1] = (current, runs[-1][1] + ch)
        else:
            runs.append((chosen, pending + ch))
            pending = ""
            current = chosen
    if pending:
        runs.append((candidates[0], pending))
    return runs


@dataclass(frozen=True)
class ShapedGlyph:
    gid: int
    text: str  # the characters this glyph stands for in extraction ("" for a cluster's later glyphs)
    x_advance: int  # font units
    x_offset: int
    y_offset: int


@dataclass
class ShapedRun:
    face: Face
    glyphs: list[ShapedGlyph]
    text: str

    @property
    def advance(self) -> int:
        """Width in font units."""
        return sum(g.x_advance for g in self.glyphs)

    @property
    def missing(self) -> list[str]:
        """Characters the face has no glyph for (drawn as .notdef)."""
        return [g.text for g in self.glyphs if g.gid == 0 and g.text.strip()]


def shape(run_face: Face, text: str) -> ShapedRun:
    """Shape ``text`` with HarfBuzz (left to right) and attach each cluster's text to its first glyph."""
    buffer = hb.Buffer()
    buffer.add_codepoints([ord(ch) for ch in text])  # clusters count code points, not UTF-8 bytes
    buffer.guess_segment_properties()
    hb.shape(run_face.hb_font, buffer, {"kern": True, "liga": True})
    infos, positions = buffer.glyph_infos, buffer.glyph_positions
    starts = sorted({info.cluster for info in infos})
    ends = dict(zip(starts, [*starts[1:], len(text)], strict=True))
    seen: set[int] = set()
    glyphs = []
    for info, pos in zip(infos, positions, strict=True):
        cluster = info.cluster
        glyph_text = "" if cluster in seen else text[cluster : ends[cluster]]
        seen.add(cluster)
        glyphs.append(ShapedGlyph(info.codepoint, glyph_text, pos.x_advance, pos.x_offset, pos.y_offset))
    return ShapedRun(run_face, glyphs, text)


@dataclass
class EmbeddedFont:
    """One face as used by one document: the codes given to its glyphs and what each code reads as."""

    face: Face
    resource: str  # the name in the page's /Font resources, e.g. F1
    codes: dict[tuple[int, str], int] = field(default_factory=dict)
    glyph_of: dict[int, int] = field(default_factory=dict)  # code -> glyph id
    text_of: dict[int, str] = field(default_factory=dict)  # code -> text for ToUnicode

    def code(self, glyph: ShapedGlyph) -> int:
        """Return the code that draws ``glyph`` and reads as its text."""
        key = (glyph.gid, glyph.text)
        found = self.codes.get(key)
        if found is not None:
            return found
        if self.face.is_cff:
            # CFF CID fonts are addressed by CID (Identity-H), so a glyph has one code; a glyph standing
            # for two different texts keeps the first, and /ActualText carries the exact string.
            code = self.face.cid(glyph.gid)
            self.text_of.setdefault(code, glyph.text)
        else:
            code = len(self.glyph_of) + 1
            self.text_of[code] = glyph.text
        self.codes[key] = code
        self.glyph_of[code] = glyph.gid
        return code

    def width(self, code: int) -> int:
        """The /W width of a code: the glyph's advance, or for a mark (no advance) its ink width.

        Text extractors group glyphs into lines by their widths, and two marks of zero width in a row
        (Thai vowel and tone mark) would start a new line; the TJ corrections make the drawing exact.
        """
        gid = self.glyph_of[code]
        advance = self.face.hb_font.get_glyph_h_advance(gid)
        if advance <= 0:
            extents = self.face.hb_font.get_glyph_extents(gid)
            advance = max(extents.width if extents else 0, 1)
        return self.face.thousandths(advance)

    def subset(self) -> tuple[bytes, dict[int, int]]:
        """Return the font program with only the used glyphs, and the map from old to new glyph ids."""
        wanted = hb.SubsetInput()
        wanted.glyph_set.update({0, *self.glyph_of.values()})
        wanted.flags = hb.SubsetFlags.NO_HINTING | hb.SubsetFlags.NO_LAYOUT_CLOSURE
        for table in ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "vhea", "vmtx", "VORG", "DSIG"):
            wanted.drop_table_tag_set.add(_tag(table))
        plan = hb.SubsetPlan(self.face.hb_face, wanted)
        mapping = dict(plan.old_to_new_glyph_mapping.items())
        result = plan.execute()
        if self.face.is_cff:
            return result.reference_table("CFF ").data, mapping
        return result.blob.data, mapping

    def subset_tag(self) -> str:
        digest = hashlib.sha256(repr(sorted(self.glyph_of.items())).encode()).digest()
        return "".join(chr(ord("A") + b % 26) for b in digest[:6])
