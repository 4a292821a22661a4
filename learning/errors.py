"""Error answers: JSON under /api, friendly pages everywhere else, never a traceback."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from learning.security.log import loggable_path

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(
    status: int, message: str, code: str | None = None, fields: dict[str, Any] | None = None
) -> Response:
    """Return the API's error body ``{"error": {"code", "message", "fields"}}`` with ``status``."""
    response = jsonify(
        {"error": {"code": code or CODES.get(status, "error"), "message": message, "fields": fields or {}}}
    )
    response.status_code = status
    return response


def _page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("errors/error.html", status=status, title=title, message=message), status


MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    401: ("Sign in needed", "Sign in to see this page."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Page not found", "There is nothing at this address. Check the link, or start from the catalogue."),
    405: ("Not allowed", "This page does not accept that kind of request."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    429: ("Too many attempts", "Too many attempts in a short time. Wait a minute and try again."),
    500: (
        "Something went wrong",
        "Something went wrong on our side. Nothing you did caused it; try again later.",
    ),
}


def log_forbidden() -> None:
    """One security-log line for a refusal (who, address, route, when); called for every 403 response by
    learning.security.headers, whichever way the view refused."""
    from flask import g
    from flask_login import current_user

    from learning.security.log import security_event

    user = getattr(g, "api_user", None) or (
        current_user if current_user and current_user.is_authenticated else None
    )
    security_event("forbidden", "denied", user_id=user.id if user is not None else None)


def database_unavailable(error: DBAPIError) -> Response:
    """Answer 503 when the database connection was lost (PostgreSQL restarted, a connection was killed).

    SQLAlchemy has already dropped every pooled connection opened before the loss, so the next request
    connects afresh: a worker fails at most one request per restart. The answer reads nothing from the
    database, which may still be down.
    """
    current_app.logger.warning(
        "database connection lost on %s %s: %s", request.method, loggable_path(), str(error.orig).strip()
    )
    return _unavailable(busy=False)


def no_free_connection(error: PoolTimeout) -> Response:
    """Answer 503 when no pooled connection came free within the pool's timeout: more requests at once
    than the process has connections for (threads above pool_size + max_overflow, or statements held up
    by locks). The client may try again; nothing it sent was written."""
    current_app.logger.warning(
        "no database connection free on %s %s: %s", request.method, loggable_path(), str(error).split(" (")[0]
    )
    return _unavailable(busy=True)


def _unavailable(busy: bool) -> Response:
    if wants_json():
        what = "The service is busy" if busy else "The database is unavailable"
        response = json_error(503, f"{what} for a moment. Try again.")
    else:
        # Not render_template: its context processors load the signed-in user, which takes a query.
        page = current_app.jinja_env.get_template("errors/unavailable.html").render(busy=busy)
        response = Response(page, 503, mimetype="text/html")
    response.headers["Retry-After"] = "5"
    return response


# PostgreSQL's "the server is going away or not there yet": connection exceptions (class 08) and
# admin_shutdown, crash_shutdown, cannot_connect_now (class 57P)
UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")


def cannot_connect(error: DBAPIError) -> bool:
    """Whether the database is unreachable in a way SQLAlchemy does not mark as a lost connection (found
    by tests/test_restarts.py, where every request during a restart was a 500): no connection could be
    made (an OperationalError with no statement), the server said it is shutting down or starting up,
    or libpq lost the connection without psycopg marking it broken yet (no SQLSTATE at all)."""
    if not isinstance(error, OperationalError):
        return False
    if error.statement is None:
        return True
    state = getattr(error.orig, "sqlstate", None)
    if state is None:
        return type(error.orig).__module__.startswith("psycopg")
    return str(state).startswith(UNAVAILABLE_STATES)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        app.logger.info("CSRF check failed on %s %s: %s", request.method, loggable_path(), error.description)
        if wants_json():
            return json_error(400, "CSRF check failed.", "csrf")
        return _page(
            400,
            _("Form expired"),
            _("The form was open too long or came from elsewhere. Go back, reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if wants_json():
            return json_error(status, error.description or CODES.get(status, "error"))
        title, message = MESSAGES.get(status, (error.name, error.description or ""))
        return _page(status, _(title), _(message))

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> Any:
        if not (error.connection_invalidated or cannot_connect(error)):
            return unexpected(error)
        return database_unavailable(error)

    app.register_error_handler(PoolTimeout, no_free_connection)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        app.logger.exception("unhandled error on %s %s", request.method, loggable_path())
        if wants_json():
            return json_error(500, "Internal error.")
        title, message = MESSAGES[500]
        return _page(500, _(title), _(message))

    @app.errorhandler(InternalServerError)
    def internal(error: InternalServerError) -> Any:
        return unexpected(error)
