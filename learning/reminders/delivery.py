"""Sending claimed e-mails over one connection. Each claim and each outcome is committed on its own,
so that a crash loses or repeats at most the one message in flight."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field

from learning.db import utcnow
from learning.extensions import db
from learning.mail import PermanentMailError, connection
from learning.reminders import compose, services

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # refused for good, or too many temporary failures
    cancelled: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)  # temporary failure: try these again later
    error: Exception | None = None


def deliver(bundle_ids: list[int]) -> Outcome:
    """Claim, render and send the given day's e-mails; commits as it goes."""
    outcome = Outcome()
    claimed = services.claim(bundle_ids, utcnow())
    db.session.commit()
    if not claimed:
        return outcome
    ready = []
    for email in compose.load(claimed):
        if email.items:
            ready.append((email.bundle.id, email.bundle.attempts, compose.message(email)))
        else:
            services.mark_cancelled(email.bundle.id)
            outcome.cancelled.append(email.bundle.id)
    db.session.commit()
    done: set[int] = set()
    try:
        with connection() as send:
            for bundle_id, attempts, message in ready:
                try:
                    send(message)
                except PermanentMailError as exc:
                    logger.warning("reminder e-mail %d refused for good: %s", bundle_id, exc)
                    services.mark_failed(bundle_id, str(exc))
                    outcome.failed.append(bundle_id)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                    # the server answered 4xx for this message; the connection is still good
                    _release(outcome, bundle_id, attempts, exc)
                else:
                    services.mark_sent(bundle_id)
                    outcome.sent.append(bundle_id)
                done.add(bundle_id)
                db.session.commit()
    except (smtplib.SMTPException, OSError) as exc:
        # the connection could not be made or broke: what was not sent waits for the retry
        logger.warning("reminder e-mails interrupted: %s", exc)
        for bundle_id, attempts, _message in ready:
            if bundle_id not in done:
                _release(outcome, bundle_id, attempts, exc)
        db.session.commit()
    return outcome


def _release(outcome: Outcome, bundle_id: int, attempts: int, exc: Exception) -> None:
    if services.release(bundle_id, f"{type(exc).__name__}: {exc}", attempts):
        outcome.retry.append(bundle_id)
    else:
        outcome.failed.append(bundle_id)
    outcome.error = exc
