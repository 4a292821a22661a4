"""A minimal PDF 1.7 writer: numbered objects, compressed streams, the cross-reference table.

The certificate needs only a page, embedded font subsets and vector drawing, and writing them directly keeps
control over what text extraction sees (see fonts.py); general layout engines do not expose that.
"""

from __future__ import annotations

import zlib
from datetime import datetime


def pdf_number(value: float) -> str:
    """Format a number the way PDF readers expect: no exponent, at most three decimals."""
    if value == int(value):
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def pdf_text_string(text: str) -> str:
    """Return ``text`` as a PDF text string (UTF-16BE with a byte order mark, in hex)."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def pdf_date(moment: datetime) -> str:
    """Return a PDF date string for an aware datetime, in UTC."""
    return f"(D:{moment:%Y%m%d%H%M%S}Z)"


class PdfWriter:
    """Collects objects by number and serialises them with a cross-reference table."""

    def __init__(self) -> None:
        self._objects: list[bytes | None] = []

    def reserve(self) -> int:
        """Reserve an object number, to be filled with ``put`` (for forward references)."""
        self._objects.append(None)
        return len(self._objects)

    def put(self, number: int, body: str | bytes) -> int:
        self._objects[number - 1] = body.encode("latin-1") if isinstance(body, str) else body
        return number

    def add(self, body: str | bytes) -> int:
        """Add an object (a dictionary or array in PDF syntax) and return its number."""
        return self.put(self.reserve(), body)

    def add_stream(self, data: bytes, entries: str = "", compress: bool = True) -> int:
        """Add a stream object with ``entries`` in its dictionary; flate-compressed unless told not to."""
        if compress:
            data = zlib.compress(data, 6)
            entries = f"/Filter /FlateDecode {entries}"
        head = f"<< /Length {len(data)} {entries.strip()} >>\nstream\n".encode("latin-1")
        return self.add(head + data + b"\nendstream")

    def serialise(self, root: int, info: int, identifier: bytes) -> bytes:
        """Return the whole file; ``identifier`` (16 bytes) becomes the document's /ID."""
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self._objects, start=1):
            if body is None:
                raise RuntimeError(f"PDF object {number} was reserved but never written")
            offsets.append(len(out))
            out += f"{number} 0 obj\n".encode("latin-1") + body + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode("latin-1")
        for offset in offsets:
            out += f"{offset:010d} 00000 n \n".encode("latin-1")
        ident = identifier.hex().upper()
        out += (
            f"trailer\n<< /Size {len(offsets) + 1} /Root {root} 0 R /Info {info} 0 R "
            f"/ID [<{ident}> <{ident}>] >>\nstartxref\n{xref}\n%%EOF\n"
        ).encode("latin-1")
        return bytes(out)
