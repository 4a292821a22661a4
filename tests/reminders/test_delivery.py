"""Reminder e-mails through a real SMTP server (aiosmtpd): the exact message, once, in each
learner's local morning across time zones and a daylight saving change, bundled, in their language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from flask import Flask

from learning.extensions import babel, db
from learning.progress import services as progress
from learning.reminders import services, tasks
from learning.reminders.links import unsubscribe_token
from learning.reminders.tasks import scan_reminders
from tests.fixtures.smtp import Inbox
from tests.reminders.conftest import bundles, step, task, utc


def quarter_hours(start: datetime, end: datetime) -> Iterator[datetime]:
    """Every beat from ``start`` (included) to ``end`` (excluded)."""
    moment = start
    while moment < end:
        yield moment
        moment += timedelta(minutes=15)


def sweep(start: datetime, end: datetime, inbox: Inbox) -> dict[str, list[datetime]]:
    """Run the beat every 15 minutes; return when each address received a message."""
    received: dict[str, list[datetime]] = {}
    for moment in quarter_hours(start, end):
        before = len(inbox.messages)
        step(moment)
        for message in inbox.messages[before:]:
            received.setdefault(str(message["To"]), []).append(moment)
    return received


def test_the_exact_message_arrives_once_however_often_the_scan_runs(
    app: Flask, learner, mailbox: Inbox
) -> None:
    user, enrolment = learner(last_active=utc("2026-11-20T03:00"), full_name="Nguyễn Thị Lan")
    enrolment.percent = 40
    db.session.commit()
    day = (utc("2026-11-30T12:00"), utc("2026-12-01T12:00"))
    assert sweep(*day, mailbox) == {user.email: [utc("2026-12-01T01:00")]}  # 08:00 in Bangkok
    assert sweep(*day, mailbox) == {}, "the same period again sends nothing"
    assert len(mailbox.messages) == 1

    message = mailbox.messages[0]
    stop_all = f"http://localhost/reminders/unsubscribe/{unsubscribe_token(user.id)}"
    stop_rule = f"http://localhost/reminders/unsubscribe/{unsubscribe_token(user.id, 'inactivity')}"
    assert message["Subject"] == "Your course is waiting: Harbour basics"
    assert message["To"] == user.email
    assert message["From"] == "Smart Port Academy <no-reply@localhost>"
    assert message["List-Unsubscribe"] == f"<{stop_all}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # on the wire the header is the plain address, not an RFC 2047 encoded word
    assert f"List-Unsubscribe: <{stop_all}>".encode() in mailbox.raw[0]
    assert message.get_content_type() == "multipart/alternative"
    # (line ends as sent: CRLF on the wire)
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == (
        "Hello Nguyễn Thị Lan,\n"
        "\n"
        'It has been a while since you studied "Harbour basics" (you are 40% of the way through). '
        "Pick up where you left off:\n"
        "http://localhost/courses/harbour-basics/continue\n"
        f"(No more reminders like this one: {stop_rule})\n"
        "\n"
        "-- \n"
        "Smart Port Academy sends you reminders while you study. Choose which ones you get:\n"
        "http://localhost/account/reminders\n"
        "Stop all reminder e-mails (one click, no sign-in needed):\n"
        f"{stop_all}\n"
    )
    html = message.get_body(("html",)).get_content()
    assert '<html lang="en">' in html
    assert 'href="http://localhost/courses/harbour-basics/continue"' in html
    assert f'href="{stop_all}"' in html and f'href="{stop_rule}"' in html
    assert [b.status for b in bundles()] == ["sent"]


LEARNERS = {
    "Asia/Bangkok": "bangkok@example.org",  # UTC+7
    "Pacific/Kiritimati": "kiritimati@example.org",  # UTC+14
    "Pacific/Honolulu": "honolulu@example.org",  # UTC-10
    "Europe/Istanbul": "istanbul@example.org",  # UTC+3
    "Australia/Sydney": "sydney@example.org",  # UTC+10, UTC+11 from 4 October 2026
}


def test_each_learner_hears_at_eight_in_their_own_morning_across_a_dst_change(
    app: Flask, learner, mailbox: Inbox
) -> None:
    for zone, address in LEARNERS.items():
        learner(zone, last_active=utc("2026-09-01T00:00"), email=address)

    first = sweep(utc("2026-09-26T12:00"), utc("2026-09-27T12:00"), mailbox)
    assert first == {
        "kiritimati@example.org": [utc("2026-09-26T18:00")],  # 08:00 on 27 September
        "honolulu@example.org": [utc("2026-09-26T18:00")],  # 08:00 on 26 September
        "sydney@example.org": [utc("2026-09-26T22:00")],  # 08:00 AEST (UTC+10)
        "bangkok@example.org": [utc("2026-09-27T01:00")],
        "istanbul@example.org": [utc("2026-09-27T05:00")],
    }
    # a week later (the inactivity reminder repeats every 7 days) Sydney has moved to daylight time
    second = sweep(utc("2026-10-03T12:00"), utc("2026-10-04T12:00"), mailbox)
    assert second == {
        "kiritimati@example.org": [utc("2026-10-03T18:00")],
        "honolulu@example.org": [utc("2026-10-03T18:00")],
        "sydney@example.org": [utc("2026-10-03T21:00")],  # 08:00 AEDT (UTC+11)
        "bangkok@example.org": [utc("2026-10-04T01:00")],
        "istanbul@example.org": [utc("2026-10-04T05:00")],
    }
    for zone, address in LEARNERS.items():
        for moment in first[address] + second[address]:
            assert moment.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "08:00", zone
    assert sweep(utc("2026-10-03T12:00"), utc("2026-10-04T12:00"), mailbox) == {}
    assert len(mailbox.messages) == 10


def test_reminders_due_the_same_day_come_in_one_email(app: Flask, learner, cohort, mailbox: Inbox) -> None:
    user, enrolment = learner(last_active=utc("2026-11-20T03:00"))
    cohort(date(2026, 12, 2), [user], name="ASEAN port officials")
    for score in (20, 40):
        progress.record_quiz_result(enrolment, "first-steps", score, False, utc("2026-11-20T03:00"))
    db.session.commit()
    step(utc("2026-12-01T02:00"))
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["Subject"] == "3 reminders from Smart Port Academy"
    text = message.get_body(("plain",)).get_content()
    assert text.index("You enrolled in") < text.index("Your cohort ASEAN port officials is due to finish")
    assert 'is due to finish "Harbour basics" tomorrow, December 2, 2026.' in text
    assert 'The quiz on "The first steps" (Harbour basics) has not gone your way twice.' in text
    quiz_link = next(line for line in text.splitlines() if "/quizzes/" in line)
    assert quiz_link.startswith("http://localhost/quizzes/")
    assert [len(b.sendings) for b in bundles()] == [3]


def test_single_reminder_subjects(app: Flask, learner, cohort, mailbox: Inbox) -> None:
    recent = utc("2026-11-30T20:00")
    week, _ = learner(last_active=recent)
    cohort(date(2026, 12, 8), [week], name="Week")
    today, _ = learner(last_active=recent)
    cohort(date(2026, 12, 1), [today], name="Today")
    quiz, enrolment = learner(last_active=recent)
    for score in (20, 40):
        progress.record_quiz_result(enrolment, "first-steps", score, False, utc("2026-11-29T03:00"))
    db.session.commit()
    step(utc("2026-12-01T02:00"))
    subjects = {str(m["To"]): str(m["Subject"]) for m in mailbox.messages}
    assert subjects == {
        week.email: "Week: the course is due in 7 days",
        today.email: "Today: the course is due today",
        quiz.email: "Another try at the quiz on The first steps?",
    }


def test_the_learners_language_is_used_where_a_translation_exists(
    app: Flask, learner, mailbox: Inbox, cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    thai, _ = learner(last_active=utc("2026-11-30T20:00"), language="th")
    french, _ = learner(last_active=utc("2026-11-30T20:00"), language="fr")
    cohort(date(2026, 12, 8), [thai, french])
    # No catalogue exists yet; pretend French has one: dates follow the forced locale.
    monkeypatch.setattr(babel, "list_translations", lambda: [Locale.parse("en"), Locale.parse("fr")])
    step(utc("2026-12-01T02:00"))
    texts = {str(m["To"]): m.get_body(("plain",)).get_content() for m in mailbox.messages}
    assert "on December 8, 2026." in texts[thai.email], "no Thai translation: English"
    assert "on 8 décembre 2026." in texts[french.email]
    htmls = {str(m["To"]): m.get_body(("html",)).get_content() for m in mailbox.messages}
    assert '<html lang="en">' in htmls[thai.email] and '<html lang="fr">' in htmls[french.email]


def test_reminders_no_longer_due_at_sending_time_are_cancelled(app: Flask, learner, mailbox: Inbox) -> None:
    from learning.reminders import delivery

    user, enrolment = learner(last_active=utc("2026-11-20T03:00"))
    result = services.scan(utc("2026-12-01T02:00"))
    db.session.commit()
    enrolment.completed_at = utc("2026-12-01T02:01")  # finished in the minute between
    db.session.commit()
    outcome = delivery.deliver(result.pending)
    assert outcome.cancelled == result.pending and mailbox.messages == []
    assert [b.status for b in bundles()] == ["cancelled"]


def test_the_scan_task_queues_the_emails_after_its_commit(
    app: Flask, learner, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner(last_active=utc("2026-11-20T03:00"))
    learner(last_active=utc("2026-11-20T03:00"))
    queued: list[list[int]] = []

    class Queue:
        delay = staticmethod(queued.append)

    monkeypatch.setattr(tasks, "send_reminders", Queue)
    monkeypatch.setitem(app.config, "REMINDER_BATCH_SIZE", 1)
    scan = task(app, scan_reminders)
    scan.apply(kwargs={"as_of": "2026-12-01T02:00:00+00:00"})
    assert queued == [[b.id] for b in bundles()] and len(queued) == 2
    # a later scan that morning queues nothing new, and nothing already sent
    for bundle in bundles():
        bundle.status = "sent"
    db.session.commit()
    scan.apply(kwargs={"as_of": "2026-12-01T02:15:00+00:00"})
    assert len(queued) == 2
