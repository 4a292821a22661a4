"""`flask reminders run`: the dry run shows who would get what and changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from tests.reminders.conftest import bundles, sendings, utc


def test_dry_run_shows_who_would_get_what_and_changes_nothing(
    app: Flask, runner: FlaskCliRunner, learner, cohort, mailbox
) -> None:
    lazy, _ = learner("Europe/London", last_active=utc("2026-11-20T09:00"), email="lazy@example.org")
    busy, _ = learner("Europe/London", last_active=utc("2026-11-30T09:00"), email="busy@example.org")
    asleep, _ = learner("Asia/Bangkok", last_active=utc("2026-11-20T09:00"), email="asleep@example.org")
    cohort(date(2026, 12, 8), [lazy, busy])
    result = runner.invoke(args=["reminders", "run", "--as-of", "2026-12-01T09:00:00Z", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        lines[0]
        == "as of 2026-12-01T09:00:00+00:00: morning in 1 time zone(s) in use, local date(s) 2026-12-01"
    )
    assert lines[1] == (
        "  lazy@example.org [Europe/London, 2026-12-01] 2 reminders from Smart Port Academy: "
        "inactivity (Harbour basics), deadline (Pacific ports 2026)"
    )
    assert lines[2] == (
        "  busy@example.org [Europe/London, 2026-12-01] Pacific ports 2026: the course is due in 7 days: "
        "deadline (Pacific ports 2026)"
    )
    assert lines[3:] == [
        "reminders decided: inactivity 1, deadline 2, quiz_failed 0, certificate 0; e-mails: 2",
        "dry run: nothing was recorded or sent",
    ]
    assert "asleep" not in result.output
    assert sendings() == [] and bundles() == [] and mailbox.messages == []

    real = runner.invoke(args=["reminders", "run", "--as-of", "2026-12-01T09:00:00Z"])
    assert real.exit_code == 0, real.output
    assert real.output.splitlines()[-1] == "sent 2, failed 0, cancelled 0, to retry 0"
    assert sorted(str(m["To"]) for m in mailbox.messages) == ["busy@example.org", "lazy@example.org"]
    assert len(sendings()) == 3


def test_default_run_writes_emails_to_the_mail_folder(
    app: Flask, runner: FlaskCliRunner, learner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "MAIL_FILE_PATH", str(tmp_path / "mail"))
    learner("UTC", last_active=utc("2026-11-20T09:00"))
    result = runner.invoke(args=["reminders", "run", "--as-of", "2026-12-01T09:00:00+00:00"])
    assert result.exit_code == 0, result.output
    [eml] = (tmp_path / "mail").glob("*.eml")
    assert b"Subject: Your course is waiting: Harbour basics" in eml.read_bytes()


@pytest.mark.parametrize(
    ("value", "message"),
    [("yesterday", "is not an ISO 8601 time"), ("2026-12-01T09:00:00", "give the time zone too")],
)
def test_bad_times_are_refused(app: Flask, runner: FlaskCliRunner, value: str, message: str) -> None:
    result = runner.invoke(args=["reminders", "run", "--as-of", value, "--dry-run"])
    assert result.exit_code == 2 and message in result.output


def test_nothing_due_says_so(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["reminders", "run", "--as-of", "2026-12-01T09:00:00Z"])
    assert result.exit_code == 0
    assert "reminders decided: " in result.output and "sent 0" in result.output
