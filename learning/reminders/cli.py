"""`flask reminders`: run the reminder scan by hand, or see what it would send."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from learning.db import utcnow
from learning.extensions import db
from learning.reminders import compose, delivery, services

reminders_cli = AppGroup("reminders", help="Reminder e-mails.")


def _instant(value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, such as 2026-12-01T09:00:00Z") from exc
    if parsed.tzinfo is None:
        raise click.BadParameter("give the time zone too, such as 2026-12-01T09:00:00Z or +07:00")
    return parsed.astimezone(UTC)


@reminders_cli.command("run")
@click.option("--as-of", "as_of", metavar="ISO-TIME", help="Scan as if it were this time (default: now).")
@click.option("--dry-run", is_flag=True, help="Show who would get what; change and send nothing.")
def run(as_of: str | None, dry_run: bool) -> None:
    """Decide the reminders due now (in each learner's local morning) and send the day's e-mails.

    The dry run makes the real decisions inside a transaction that it rolls back, so what it shows
    is exactly what a real run at that time would send.
    """
    when = _instant(as_of)
    result = services.scan(when)
    if result.skipped:
        db.session.rollback()
        raise click.ClickException("another reminder scan is running; try again in a minute")
    zones = sum(len(w.zones) for w in result.windows)
    dates = ", ".join(w.local_date.isoformat() for w in result.windows) or "none"
    click.echo(f"as of {when.isoformat()}: morning in {zones} time zone(s) in use, local date(s) {dates}")
    emails = compose.load(result.pending)
    for email in emails:
        user = email.bundle.user
        rules = ", ".join(
            f"{i.rule} ({i.cohort_name or i.module_title or i.course_title})" for i in email.items
        )
        subject = str(compose.message(email)["Subject"]) if email.items else "(nothing left to send)"
        click.echo(f"  {user.email} [{user.timezone}, {email.bundle.local_date}] {subject}: {rules}")
    decided = ", ".join(f"{rule} {count}" for rule, count in result.decided.items()) or "none"
    click.echo(f"reminders decided: {decided}; e-mails: {len(emails)}")
    if dry_run:
        db.session.rollback()
        click.echo("dry run: nothing was recorded or sent")
        return
    db.session.commit()
    outcome = delivery.deliver(result.pending)
    click.echo(
        f"sent {len(outcome.sent)}, failed {len(outcome.failed)}, cancelled {len(outcome.cancelled)}, "
        f"to retry {len(outcome.retry)}"
    )
