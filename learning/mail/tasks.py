"""The e-mail task: delivered at least once, retried with backoff on temporary failures."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from celery import shared_task
from celery.signals import worker_process_shutdown

from learning.mail import PermanentMailError, build_message, close_kept, send_messages

logger = logging.getLogger(__name__)

TEMPORARY = (smtplib.SMTPException, OSError)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TEMPORARY,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    ignore_result=True,
)
def send_email(self: object, to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send one e-mail."""
    try:
        send_messages([build_message(to, subject, text, html)])
    except PermanentMailError:
        logger.exception("permanent failure sending %r to a recipient", subject)


@worker_process_shutdown.connect
def close_kept_connection(**_kwargs: Any) -> None:
    """Say goodbye to the SMTP server when a pool process ends (send_kept's connection)."""
    close_kept()
