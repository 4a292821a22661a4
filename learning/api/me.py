"""The learner's own progress, and offline events applied exactly once."""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from learning.api.courses import completion_out, course_or_404, studying
from learning.api.quizzes import quiz_for_learner, submit
from learning.api.routing import ApiError, api_route
from learning.api.schemas import (
    AttemptEventIn,
    CourseProgressOut,
    LessonEventIn,
    ModuleProgressOut,
    ProgressOut,
    SyncIn,
    SyncOut,
    SyncResultOut,
)
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import SyncEvent


@api_route(
    "/me/progress", "GET", summary="Progress in every course, per module", response=ProgressOut, errors=(401,)
)
def my_progress() -> ProgressOut:
    courses = []
    for enrolment in progress.enrolments_of(g.api_user):
        state = progress.progress_for(enrolment, enrolment.version_id)
        courses.append(
            CourseProgressOut(
                slug=enrolment.course.slug,
                status=enrolment.status,  # type: ignore[arg-type]
                percent=enrolment.percent,
                started_at=enrolment.started_at,
                completed_at=enrolment.completed_at,
                last_activity_at=enrolment.last_activity_at,
                next_lesson=state.next_lesson(progress.outline(enrolment.version_id)),
                modules=[
                    ModuleProgressOut(
                        slug=m.slug, percent=m.percent, completed_at=m.completed_at, best_score=m.best_score
                    )
                    for m in state.modules.values()
                ],
            )
        )
    return ProgressOut(courses=courses)


def _apply(event: LessonEventIn | AttemptEventIn) -> dict[str, Any]:
    if isinstance(event, LessonEventIn):
        enrolment = studying(course_or_404(event.course))
        try:
            newly = progress.complete_lesson(enrolment, event.lesson, event.occurred_at)
        except progress.ProgressError as exc:
            raise ApiError(404, exc.code, exc.message) from None
        return completion_out(enrolment, event.lesson, newly).model_dump(mode="json")
    quiz, enrolment = quiz_for_learner(event.quiz)
    return submit(enrolment, quiz, event.answers, event.occurred_at).model_dump(mode="json")


@api_route(
    "/me/progress/sync",
    "POST",
    summary="Apply offline events; each event id is applied once, however often it is sent",
    body=SyncIn,
    response=SyncOut,
    errors=(400, 401, 415, 422),
)
def sync_progress(body: SyncIn) -> SyncOut:
    user = g.api_user
    ids = [str(event.id) for event in body.events]
    stored = {
        row.client_id: row
        for row in db.session.scalars(
            select(SyncEvent).where(SyncEvent.user_id == user.id, SyncEvent.client_id.in_(ids))
        )
    }
    results: list[SyncResultOut] = []
    for event in body.events:
        client_id = str(event.id)
        if client_id in stored:
            results.append(SyncResultOut(id=client_id, status="duplicate", result=stored[client_id].result))
            continue
        savepoint = db.session.begin_nested()
        try:
            # Claim the event id first: a concurrent resend fails here and applies nothing.
            claim = SyncEvent(user_id=user.id, client_id=client_id, type=event.type, result={})
            db.session.add(claim)
            db.session.flush()
            claim.result = _apply(event)
            db.session.flush()
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            results.append(SyncResultOut(id=client_id, status="duplicate"))
            continue
        except ApiError as exc:
            savepoint.rollback()
            results.append(SyncResultOut(id=client_id, status="rejected", error=exc.code))
            continue
        stored[client_id] = claim
        results.append(SyncResultOut(id=client_id, status="applied", result=claim.result))
    db.session.commit()
    return SyncOut(results=results)
