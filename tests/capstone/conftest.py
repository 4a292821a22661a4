"""The fixture course with a capstone block, a learner enrolled in it and a trainer who owns it."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from learning.auth.models import User
from learning.catalog.models import Course, CourseMember, CourseVersion
from learning.extensions import db
from learning.progress.models import Enrolment
from tests.conftest import csrf_from

PAGE = "/courses/harbour-basics/capstone"
SECTIONS = ("where-you-stand", "what-you-will-do")


def capstone_block(required: bool) -> dict[str, Any]:
    return {
        "slug": "action-plan",
        "title": "Your action plan",
        "required": required,
        "guidance_html": "<p>Write your <strong>plan</strong>.</p>",
        "sections": [
            {"slug": SECTIONS[0], "title": "Where you stand", "guidance_html": "<p>Baseline.</p>"},
            {"slug": SECTIONS[1], "title": "What you will do", "guidance_html": "<p>Actions.</p>"},
        ],
    }


@pytest.fixture
def with_capstone(course: Course) -> Callable[[bool], None]:
    """Give the course's current version a capstone block (the test's rollback takes it away)."""

    def make(required: bool = False) -> None:
        version = db.session.get(CourseVersion, course.current_version_id)
        assert version is not None
        version.capstone = capstone_block(required)
        db.session.commit()

    return make


@pytest.fixture
def learner(create_user: Callable[..., User], enrol: Callable[[User], Enrolment]) -> User:
    user = create_user()
    enrol(user)
    return user


@pytest.fixture
def trainer(create_user: Callable[..., User], course: Course) -> User:
    user = create_user(roles=("trainer",))
    db.session.add(CourseMember(course_id=course.id, user_id=user.id, role="owner"))
    db.session.commit()
    return user


@pytest.fixture
def other_client(app: Any) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def post_plan(
    client: FlaskClient,
    texts: dict[str, str] | None = None,
    attachment: tuple[bytes, str] | None = None,
    submit: bool = True,
) -> Any:
    """Fill the learner's page and press Submit (or Save)."""
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    texts = texts if texts is not None else {slug: f"My answer on {slug}." for slug in SECTIONS}
    data: dict[str, Any] = {"csrf_token": token, **{f"section-{k}": v for k, v in texts.items()}}
    data["submit" if submit else "save"] = "1"
    if attachment is not None:
        data["attachment"] = FileStorage(io.BytesIO(attachment[0]), attachment[1])
    return post_multipart(client, PAGE, data)


def post_multipart(client: FlaskClient, url: str, data: dict[str, Any]) -> Any:
    """POST a multipart body encoded in memory: the test client spools big bodies to a temporary file
    that it never closes, which strict pytest reports as an unraisable ResourceWarning."""
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def post_review(client: FlaskClient, submission_id: int, accept: bool, comment: str = "") -> Any:
    page = f"/authoring/capstone/{submission_id}"
    token = csrf_from(client.get(page).get_data(as_text=True))
    button = {"accept": "1"} if accept else {"send_back": "1"}
    return client.post(page, data={"csrf_token": token, "comment": comment, **button})


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # a fixed date: writestr(name) stamps the current time, and two calls must give the same bytes
        for name, text in (("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document/>")):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
