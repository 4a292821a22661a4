"""Courses, enrolment, lessons and lesson completion."""

from __future__ import annotations

from flask import Response, g

from learning.api.routing import ApiError, api_route, bearer_or_401, unauthorized
from learning.api.schemas import (
    CompletionOut,
    CourseListOut,
    CourseOut,
    CourseSummaryOut,
    EnrolmentOut,
    LessonOut,
    LessonRefOut,
    ModuleOut,
    NeighbourOut,
    QuizRefOut,
)
from learning.auth.models import User
from learning.catalog import services as catalog
from learning.catalog.models import Course
from learning.content.spec import SLUG
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.lesson_access import lesson_access
from learning.progress.models import Enrolment
from learning.transactions import reads_without_transaction


def enrolment_out(enrolment: Enrolment | None) -> EnrolmentOut | None:
    if enrolment is None:
        return None
    return EnrolmentOut(
        course=enrolment.course.slug,
        status=enrolment.status,  # type: ignore[arg-type]
        enrolled_at=enrolment.enrolled_at,
        left_at=enrolment.left_at,
        percent=enrolment.percent,
        started_at=enrolment.started_at,
        completed_at=enrolment.completed_at,
        version=enrolment.version.number,
    )


def course_or_404(slug: str) -> Course:
    # A slug no course can have (a NUL in it, from an offline client's sync event, answered 500 on
    # PostgreSQL: found by the API fuzzer at 10,000 calls) is not looked up at all.
    course = catalog.course_by_slug(slug) if SLUG.fullmatch(slug) else None
    if course is None or course.current_version_id is None:
        raise ApiError(404, "not_found", "No such course.")
    return course


def studying(course: Course) -> Enrolment:
    try:
        return progress.active_enrolment(g.api_user, course)
    except progress.ProgressError as exc:
        raise forbidden(exc) from None


def forbidden(refusal: progress.ProgressError) -> ApiError:
    return ApiError(403, refusal.code, refusal.message)


@api_route("/courses", "GET", summary="The published courses", response=CourseListOut, errors=(401,))
@reads_without_transaction
def list_courses() -> CourseListOut:
    enrolments = {e.course_id: e for e in progress.enrolments_of(g.api_user)}
    items = []
    for course in catalog.published_courses():
        version = course.current_version
        assert version is not None
        items.append(
            CourseSummaryOut(
                slug=course.slug,
                title=version.title,
                summary=version.summary,
                hours=version.hours,
                language=version.language,
                version=version.number,
                archived=course.is_archived,
                enrolment=enrolment_out(enrolments.get(course.id)),
            )
        )
    return CourseListOut(items=items)


@api_route(
    "/courses/<slug>",
    "GET",
    summary="A course with its modules, lessons and the learner's progress",
    response=CourseOut,
    errors=(401, 404),
)
@reads_without_transaction
def get_course(slug: str) -> CourseOut:
    course = course_or_404(slug)
    enrolment = progress.find_enrolment(g.api_user, course)
    if course.is_archived and enrolment is None:
        raise ApiError(404, "not_found", "No such course.")
    version_id = enrolment.version_id if enrolment else course.current_version_id
    assert version_id is not None
    version = catalog.version_with_content(version_id)
    assert version is not None
    state = progress.progress_for(enrolment, version_id)
    modules = []
    for module in version.modules:
        m = state.modules[module.slug]
        modules.append(
            ModuleOut(
                slug=module.slug,
                title=module.title,
                summary=module.summary,
                objectives=module.objectives,
                percent=m.percent,
                completed_at=m.completed_at,
                lessons=[
                    LessonRefOut(
                        slug=lesson.slug,
                        title=lesson.title,
                        minutes=lesson.minutes,
                        status="completed" if lesson.slug in state.completed_lessons else "not_started",
                    )
                    for lesson in module.lessons
                ],
                quiz=QuizRefOut(
                    id=module.quiz.id,
                    title=module.quiz.title,
                    pass_mark=module.quiz.pass_mark,
                    passed=m.quiz_passed,
                    best_score=m.best_score,
                )
                if module.quiz
                else None,
            )
        )
    return CourseOut(
        slug=course.slug,
        title=version.title,
        summary=version.summary,
        description_html=version.description_html,
        hours=version.hours,
        language=version.language,
        version=version.number,
        archived=course.is_archived,
        enrolment=enrolment_out(enrolment),
        next_lesson=state.next_lesson(progress.outline(version_id)) if enrolment else None,
        modules=modules,
    )


@api_route(
    "/courses/<slug>/enrolment",
    "PUT",
    summary="Enrol (idempotent; brings back a learner who left)",
    response=EnrolmentOut,
    errors=(401, 404, 409),
)
def put_enrolment(slug: str) -> tuple[EnrolmentOut, int]:
    course = course_or_404(slug)
    existed = progress.find_enrolment(g.api_user, course)
    was_active = existed is not None and existed.is_active
    try:
        enrolment = progress.enrol(g.api_user, course)
    except progress.ProgressError as exc:
        raise ApiError(409, exc.code, exc.message) from None
    db.session.commit()
    out = enrolment_out(enrolment)
    assert out is not None
    return out, 200 if was_active else 201


@api_route(
    "/courses/<slug>/enrolment",
    "DELETE",
    summary="Leave the course (progress is kept)",
    status=204,
    errors=(401, 404),
)
def delete_enrolment(slug: str) -> None:
    course = course_or_404(slug)
    enrolment = progress.find_enrolment(g.api_user, course)
    if enrolment is None:
        raise ApiError(404, "not_enrolled", "You are not enrolled in this course.")
    progress.leave(enrolment)
    db.session.commit()


@api_route(
    "/courses/<slug>/lessons/<lesson_slug>",
    "GET",
    summary="A lesson with its rendered HTML",
    response=LessonOut,
    errors=(401, 403, 404),
)
@reads_without_transaction
def get_lesson(slug: str, lesson_slug: str) -> LessonOut:
    # The token is checked in the same statement that reads the learner's access to the lesson.
    found = lesson_access("token", bearer_or_401(), slug, lesson_slug)
    if found is None:
        raise unauthorized()
    learner, access = found
    if not access.published:
        raise ApiError(404, "not_found", "No such course.")
    if access.version_id is None:
        g.api_user = db.session.get(User, learner.id)  # the refusal is logged with who asked
        raise forbidden(progress.not_enrolled())
    lesson = catalog.lesson_in_version(access.version_id, lesson_slug)
    if lesson is None:
        raise ApiError(404, "not_found", "No such lesson in this course.")
    out = progress.outline(access.version_id)
    before, after = out.neighbours(lesson.slug)
    return LessonOut(
        slug=lesson.slug,
        title=lesson.title,
        minutes=lesson.minutes,
        html=lesson.html,
        module=NeighbourOut(slug=lesson.module.slug, title=lesson.module.title),
        previous=NeighbourOut(slug=before, title=out.lesson_title(before)) if before else None,
        next=NeighbourOut(slug=after, title=out.lesson_title(after)) if after else None,
        completed_at=access.completed_at,
    )


@api_route(
    "/courses/<slug>/lessons/<lesson_slug>/completion",
    "PUT",
    summary="Mark a lesson complete (idempotent: the first completion time is kept)",
    response=CompletionOut,
    errors=(401, 403, 404),
)
def put_completion(slug: str, lesson_slug: str) -> CompletionOut | Response:
    course = course_or_404(slug)
    enrolment = studying(course)
    try:
        newly = progress.complete_lesson(enrolment, lesson_slug)
    except progress.ProgressError as exc:
        raise ApiError(404, exc.code, exc.message) from None
    db.session.commit()
    return completion_out(enrolment, lesson_slug, newly)


def completion_out(enrolment: Enrolment, lesson_slug: str, newly: bool) -> CompletionOut:
    state = progress.progress_for(enrolment, enrolment.version_id)
    module = progress.outline(enrolment.version_id).module_of(lesson_slug)
    return CompletionOut(
        lesson=lesson_slug,
        completed_at=state.completed_lessons[lesson_slug],
        newly_completed=newly,
        course_percent=enrolment.percent,
        module_completed_at=state.modules[module.slug].completed_at,
        course_completed_at=enrolment.completed_at,
    )
