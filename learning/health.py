"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text

from learning.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Answer without touching the database: the baseline of every benchmark."""
    return {"status": "ok"}, 200


@bp.get("/readyz")
def readyz() -> tuple[dict[str, object], int]:
    """Check that the database and the broker answer."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        current_app.logger.warning("readiness: database check failed: %s", exc)
        checks["database"] = "unavailable"
    try:
        celery = current_app.extensions["celery"]
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        current_app.logger.warning("readiness: broker check failed: %s", exc)
        checks["broker"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ready" if ready else "unavailable", "checks": checks}, 200 if ready else 503
