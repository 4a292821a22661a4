"""Links in reminder e-mails: absolute addresses, and signed one-click unsubscribe tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from learning.reminders.models import ALL, RULES

SALT = "reminders-unsubscribe"


class BadTokenError(Exception):
    """An unsubscribe token that was not made by us (tampered with, cut short, or for another key)."""


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def unsubscribe_token(user_id: int, rule: str = ALL) -> str:
    """Return a token that unsubscribes ``user_id`` from ``rule``; it does not expire, as RFC 8058
    expects of a List-Unsubscribe address."""
    return _serializer().dumps([user_id, rule])


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """Return (user id, rule) from a token, or raise BadTokenError."""
    try:
        value = _serializer().loads(token)
    except BadSignature as exc:
        raise BadTokenError(str(exc)) from exc
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or value[1] not in (*RULES, ALL)
    ):
        raise BadTokenError("unexpected token content")
    return value[0], value[1]


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute address of ``endpoint`` under BASE_URL, with or without a request."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
