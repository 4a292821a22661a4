"""Each rule decided at a fixed time: who is due, who never is, and that a decision is made once."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from learning.catalog.models import Course
from learning.extensions import db
from learning.progress import services as progress
from learning.reminders import services
from learning.reminders.models import ReminderSending
from learning.reminders.rules import Settings, morning_windows
from tests.reminders.conftest import sendings, utc

# 09:00 in Bangkok (UTC+7) on 1 December 2026
BANGKOK_MORNING = utc("2026-12-01T02:00")


def test_morning_windows_group_zones_by_local_date() -> None:
    zones = ["Pacific/Kiritimati", "Pacific/Honolulu", "Europe/Istanbul", "Asia/Bangkok", "Nowhere/Atlantis"]
    windows = morning_windows(utc("2026-11-30T19:00"), zones, (8, 11))
    # 09:00 in Honolulu on 30 November is 09:00 in Kiritimati on 1 December
    assert [(w.local_date, w.zones) for w in windows] == [
        (date(2026, 11, 30), ("Pacific/Honolulu",)),
        (date(2026, 12, 1), ("Pacific/Kiritimati",)),
    ]
    assert morning_windows(utc("2026-11-30T06:00"), zones, (8, 11))[0].zones == ("Europe/Istanbul",)
    assert morning_windows(utc("2026-11-30T12:00"), zones, (8, 11)) == []


def test_inactivity_after_n_days_then_every_m_days_at_most_k_times(app: Flask, learner) -> None:
    user, enrolment = learner(last_active=BANGKOK_MORNING - timedelta(days=6, hours=23))
    settings = Settings(inactivity_days=7, inactivity_repeat_days=3, inactivity_max=2)
    services.scan(BANGKOK_MORNING, settings)
    assert sendings() == [], "six days and 23 hours is not yet seven days"
    decided = []
    for day in range(1, 12):
        services.scan(BANGKOK_MORNING + timedelta(days=day), settings)
        decided.append(len(sendings()))
    # day 1: the first; day 4: three days later the second; then no more (at most two)
    assert decided == [1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]
    assert [s[3] for s in sendings()] == ["2026-12-02", "2026-12-05"]

    # activity ends the spell; a new spell starts afresh
    enrolment.last_activity_at = BANGKOK_MORNING + timedelta(days=12)
    db.session.commit()
    services.scan(BANGKOK_MORNING + timedelta(days=19), settings)
    assert [s[3] for s in sendings()] == ["2026-12-02", "2026-12-05", "2026-12-20"]


def test_a_learner_who_never_started_counts_from_the_enrolment(app: Flask, learner) -> None:
    learner(last_active=None, enrolled=BANGKOK_MORNING - timedelta(days=8))
    learner(last_active=None, enrolled=BANGKOK_MORNING - timedelta(days=2))
    services.scan(BANGKOK_MORNING)
    assert len(sendings()) == 1


def test_completed_left_archived_inactive_and_opted_out_learners_are_never_reminded(
    app: Flask, learner, course: Course, cohort
) -> None:
    long_ago = BANGKOK_MORNING - timedelta(days=30)
    due, _ = learner(last_active=long_ago)
    completed, enrolment = learner(last_active=long_ago)
    enrolment.completed_at = long_ago
    left, enrolment = learner(last_active=long_ago)
    enrolment.status = "left"
    deactivated, _ = learner(last_active=long_ago)
    deactivated.active = False
    opted_out, _ = learner(last_active=long_ago)
    services.opt_out(opted_out.id, "inactivity")
    opted_out_all, _ = learner(last_active=long_ago)
    services.opt_out(opted_out_all.id, "all")
    db.session.commit()
    everyone = [due, completed, left, deactivated, opted_out, opted_out_all]
    cohort(date(2026, 12, 8), everyone)
    for user in everyone:
        enrolment = progress.find_enrolment(user, course)
        assert enrolment is not None
        progress.record_quiz_result(enrolment, "first-steps", 10, False, long_ago)
        progress.record_quiz_result(enrolment, "first-steps", 20, False, long_ago)
    db.session.commit()

    services.scan(BANGKOK_MORNING)
    assert sorted(s[1] for s in sendings() if s[0] == due.email) == ["deadline", "inactivity", "quiz_failed"]
    # the one who opted out of inactivity still hears about the deadline and the quiz
    assert sorted(s[1] for s in sendings() if s[0] == opted_out.email) == ["deadline", "quiz_failed"]
    assert {s[0] for s in sendings()} == {due.email, opted_out.email}

    # an archived course reminds nobody
    db.session.query(ReminderSending).delete()
    db.session.execute(db.text("DELETE FROM reminder_bundles"))
    course.status = "archived"
    db.session.commit()
    services.scan(BANGKOK_MORNING + timedelta(days=1))
    assert sendings() == []


def test_deadline_reminders_follow_each_learners_calendar(app: Flask, learner, cohort) -> None:
    recent = utc("2026-11-30T00:00")  # active, so that only the deadline is due
    kiritimati, _ = learner("Pacific/Kiritimati", last_active=recent)
    honolulu, _ = learner("Pacific/Honolulu", last_active=recent)
    cohort(date(2026, 12, 8), [kiritimati, honolulu])
    # 19:00 UTC: 09:00 on 1 December in Kiritimati (7 days left), 09:00 on 30 November in Honolulu (8)
    services.scan(utc("2026-11-30T19:00"))
    assert [(s[0], s[3]) for s in sendings()] == [(kiritimati.email, "2026-12-08/7d")]
    services.scan(utc("2026-12-01T19:00"))
    assert [(s[0], s[3]) for s in sendings()][1:] == [(honolulu.email, "2026-12-08/7d")]
    # nothing more until the day before, then the last one, once (not again on the due date)
    for day in range(2, 9):
        services.scan(utc("2026-11-30T19:00") + timedelta(days=day))
    assert [(s[0], s[3]) for s in sendings() if s[1] == "deadline"][2:] == [
        (kiritimati.email, "2026-12-08/1d"),
        (honolulu.email, "2026-12-08/1d"),
    ]


def test_a_late_joiner_gets_the_nearest_deadline_reminder(app: Flask, learner, cohort) -> None:
    user, _ = learner(last_active=BANGKOK_MORNING - timedelta(days=1))
    cohort(date(2026, 12, 5), [user])  # four days away: the "7 days" stage covers it
    services.scan(BANGKOK_MORNING)
    assert [s[3] for s in sendings()] == ["2026-12-05/7d"]


def test_quiz_failed_twice_without_a_retry_for_a_day(app: Flask, learner) -> None:
    _, enrolment = learner(last_active=BANGKOK_MORNING - timedelta(hours=20))
    progress.record_quiz_result(enrolment, "first-steps", 10, False, BANGKOK_MORNING - timedelta(hours=22))
    db.session.commit()
    services.scan(BANGKOK_MORNING)
    assert sendings() == [], "failed once"
    progress.record_quiz_result(enrolment, "first-steps", 20, False, BANGKOK_MORNING - timedelta(hours=20))
    db.session.commit()
    services.scan(BANGKOK_MORNING)
    assert sendings() == [], "failed twice, but less than a day ago"
    services.scan(BANGKOK_MORNING + timedelta(days=1))
    assert [s[1:] for s in sendings()] == [("quiz_failed", "module:first-steps", "once")]
    progress.record_quiz_result(enrolment, "first-steps", 30, False, BANGKOK_MORNING + timedelta(days=1))
    db.session.commit()
    services.scan(BANGKOK_MORNING + timedelta(days=3))
    assert len(sendings()) == 1, "once per module"


def test_a_passed_quiz_is_not_reminded(app: Flask, learner) -> None:
    _, enrolment = learner(last_active=BANGKOK_MORNING - timedelta(days=2))
    for score, passed in ((10, False), (20, False), (90, True)):
        progress.record_quiz_result(
            enrolment, "first-steps", score, passed, BANGKOK_MORNING - timedelta(days=2)
        )
    db.session.commit()
    services.scan(BANGKOK_MORNING)
    assert sendings() == []


def test_one_email_a_day_even_when_more_falls_due_later_that_morning(app: Flask, learner) -> None:
    user, enrolment = learner(last_active=BANGKOK_MORNING - timedelta(days=10))
    first = services.scan(BANGKOK_MORNING)
    assert first.bundles == 1
    progress.record_quiz_result(enrolment, "first-steps", 10, False, BANGKOK_MORNING - timedelta(days=3))
    progress.record_quiz_result(enrolment, "first-steps", 10, False, BANGKOK_MORNING - timedelta(days=3))
    db.session.commit()
    later = services.scan(BANGKOK_MORNING + timedelta(minutes=30))
    assert later.bundles == 0 and later.decided["quiz_failed"] == 0
    tomorrow = services.scan(BANGKOK_MORNING + timedelta(days=1))
    assert tomorrow.bundles == 1 and tomorrow.decided["quiz_failed"] == 1


def test_unknown_rules_are_refused(app: Flask, learner) -> None:
    import pytest

    user, _ = learner()
    with pytest.raises(ValueError, match="unknown"):
        services.opt_out(user.id, "weather")
    with pytest.raises(ValueError, match="unknown"):
        services.set_opt_outs(user.id, {"weather"})
