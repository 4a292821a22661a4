"""Enrolment and progress: every write is an upsert on a unique key, under a lock on the enrolment,
and completion times are set once (RELIABILITY rule 1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial

from flask_babel import gettext as _
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from learning.audit import services as audit
from learning.auth.models import User
from learning.catalog.models import Course, CourseVersion, Module
from learning.catalog.services import clear_lesson_cache
from learning.db import insert_for, utcnow
from learning.extensions import db
from learning.outbox import after_commit
from learning.progress.fragments import clear_fragment_cache
from learning.progress.models import Enrolment, LessonCompletion, ModuleState

# Called with an enrolment id after a course completion has been committed (certificates hook in here).
course_completed_listeners: list[Callable[[int], None]] = []


class ProgressError(Exception):
    """A request the learner's state does not allow; ``code`` names it for the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OutlineModule:
    slug: str
    title: str
    lessons: tuple[tuple[str, str], ...]  # (slug, title)
    quiz_id: int | None

    @property
    def lesson_slugs(self) -> tuple[str, ...]:
        return tuple(slug for slug, _ in self.lessons)


@dataclass(frozen=True)
class Outline:
    """The immutable shape of a course version: enough for progress, navigation and "continue"."""

    version_id: int
    modules: tuple[OutlineModule, ...]

    @property
    def lesson_slugs(self) -> tuple[str, ...]:
        return tuple(slug for module in self.modules for slug in module.lesson_slugs)

    def lesson_title(self, slug: str) -> str:
        return next(title for module in self.modules for s, title in module.lessons if s == slug)

    def neighbours(self, slug: str) -> tuple[str | None, str | None]:
        """Return the slugs of the lessons before and after ``slug`` in course order."""
        slugs = self.lesson_slugs
        index = slugs.index(slug)
        return (slugs[index - 1] if index > 0 else None, slugs[index + 1] if index + 1 < len(slugs) else None)

    def module_of(self, lesson_slug: str) -> OutlineModule:
        return next(m for m in self.modules if lesson_slug in m.lesson_slugs)


def _build_outline(version_id: int) -> Outline:
    modules = db.session.scalars(
        select(Module)
        .where(Module.version_id == version_id)
        .options(selectinload(Module.lessons), selectinload(Module.quiz))
        .order_by(Module.position)
    ).all()
    return Outline(
        version_id,
        tuple(
            OutlineModule(
                m.slug,
                m.title,
                tuple((lesson.slug, lesson.title) for lesson in m.lessons),
                m.quiz.id if m.quiz else None,
            )
            for m in modules
        ),
    )


_outline_cached = lru_cache(maxsize=256)(_build_outline)


def outline(version_id: int, fresh: bool = False) -> Outline:
    """Return the outline of a version. Published versions never change, so theirs is cached;
    a draft's (``fresh``) is read again each time."""
    return _build_outline(version_id) if fresh else _outline_cached(version_id)


def clear_outline_cache() -> None:
    """Forget cached outlines and lessons (tests that roll back may reuse version ids)."""
    _outline_cached.cache_clear()
    clear_lesson_cache()
    clear_fragment_cache()


@dataclass
class ModuleProgress:
    slug: str
    lessons_total: int
    lessons_done: int
    has_quiz: bool
    quiz_passed: bool
    best_score: int | None
    attempts: int
    completed_at: datetime | None

    @property
    def percent(self) -> int:
        total = self.lessons_total + (1 if self.has_quiz else 0)
        done = self.lessons_done + (1 if self.quiz_passed else 0)
        return 100 * done // total if total else 100

    @property
    def is_complete(self) -> bool:
        return self.lessons_done == self.lessons_total and (self.quiz_passed or not self.has_quiz)


@dataclass
class CourseProgress:
    enrolment: Enrolment | None
    completed_lessons: dict[str, datetime] = field(default_factory=dict)
    modules: dict[str, ModuleProgress] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return self.enrolment.percent if self.enrolment else 0

    def next_lesson(self, out: Outline) -> str | None:
        """The lesson to continue with: the first one in order not yet completed."""
        for slug in out.lesson_slugs:
            if slug not in self.completed_lessons:
                return slug
        return None


def progress_for(enrolment: Enrolment | None, version_id: int, fresh: bool = False) -> CourseProgress:
    """Read a learner's progress through a version in two queries."""
    out = outline(version_id, fresh)
    if enrolment is None:
        states: dict[str, ModuleState] = {}
        done: dict[str, datetime] = {}
    else:
        rows = db.session.execute(
            select(LessonCompletion.lesson_slug, LessonCompletion.completed_at).where(
                LessonCompletion.enrolment_id == enrolment.id
            )
        )
        done = {slug: at for slug, at in rows}  # noqa: C416 - rows are Row objects, not pairs to mypy
        states = {
            s.module_slug: s
            for s in db.session.scalars(select(ModuleState).where(ModuleState.enrolment_id == enrolment.id))
        }
    result = CourseProgress(enrolment, done)
    for module in out.modules:
        state = states.get(module.slug)
        result.modules[module.slug] = ModuleProgress(
            slug=module.slug,
            lessons_total=len(module.lessons),
            lessons_done=sum(1 for lesson in module.lesson_slugs if lesson in done),
            has_quiz=module.quiz_id is not None,
            quiz_passed=bool(state and state.quiz_passed_at),
            best_score=state.best_score if state else None,
            attempts=state.attempts if state else 0,
            completed_at=state.completed_at if state else None,
        )
    return result


def enrolments_of(user: User) -> list[Enrolment]:
    """All the learner's enrolments with their courses and versions, newest activity first."""
    return list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.user_id == user.id)
            .options(joinedload(Enrolment.course), joinedload(Enrolment.version))
            .order_by(Enrolment.last_activity_at.desc().nulls_last(), Enrolment.enrolled_at.desc())
        )
    )


def completed_lessons_of(enrolments: list[Enrolment]) -> dict[int, set[str]]:
    """Completed lesson slugs per enrolment, in one query."""
    done: dict[int, set[str]] = {e.id: set() for e in enrolments}
    if done:
        rows = db.session.execute(
            select(LessonCompletion.enrolment_id, LessonCompletion.lesson_slug).where(
                LessonCompletion.enrolment_id.in_(list(done))
            )
        )
        for enrolment_id, slug in rows:
            done[enrolment_id].add(slug)
    return done


def find_enrolment(user: User, course: Course) -> Enrolment | None:
    """Return the learner's enrolment in ``course`` (active or left), if any."""
    return db.session.scalar(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)
    )


def lock_enrolment(enrolment_id: int) -> Enrolment:
    # FOR UPDATE serializes concurrent writes for one learner on PostgreSQL; SQLite's
    # BEGIN IMMEDIATE (see learning.db) already serializes writers.
    enrolment = db.session.scalar(
        select(Enrolment)
        .where(Enrolment.id == enrolment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert enrolment is not None
    return enrolment


def enrol(user: User, course: Course) -> Enrolment:
    """Enrol ``user`` in ``course`` (or bring back a learner who left); idempotent."""
    if course.current_version_id is None:
        raise ProgressError("not_published", _("This course has no published version yet."))
    existing = find_enrolment(user, course)
    if existing is None and course.is_archived:
        raise ProgressError("archived", _("This course is archived and takes no new enrolments."))
    now = utcnow()
    stmt = insert_for(Enrolment).values(
        user_id=user.id,
        course_id=course.id,
        version_id=course.current_version_id,
        status="active",
        enrolled_at=now,
        percent=0,
        country=user.country,
        organisation_type=user.organisation_type,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Enrolment.user_id, Enrolment.course_id],
        set_={
            "status": "active",
            "left_at": None,
            "country": user.country,
            "organisation_type": user.organisation_type,
        },  # fmt: skip
        where=Enrolment.status == "left",
    )
    db.session.execute(stmt)
    enrolment = find_enrolment(user, course)
    assert enrolment is not None
    db.session.refresh(enrolment)
    if existing is None or not existing.is_active:
        audit.record("enrolment.join", actor_id=user.id, course_id=course.id, subject=user.email)
    return enrolment


def leave(enrolment: Enrolment) -> None:
    """Mark the learner as having left the course; their progress is kept for a return."""
    left = db.session.execute(
        update(Enrolment)
        .where(Enrolment.id == enrolment.id, Enrolment.status == "active")
        .values(status="left", left_at=utcnow())
        .returning(Enrolment.id)
    ).first()
    db.session.refresh(enrolment)
    if left is not None:
        audit.record("enrolment.leave", actor_id=enrolment.user_id, course_id=enrolment.course_id)


def active_enrolment(user: User, course: Course) -> Enrolment:
    """Return the learner's active enrolment or raise ProgressError('not_enrolled')."""
    enrolment = find_enrolment(user, course)
    if enrolment is None or not enrolment.is_active:
        raise not_enrolled()
    return enrolment


def not_enrolled() -> ProgressError:
    return ProgressError("not_enrolled", _("Enrol in the course first."))


def complete_lesson(enrolment: Enrolment, lesson_slug: str, at: datetime | None = None) -> bool:
    """Record a lesson as completed (the first time is kept); return whether it was new."""
    enrolment = lock_enrolment(enrolment.id)
    if lesson_slug not in outline(enrolment.version_id).lesson_slugs:
        raise ProgressError("unknown_lesson", _("That lesson is not part of the course."))
    when = clamp_time(at)
    inserted = db.session.execute(
        insert_for(LessonCompletion)
        .values(
            enrolment_id=enrolment.id,
            lesson_slug=lesson_slug,
            version_id=enrolment.version_id,
            completed_at=when,
        )
        .on_conflict_do_nothing(index_elements=[LessonCompletion.enrolment_id, LessonCompletion.lesson_slug])
        .returning(LessonCompletion.lesson_slug)
    ).first()
    recompute(enrolment, when)
    return inserted is not None


def record_quiz_result(
    enrolment: Enrolment, module_slug: str, score: int, passed: bool, at: datetime
) -> None:
    """Fold one graded attempt into the module state: best score kept, pass time set once."""
    stmt = insert_for(ModuleState).values(
        enrolment_id=enrolment.id,
        module_slug=module_slug,
        best_score=score,
        attempts=1,
        failed_attempts=0 if passed else 1,
        last_attempt_at=at,
        quiz_passed_at=at if passed else None,
    )
    current = ModuleState.__table__.c
    stmt = stmt.on_conflict_do_update(
        index_elements=[ModuleState.enrolment_id, ModuleState.module_slug],
        set_={
            "best_score": case(
                (current.best_score.is_(None), stmt.excluded.best_score),
                (current.best_score < stmt.excluded.best_score, stmt.excluded.best_score),
                else_=current.best_score,
            ),
            "attempts": current.attempts + 1,
            "failed_attempts": current.failed_attempts + stmt.excluded.failed_attempts,
            "last_attempt_at": stmt.excluded.last_attempt_at,
            "quiz_passed_at": func.coalesce(current.quiz_passed_at, stmt.excluded.quiz_passed_at),
        },
    )
    db.session.execute(stmt)


def recompute(enrolment: Enrolment, at: datetime) -> bool:
    """Bring the enrolment's completion state up to date; return whether the course was just completed.

    The caller holds the enrolment's lock (see lock_enrolment).
    """
    progress = progress_for(enrolment, enrolment.version_id)
    for module in progress.modules.values():
        if module.is_complete and module.completed_at is None:
            db.session.execute(
                insert_for(ModuleState)
                .values(
                    enrolment_id=enrolment.id,
                    module_slug=module.slug,
                    attempts=0,
                    failed_attempts=0,
                    completed_at=at,
                )
                .on_conflict_do_update(
                    index_elements=[ModuleState.enrolment_id, ModuleState.module_slug],
                    set_={"completed_at": func.coalesce(ModuleState.__table__.c.completed_at, at)},
                )
            )
    total = sum(m.lessons_total + (1 if m.has_quiz else 0) for m in progress.modules.values())
    done = sum(m.lessons_done + (1 if m.quiz_passed else 0) for m in progress.modules.values())
    percent = 100 * done // total if total else 0
    all_complete = bool(progress.modules) and all(m.is_complete for m in progress.modules.values())
    if all_complete and _capstone_pending(enrolment):
        all_complete = False
    enrolment.percent = percent
    enrolment.last_activity_at = max(at, enrolment.last_activity_at or at)
    if done and enrolment.started_at is None:
        enrolment.started_at = at
    if percent >= 50 and enrolment.halfway_at is None:
        enrolment.halfway_at = at
    newly_completed = all_complete and enrolment.completed_at is None
    if newly_completed:
        enrolment.completed_at = at
        enrolment.completed_version_id = enrolment.version_id
        enrolment_id = enrolment.id
        for listener in course_completed_listeners:
            after_commit(partial(listener, enrolment_id))
    db.session.flush()
    return newly_completed


def _capstone_pending(enrolment: Enrolment) -> bool:
    """Whether the version requires an accepted capstone that the learner does not have yet."""
    from learning.capstone.models import CapstoneSubmission

    capstone = db.session.scalar(
        select(CourseVersion.capstone).where(CourseVersion.id == enrolment.version_id)
    )
    if not (capstone and capstone.get("required")):
        return False
    status = db.session.scalar(
        select(CapstoneSubmission.status).where(CapstoneSubmission.enrolment_id == enrolment.id)
    )
    return status != "accepted"


def move_to_version(course: Course, version: CourseVersion) -> int:
    """Move learners who have not completed ``course`` to ``version``; their progress follows the slugs."""
    enrolments = db.session.scalars(
        select(Enrolment)
        .where(
            Enrolment.course_id == course.id,
            Enrolment.completed_at.is_(None),
            Enrolment.version_id != version.id,
        )
        .with_for_update()
    ).all()
    now = utcnow()
    for enrolment in enrolments:
        enrolment.version_id = version.id
        db.session.flush()
        recompute(enrolment, enrolment.last_activity_at or now)
    return len(enrolments)


def clamp_time(at: datetime | None) -> datetime:
    """Times from clients are kept unless they lie in the future."""
    now = utcnow()
    return now if at is None or at > now else at
