"""Cohorts: a trainer creates one, adds learners from a list or a CSV file (all rows or none), invites
people without an account, follows the grid and exports it."""

from __future__ import annotations

import csv
import io
import re
import time
import tracemalloc
import zipfile
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from learning.catalog.models import Course, CourseMember
from learning.cohorts.models import Cohort, CohortInvitation, CohortMember
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from tests.capstone.conftest import post_multipart
from tests.conftest import csrf_from, post_form


@pytest.fixture
def trainer_client(client: FlaskClient, create_user, login, course: Course) -> FlaskClient:
    trainer = create_user(roles=("trainer",), full_name="Trainer Tan")
    db.session.add(CourseMember(course_id=course.id, user_id=trainer.id, role="owner"))
    db.session.commit()
    login(client, trainer)
    return client


def make_cohort(client: FlaskClient) -> Cohort:
    response = post_form(
        client,
        "/authoring/courses/harbour-basics/cohorts",
        {"name": "Ministry intake Q1", "starts_on": "2027-01-05", "due_on": "2027-03-31"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Cohort))


def add(client: FlaskClient, cohort: Cohort, emails: str = "", csv_bytes: bytes | None = None):  # noqa: ANN201
    page = client.get(f"/authoring/cohorts/{cohort.id}").get_data(as_text=True)
    data: dict[str, object] = {"csrf_token": csrf_from(page), "emails": emails}
    if csv_bytes is not None:
        data["csv_file"] = FileStorage(io.BytesIO(csv_bytes), "learners.csv")
    return post_multipart(client, f"/authoring/cohorts/{cohort.id}/members", data)


def test_learners_join_and_strangers_are_invited(trainer_client: FlaskClient, create_user, mailbox) -> None:
    cohort = make_cohort(trainer_client)
    assert cohort.due_on == date(2027, 3, 31)
    known = create_user(email="known@port.go.th")
    response = add(trainer_client, cohort, "Known@Port.go.th\nnew.person@marine.gov.my")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CohortMember)) == 1
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == known.id))
    assert enrolment is not None and enrolment.is_active
    assert [m["To"] for m in mailbox.messages] == ["new.person@marine.gov.my"]
    text = mailbox.messages[0].get_body(("plain",)).get_content()
    assert "Ministry intake Q1" in text and "Trainer Tan" in text
    link = re.search(r"http://localhost(/invitations/\S+)", text).group(1)

    # the stranger registers through the link: account, cohort and enrolment at once; the link works once
    newcomer = trainer_client.application.test_client()
    page = newcomer.get(link).get_data(as_text=True)
    assert 'value="new.person@marine.gov.my"' in page
    data = {
        "csrf_token": csrf_from(page),
        "email": "attacker@example.org",
        "password": "a long passphrase here",
        "confirm": "a long passphrase here",
        "full_name": "Nur Aisyah",
        "country": "MY",
        "organisation": "Marine Department",
        "organisation_type": "maritime_administration",
        "job_title": "Officer",
        "language": "ms",
        "timezone": "Asia/Kuala_Lumpur",
    }
    response = newcomer.post(link, data=data)
    assert response.status_code == 302
    invitation = db.session.scalar(select(CohortInvitation))
    assert invitation.accepted_at is not None
    from learning.auth.models import User

    user = db.session.scalar(select(User).where(User.full_name == "Nur Aisyah"))
    assert user.email == "new.person@marine.gov.my"  # the invited address, not what the form claimed
    assert db.session.scalar(select(func.count()).select_from(CohortMember)) == 2
    again = trainer_client.application.test_client().get(link)
    assert again.status_code == 404 and "does not work any more" in again.get_data(as_text=True)


def test_a_bad_csv_reports_every_row_and_changes_nothing(
    trainer_client: FlaskClient, create_user, mailbox
) -> None:
    cohort = make_cohort(trainer_client)
    create_user(email="ok@example.org")
    body = b"name,email\nA,ok@example.org\nB,not-an-email\nC,OK@example.org\nD,\nE,second@example.org\n"
    response = add(trainer_client, cohort, csv_bytes=body)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "line 3" in page and "not-an-email" in page
    assert "line 4" in page and "the same address as line 2" in page
    assert "line 5" in page
    assert db.session.scalar(select(func.count()).select_from(CohortMember)) == 0
    assert db.session.scalar(select(func.count()).select_from(CohortInvitation)) == 0
    assert mailbox.messages == []
    assert add(trainer_client, cohort, csv_bytes=b"\xff\xfe\x00bad").status_code == 422
    assert add(trainer_client, cohort, "").status_code == 422


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("learners.csv", b"email\n" + b"0" * 20_000_000)
    return buffer.getvalue()


HOSTILE_CSV = {
    "an image behind .csv": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 422),
    "a zip bomb behind .csv": (_zip_bomb(), 422),
    "UTF-16": ("email\nlearner@example.org\n".encode("utf-16"), 422),
    "a NUL byte": (b"email\nlearner@example.org\x00\n", 422),
    "a cell past the csv module's limit": (b"email\n" + b"a" * 200_000 + b"@example.org\n", 422),
    "an unclosed quote": (b'email\n"' + b"a" * 300_000, 422),
    "a YAML alias bomb": (b"a: &a [x, x]\nb: &b [*a, *a]\n", 422),
    "larger than 2 MB": (b"email\n" + b"learner@example.org\n" * 120_000, 422),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CSV))
def test_hostile_csv_files_are_refused_and_change_nothing(
    trainer_client: FlaskClient, mailbox, case: str
) -> None:
    """Refused with the page's problem list (never a 500), nothing applied; time and memory printed."""
    data, status = HOSTILE_CSV[case]
    cohort = make_cohort(trainer_client)
    tracemalloc.start()
    started = time.perf_counter()
    response = add(trainer_client, cohort, csv_bytes=data)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = f"{elapsed * 1000:.1f} ms, peak {peak / 2**20:.2f} MB"
    print(f"\ncohort CSV {case!r}: {response.status_code} in {figures}")
    assert response.status_code == status
    assert "problem" in response.get_data(as_text=True).lower() or "larger" in response.get_data(as_text=True)
    assert peak < 50 * 1024 * 1024
    assert db.session.scalar(select(func.count()).select_from(CohortMember)) == 0
    assert db.session.scalar(select(func.count()).select_from(CohortInvitation)) == 0
    assert mailbox.messages == []


def test_a_good_csv_adds_everyone(trainer_client: FlaskClient, create_user, mailbox) -> None:
    cohort = make_cohort(trainer_client)
    create_user(email="one@example.org")
    create_user(email="two@example.org")
    response = add(
        trainer_client, cohort, csv_bytes=b"\xef\xbb\xbfemail\none@example.org\n\ntwo@example.org\n"
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CohortMember)) == 2


def test_grid_and_csv_export(trainer_client: FlaskClient, create_user, course: Course) -> None:
    cohort = make_cohort(trainer_client)
    learner = create_user(email="grid@example.org", full_name='=HYPERLINK("x")')
    add(trainer_client, cohort, "grid@example.org")
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == learner.id))
    progress.complete_lesson(enrolment, "first-a")
    progress.complete_lesson(enrolment, "first-b")
    from learning.quizzes.models import Quiz
    from learning.quizzes.services import submit_attempt

    quiz = db.session.scalars(select(Quiz).order_by(Quiz.id)).first()
    submit_attempt(enrolment, quiz, {q.id: [c.id for c in q.choices if c.is_correct] for q in quiz.questions})
    db.session.commit()
    page = trainer_client.get(f"/authoring/cohorts/{cohort.id}").get_data(as_text=True)
    assert "grid@example.org" in page and "✓ 100%" in page
    response = trainer_client.get(f"/authoring/cohorts/{cohort.id}/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert rows[0][:6] == ["name", "email", "country", "organisation", "percent", "completed_at"]
    assert rows[1][0] == '\'=HYPERLINK("x")' and rows[1][4] == "50"
    assert rows[1][6:8] == ["yes", "100"] and rows[1][8:10] == ["no", ""]


def test_due_before_start_is_refused(trainer_client: FlaskClient) -> None:
    response = post_form(
        trainer_client,
        "/authoring/courses/harbour-basics/cohorts",
        {"name": "Backwards", "starts_on": "2027-03-31", "due_on": "2027-01-05"},
    )
    assert response.status_code == 200 and "must not be before" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Cohort)) == 0


def test_other_trainers_cannot_see_a_cohort(trainer_client: FlaskClient, create_user, login, app) -> None:
    cohort = make_cohort(trainer_client)
    other = app.test_client()
    other.environ_base["wsgi.url_scheme"] = "https"
    login(other, create_user(roles=("trainer",)))
    assert other.get(f"/authoring/cohorts/{cohort.id}").status_code == 403
    assert other.get(f"/authoring/cohorts/{cohort.id}/export.csv").status_code == 403
    assert other.get("/authoring/cohorts/99999").status_code == 404
