"""Every authoring route and API endpoint against every role, from one table (issue: authoring)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from learning.authoring.services import open_draft
from learning.catalog.models import Course, CourseMember
from learning.extensions import db

PRINCIPALS = ("anonymous", "learner", "other_trainer", "owner", "co_author", "secretariat", "admin")

# Outcomes: "ok" (allowed: the view ran), "login" (sent to sign in / 401 for the API), "403".
EVERYONE_WHO_AUTHORS = {"anonymous": "login", "learner": "403", "other_trainer": "ok", "owner": "ok",
                        "co_author": "ok", "secretariat": "403", "admin": "ok"}  # fmt: skip
COURSE_AUTHORS = {**EVERYONE_WHO_AUTHORS, "other_trainer": "403"}
ADMINS_ONLY = {**COURSE_AUTHORS, "owner": "403", "co_author": "403"}

C = "/authoring/courses/harbour-basics"
D = f"{C}/draft"
M = f"{D}/modules/first-steps"
TABLE: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/authoring/"): EVERYONE_WHO_AUTHORS,
    ("GET", "/authoring/courses/new"): EVERYONE_WHO_AUTHORS,
    ("POST", "/authoring/courses/new"): EVERYONE_WHO_AUTHORS,
    ("GET", "/authoring/import"): EVERYONE_WHO_AUTHORS,
    ("POST", "/authoring/import"): EVERYONE_WHO_AUTHORS,
    ("GET", "/authoring/audit"): ADMINS_ONLY,
    ("GET", C): COURSE_AUTHORS,
    ("POST", D): COURSE_AUTHORS,
    ("POST", f"{D}/discard"): COURSE_AUTHORS,
    ("GET", f"{D}/course"): COURSE_AUTHORS,
    ("POST", f"{D}/course"): COURSE_AUTHORS,
    ("POST", f"{C}/publish"): COURSE_AUTHORS,
    ("POST", f"{C}/archive"): COURSE_AUTHORS,
    ("POST", f"{C}/members"): ADMINS_ONLY,
    ("POST", f"{D}/modules"): COURSE_AUTHORS,
    ("GET", M): COURSE_AUTHORS,
    ("POST", M): COURSE_AUTHORS,
    ("POST", f"{M}/move"): COURSE_AUTHORS,
    ("POST", f"{M}/delete"): COURSE_AUTHORS,
    ("POST", f"{M}/lessons"): COURSE_AUTHORS,
    ("GET", f"{D}/lessons/first-a"): COURSE_AUTHORS,
    ("POST", f"{D}/lessons/first-a"): COURSE_AUTHORS,
    ("POST", f"{D}/lessons/first-a/move"): COURSE_AUTHORS,
    ("POST", f"{D}/lessons/first-a/delete"): COURSE_AUTHORS,
    ("GET", f"{M}/quiz"): COURSE_AUTHORS,
    ("POST", f"{M}/quiz"): COURSE_AUTHORS,
    ("GET", f"{M}/questions/new"): COURSE_AUTHORS,
    ("POST", f"{M}/questions/new"): COURSE_AUTHORS,
    ("GET", f"{M}/questions/first-single"): COURSE_AUTHORS,
    ("POST", f"{M}/questions/first-single"): COURSE_AUTHORS,
    ("POST", f"{M}/questions/first-single/move"): COURSE_AUTHORS,
    ("POST", f"{M}/questions/first-single/delete"): COURSE_AUTHORS,
    ("GET", f"{C}/preview"): COURSE_AUTHORS,
    ("GET", f"{C}/preview/lessons/first-a"): COURSE_AUTHORS,
    ("GET", f"{C}/preview/quizzes/first-steps"): COURSE_AUTHORS,
    ("POST", f"{C}/preview/quizzes/first-steps"): COURSE_AUTHORS,
    ("GET", f"{C}/versions/1/bundle"): COURSE_AUTHORS,
    ("GET", f"{C}/insight"): COURSE_AUTHORS,
    ("GET", f"{C}/cohorts"): COURSE_AUTHORS,
    ("POST", f"{C}/cohorts"): COURSE_AUTHORS,
    ("GET", "/authoring/cohorts/1"): COURSE_AUTHORS,
    ("POST", "/authoring/cohorts/1/members"): COURSE_AUTHORS,
    ("GET", "/authoring/cohorts/1/export.csv"): COURSE_AUTHORS,
    ("GET", "/api/v1/authoring/courses/harbour-basics/bundle"): COURSE_AUTHORS,
    ("POST", "/api/v1/authoring/bundles"): EVERYONE_WHO_AUTHORS,
}  # fmt: skip


def _rule_path(rule: str) -> str:
    return (
        rule.replace("<slug>", "harbour-basics")
        .replace("<module>", "first-steps")
        .replace("<lesson>", "first-a")
        .replace("<question>", "first-single")
        .replace("<int:number>", "1")
        .replace("<int:cohort_id>", "1")
    )


def test_the_table_covers_every_authoring_route(app: Flask) -> None:
    routes = {
        (method, _rule_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/authoring", "/api/v1/authoring"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == set(TABLE)


@pytest.fixture
def principals(
    app: Flask, create_user, login, api_token, course: Course
) -> dict[str, tuple[FlaskClient, dict]]:
    users = {
        "learner": create_user(), "other_trainer": create_user(roles=("trainer",)),
        "owner": create_user(roles=("trainer",)), "co_author": create_user(roles=("trainer",)),
        "secretariat": create_user(roles=("secretariat",)), "admin": create_user(roles=("admin",)),
    }  # fmt: skip
    db.session.add(CourseMember(course_id=course.id, user_id=users["owner"].id, role="owner"))
    db.session.add(CourseMember(course_id=course.id, user_id=users["co_author"].id, role="co_author"))
    open_draft(course, users["owner"])
    from datetime import date

    from learning.cohorts.models import Cohort

    db.session.add(
        Cohort(id=1, course_id=course.id, name="Intake", starts_on=date(2027, 1, 1), due_on=date(2027, 3, 1))
    )
    db.session.commit()
    result: dict[str, tuple[FlaskClient, dict]] = {}
    for name in PRINCIPALS:
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        headers: dict[str, str] = {}
        if name != "anonymous":
            login(client, users[name])
            headers = api_token(users[name])
        result[name] = (client, headers)
    return result


def outcome(status: int, location: str) -> str:
    if status == 403:
        return "403"
    if status == 401 or (status == 302 and "/login" in location):
        return "login"
    return "ok"


def test_every_route_against_every_principal(principals: dict, app: Flask) -> None:
    """One pass over the table (destructive routes last, so that each runs against the fixture)."""
    app.config["WTF_CSRF_ENABLED"] = False  # permission comes before the form; CSRF has its own tests
    mismatches = []
    try:
        for method, path in sorted(TABLE, key=lambda key: ("delete" in key[1] or "discard" in key[1], key)):
            seen = {}
            for name, (client, headers) in principals.items():
                call: Callable = client.get if method == "GET" else client.post
                response = call(path, headers=headers if path.startswith("/api/") else {}, data={})
                assert response.status_code < 500, (method, path, name, response.status_code)
                seen[name] = outcome(response.status_code, response.headers.get("Location", ""))
            if seen != TABLE[(method, path)]:
                mismatches.append((method, path, seen))
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert mismatches == []
