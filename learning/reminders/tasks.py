"""The periodic reminder scan and the task that sends the day's e-mails."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from flask import current_app

from learning.db import utcnow
from learning.extensions import db
from learning.outbox import after_commit
from learning.reminders import delivery, services

logger = logging.getLogger(__name__)


def publish(bundle_ids: list[int]) -> None:
    """Queue the e-mails in batches, each sent over one SMTP connection."""
    size = current_app.config["REMINDER_BATCH_SIZE"]
    for start in range(0, len(bundle_ids), size):
        send_reminders.delay(bundle_ids[start : start + size])


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def scan_reminders(as_of: str | None = None) -> None:
    """Decide the reminders due now and queue the e-mails once the decision is committed."""
    when = datetime.fromisoformat(as_of).astimezone(UTC) if as_of else utcnow()
    result = services.scan(when)
    if result.pending:
        after_commit(partial(publish, result.pending))
    db.session.commit()
    if not result.skipped:
        logger.info("reminder scan: %d e-mails decided, %d to send", result.bundles, len(result.pending))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=8)
def send_reminders(self: Task, bundle_ids: list[int]) -> None:
    """Send the given day's e-mails; retry those that met a temporary failure, with backoff."""
    outcome = delivery.deliver(bundle_ids)
    if outcome.retry:
        countdown = get_exponential_backoff_interval(
            factor=5, retries=self.request.retries, maximum=600, full_jitter=True
        )
        raise self.retry(args=[outcome.retry], countdown=countdown, exc=outcome.error)
