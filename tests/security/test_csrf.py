"""Issue 7, row 3: every state-changing form refuses a request without a CSRF token, with another session's
token and with an expired one (0 accepted, nothing written). That GET and HEAD change nothing is checked by
the walk over every route in test_permissions.py (a checksum of every table around each route's GET and
HEAD calls as every principal), which this walk would otherwise repeat."""

from __future__ import annotations

import time

from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from learning.extensions import csrf
from learning.security.permissions import is_api
from tests.security.conftest import BOOKKEEPING, PRINCIPALS, World, access_of, expected, routes
from tests.security.test_idor import effective

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
EXPIRED = "Form expired"  # the title of the CSRF error page


def _expired_token(app: Flask, cookie: str) -> tuple[str, str]:
    """The session's own CSRF token signed 13 hours ago (the limit is 12), and the same signed now."""
    session = app.session_interface.get_signing_serializer(app).loads(cookie)  # type: ignore[attr-defined]
    raw = session["csrf_token"]
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 12 * 3600

    class ThirteenHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 13 * 3600

    old = URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=ThirteenHoursAgo).dumps(raw)
    fresh = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)
    return old, fresh


def _allowed(access: object) -> str:
    return next(p for p in PRINCIPALS if expected(access, p) == "reached")  # type: ignore[arg-type]


def test_every_form_refuses_a_missing_foreign_or_expired_token(in_world: World) -> None:
    app = in_world.app
    writes = effective(in_world)
    before = in_world.checksum(BOOKKEEPING)
    accepted = []
    forms = 0
    for rule, method in routes(app):
        if method not in WRITES or is_api(rule.endpoint) or rule.endpoint == "reminders.unsubscribe":
            continue
        principal = _allowed(access_of(rule))
        write = writes.get(rule.endpoint, {})
        path = in_world.path(rule, **write.get("args", {}))
        data = write.get("data", {})
        foreign = next(p for name, p in in_world.principals.items() if name != principal).csrf
        expired, fresh = _expired_token(app, in_world.principals[principal].cookie)
        forms += 1
        for case, token in (("no token", None), ("another session's", foreign), ("expired", expired)):
            response = in_world.call(principal, method, path, api=False, data=data, csrf=token)
            if response.status_code != 400 or EXPIRED.encode() not in response.get_data():
                accepted.append((rule.endpoint, method, principal, case, response.status_code))
        # the control: the same token signed now passes the check (inside a savepoint rolled back)
        response = in_world.call(principal, method, path, api=False, data=data, csrf=fresh, rollback=True)
        if EXPIRED.encode() in response.get_data():
            accepted.append((rule.endpoint, method, principal, "a fresh token refused", response.status_code))
    print(f"\nCSRF: {forms} forms, {3 * forms} requests with a bad token, {len(accepted)} accepted")
    assert accepted == [], "\n".join(map(str, accepted))
    assert in_world.checksum(BOOKKEEPING) == before
    assert forms >= 45


def test_only_the_api_and_the_one_click_unsubscribe_skip_csrf(app: Flask) -> None:
    """The API reads no cookie (tests/security/test_permissions.py shows a cookie alone gets 401); the
    unsubscribe link's signed token is its proof, and mail programs post RFC 8058 requests without a form."""
    assert {blueprint.name for blueprint in csrf._exempt_blueprints} == {"api"}
    assert csrf._exempt_views == {"learning.reminders.views.unsubscribe"}
