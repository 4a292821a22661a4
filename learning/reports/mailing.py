"""The monthly e-mail to secretariat users: last month's headline figures and the report as XLSX.

Each (user, month) has a row in report_mailings, claimed before the message is sent and marked after, so
that a task run twice (or delivered twice) sends each e-mail once (RELIABILITY rule 2)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, text, update

from learning.auth.models import User, UserRole
from learning.db import dialect_name, insert_for, utcnow
from learning.extensions import db
from learning.mail import build_message, send_messages
from learning.reports import queries
from learning.reports.exports import XLSX_MIMETYPE, table_xlsx_bytes
from learning.reports.filters import Filters
from learning.reports.models import ReportMailing

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=30)  # a claim older than this was left by a worker that died
LOCK_KEY = 7_261_124_006  # the PostgreSQL advisory lock of the monthly scan


def previous_month(today: date) -> tuple[date, date]:
    """The first and last day of the month before ``today``'s."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


@contextmanager
def scan_lock() -> Iterator[bool]:
    """Hold the monthly scan's lock (PostgreSQL advisory lock); SQLite serialises writers already."""
    if dialect_name() != "postgresql":
        yield True
        return
    with db.engine.connect() as connection:
        got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            connection.commit()


def claim(user_id: int, period: str) -> bool:
    """Claim the e-mail of ``user_id`` for ``period``; False when it was sent or another worker holds it."""
    db.session.execute(
        insert_for(ReportMailing)
        .values(user_id=user_id, period=period, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[ReportMailing.user_id, ReportMailing.period])
    )
    now = utcnow()
    claimed = db.session.execute(
        update(ReportMailing)
        .where(
            ReportMailing.user_id == user_id,
            ReportMailing.period == period,
            ReportMailing.sent_at.is_(None),
            (ReportMailing.claimed_at.is_(None)) | (ReportMailing.claimed_at < now - CLAIM_LEASE),
        )
        .values(claimed_at=now)
        .returning(ReportMailing.id)
    ).first()
    return claimed is not None


def recipients() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "secretariat", User.active.is_(True))
            .order_by(User.id)
        )
    )


def send_monthly(today: date | None = None) -> int:
    """Send last month's report to every secretariat user who has not had it; return how many were sent."""
    first, last = previous_month(today or utcnow().date())
    period = f"{first:%Y-%m}"
    with scan_lock() as locked:
        if not locked:
            logger.info("monthly reports: another scan holds the lock")
            return 0
        return _send(period, Filters(date_from=first, date_to=last))


def _send(period: str, filters: Filters) -> int:
    users = recipients()
    db.session.commit()
    sent = 0
    workbooks: dict[str, bytes] = {}
    for user in users:
        if not claim(user.id, period):
            db.session.commit()
            continue
        db.session.commit()
        try:
            with force_locale(user.language):
                message = _message(user, period, filters, workbooks)
            send_messages([message])
        except Exception:
            # give the claim back, so that the retry (or next month's run) sends it
            db.session.rollback()
            db.session.execute(
                update(ReportMailing)
                .where(ReportMailing.user_id == user.id, ReportMailing.period == period)
                .values(claimed_at=None)
            )
            db.session.commit()
            raise
        db.session.execute(
            update(ReportMailing)
            .where(ReportMailing.user_id == user.id, ReportMailing.period == period)
            .values(sent_at=utcnow())
        )
        db.session.commit()
        sent += 1
    return sent


def _message(user: User, period: str, filters: Filters, workbooks: dict[str, bytes]) -> EmailMessage:
    headline = queries.headline(filters)
    language = user.language
    if language not in workbooks:
        tables = [
            headline,
            queries.completion(filters, "country"),
            queries.completion(filters, "course"),
            queries.funnel(filters),
            queries.trend(filters),
        ]
        workbooks[language] = table_xlsx_bytes(tables)
    link = current_app.config["BASE_URL"].rstrip("/") + "/reports/?" + urlencode(filters.params())
    context = {"user": user, "period": period, "headline": headline, "link": link}
    subject = _("Smart Port Academy: completion report for %(period)s", period=period)
    message = build_message(
        user.email,
        subject,
        render_template("reports/email/monthly.txt", **context),
        render_template("reports/email/monthly.html", **context),
    )
    maintype, subtype = XLSX_MIMETYPE.split("/")
    message.add_attachment(
        workbooks[language], maintype=maintype, subtype=subtype, filename=f"smart-port-academy-{period}.xlsx"
    )
    return message
