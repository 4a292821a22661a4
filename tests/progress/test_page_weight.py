"""Every lesson page of the real course material stays light: its HTML and CSS under 60 KB.

The browser test checks the budget on the small fixture course; this one renders every lesson in content/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from learning.auth import services as auth
from learning.catalog.models import Course
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.services import clear_outline_cache
from tests.conftest import Browser, post_form
from tests.fixtures.databases import committed_app

pytestmark = pytest.mark.no_rollback

CONTENT = Path(__file__).resolve().parents[2] / "content"
BUDGET = 60 * 1024
PASSWORD = "a long passphrase for reading"


def test_every_lesson_page_of_the_material_is_under_the_budget(tmp_path: Path) -> None:
    clear_outline_cache()  # the suite's database has versions with the same ids
    with committed_app(tmp_path, content=CONTENT) as app:
        lessons: list[str] = []
        with app.app_context():
            profile = auth.Profile("Reader", "TH", None, "other", None, "en", "UTC", False)
            user = auth.create_user("reader@example.org", PASSWORD, profile, set())
            for course in db.session.scalars(select(Course).order_by(Course.slug)):
                progress.enrol(user, course)
                outline = progress.outline(course.current_version_id)
                lessons += [f"/courses/{course.slug}/lessons/{slug}" for slug in outline.lesson_slugs]
            db.session.commit()
            db.session.remove()
        assert len(lessons) > 10, lessons

        app.test_client_class = Browser
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"  # the session cookie is Secure
        signed_in = post_form(client, "/login", {"email": "reader@example.org", "password": PASSWORD})
        assert signed_in.status_code == 302
        with client.get("/static/academy.css") as stylesheet:  # a file response: close it
            css = len(stylesheet.data)
        weights = {}
        for path in lessons:
            response = client.get(path)
            assert response.status_code == 200, path
            weights[path] = len(response.data) + css
    clear_outline_cache()

    heaviest = max(weights, key=weights.__getitem__)
    assert weights[heaviest] < BUDGET, f"{heaviest}: {weights[heaviest]} bytes of HTML and CSS"
