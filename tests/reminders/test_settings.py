"""The reminder settings a deployment (and the crash tests' worker) sets from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

from learning import create_app
from learning.config import from_environment
from tests.conftest import app_config


def test_reminder_settings_are_read_from_the_environment() -> None:
    settings = from_environment(
        {
            "REMINDER_BATCH_SIZE": "10",
            "REMINDER_MAX_ATTEMPTS": "4",
            "REMINDER_CLAIM_TIMEOUT": "90",
            "REMINDER_SCAN_SECONDS": "2.5",
        }
    )
    assert settings["REMINDER_BATCH_SIZE"] == 10 and settings["REMINDER_MAX_ATTEMPTS"] == 4
    assert settings["REMINDER_CLAIM_TIMEOUT"] == timedelta(seconds=90)
    assert settings["REMINDER_SCAN_SECONDS"] == 2.5


def test_the_scan_runs_every_quarter_hour_unless_told_otherwise(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    default = create_app(app_config(url)).config["CELERY"]["beat_schedule"]["reminders-scan"]
    assert default["schedule"] == crontab(minute="*/15") and default["options"] == {"expires": 14 * 60}
    quick = create_app(app_config(url, REMINDER_SCAN_SECONDS=2.5)).config["CELERY"]["beat_schedule"]
    assert quick["reminders-scan"]["schedule"] == 2.5
    assert quick["reminders-scan"]["options"] == {"expires": 14 * 60}
    assert quick["reminders-scan"]["task"] == "learning.reminders.tasks.scan_reminders"
