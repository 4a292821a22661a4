"""Uploaded files: read with a size cap and typed by their first bytes, never by their name or header."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from typing import IO

# what each sniffed type is stored and served as
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
MAX_ZIP_ENTRIES = 5000
MAX_DOCX_EXPANDED = 200 * 1024 * 1024


class UploadError(Exception):
    """An upload refused; ``message`` says why, for the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Upload:
    data: bytes
    mimetype: str
    extension: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_capped(stream: IO[bytes], limit: int, too_big: str) -> bytes:
    """Read at most ``limit`` bytes; one byte more means the file is too big."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadError(too_big, 413)
    return data


def image_type(data: bytes) -> str | None:
    """The image type by magic bytes: PNG, JPEG, GIF or WebP (never SVG, which is a document)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# JPEG's start-of-frame markers (those that carry the image's size): C0-CF but for DHT, JPG and DAC
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes, mimetype: str) -> tuple[int, int] | None:
    """Width and height as the image's header declares them, read without decoding a pixel; None when the
    header is cut short or malformed."""
    try:
        if mimetype == "image/png" and data[12:16] == b"IHDR" and len(data) >= 24:
            return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if mimetype == "image/gif" and len(data) >= 10:
            return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
        if mimetype == "image/webp":
            return _webp_size(data)
        if mimetype == "image/jpeg":
            return _jpeg_size(data)
    except IndexError:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk, body = data[12:16], data[20:]
    if chunk == b"VP8X" and len(body) >= 10:  # the extended format: the canvas, 24 bits each, minus one
        return int.from_bytes(body[4:7], "little") + 1, int.from_bytes(body[7:10], "little") + 1
    if chunk == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:  # lossless: 14 bits each, minus one
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":  # lossy: 14 bits each
        return int.from_bytes(body[6:8], "little") & 0x3FFF, int.from_bytes(body[8:10], "little") & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a segment
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # the end, or the scan, before any frame header
            return None
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _JPEG_FRAMES:
            segment = data[at + 4 : at + 2 + length]
            if len(segment) < 5:
                return None
            return int.from_bytes(segment[3:5], "big"), int.from_bytes(segment[1:3], "big")
        if length < 2:
            return None
        at += 2 + length
    return None


def is_docx(data: bytes) -> bool:
    """A zip whose name list holds word/document.xml; only its directory is read, nothing extracted."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    names = {entry.filename for entry in entries}
    # Nothing is extracted here, but the reviewer's word processor will: a document that would expand
    # past MAX_DOCX_EXPANDED (a zip bomb dressed as .docx) or holds paths no Word file has is refused.
    expanded = sum(entry.file_size for entry in entries)
    odd = any(entry.filename.startswith("/") or ".." in entry.filename.split("/") for entry in entries)
    return (
        len(entries) <= MAX_ZIP_ENTRIES
        and expanded <= MAX_DOCX_EXPANDED
        and not odd
        and "word/document.xml" in names
    )


def document_type(data: bytes) -> str | None:
    """PDF or DOCX by content, else None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if is_docx(data):
        return DOCX
    return None
