"""One scan at a time (RELIABILITY rule 5): on PostgreSQL a second scan that finds the advisory lock
held does nothing; the unique keys would still keep it from deciding anything twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text

from learning.db import dialect_name
from learning.extensions import db
from learning.reminders import services
from tests.reminders.conftest import utc

MORNING = utc("2026-12-01T02:00")


@pytest.mark.postgres  # SQLite's BEGIN IMMEDIATE serialises scans instead
def test_a_scan_skips_while_another_holds_the_lock(app: Flask, learner, runner: FlaskCliRunner) -> None:
    assert dialect_name() == "postgresql"
    learner(last_active=MORNING - timedelta(days=10))
    other = db.engine.connect()
    try:
        with other.begin():
            other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": services.SCAN_LOCK_KEY})
            assert services.scan(MORNING) == services.ScanResult(skipped=True)
            db.session.rollback()
            busy = runner.invoke(args=["reminders", "run", "--as-of", "2026-12-01T02:00:00Z", "--dry-run"])
            assert busy.exit_code == 1 and "another reminder scan is running" in busy.output
    finally:
        other.close()
    result = services.scan(MORNING)
    assert not result.skipped and result.bundles == 1
