"""Issue 7, row 1: every rule of app.url_map and each of its methods, against every principal, with the
expected outcome read from the one permissions table (learning/security/permissions.py); the same walk
checks row 3's "GET and HEAD change nothing"."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from werkzeug.routing import Rule

from learning import create_app
from learning.audit.models import AuditEvent
from learning.security import permissions
from learning.security.permissions import SCOPES, TABLE, is_api
from tests.conftest import app_config
from tests.security.conftest import (
    AUDITED_READS,
    BOOKKEEPING,
    PRINCIPALS,
    SCOPE_PASSES,
    World,
    access_of,
    expected,
    outcome,
    routes,
)

# A valid body for API operations whose body is checked before the view's own checks, so that the request
# reaches the permission and object checks it is meant to test.
SAFE = {"GET", "HEAD"}
BODIES = {"api.post_attempt": {"answers": {}}, "api.sync_progress": {"events": []}}


def test_the_table_lists_every_endpoint_and_nothing_else(world: World) -> None:
    served = set(world.app.view_functions)
    assert permissions.unlisted(world.app) == []
    assert set(TABLE) - served == set(), "entries for endpoints that do not exist"
    assert {access.scope for access in TABLE.values()} - {None} <= set(SCOPES)
    assert set(SCOPE_PASSES) == {None, *SCOPES}, "the tests must know every scope"


def test_an_endpoint_missing_from_the_table_is_refused(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(app_config(f"sqlite:///{tmp_path / 'app.db'}"))

    def pages() -> str:
        return "served"

    app.add_url_rule("/unlisted", "unlisted", pages)
    assert permissions.unlisted(app) == ["unlisted"]
    caplog.set_level(logging.ERROR, logger=app.logger.name)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # a listed public route on the same app
    response = client.get("/unlisted")
    assert response.status_code == 403 and "served" not in response.get_data(as_text=True)
    assert "endpoint unlisted is not in the permissions table" in caplog.text


def _check_one(world: World, rule: Rule, method: str, principal: str, problems: list[tuple]) -> None:
    access = access_of(rule)
    path = world.path(rule)
    api = is_api(rule.endpoint)
    response = world.call(
        principal, method, path, api=api, json=BODIES.get(rule.endpoint) if api else None,
        rollback=method not in SAFE,
    )  # fmt: skip
    if response.status_code >= 500:
        problems.append((rule.endpoint, method, path, principal, "no 500", response.status_code))
    want = expected(access, principal)
    got = outcome(response, access, api)
    if got != want:
        problems.append((rule.endpoint, method, path, principal, want, got, response.status_code))
    if want == "login" and got == "login":
        # strangers get a JSON 401 from the API and the sign-in page elsewhere, never a 403 or 404
        if api:
            body = response.get_json(silent=True) if method != "HEAD" else None
            ok = response.status_code == 401 and (method == "HEAD" or body["error"]["code"] == "unauthorized")
        else:
            ok = response.headers["Location"].startswith("/login?next=")
        if not ok:
            problems.append(
                (rule.endpoint, method, path, principal, "401 or sign-in page", response.status_code)
            )


def test_every_route_and_method_against_every_principal(in_world: World) -> None:
    """Row 1, and row 3's "GET and HEAD change nothing".

    Every method but GET and HEAD runs inside a savepoint rolled back after the request, so that each
    request meets the same world; GET and HEAD run as they are, and a checksum of every table is taken
    around each route's GET and HEAD calls as all seven principals. Outcomes: the view ran, the sign-in page
    (or 401), or denied (403 or 404, or for a course one does not study the course page to enrol)."""
    problems: list[tuple] = []
    get_writes = []
    calls = 0
    everything_before = in_world.checksum()
    for rule in sorted(in_world.app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        methods = sorted(rule.methods - {"OPTIONS"})
        before = in_world.checksum(BOOKKEEPING) if SAFE & set(methods) else None
        for method in methods:
            for principal in PRINCIPALS:
                _check_one(in_world, rule, method, principal, problems)
                calls += 1
            if method in SAFE and before is not None:
                after = in_world.checksum(BOOKKEEPING)
                if after != before:
                    get_writes.append(
                        (rule.endpoint, method, sorted(t for t in after if after[t] != before[t]))
                    )
                before = after
    print(
        f"\nroute x role: {calls} calls (every rule and method as {len(PRINCIPALS)} principals), "
        f"{len(problems)} unexpected outcomes, {len(get_writes)} GET or HEAD routes that wrote"
    )
    assert problems == [], "\n".join(map(str, problems))
    assert calls >= 7 * 150  # every rule and method (about 160) for every principal
    assert get_writes == [], "\n".join(map(str, get_writes))
    # What the checksum leaves out did change: the counters of public look-ups, and the audit records of
    # bundle downloads. Leaving them out was needed, and nothing else was left out.
    everything_after = in_world.checksum()
    assert {t for t in everything_after if everything_after[t] != everything_before[t]} == set(BOOKKEEPING)
    assert in_world.connection is not None
    audited = in_world.connection.execute(
        select(AuditEvent.action).where(AuditEvent.action.in_(AUDITED_READS)).distinct()
    ).scalars()
    assert set(audited) == set(AUDITED_READS)


def test_the_walk_would_see_a_route_left_open(in_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table is what the application enforces: open one route to every signed-in user, and the walk,
    which still expects what the table said, finds the unexpected answers."""
    said = TABLE["reports.dashboard"]
    monkeypatch.setitem(TABLE, "reports.dashboard", permissions.signed_in())
    found = []
    rule = next(r for r in in_world.app.url_map.iter_rules() if r.endpoint == "reports.dashboard")
    for principal in PRINCIPALS:
        response = in_world.call(principal, "GET", in_world.path(rule), api=False)
        if outcome(response, said, False) != expected(said, principal):
            found.append(principal)
    assert found == ["learner_a", "learner_b", "trainer_x", "trainer_y"]


def test_api_routes_never_take_the_session_cookie(in_world: World) -> None:
    """The API is exempt from CSRF because cookies never authenticate it: a signed-in browser's cookie
    alone gets 401 on every API route that is not public."""
    seen = 0
    for rule, method in routes(in_world.app):
        access = access_of(rule)
        if not is_api(rule.endpoint) or access.public or method == "HEAD":
            continue
        response = in_world.call(
            "admin", method, in_world.path(rule), api=True, cookie=True, bearer=False,
            json=BODIES.get(rule.endpoint), rollback=True,
        )  # fmt: skip
        seen += 1
        assert response.status_code == 401, (method, rule.rule)
    assert seen >= 20


def test_the_readme_explains_every_scope() -> None:
    """The README's permissions section names every scope the table uses."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Permissions", 1)[1].split("\n## ", 1)[0]
    for scope in SCOPES:
        assert f"`{scope}`" in section, scope


def test_api_routes_take_who_may_call_them_from_the_table() -> None:
    from learning.api.routing import _access

    assert _access("me", None, None) == (True, (), False)
    assert _access("get_lesson", None, None) == (True, (), True)  # its view checks the token itself
    assert _access("create_token", False, None) == (False, (), False)
    assert _access("completion_report", None, ("secretariat", "admin")) == (
        True, ("admin", "secretariat"), False
    )  # fmt: skip
    with pytest.raises(ValueError, match="disagrees"):
        _access("me", False, None)
    with pytest.raises(ValueError, match="disagrees"):
        _access("completion_report", None, ("admin",))
    assert _access("not_in_the_table", None, None) == (
        True,
        (),
        False,
    )  # documented as needing a token; refused


def test_an_entry_checked_in_its_view_is_left_to_the_view(in_world: World, monkeypatch) -> None:
    """``in_view`` (for views that check the credential in their own statement) skips the check before
    the request: the view's own answer is what strangers get, and the walk holds it to the table."""
    rule = next(r for r in in_world.app.url_map.iter_rules() if r.endpoint == "progress.dashboard")
    assert in_world.call("anonymous", "GET", in_world.path(rule), api=False).status_code == 302
    monkeypatch.setitem(TABLE, "progress.dashboard", permissions.signed_in("self", in_view=True))
    # the dashboard does not check for itself: left to it, a stranger reaches it (and the walk would fail)
    response = in_world.call("anonymous", "GET", in_world.path(rule), api=False)
    assert outcome(response, TABLE["progress.dashboard"], False) != "login"
