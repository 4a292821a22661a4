"""Celery application for `celery -A worker.app worker` and `celery -A worker.app beat`."""

from __future__ import annotations

from celery import Celery

from learning import create_app

flask_app = create_app()
celery: Celery = flask_app.extensions["celery"]
celery.autodiscover_tasks(
    ["learning.mail", "learning.reminders", "learning.certificates", "learning.reports"],
    related_name="tasks",
    force=True,
)
