"""The security log: one JSON line per sign-in, sign-out, lock-out and refusal."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from flask import has_request_context, request

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
    path = request.path
    for name in SECRET_ARGUMENTS:
        value = (request.view_args or {}).get(name)
        if isinstance(value, str) and value:
            path = path.replace(quote(value, safe=""), REDACTED).replace(value, REDACTED)
    return path


def security_event(
    event: str, outcome: str, *, user_id: int | None = None, email: str | None = None, **details: object
) -> None:
    """Log one structured line; JSON encoding keeps CR and LF in values from splitting it."""
    record = {
        "at": utcnow().isoformat(),
        "event": event,
        "outcome": outcome,
        "user_id": user_id,
        "email": email,
        "address": client_address(),
        "route": f"{request.method} {loggable_path()}" if has_request_context() else None,
        **details,
    }
    logger.info(json.dumps(record, ensure_ascii=True, default=str))
