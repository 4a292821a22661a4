"""A required capstone holds completion (and so the certificate) back until the plan is accepted."""

from __future__ import annotations

from sqlalchemy import select

from learning.capstone.models import CapstoneSubmission
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from tests.capstone.conftest import post_plan, post_review
from tests.fixtures.completion import complete_course


def test_required_capstone_completes_the_course_on_acceptance(
    client, other_client, login, learner, trainer, with_capstone, course
) -> None:
    with_capstone(required=True)
    fired: list[int] = []
    progress.course_completed_listeners.append(fired.append)
    try:
        enrolment = progress.find_enrolment(learner, course)
        assert enrolment is not None
        complete_course(enrolment)
        db.session.commit()
        db.session.refresh(enrolment)
        assert enrolment.percent == 100 and enrolment.completed_at is None and fired == []

        login(client, learner)
        login(other_client, trainer)
        post_plan(client)
        submission = db.session.scalar(select(CapstoneSubmission))
        assert submission is not None
        post_review(other_client, submission.id, accept=False, comment="Not yet.")
        assert db.session.get(Enrolment, enrolment.id).completed_at is None  # type: ignore[union-attr]
        post_plan(client)
        post_review(other_client, submission.id, accept=True)
        db.session.refresh(enrolment)
        assert enrolment.completed_at is not None
        assert fired == [enrolment.id]
    finally:
        progress.course_completed_listeners.remove(fired.append)


def test_optional_capstone_does_not_hold_completion(learner, with_capstone, course) -> None:
    with_capstone(required=False)
    enrolment = progress.find_enrolment(learner, course)
    assert enrolment is not None
    complete_course(enrolment)
    db.session.commit()
    db.session.refresh(enrolment)
    assert enrolment.completed_at is not None
