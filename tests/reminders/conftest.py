"""Reminder fixtures: learners with a time zone and a history, and one scan-and-send step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from learning.auth.models import User
from learning.catalog.models import Course
from learning.cohorts.models import Cohort, CohortMember
from learning.db import utcnow
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from learning.reminders import delivery, services
from learning.reminders.models import ReminderBundle, ReminderSending
from tests.fixtures.completion import make_learner


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def learner(
    create_user: Callable[..., User], enrol: Callable[[User], Enrolment]
) -> Callable[..., tuple[User, Enrolment]]:
    """Make an enrolled learner in ``timezone`` whose last activity was at ``last_active``."""

    def make(
        timezone: str = "Asia/Bangkok",
        last_active: datetime | None = None,
        enrolled: datetime | None = None,
        **user_fields: Any,
    ) -> tuple[User, Enrolment]:
        user = create_user(timezone=timezone, **user_fields)
        enrolment = enrol(user)
        enrolment.enrolled_at = enrolled or (last_active or utc("2026-09-01T00:00")) - timedelta(days=1)
        enrolment.last_activity_at = last_active
        enrolment.started_at = last_active
        db.session.commit()
        return user, enrolment

    return make


@pytest.fixture
def cohort(course: Course) -> Callable[..., Cohort]:
    def make(due_on: date, members: list[User], name: str = "Pacific ports 2026") -> Cohort:
        made = Cohort(course_id=course.id, name=name, starts_on=due_on - timedelta(days=60), due_on=due_on)
        db.session.add(made)
        db.session.flush()
        db.session.add_all(CohortMember(cohort_id=made.id, user_id=user.id) for user in members)
        db.session.commit()
        return made

    return make


def task(app: Flask, function: Any) -> Any:
    """The task as this app's Celery registered it: a shared task used directly runs under the
    Celery app made last, which other tests' apps may have replaced."""
    return app.extensions["celery"].tasks[function.name]


def step(as_of: datetime) -> services.ScanResult:
    """What the beat and the worker do at ``as_of``: scan, commit, send what is pending."""
    result = services.scan(as_of)
    db.session.commit()
    delivery.deliver(result.pending)
    return result


def sendings() -> list[tuple[str, str, str, str]]:
    """Every decided reminder as (e-mail, rule, subject, period), in order."""
    rows = db.session.execute(
        select(User.email, ReminderSending.rule, ReminderSending.subject, ReminderSending.period)
        .join(User, User.id == ReminderSending.user_id)
        .order_by(ReminderSending.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def bundles() -> list[ReminderBundle]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReminderBundle).order_by(ReminderBundle.id)))


def morning_zone(now: datetime) -> str:
    """A fixed-offset zone in which it is 09:xx now, an hour inside the 08:00-11:00 reminder morning."""
    offset = (9 - now.astimezone(UTC).hour + 12) % 24 - 12  # -12 .. +11
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-9 is UTC+9


def idle_learners(app: Flask, count: int, first: int = 0) -> None:
    """``count`` learners, enrolled and idle for ten days, whose local morning is now."""
    now = utcnow()
    zone = morning_zone(now)
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "harbour-basics"))
        assert course is not None
        for number in range(first, first + count):
            user = make_learner(number)
            user.timezone = zone
            enrolment = progress.enrol(user, course)
            enrolment.enrolled_at = now - timedelta(days=11)
            enrolment.last_activity_at = now - timedelta(days=10)
        db.session.commit()
        db.session.remove()
