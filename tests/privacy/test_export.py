"""A learner downloads everything the platform holds about them, from the account page and the API."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from learning.auth.models import ApiToken, LoginSession, PasswordReset, User
from learning.extensions import db
from learning.privacy.coverage import BY_EMAIL, PERSONAL_DATA
from learning.privacy.schemas import PersonalDataOut
from tests.fixtures.api import ApiClient
from tests.privacy.conftest import ADDRESS, Traces


def test_every_column_that_points_at_a_person_is_in_the_export_map(app: Flask) -> None:
    """Walk the schema from users along foreign keys: a new table holding a user's data (or a row they own)
    fails here until coverage.py says where the export puts it and what erasure does with it."""
    tables = {table.name: table for table in db.metadata.sorted_tables}
    owned, found, changed = {"users"}, set(), True
    while changed:
        changed = False
        for table in tables.values():
            for fk in table.foreign_keys:
                if fk.column.table.name not in owned:
                    continue
                key = f"{table.name}.{fk.parent.name}"
                found.add(key)
                assert key in PERSONAL_DATA, (
                    f"{key} points at a person's data: add it to learning/privacy/coverage.py"
                )
                if PERSONAL_DATA[key].export is not None and table.name not in owned:
                    owned.add(table.name)
                    changed = True
    assert set(PERSONAL_DATA) - {"users.id"} == found, "coverage.py names columns that are gone"
    sections = set(PersonalDataOut.model_fields)
    for key, handling in {**PERSONAL_DATA, **BY_EMAIL}.items():
        assert handling.export is None or handling.export in sections, key
        assert handling.export is not None or handling.why, f"{key}: say why it is not exported"
        table, column = key.split(".")
        assert column in tables[table].columns, key


def stored_hashes() -> list[str]:
    """The hashes under which sessions, tokens and reset links are kept: none belongs in an export."""
    rows = [select(LoginSession.key_hash), select(ApiToken.token_hash), select(PasswordReset.token_hash)]
    return [value for query in rows for value in db.session.scalars(query)]


def _check_document(data: dict, traces: Traces, secrets: list[str]) -> None:
    # every section of the document holds something for this learner
    empty = [key for key, value in data.items() if value in ([], {}, None)]
    assert empty == ["report_exports", "report_mailings"], empty  # staff-only sections
    assert data["profile"]["email"] == traces.email
    assert data["profile"]["name"] == traces.name
    assert data["profile"]["organisation"] == traces.organisation
    assert data["profile"]["job_title"] == traces.job_title
    assert data["consent"]["share_progress_with_secretariat"] is True
    assert data["consent"]["given_at"] is not None
    assert data["enrolments"][0]["course"] == "harbour-basics"
    assert data["enrolments"][0]["completed_at"] is not None
    assert {c["lesson"] for c in data["lesson_completions"]} >= {"first-a"}
    assert all(m["completed_at"] for m in data["module_states"])
    attempt = data["quiz_attempts"][0]
    assert attempt["answers"] and attempt["results"] and attempt["passed"] is True
    assert data["certificates"][0]["code"] == traces.certificate_code
    assert data["certificates"][0]["verify_url"].endswith("/verify/" + traces.certificate_code)
    assert data["certificates"][0]["events"][0]["kind"] == "issued"
    plan = data["capstone_plans"][0]
    assert plan["sections"]["where-you-stand"] == traces.plan_text
    assert plan["attachment"]["name"] == "my plan.pdf" and plan["attachment"]["size"] > 0
    assert plan["reviews"][0]["comment"] == traces.review_comment
    assert data["cohorts"][0]["cohort"] == "Cohort 1"
    assert data["reminders"]["preferences"] == [
        {"opted_out_of": "deadline", "since": data["reminders"]["preferences"][0]["since"]}
    ]
    assert data["reminders"]["emails"][0]["reminders"][0]["rule"] == "inactivity"
    assert data["sessions"] and data["api_tokens"] and data["password_resets"]
    assert {"kind": "login", "address": ADDRESS, "succeeded": True} in [
        {k: s[k] for k in ("kind", "address", "succeeded")} for s in data["sign_ins"]
    ]
    actions = {e["action"] for e in data["audit_events"]}
    assert {"enrolment.join", "capstone.submit", "capstone.review"} <= actions
    review = next(e for e in data["audit_events"] if e["action"] == "capstone.review")
    assert review["by_you"] is False  # about them, by the trainer
    assert data["offline_events"][0]["type"] == "lesson_completed"
    assert data["course_memberships"][0]["role"] == "co_author"
    text = json.dumps(data)
    for secret in secrets:
        assert secret not in text
    assert (
        "password_hash" not in text
        and "token_hash" not in text
        and "$argon2" not in text
        and "$scrypt" not in text
    )


def test_a_learner_downloads_everything_from_the_account_page(
    client: FlaskClient, rich_learner: Callable[..., Traces], login: Callable[..., None]
) -> None:
    traces = rich_learner()
    login(client, traces.user)
    page = client.get("/account")
    assert b'href="/account/data"' in page.data
    page = client.get("/account/data")
    assert page.status_code == 200
    assert b"/account/data/export.json" in page.data and b"cannot be undone" in page.data
    response = client.get("/account/data/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="smart-port-academy-data-'
    )
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    PersonalDataOut.model_validate(data)
    session_cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    assert session_cookie is not None
    _check_document(data, traces, [traces.user.password_hash or "", session_cookie.value, *stored_hashes()])
    # the sign-in through the form is in the history too
    assert any(s["kind"] == "login" and s["address"] != ADDRESS for s in data["sign_ins"])


def test_the_api_gives_the_same_document_and_never_the_token(
    api: ApiClient, rich_learner: Callable[..., Traces], api_token: Callable[[User], dict[str, str]]
) -> None:
    traces = rich_learner()
    headers = api_token(traces.user)
    response = api.get("/api/v1/me/export", headers=headers)  # validated against /api/v1/openapi.json
    assert response.status_code == 200
    token = headers["Authorization"].removeprefix("Bearer ")
    _check_document(response.get_json(), traces, [token, *stored_hashes()])
    assert len(response.get_json()["api_tokens"]) == 2
    assert api.get("/api/v1/me/export").status_code == 401


def test_the_export_stays_to_its_owner(
    client: FlaskClient, rich_learner: Callable[..., Traces], create_user: Callable[..., User],
    login: Callable[..., None],
) -> None:  # fmt: skip
    traces = rich_learner()
    other = create_user()
    login(client, other)
    data = client.get("/account/data/export.json").get_json()
    assert data["profile"]["email"] == other.email
    assert traces.email not in json.dumps(data) and traces.name not in json.dumps(data)
    assert data["enrolments"] == [] and data["certificates"] == []
    anonymous = client.application.test_client()
    anonymous.environ_base["wsgi.url_scheme"] = "https"
    assert anonymous.get("/account/data/export.json").status_code == 302
