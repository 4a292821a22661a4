"""Load course material into the database as versions, matched by stable slugs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from learning.catalog.models import Course, CourseVersion, Lesson, Module
from learning.content import render
from learning.content.spec import CourseSpec
from learning.db import utcnow
from learning.extensions import db
from learning.progress import services as progress
from learning.quizzes.models import Choice, Question, Quiz


class SyncConflict(Exception):  # noqa: N818 - a refusal, reported to the operator, not a programming error
    """The course was changed in the browser since it was last loaded from files."""


@dataclass
class SyncResult:
    slug: str
    action: str  # "created", "updated" or "unchanged"
    version: int
    modules: int = 0
    lessons: int = 0
    questions: int = 0
    moved_enrolments: int = 0

    def __str__(self) -> str:
        if self.action == "unchanged":
            return f"{self.slug}: unchanged (version {self.version})"
        return (
            f"{self.slug}: {self.action} version {self.version} ({self.modules} modules, "
            f"{self.lessons} lessons, {self.questions} questions; "
            f"{self.moved_enrolments} learners moved to it)"
        )


def lesson_path(course_slug: str, lesson_slug: str) -> str:
    """Return the site path of a lesson page (used for links inside lesson bodies)."""
    return f"/courses/{course_slug}/lessons/{lesson_slug}"


def next_number(course: Course) -> int:
    return (
        db.session.scalar(select(func.max(CourseVersion.number)).where(CourseVersion.course_id == course.id))
        or 0
    ) + 1


def sync_course(spec: CourseSpec, change_note: str = "", force: bool = False) -> SyncResult:
    """Publish ``spec`` (read from content/) as a new version of its course, unless nothing changed.

    Refuses (SyncConflict) to replace a version published from the browser or a bundle since the last
    load from files, unless ``force``. Flushes; the caller commits.
    """
    course = db.session.scalar(select(Course).where(Course.slug == spec.slug))
    if course is None:
        course = Course(slug=spec.slug)
        db.session.add(course)
        db.session.flush()
        action = "created"
    else:
        current = course.current_version
        if current is not None and current.source_hash == spec.source_hash:
            return SyncResult(spec.slug, "unchanged", current.number)
        if current is not None and current.origin != "files" and not force:
            raise SyncConflict(
                f"{spec.slug}: version {current.number} was published from the browser or a bundle; "
                "export it into content/ first, or load the files anyway with --force"
            )
        action = "updated"
    version = build_version(
        course, spec, next_number(course), change_note or f"Loaded from content/{spec.slug}"
    )
    publish(course, version)
    return SyncResult(
        spec.slug,
        action,
        version.number,
        modules=len(spec.modules),
        lessons=sum(len(m.lessons) for m in spec.modules),
        questions=sum(len(m.quiz.questions) for m in spec.modules if m.quiz),
        moved_enrolments=version.moved_enrolments,
    )


def publish(course: Course, version: CourseVersion) -> None:
    """Make ``version`` the one learners study; learners part way through move to it. Flushes."""
    version.published_at = utcnow()
    db.session.flush()
    course.current_version_id = version.id
    db.session.flush()
    version.moved_enrolments = progress.move_to_version(course, version)


def build_version(
    course: Course,
    spec: CourseSpec,
    number: int,
    change_note: str,
    origin: str = "files",
    created_by_id: int | None = None,
) -> CourseVersion:
    """Create (unpublished) version ``number`` of ``course`` from ``spec``, rendering all Markdown."""
    version = CourseVersion(
        course_id=course.id,
        number=number,
        change_note=change_note,
        origin=origin,
        created_by_id=created_by_id,
    )
    db.session.add(version)
    fill_version(version, spec)
    return version


def fill_version(version: CourseVersion, spec: CourseSpec) -> None:
    """(Re)build a version's fields, modules, lessons and quizzes from ``spec``. Flushes.

    Published versions are never refilled; drafts are, each time they are saved.
    """
    link: Callable[[str], str] = lambda slug: lesson_path(spec.slug, slug)  # noqa: E731
    version.title = spec.title or "(untitled)"
    version.summary = spec.summary
    version.description_html = render.render_markdown(spec.description, link)
    version.language = spec.language or "en"
    version.hours = spec.hours
    version.capstone = spec.capstone
    version.source_hash = spec.source_hash
    version.files = dict(spec.files)
    db.session.flush()
    if version.modules:
        db.session.execute(delete(Module).where(Module.version_id == version.id))
        db.session.expire(version, ["modules"])
        db.session.flush()
    lesson_position = 0
    for m_index, m in enumerate(spec.modules, start=1):
        module = Module(
            version_id=version.id,
            slug=m.slug,
            position=m_index,
            title=m.title,
            summary=m.summary,
            objectives=m.objectives,
            case_studies=m.case_studies,
            reflection_html=render.render_markdown(m.reflection, link),
            references=m.references,
            references_html={key: render.render_markdown(text) for key, text in m.references.items()},
        )
        db.session.add(module)
        for lesson_spec in m.lessons:
            lesson_position += 1
            module.lessons.append(
                Lesson(
                    version_id=version.id,
                    slug=lesson_spec.slug,
                    position=lesson_position,
                    title=lesson_spec.title,
                    html=render.render_markdown(lesson_spec.body, link),
                    word_count=lesson_spec.word_count,
                    minutes=lesson_spec.minutes,
                )
            )
        if m.quiz is not None:
            quiz = Quiz(title=m.quiz.title, pass_mark=m.quiz.pass_mark)
            module.quiz = quiz
            for q_index, q in enumerate(m.quiz.questions, start=1):
                question = Question(
                    slug=q.slug,
                    position=q_index,
                    type=q.type,
                    text=q.text,
                    explanation_html=render.render_markdown(q.explanation, link),
                    source_key=q.source,
                )
                question.choices = [
                    Choice(position=c_index, text=c.text, is_correct=c.correct)
                    for c_index, c in enumerate(q.choices, start=1)
                ]
                quiz.questions.append(question)
    db.session.flush()
