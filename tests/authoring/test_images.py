"""Lesson images: sniffed by their bytes, stored content-addressed, served inline but sandboxed."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from werkzeug.datastructures import FileStorage

from learning.authoring.services import open_draft
from learning.catalog.models import CourseMember
from learning.content.render import render_markdown
from learning.extensions import db
from learning.uploads import image_size
from tests.capstone.conftest import post_multipart
from tests.conftest import csrf_from


def png(width: int, height: int, rows: bytes | None = None) -> bytes:
    """A PNG of that size; its pixel data (one black row, repeated) is only complete for small ones."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(rows if rows is not None else (b"\x00" * (width + 1)) * height)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_header(width: int, height: int, frame: int = 0xC0) -> bytes:
    """The start of a JPEG: a JFIF segment, then a frame header (baseline, or ``frame``) of that size."""
    jfif = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    components = b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    sof = bytes([0xFF, frame]) + struct.pack(">HBHHB", 8 + len(components), 8, height, width, 3) + components
    return b"\xff\xd8" + jfif + b"\xff\xff" + sof + b"\xff\xda\x00\x02"


PNG = png(2, 2)
# the classic 1 x 1 transparent GIF
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
# WebP files Chromium made (canvas.toDataURL): lossless (VP8L) 301 x 201, lossy (VP8) 300 x 200, and the
# start of an extended one (VP8X) 300 x 200
WEBP = bytes.fromhex("524946461c000000574542505650384c0f0000002f2c0132000710fd8ffe0722a2ff0100")
WEBP_LOSSY_START = bytes.fromhex("52494646c40000005745425056503820b8000000f010009d012a2c01c8003e6d3699")
WEBP_EXTENDED_START = bytes.fromhex("52494646a60200005745425056503858") + bytes.fromhex(
    "0a000000100000002b0100c70000"
)
LESSON = "/authoring/courses/harbour-basics/draft/lessons/first-a"


@pytest.fixture
def author(client, create_user, login, course):
    user = create_user(roles=("trainer",))
    db.session.add(CourseMember(course_id=course.id, user_id=user.id, role="owner"))
    open_draft(course, user)
    db.session.commit()
    login(client, user)
    return client


def _upload(client, data: bytes, name: str):
    token = csrf_from(client.get(LESSON).get_data(as_text=True))
    return post_multipart(
        client,
        "/authoring/courses/harbour-basics/images",
        {
            "csrf_token": token,
            "image": FileStorage(io.BytesIO(data), name),
            "alt": "A crane",
            "lesson": "first-a",
        },
    )


@pytest.mark.parametrize(("data", "mimetype", "ext"), [(PNG, "image/png", "png"), (GIF, "image/gif", "gif"),
                                                       (WEBP, "image/webp", "webp")])  # fmt: skip
def test_an_image_is_stored_and_served_with_safe_headers(author, data, mimetype, ext) -> None:
    assert 'action="/authoring/courses/harbour-basics/images"' in author.get(LESSON).get_data(as_text=True)
    response = _upload(author, data, "whatever.bin")
    assert response.status_code == 302 and response.headers["Location"].endswith(LESSON)
    name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
    assert f"![A crane](/media/{name})" in author.get(LESSON).get_data(as_text=True)
    served = author.get(f"/media/{name}")
    assert served.status_code == 200 and served.data == data
    assert served.mimetype == mimetype
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox; frame-ancestors 'none'"
    assert "max-age" in served.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("data", "name", "status"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.png", 400),
        (b"%PDF-1.4", "x.gif", 400),
        (PNG + b"\x00" * (2 * 1024 * 1024), "big.png", 413),
    ],
)
def test_other_files_and_big_images_are_refused(app, author, data, name, status) -> None:
    from pathlib import Path

    response = _upload(author, data, name)
    assert response.status_code == status
    assert not (
        Path(app.config["STORAGE_PATH"]) / "images" / f"{hashlib.sha256(data).hexdigest()}.png"
    ).exists()


def test_unknown_or_malformed_media_names_are_not_found(client) -> None:
    assert client.get("/media/" + "0" * 64 + ".png").status_code == 404
    assert client.get("/media/..%2Fcapstone").status_code == 404
    assert client.get("/media/abc.svg").status_code == 404


def test_lesson_markdown_keeps_relative_media_images() -> None:
    html = render_markdown("![A crane](/media/" + "a" * 64 + ".png)")
    assert 'src="/media/' + "a" * 64 + '.png"' in html and 'alt="A crane"' in html


@pytest.mark.parametrize(
    ("data", "mimetype", "size"),
    [
        (png(3, 2), "image/png", (3, 2)),
        (GIF, "image/gif", (1, 1)),
        (b"GIF87a\x88\x02\x09\x02" + b"\x00" * 20, "image/gif", (648, 521)),
        (jpeg_header(493, 58), "image/jpeg", (493, 58)),
        (jpeg_header(4000, 3000, frame=0xC2), "image/jpeg", (4000, 3000)),  # progressive
        (WEBP, "image/webp", (301, 201)),
        (WEBP_LOSSY_START, "image/webp", (300, 200)),
        (WEBP_EXTENDED_START, "image/webp", (300, 200)),
        # cut short or malformed: no size
        (png(3, 2)[:20], "image/png", None),
        (b"GIF89a\x01", "image/gif", None),
        (jpeg_header(10, 10)[:24], "image/jpeg", None),
        (b"\xff\xd8\xff\xda\x00\x02", "image/jpeg", None),  # a scan before any frame header
        (b"\xff\xd8\x00\x00\x00\x00", "image/jpeg", None),
        (WEBP[:22], "image/webp", None),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 10, "image/webp", None),
    ],
)
def test_image_sizes_are_read_from_the_header(
    data: bytes, mimetype: str, size: tuple[int, int] | None
) -> None:
    assert image_size(data, mimetype) == size


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # 100,000 x 100,000 pixels of one colour compress to a few kilobytes: a pixel flood
        (png(100_000, 100_000, rows=b""), "100000 by 100000 pixels"),
        (png(16_385, 1), "16385 by 1 pixels"),
        (png(7_000, 6_000, rows=b""), "7000 by 6000 pixels"),
        (jpeg_header(20_000, 20_000), "20000 by 20000 pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "its size cannot be read"),
        (png(0, 5), "its size cannot be read"),
    ],
)
def test_an_image_declaring_too_many_pixels_is_refused(app, author, data: bytes, message: str) -> None:
    from pathlib import Path

    response = _upload(author, data, "flood.png")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    digest = hashlib.sha256(data).hexdigest()
    assert not list((Path(app.config["STORAGE_PATH"]) / "images").glob(f"{digest}.*"))


def test_a_large_but_reasonable_image_is_accepted(author) -> None:
    response = _upload(author, png(6_000, 6_000, rows=b""), "photo.png")  # 36 million pixels
    assert response.status_code == 302 and response.headers["Location"].endswith(LESSON)
