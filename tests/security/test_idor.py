"""Issue 7, row 2: objects of another learner or another course. Every object-scoped route (the table's
scopes owner, holder_or_staff, owner_or_admin, enrolled, course_author), called by every principal the table
refuses with learner A's and course X's ids: 0 reads (nothing of A's in any answer), 0 writes (the
database unchanged). Writes carry data that would change something, as the allowed principal shows."""

from __future__ import annotations

import uuid
from typing import Any

from learning.security.permissions import is_api
from tests.security.conftest import (
    BOOKKEEPING,
    PRINCIPALS,
    PRIVATE_NAME,
    PRIVATE_PLAN,
    World,
    access_of,
    expected,
    outcome,
    routes,
)

OBJECT_SCOPES = {"owner", "owner_or_admin", "holder_or_staff", "enrolled", "course_author"}


def effective(world: World) -> dict[str, dict[str, Any]]:
    """Per endpoint: the request that changes something when the table allows it, and who is allowed."""
    answers = world.ids["answers_x"]
    return {
        "authoring.review": {"by": "trainer_x", "data": {"accept": "Accept", "comment": "Fine"}},
        "authoring.cohort_members": {"by": "trainer_x", "data": {"emails": "charlie@example.org"}},
        "authoring.archive": {"by": "trainer_x", "data": {}},
        "authoring.discard_draft": {"by": "trainer_x", "data": {}},
        "authoring.add_module": {"by": "trainer_x", "data": {"slug": "third-steps", "title": "Third steps"}},
        "quizzes.take": {"by": "learner_a", "data": {f"q{q}": str(c[0]) for q, c in answers.items()}},
        "progress.complete_lesson": {"by": "learner_a", "args": {"lesson_slug": "second-a"}, "data": {}},
        "capstone.page": {
            "by": "learner_b",
            "data": {"section-where-you-stand": "new", "section-what-you-will-do": "new", "save": "Save"},
        },
        "certificates.pdf": {"by": "learner_a", "data": {}},
        "certificates.credential_file": {"by": "learner_a", "data": {}},
        "api.keep_certificate_pdf": {"by": "learner_a"},
        "api.keep_credential": {"by": "learner_a"},
        "api.post_attempt": {"by": "learner_a", "json": {"answers": {str(q): c for q, c in answers.items()}}},
        "api.put_completion": {"by": "learner_a", "args": {"lesson_slug": "second-a"}},
        "api.delete_enrolment": {"by": "learner_a"},
    }


def test_no_reads_and_no_writes_across_tenants(in_world: World) -> None:
    writes = effective(in_world)
    before = in_world.checksum(BOOKKEEPING)
    problems = []
    denied_calls = 0
    covered = set()
    for rule, method in routes(in_world.app):
        access = access_of(rule)
        if access.scope not in OBJECT_SCOPES:
            continue
        api = is_api(rule.endpoint)
        write = writes.get(rule.endpoint, {}) if method not in ("GET", "HEAD") else {}
        if write:
            covered.add(rule.endpoint)
        path = in_world.path(rule, **write.get("args", {}))
        for principal in PRINCIPALS:
            if expected(access, principal) != "denied":
                continue
            response = in_world.call(
                principal, method, path, api=api, data=write.get("data"), json=write.get("json")
            )
            denied_calls += 1
            body = response.get_data()
            got = outcome(response, access, api)
            if got != "denied":
                problems.append((principal, method, path, "answered", response.status_code))
            for secret in (PRIVATE_NAME.encode(), PRIVATE_PLAN.encode(), b"alpha@example.org", b"%PDF"):
                if secret in body:
                    problems.append((principal, method, path, "leaked", secret))
    print(
        f"\ncross-tenant: {denied_calls} calls that the table refuses on the object-scoped routes (on "
        f"{len(covered)} routes a write that changes something when allowed), {len(problems)} reads or "
        f"answers, database {'unchanged' if in_world.checksum(BOOKKEEPING) == before else 'CHANGED'}"
    )
    assert problems == [], "\n".join(map(str, problems))
    assert in_world.checksum(BOOKKEEPING) == before, "a refused request wrote to the database"
    assert covered == set(writes), set(writes) - covered
    assert denied_calls >= 200


def test_the_same_writes_change_something_when_allowed(in_world: World) -> None:
    """Proof that the writes above would be seen: by the principal the table allows, each changes the
    database (inside a savepoint rolled back afterwards)."""
    unchanged = []
    for endpoint, write in effective(in_world).items():
        rule = next(r for r in in_world.app.url_map.iter_rules() if r.endpoint == endpoint)
        method = next(iter(rule.methods - {"GET", "HEAD", "OPTIONS"}))
        assert in_world.connection is not None
        savepoint = in_world.connection.begin_nested()
        try:
            before = in_world.checksum(BOOKKEEPING)
            response = in_world.call(
                write["by"], method, in_world.path(rule, **write.get("args", {})), api=is_api(endpoint),
                data=write.get("data"), json=write.get("json"),
            )  # fmt: skip
            if in_world.checksum(BOOKKEEPING) == before:
                unchanged.append((endpoint, response.status_code))
        finally:
            savepoint.rollback()
    assert unchanged == []


def test_ids_of_another_course_or_learner_mixed_in(in_world: World) -> None:
    ids = in_world.ids
    attempt_a = ids["attempts"]["learner_a"]
    before = in_world.checksum(BOOKKEEPING)
    cases = [
        # A's attempt at X's quiz, asked for under Y's quiz (A studies Y too): not found
        ("learner_a", "GET", f"/quizzes/{ids['quiz_y']}/attempts/{attempt_a}", False, 404),
        ("learner_b", "GET", f"/quizzes/{ids['quiz_y']}/attempts/{attempt_a}", False, 404),
        # B's certificate, by A, on the pages and in the API
        ("learner_a", "GET", f"/certificates/{ids['serial_b']}/certificate.pdf", False, 404),
        ("learner_a", "POST", f"/certificates/{ids['serial_b']}/credential.json", False, 404),
        ("learner_a", "GET", f"/api/v1/me/certificates/{ids['serial_b']}/pdf", True, 404),
        ("learner_a", "POST", f"/api/v1/me/certificates/{ids['serial_b']}/pdf", True, 404),
        # the admin's export job, by the secretariat
        ("secretariat", "GET", f"/reports/exports/{ids['admin_job']}", False, 404),
        ("secretariat", "GET", f"/reports/exports/{ids['admin_job']}/download", False, 404),
        # cohorts: trainer Y's own is theirs, trainer X's is not, and the other way round
        ("trainer_y", "GET", f"/authoring/cohorts/{ids['cohort_y']}", False, 200),
        ("trainer_x", "GET", f"/authoring/cohorts/{ids['cohort_y']}", False, 403),
        ("trainer_x", "GET", f"/authoring/cohorts/{ids['cohort_y']}/export.csv", False, 403),
        ("trainer_x", "POST", f"/authoring/cohorts/{ids['cohort_y']}/members", False, 403),
        ("trainer_x", "GET", f"/authoring/capstone/{ids['plans']['learner_b']}", False, 200),
        ("trainer_y", "GET", f"/authoring/capstone/{ids['plans']['learner_b']}", False, 403),
        ("trainer_y", "GET", f"/authoring/capstone/{ids['plans']['learner_b']}/attachment", False, 403),
        # the good practice library: a plan not shared (A's, submitted) is not in it, for anyone
        ("secretariat", "GET", f"/reports/good-practice/{ids['plans']['learner_a']}", False, 404),
        ("admin", "GET", f"/reports/good-practice/{ids['plans']['learner_a']}.md", False, 404),
        ("admin", "GET", f"/reports/good-practice/{ids['plans']['learner_a']}/attachment", False, 404),
        ("secretariat", "GET", f"/reports/good-practice/{ids['library_plan']}", False, 200),
    ]
    got = []
    for principal, method, path, api, _status in cases:
        data = {"emails": "charlie@example.org"} if path.endswith("/members") else None
        response = in_world.call(principal, method, path, api=api, data=data)
        got.append(response.status_code)
        assert PRIVATE_NAME.encode() not in response.get_data(), (principal, path)
    assert got == [status for *_, status in cases]
    # offline sync: a lesson of course X by trainer Y, who does not study it, is rejected and writes nothing
    event = {"id": str(uuid.uuid4()), "type": "lesson_completed", "course": "harbour-basics",
             "lesson": "second-a", "occurred_at": "2026-12-01T09:00:00+00:00"}  # fmt: skip
    response = in_world.call(
        "trainer_y", "POST", "/api/v1/me/progress/sync", api=True, json={"events": [event]}
    )
    assert response.status_code == 200
    assert [r["status"] for r in response.get_json()["results"]] == ["rejected"]
    assert in_world.checksum(BOOKKEEPING) == before
