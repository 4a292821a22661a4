"""Load course folders into the database as published versions, matched by stable slugs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from learning.catalog.models import Course, CourseVersion, Lesson, Module
from learning.content import render
from learning.content.spec import CourseSpec
from learning.db import utcnow
from learning.extensions import db
from learning.progress import services as progress
from learning.quizzes.models import Choice, Question, Quiz


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


def sync_course(spec: CourseSpec, change_note: str = "") -> SyncResult:
    """Publish ``spec`` as a new version of its course unless the newest version has the same files.

    Flushes; the caller commits.
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
        action = "updated"
    number = (
        db.session.scalar(select(func.max(CourseVersion.number)).where(CourseVersion.course_id == course.id))
        or 0
    ) + 1
    version = build_version(course, spec, number, change_note or f"Loaded from content/{spec.slug}")
    version.published_at = utcnow()
    db.session.flush()
    course.current_version_id = version.id
    db.session.flush()
    moved = progress.move_to_version(course, version)
    return SyncResult(
        spec.slug,
        action,
        number,
        modules=len(spec.modules),
        lessons=sum(len(m.lessons) for m in spec.modules),
        questions=sum(len(m.quiz.questions) for m in spec.modules if m.quiz),
        moved_enrolments=moved,
    )


def build_version(course: Course, spec: CourseSpec, number: int, change_note: str) -> CourseVersion:
    """Create (unpublished) version ``number`` of ``course`` from ``spec``, rendering all Markdown."""
    link: Callable[[str], str] = lambda slug: lesson_path(spec.slug, slug)  # noqa: E731
    version = CourseVersion(
        course_id=course.id,
        number=number,
        title=spec.title,
        summary=spec.summary,
        description_html=render.render_markdown(spec.description, link),
        language=spec.language,
        hours=spec.hours,
        capstone=spec.capstone,
        source_hash=spec.source_hash,
        change_note=change_note,
    )
    db.session.add(version)
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
        version.modules.append(module)
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
    return version
