"""Gunicorn's access log keeps the tokens of e-mailed links out (issue 7, row 15): the request line, the path
and the Referer show [redacted] where a reset, confirmation, invitation or unsubscribe token was."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import Flask
from gunicorn.config import Config

from learning.security.access_log import AccessLogger

TOKEN = "qAYAHKvfRPi8K6xBiz6A97pVUPnZglcUGgRCc1wibOg"


def atoms(app: Flask, method: str, path: str, referer: str = "-") -> dict:
    logger = AccessLogger(Config())
    logger.url_map = app.url_map
    environ = {
        "REQUEST_METHOD": method,
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_REFERER": referer,
    }
    response = SimpleNamespace(status="200 OK", headers=[("Content-Type", "text/html")], sent=512)
    request = SimpleNamespace(headers=[("REFERER", referer)])
    return logger.atoms(response, request, environ, timedelta(milliseconds=3))


@pytest.mark.parametrize(
    "path",
    [
        f"/register/confirm/{TOKEN}",
        f"/password/reset/{TOKEN}",
        f"/invitations/{TOKEN}",
        f"/reminders/unsubscribe/{TOKEN}",
    ],
)
def test_tokens_in_paths_are_redacted(app: Flask, path: str) -> None:
    for method in ("GET", "POST"):
        found = atoms(app, method, path)
        line = AccessLogger(Config()).cfg.access_log_format % found
        assert TOKEN not in line and "[redacted]" in line
        assert found["r"] == f"{method} {path.replace(TOKEN, '[redacted]')} HTTP/1.1"
        assert TOKEN not in repr(found)


def test_a_token_in_the_referer_is_redacted_and_other_paths_are_kept(app: Flask) -> None:
    found = atoms(app, "GET", "/", referer=f"https://academy.example.org/register/confirm/{TOKEN}")
    assert found["f"] == "https://academy.example.org/register/confirm/[redacted]"
    assert TOKEN not in repr(found)
    for path in ("/courses/harbour-basics", "/no/such/page", "/verify/ABCD-EFGH"):
        assert atoms(app, "GET", path)["r"] == f"GET {path} HTTP/1.1"
