"""`flask demo generate`: realistic synthetic learners, consistent with the progress services."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from learning.auth.models import User
from learning.cohorts.models import CohortMember
from learning.db import utcnow
from learning.extensions import db
from learning.progress import services
from learning.progress.models import Enrolment, LessonCompletion
from learning.quizzes.models import QuizAttempt
from learning.reports import demo, queries
from learning.reports.filters import Filters


def test_generate_makes_learners_of_the_region_with_their_progress(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "generate", "--learners", "60", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "Added 60 demo learners" in result.output
    users = db.session.scalars(select(User).where(User.email.endswith(f"@{demo.DEMO_DOMAIN}"))).all()
    assert len(users) == 60
    assert all(u.password_hash is None and u.full_name.startswith("Demo learner") for u in users)
    assert {u.country for u in users} <= {code for code, *_ in demo.REGION}
    assert len({u.country for u in users}) > 5
    enrolments = db.session.scalars(select(Enrolment)).all()
    assert len(enrolments) >= 60
    assert any(e.completed_at for e in enrolments) and any(e.started_at is None for e in enrolments)
    assert all(e.enrolled_at <= (e.completed_at or e.enrolled_at) <= utcnow() for e in enrolments)
    assert db.session.scalar(select(func.count()).select_from(LessonCompletion)) > 100
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) > 20
    assert db.session.scalar(select(func.count()).select_from(CohortMember)) > 0
    assert queries.headline(Filters()).rows[1].cells[1] == len(enrolments)  # type: ignore[index]


def test_the_generated_state_is_what_the_progress_services_would_keep(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["demo", "generate", "--learners", "40", "--seed", "11"]).exit_code == 0
    mismatches = []
    for enrolment in db.session.scalars(select(Enrolment)).all():
        kept = (enrolment.percent, enrolment.completed_at, enrolment.started_at, enrolment.halfway_at)
        state = services.progress_for(enrolment, enrolment.version_id)
        marked_wrongly = [
            m.slug for m in state.modules.values() if m.is_complete != (m.completed_at is not None)
        ]
        services.recompute(enrolment, enrolment.last_activity_at or utcnow())
        if marked_wrongly or (enrolment.percent, enrolment.completed_at, enrolment.started_at,
                              enrolment.halfway_at) != kept:  # fmt: skip
            mismatches.append((enrolment.id, kept, marked_wrongly))
    assert mismatches == []


def test_it_refuses_a_database_with_real_learners_unless_forced(
    runner: FlaskCliRunner, create_user: Callable[..., User]
) -> None:
    create_user(roles=("secretariat",))  # staff are not learners
    assert runner.invoke(args=["demo", "generate", "--learners", "2"]).exit_code == 0
    create_user()
    refused = runner.invoke(args=["demo", "generate", "--learners", "2"])
    assert refused.exit_code == 1 and "holds 1 real learners" in refused.output
    assert runner.invoke(args=["demo", "generate", "--learners", "2", "--force"]).exit_code == 0
    demo_users = select(func.count()).select_from(User).where(User.email.endswith(f"@{demo.DEMO_DOMAIN}"))
    assert db.session.scalar(demo_users) == 4
