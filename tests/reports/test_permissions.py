"""Every reports route and API endpoint against every principal, from one table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from learning.auth.models import User
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.reports import jobs
from tests.capstone.conftest import PDF
from tests.reports.test_library import make_plan

PRINCIPALS = ("anonymous", "learner", "trainer", "secretariat", "admin")
STAFF_ONLY = {"anonymous": "login", "learner": "403", "trainer": "403", "secretariat": "ok", "admin": "ok"}

TABLE: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/reports/"): STAFF_ONLY,
    ("GET", "/reports/completion"): STAFF_ONLY,
    ("GET", "/reports/learners"): STAFF_ONLY,
    ("GET", "/reports/funnel"): STAFF_ONLY,
    ("GET", "/reports/time-to-complete"): STAFF_ONLY,
    ("GET", "/reports/quiz-pass-rates"): STAFF_ONLY,
    ("GET", "/reports/reminders"): STAFF_ONLY,
    ("GET", "/reports/export/funnel.csv"): STAFF_ONLY,
    ("POST", "/reports/export/funnel.csv"): STAFF_ONLY,
    ("GET", "/reports/exports/JOB"): STAFF_ONLY,
    ("GET", "/reports/exports/JOB/download"): STAFF_ONLY,
    ("GET", "/reports/good-practice"): STAFF_ONLY,
    ("GET", "/reports/good-practice/PLAN"): STAFF_ONLY,
    ("GET", "/reports/good-practice/PLAN.md"): STAFF_ONLY,
    ("GET", "/reports/good-practice/PLAN/attachment"): STAFF_ONLY,
    ("GET", "/api/v1/reports/completion"): STAFF_ONLY,
    ("GET", "/api/v1/reports/tables/funnel"): STAFF_ONLY,
}


def _rule_path(rule: str) -> set[str]:
    if rule == "/reports/<any(funnel, 'time-to-complete', 'quiz-pass-rates', reminders):name>":
        return {f"/reports/{name}" for name in ("funnel", "time-to-complete", "quiz-pass-rates", "reminders")}
    return {
        rule.replace("<name>.<any(csv, xlsx):fmt>", "funnel.csv")
        .replace("<int:job_id>", "JOB")
        .replace("<int:submission_id>", "PLAN")
        .replace("<name>", "funnel")
    }


def test_the_table_covers_every_reports_route(app: Flask) -> None:
    routes = {
        (method, path)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/reports", "/api/v1/reports"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
        for path in _rule_path(rule.rule)
    }
    assert routes == set(TABLE)


@pytest.fixture
def principals(
    app: Flask, create_user: Callable[..., User], login: Callable[..., None],
    api_token: Callable[[User], dict[str, str]],
) -> dict[str, tuple[FlaskClient, dict[str, str], User | None]]:  # fmt: skip
    result: dict[str, tuple[FlaskClient, dict[str, str], User | None]] = {}
    for name in PRINCIPALS:
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        user = None
        headers: dict[str, str] = {}
        if name != "anonymous":
            user = create_user(roles=() if name == "learner" else (name,))
            login(client, user)
            headers = api_token(user)
        result[name] = (client, headers, user)
    return result


def outcome(status: int, location: str) -> str:
    if status == 403:
        return "403"
    if status == 401 or (status == 302 and "/login" in location):
        return "login"
    assert status < 400, status
    return "ok"


def test_every_route_against_every_principal(
    principals: dict[str, tuple[FlaskClient, dict[str, str], User | None]], app: Flask, tmp_path: Path,
    queued: list[int], create_user: Callable[..., User], enrol: Callable[[User], Enrolment],
) -> None:  # fmt: skip
    app.config.update(WTF_CSRF_ENABLED=False, REPORT_EXPORT_PATH=str(tmp_path))
    plan = make_plan(create_user(), enrol, attachment=PDF)
    mismatches = []
    try:
        for method, template in sorted(TABLE):
            seen = {}
            for name, (client, headers, user) in principals.items():
                path = template
                if "JOB" in template:
                    # each staff member asks for their own job; the others for the secretariat's
                    owner = user if name in ("secretariat", "admin") else principals["secretariat"][2]
                    assert owner is not None
                    job = jobs.start_export(owner.id, "funnel", {}, "csv", 1)
                    db.session.commit()
                    jobs.run_export(job.id)
                    path = template.replace("JOB", str(job.id))
                path = path.replace("PLAN", str(plan.id))
                call = client.get if method == "GET" else client.post
                response = call(path, headers=headers if path.startswith("/api/") else {}, data={})
                response.close()
                seen[name] = outcome(response.status_code, response.headers.get("Location", ""))
            if seen != TABLE[(method, template)]:
                mismatches.append((method, template, seen))
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert mismatches == []


def test_only_staff_see_the_reports_link(
    principals: dict[str, tuple[FlaskClient, dict[str, str], User | None]],
) -> None:
    for name, (client, _, _) in principals.items():
        page = client.get("/").get_data(as_text=True)
        assert ('href="/reports/"' in page) == (name in ("secretariat", "admin")), name
