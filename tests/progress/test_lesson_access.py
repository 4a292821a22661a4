"""The lesson page and the lesson API read course, enrolment, version title and completion in one statement,
and answer as before: 404, the redirect or 403 to enrol, the learner's own version and completion."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from learning.auth.models import User
from learning.catalog.models import Course, CourseVersion
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from tests.progress.test_query_counts import counting

PAGE = "/courses/harbour-basics/lessons/first-a"
API = "/api/v1/courses/harbour-basics/lessons/first-a"


def test_a_learner_who_is_not_studying_is_sent_to_enrol(
    client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol, course: Course
) -> None:
    user = create_user()
    login(client, user)
    headers = api_token(user)
    response = client.get(PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith("/courses/harbour-basics")
    answer = client.get(API, headers=headers)
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "not_enrolled"

    progress.leave(enrol(user))
    db.session.commit()
    assert client.get(PAGE).status_code == 302
    assert client.get(API, headers=headers).get_json()["error"]["code"] == "not_enrolled"


def test_unknown_and_unpublished_courses_and_unknown_lessons_are_not_found(
    client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol, course: Course
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    headers = api_token(user)
    for page, api in [
        ("/courses/no-such-course/lessons/first-a", "/api/v1/courses/no-such-course/lessons/first-a"),
        ("/courses/harbour-basics/lessons/no-such-lesson", "/api/v1/courses/harbour-basics/lessons/nope"),
    ]:
        assert client.get(page).status_code == 404
        assert client.get(api, headers=headers).status_code == 404
    course.current_version_id = None
    db.session.commit()
    assert client.get(PAGE).status_code == 404
    assert client.get(API, headers=headers).get_json()["error"]["message"] == "No such course."


def test_the_page_shows_the_learners_own_version_and_completion(
    client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol, course: Course
) -> None:
    user = create_user()
    enrolment: Enrolment = enrol(user)
    login(client, user)
    headers = api_token(user)
    old = course.current_version
    newer = CourseVersion(
        course_id=course.id, number=old.number + 1, title="Harbour basics, second edition", summary="S.",
        description_html="<p>D.</p>", language="en", hours=1, source_hash="0" * 64,
        published_at=old.published_at,
    )  # fmt: skip
    db.session.add(newer)
    db.session.flush()
    course.current_version_id = newer.id  # the learner stays on the version they enrolled in
    db.session.commit()

    html = client.get(PAGE).get_data(as_text=True)
    assert f">{old.title}</a>" in html and "second edition" not in html
    assert "completed" not in html and client.get(API, headers=headers).get_json()["completed_at"] is None

    progress.complete_lesson(enrolment, "first-a")
    db.session.commit()
    assert "✓ completed" in client.get(PAGE).get_data(as_text=True)
    assert client.get(API, headers=headers).get_json()["completed_at"] is not None


def test_a_lesson_takes_two_statements(
    client: FlaskClient, create_user: Callable[..., User], login, api_token, enrol
) -> None:
    user = create_user()
    enrol(user)
    login(client, user)
    headers = api_token(user)
    for path, extra in [(PAGE, {}), (API, {"headers": headers})]:
        client.get(path, **extra)  # caches the lesson and the outline, as a worker's earlier requests did
        db.session.expunge_all()
        with counting() as statements:
            assert client.get(path, **extra).status_code == 200
        assert len(statements) == 2, statements  # the session or token's user, then lesson_access
