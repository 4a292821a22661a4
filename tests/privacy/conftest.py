"""A learner with something in every table that can hold a person's data, and a way to find their traces."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import String, select
from sqlalchemy.types import JSON

from learning.auth import services as auth
from learning.auth.models import AuthAttempt, PasswordReset, User
from learning.capstone import services as capstone
from learning.capstone.models import CapstoneSubmission
from learning.catalog.models import Course, CourseMember, CourseVersion
from learning.certificates.models import Certificate
from learning.cohorts import services as cohorts
from learning.cohorts.models import CohortInvitation
from learning.db import utcnow
from learning.extensions import db
from learning.progress.models import Enrolment, SyncEvent
from learning.reminders.models import ReminderBundle, ReminderOptOut, ReminderSending
from learning.uploads import Upload
from tests.capstone.conftest import PDF, capstone_block
from tests.fixtures.completion import complete_course

ADDRESS = "203.0.113.77"


@dataclass
class Traces:
    """The strings that are this person's and must not survive erasure anywhere in the database."""

    user: User
    enrolment: Enrolment
    name: str
    email: str
    organisation: str
    job_title: str
    plan_text: str
    review_comment: str
    attachment_key: str
    pdf_key: str
    certificate_code: str

    def strings(self) -> list[str]:
        return [
            self.name, self.email, self.organisation, self.job_title, self.plan_text, self.review_comment,
            ADDRESS,
        ]  # fmt: skip


@pytest.fixture
def rich_learner(app: object, course: Course, create_user: Callable[..., User]) -> Callable[..., Traces]:
    """Return a function that makes a learner who completed the course and left data everywhere."""

    def make(number: int = 1) -> Traces:
        name = f"Somchai Privacy{number} Jaidee"
        email = f"somchai.privacy{number}@port.example.org"
        organisation = f"Laem Chabang Port Authority {number}"
        job_title = f"Harbour master {number}"
        user = create_user(
            email=email,
            full_name=name,
            organisation=organisation,
            job_title=job_title,
            consent_share_progress=True,
        )
        trainer = create_user(roles=("trainer",))
        version = db.session.get(CourseVersion, course.current_version_id)
        assert version is not None
        version.capstone = capstone_block(required=False)
        cohort = cohorts.create_cohort(
            course, f"Cohort {number}", date(2026, 1, 1), date(2027, 1, 1), trainer
        )
        cohorts.join(cohort, user, course)
        db.session.add(
            CohortInvitation(
                cohort_id=cohort.id, email=email, token_hash=f"{number:063d}1", invited_by_id=trainer.id,
                created_at=utcnow(), expires_at=utcnow() + timedelta(days=7), accepted_at=utcnow(),
                accepted_user_id=user.id,
            )
        )  # fmt: skip
        enrolment = db.session.scalar(
            select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)
        )
        assert enrolment is not None
        plan_text = f"Digitise the berth planning of terminal {number} by 2027."
        plan = capstone.save(
            enrolment,
            {"where-you-stand": plan_text, "what-you-will-do": "Deploy a port community system."},
            Upload(PDF + str(number).encode(), "application/pdf", "pdf"),
            "my plan.pdf",
            submit=True,
        )
        db.session.commit()
        review_comment = f"Good plan {number}; add the budget."
        capstone.review(plan, trainer, accept=True, comment=review_comment)
        complete_course(enrolment)
        db.session.add(CourseMember(course_id=course.id, user_id=user.id, role="co_author"))
        auth.start_session(user)
        auth.create_api_token(user)
        now = utcnow()
        db.session.add_all(
            [
                AuthAttempt(kind="login", address=ADDRESS, email=email, succeeded=True, created_at=now),
                PasswordReset(
                    user_id=user.id,
                    token_hash=f"{number:064d}",
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                ),
                SyncEvent(
                    user_id=user.id,
                    client_id=f"00000000-0000-4000-8000-{number:012d}",
                    type="lesson_completed",
                    result={"lesson": "first-a"},
                ),  # fmt: skip
                ReminderOptOut(user_id=user.id, rule="deadline", created_at=now),
            ]
        )
        bundle = ReminderBundle(
            user_id=user.id, local_date=date(2026, 12, 1), status="failed", attempts=1, due_at=now,
            error=f"550 5.1.1 <{email}>: no such user",
        )  # fmt: skip
        db.session.add(bundle)
        db.session.flush()
        db.session.add(
            ReminderSending(
                user_id=user.id, rule="inactivity", course_id=course.id, subject="course",
                period="2026-12-01", local_date=date(2026, 12, 1), due_at=now, bundle_id=bundle.id,
            )
        )  # fmt: skip
        db.session.commit()  # the completion's listener issues the certificate (eager task)
        certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
        assert certificate is not None and certificate.pdf_key, "the certificate was not issued"
        stored = db.session.scalar(
            select(CapstoneSubmission).where(CapstoneSubmission.enrolment_id == enrolment.id)
        )
        assert stored is not None and stored.attachment_key
        return Traces(
            user=user, enrolment=enrolment, name=name, email=email, organisation=organisation,
            job_title=job_title, plan_text=plan_text, review_comment=review_comment,
            attachment_key=stored.attachment_key, pdf_key=certificate.pdf_key,
            certificate_code=certificate.code,
        )  # fmt: skip

    return make


def database_text() -> str:
    """Every text and JSON value of every row of every table, as one string to search."""
    parts: list[str] = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | JSON)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            parts.extend(
                json.dumps(value, default=str) if not isinstance(value, str) else value for value in row
            )
    return "\n".join(parts)
