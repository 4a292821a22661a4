"""The reminder scan and the state of each day's e-mail: decided once, claimed before it is sent
(RELIABILITY rules 2 and 5). Functions here flush; the task or the command commits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Date, delete, literal, or_, select, text, update

from learning.auth.models import User
from learning.db import UTCDateTime, dialect_name, insert_for, utcnow
from learning.extensions import db
from learning.reminders.models import ALL, RULES, ReminderBundle, ReminderOptOut, ReminderSending
from learning.reminders.rules import Settings, Window, morning_windows, rule_queries, zones_in_use

logger = logging.getLogger(__name__)

# The key of the PostgreSQL advisory lock that makes the scan run once at a time, wherever beat runs.
SCAN_LOCK_KEY = 4_106_072_021
# Refresh the planner's statistics of the reminder tables after a scan that decided this many.
ANALYZE_AFTER = 5_000


@dataclass
class ScanResult:
    skipped: bool = False  # another scan held the lock
    windows: list[Window] = field(default_factory=list)
    decided: dict[str, int] = field(default_factory=dict)  # rule -> reminders decided now
    bundles: int = 0  # e-mails decided now
    expired: int = 0  # e-mails of past days that never went out
    pending: list[int] = field(default_factory=list)  # e-mails to send now (new or waiting)


def settings_from_config(config: dict[str, Any]) -> Settings:
    return Settings(
        inactivity_days=config["REMINDER_INACTIVITY_DAYS"],
        inactivity_repeat_days=config["REMINDER_INACTIVITY_REPEAT_DAYS"],
        inactivity_max=config["REMINDER_INACTIVITY_MAX"],
        quiz_wait_days=config["REMINDER_QUIZ_WAIT_DAYS"],
        deadline_days=tuple(config["REMINDER_DEADLINE_DAYS"]),
        certificate_wait_days=config["REMINDER_CERTIFICATE_WAIT_DAYS"],
        morning=(config["REMINDER_MORNING_HOURS"][0], config["REMINDER_MORNING_HOURS"][1]),
    )


def take_scan_lock() -> bool:
    """Hold the scan lock until the transaction ends; False if another scan holds it."""
    if dialect_name() == "postgresql":
        return bool(db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SCAN_LOCK_KEY}))
    # SQLite: outside read-only requests every transaction begins with BEGIN IMMEDIATE (learning.db),
    # which holds the database's write lock until it ends; a second scan waits, then finds the day's
    # e-mails already decided. Running a statement makes sure the transaction has begun.
    db.session.execute(text("SELECT 1"))
    return True


def scan(as_of: datetime, settings: Settings | None = None) -> ScanResult:
    """Decide every reminder due at ``as_of`` for learners in their local morning, bundle them into
    one e-mail per learner and local date, and return the e-mails to send. Flushes."""
    settings = settings or settings_from_config(current_app.config)
    if not take_scan_lock():
        logger.info("reminder scan skipped: another scan is running")
        return ScanResult(skipped=True)
    result = ScanResult()
    result.windows = morning_windows(as_of, db.session.scalars(zones_in_use()), settings.morning)
    now = utcnow()
    for window in result.windows:
        for rule, query in rule_queries(db.metadata).items():
            due = query(window, as_of, settings).add_columns(
                literal(rule),
                literal(window.local_date, Date),
                literal(as_of, UTCDateTime),
                literal(now, UTCDateTime),
            )
            inserted = db.session.execute(
                insert_for(ReminderSending)
                .from_select(
                    [
                        "user_id",
                        "course_id",
                        "subject",
                        "period",
                        "rule",
                        "local_date",
                        "due_at",
                        "created_at",
                    ],
                    due,
                )
                .on_conflict_do_nothing()
                .execution_options(preserve_rowcount=True)
            )
            result.decided[rule] = result.decided.get(rule, 0) + max(inserted.rowcount, 0)  # type: ignore[attr-defined]
    result.bundles = _bundle_new_sendings(as_of, now)
    if dialect_name() == "postgresql" and sum(result.decided.values()) >= ANALYZE_AFTER:
        # Planner statistics from before a big batch make the next scan's anti-joins nested loops
        # over the whole table (measured: 200 s instead of seconds at 100,000 learners); autovacuum
        # would catch up only minutes later.
        db.session.execute(text("ANALYZE reminder_sendings, reminder_bundles"))
    result.expired = _expire(as_of)
    result.pending = _pending(result.windows, now)
    db.session.flush()
    return result


def _bundle_new_sendings(as_of: datetime, now: datetime) -> int:
    """One e-mail per learner and local date for the reminders just decided."""
    unbundled = ReminderSending.bundle_id.is_(None)
    made = db.session.execute(
        insert_for(ReminderBundle)
        .from_select(
            ["user_id", "local_date", "status", "attempts", "due_at", "created_at"],
            select(
                ReminderSending.user_id,
                ReminderSending.local_date,
                literal("pending"),
                literal(0),
                literal(as_of, UTCDateTime),
                literal(now, UTCDateTime),
            )
            .where(unbundled)
            .distinct(),
        )
        .on_conflict_do_nothing()
        .execution_options(preserve_rowcount=True)
    )
    db.session.execute(
        update(ReminderSending)
        .where(unbundled)
        .values(
            bundle_id=select(ReminderBundle.id)
            .where(
                ReminderBundle.user_id == ReminderSending.user_id,
                ReminderBundle.local_date == ReminderSending.local_date,
            )
            .scalar_subquery()
        )
        .execution_options(synchronize_session=False)
    )
    return max(made.rowcount, 0)  # type: ignore[attr-defined]


def _expire(as_of: datetime) -> int:
    """Give up on e-mails of past days that never went out: everywhere on Earth the day before
    yesterday (UTC) is over, and a reminder's morning with it."""
    gone = db.session.execute(
        update(ReminderBundle)
        .where(
            ReminderBundle.status.in_(("pending", "sending")),
            ReminderBundle.local_date < (as_of - timedelta(days=1)).date(),
        )
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    return max(gone.rowcount, 0)  # type: ignore[attr-defined]


def _pending(windows: list[Window], now: datetime) -> list[int]:
    """E-mails of today's mornings not sent yet: the new ones, those whose task was lost, and those
    claimed by a worker that died (its claim older than REMINDER_CLAIM_TIMEOUT)."""
    if not windows:
        return []
    stale = now - current_app.config["REMINDER_CLAIM_TIMEOUT"]
    return list(
        db.session.scalars(
            select(ReminderBundle.id)
            .join(User, User.id == ReminderBundle.user_id)
            .where(
                or_(
                    *(
                        (User.timezone.in_(window.zones)) & (ReminderBundle.local_date == window.local_date)
                        for window in windows
                    )
                ),
                or_(
                    ReminderBundle.status == "pending",
                    (ReminderBundle.status == "sending") & (ReminderBundle.claimed_at < stale),
                ),
            )
            .order_by(ReminderBundle.id)
        )
    )


# --- delivery states -------------------------------------------------------------------------------


def claim(bundle_ids: list[int], now: datetime) -> list[int]:
    """Mark the e-mails that nobody is sending as being sent by us; return their ids."""
    stale = now - current_app.config["REMINDER_CLAIM_TIMEOUT"]
    rows = db.session.scalars(
        update(ReminderBundle)
        .where(
            ReminderBundle.id.in_(bundle_ids),
            or_(
                ReminderBundle.status == "pending",
                (ReminderBundle.status == "sending") & (ReminderBundle.claimed_at < stale),
            ),
        )
        .values(status="sending", claimed_at=now)
        .returning(ReminderBundle.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(rows)


def _set(bundle_id: int, **values: Any) -> None:
    db.session.execute(
        update(ReminderBundle)
        .where(ReminderBundle.id == bundle_id, ReminderBundle.status == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def mark_sent(bundle_id: int) -> None:
    _set(bundle_id, status="sent", sent_at=utcnow(), error=None)


def mark_failed(bundle_id: int, error: str) -> None:
    """Record a permanent failure: the server refused the message for good."""
    _set(bundle_id, status="failed", error=error[:1000])


def mark_cancelled(bundle_id: int) -> None:
    """Nothing in the e-mail is due any more (the learner unsubscribed, left or finished meanwhile)."""
    _set(bundle_id, status="cancelled")


def release(bundle_id: int, error: str, attempts_before: int) -> bool:
    """Give the e-mail back after a temporary failure; return False once it has failed too often."""
    attempts = attempts_before + 1
    give_up = attempts >= current_app.config["REMINDER_MAX_ATTEMPTS"]
    _set(
        bundle_id,
        status="failed" if give_up else "pending",
        attempts=attempts,
        claimed_at=None,
        error=(f"gave up after {attempts} temporary failures: " if give_up else "") + error[:900],
    )
    return not give_up


# --- preferences -----------------------------------------------------------------------------------


def opt_outs(user_id: int) -> set[str]:
    return set(db.session.scalars(select(ReminderOptOut.rule).where(ReminderOptOut.user_id == user_id)))


def opt_out(user_id: int, rule: str) -> None:
    """Stop reminders of ``rule`` (or of every rule: ``all``) for the learner. Flushes."""
    if rule not in (*RULES, ALL):
        raise ValueError(f"unknown reminder rule {rule!r}")
    db.session.execute(
        insert_for(ReminderOptOut)
        .values(user_id=user_id, rule=rule, created_at=utcnow())
        .on_conflict_do_nothing()
    )


def set_opt_outs(user_id: int, rules: set[str]) -> None:
    """Make the learner's opt-outs exactly ``rules``. Flushes."""
    unknown = rules - {*RULES, ALL}
    if unknown:
        raise ValueError(f"unknown reminder rules {sorted(unknown)}")
    db.session.execute(
        delete(ReminderOptOut).where(ReminderOptOut.user_id == user_id, ReminderOptOut.rule.not_in(rules))
    )
    for rule in sorted(rules):
        opt_out(user_id, rule)
