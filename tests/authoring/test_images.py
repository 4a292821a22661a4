"""Lesson images: sniffed by their bytes, stored content-addressed, served inline but sandboxed."""

from __future__ import annotations

import hashlib
import io

import pytest
from werkzeug.datastructures import FileStorage

from learning.authoring.services import open_draft
from learning.catalog.models import CourseMember
from learning.content.render import render_markdown
from learning.extensions import db
from tests.capstone.conftest import post_multipart
from tests.conftest import csrf_from

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
GIF = b"GIF89a" + b"\x00" * 20
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 10
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
