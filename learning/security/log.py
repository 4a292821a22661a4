"""The security log: one JSON line per sign-in, sign-out, lock-out and refusal."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote

from flask import has_request_context, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map

from learning.db import utcnow

logger = logging.getLogger("learning.security")


def client_address() -> str:
    """Return the client's address as the WSGI server saw it (behind a proxy, via ProxyFix)."""
    return (request.remote_addr or "unknown") if has_request_context() else "cli"


# URL arguments that are secrets (reset, invitation and unsubscribe links): never written to a log.
SECRET_ARGUMENTS = ("token",)
REDACTED = "[redacted]"


def loggable_path() -> str:
    """Return the request's path with the values of secret URL arguments replaced by [redacted]."""
    return _redacted(request.path, request.view_args or {})


def _redacted(path: str, arguments: dict[str, object]) -> str:
    for name in SECRET_ARGUMENTS:
        value = arguments.get(name)
        if isinstance(value, str) and value:
            path = path.replace(quote(value, safe=""), REDACTED).replace(value, REDACTED)
    return path


def secret_values(url_map: Map, path: str) -> list[str]:
    """The values of secret URL arguments in ``path`` (as given and percent-encoded), outside a request
    (for access logs): the path is matched against the application's rules, for any method."""
    adapter = url_map.bind("localhost")
    for method in ("GET", "POST"):
        try:
            _endpoint, arguments = adapter.match(path, method=method)
        except MethodNotAllowed:
            continue
        except HTTPException:  # no such route (404), or a redirect: nothing of ours to hide
            return []
        values = [arguments.get(name) for name in SECRET_ARGUMENTS]
        return [
            form
            for value in values
            if isinstance(value, str) and value
            for form in (quote(value, safe=""), value)
        ]
    return []


def redact_path(url_map: Map, path: str) -> str:
    """Return ``path`` with the values of secret URL arguments replaced by [redacted], outside a request."""
    for value in secret_values(url_map, path):
        path = path.replace(value, REDACTED)
    return path


# What has the shape of an e-mail address (one @, a dot in the domain, no spaces) is logged as typed;
# anything else typed into an address field is not, since it may be a password typed into the wrong field
# (found by the form fuzzer: a value sent as both the address and the password reached the log).
ADDRESS_SHAPE = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
NOT_AN_ADDRESS = "[not an address]"


def loggable_email(email: str | None) -> str | None:
    """``email`` if it has the shape of an address, else [not an address] (None stays None)."""
    if email is None or ADDRESS_SHAPE.fullmatch(email):
        return email
    return NOT_AN_ADDRESS


def security_event(
    event: str, outcome: str, *, user_id: int | None = None, email: str | None = None, **details: object
) -> None:
    """Log one structured line; JSON encoding keeps CR and LF in values from splitting it."""
    record = {
        "at": utcnow().isoformat(),
        "event": event,
        "outcome": outcome,
        "user_id": user_id,
        "email": loggable_email(email),
        "address": client_address(),
        "route": f"{request.method} {loggable_path()}" if has_request_context() else None,
        **details,
    }
    logger.info(json.dumps(record, ensure_ascii=True, default=str))
