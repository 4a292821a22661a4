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
