"""Drafts: a course's next version, edited as files in the content format and rebuilt on every save.

A draft is an unpublished CourseVersion; its ``files`` are the source of truth, edited through small
operations below, and its modules, lessons and quizzes are rebuilt from them (the same code that loads
content/), so a preview shows exactly what learners will see.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from learning.audit import services as audit
from learning.auth.models import User
from learning.catalog.models import Course, CourseMember, CourseVersion
from learning.content.spec import SLUG, Problem, read_course_files
from learning.content.sync import fill_version, next_number, publish
from learning.content.yamlfile import YamlError, parse_yaml
from learning.content.yamlwrite import dump_yaml
from learning.db import utcnow
from learning.extensions import db


class AuthoringError(Exception):
    """A change the draft cannot take; ``message`` says why, for the trainer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- who may edit ---------------------------------------------------------------------------------------


def membership(user: User, course: Course) -> str | None:
    """The user's role on the course ('owner', 'co_author') or None."""
    return db.session.scalar(
        select(CourseMember.role).where(CourseMember.course_id == course.id, CourseMember.user_id == user.id)
    )


def can_edit(user: User, course: Course) -> bool:
    """Admins edit every course; trainers only the courses they own or co-author."""
    if not user.is_authenticated:
        return False
    if user.has_role("admin"):
        return True
    return user.has_role("trainer") and membership(user, course) is not None


def editable_courses(user: User) -> list[Course]:
    query = select(Course).order_by(Course.slug)
    if not user.has_role("admin"):
        query = query.join(CourseMember).where(CourseMember.user_id == user.id)
    return list(db.session.scalars(query))


def set_member(course: Course, user: User, role: str | None, actor: User) -> None:
    """Make ``user`` an owner or co-author of ``course``, or remove them (role None)."""
    member = db.session.get(CourseMember, (course.id, user.id))
    if role is None:
        if member is not None:
            db.session.delete(member)
    elif member is None:
        db.session.add(CourseMember(course_id=course.id, user_id=user.id, role=role, added_at=utcnow()))
    else:
        member.role = role
    audit.record(
        "course.member", actor_id=actor.id, course_id=course.id, subject=user.email, role=role or "removed"
    )
    db.session.flush()


# --- drafts ---------------------------------------------------------------------------------------------


def draft_of(course: Course) -> CourseVersion | None:
    return db.session.scalar(
        select(CourseVersion).where(
            CourseVersion.course_id == course.id, CourseVersion.published_at.is_(None)
        )
    )


@dataclass
class Draft:
    """A draft's files, with helpers to edit their YAML as data."""

    course: Course
    version: CourseVersion
    files: dict[str, str] = field(default_factory=dict)

    def data(self, path: str) -> dict[str, Any]:
        try:
            value = parse_yaml(self.files.get(path, "")).data
        except YamlError as exc:
            raise AuthoringError(f"{path} is not valid YAML ({exc.message}); fix it in a bundle") from None
        return value if isinstance(value, dict) else {}

    def put(self, path: str, data: dict[str, Any]) -> None:
        self.files[path] = dump_yaml(data)

    def module_slugs(self) -> list[str]:
        return [s for s in self.data("course.yaml").get("modules") or [] if isinstance(s, str)]

    def lessons(self, module: str) -> list[dict[str, Any]]:
        return [
            item for item in self.data(f"{module}/module.yaml").get("lessons") or [] if isinstance(item, dict)
        ]

    def module_of_lesson(self, lesson: str) -> str:
        for module in self.module_slugs():
            if any(item.get("slug") == lesson for item in self.lessons(module)):
                return module
        raise AuthoringError(f"There is no lesson {lesson!r} in the draft.")


def new_course_files(slug: str, title: str, summary: str, language: str, hours: float) -> dict[str, str]:
    data = {
        "slug": slug,
        "title": title,
        "summary": summary,
        "description": summary,
        "language": language,
        "hours": hours,
        "modules": [],
    }
    return {"course.yaml": dump_yaml(data)}


def create_course(user: User, slug: str, title: str, summary: str, language: str, hours: float) -> Course:
    """Create a course with an empty draft; its creator becomes its owner. Flushes."""
    if not SLUG.match(slug) or len(slug) > 80:
        raise AuthoringError("Use lowercase letters, digits and hyphens for the short name.")
    if db.session.scalar(select(Course.id).where(Course.slug == slug)) is not None:
        raise AuthoringError("A course with this short name exists already.")
    course = Course(slug=slug)
    db.session.add(course)
    db.session.flush()
    db.session.add(CourseMember(course_id=course.id, user_id=user.id, role="owner", added_at=utcnow()))
    version = CourseVersion(
        course_id=course.id, number=1, origin="web", created_by_id=user.id, change_note=""
    )
    db.session.add(version)
    save(
        Draft(course, version, new_course_files(slug, title, summary, language, hours)), user, "course.create"
    )
    return course


def open_draft(course: Course, user: User) -> Draft:
    """The course's draft, started from its current version if there is none yet. Flushes."""
    version = draft_of(course)
    if version is None:
        current = course.current_version
        # Read before the new version is added: loading the deferred column would flush it half-made.
        files = dict(current.files) if current is not None else {}
        version = CourseVersion(
            course_id=course.id,
            number=next_number(course),
            origin="web",
            created_by_id=user.id,
            change_note="",
        )
        db.session.add(version)
        draft = Draft(course, version, files)
        save(draft, user, "draft.start", based_on=current.number if current else None)
        return draft
    return Draft(course, version, dict(version.files))


def save(draft: Draft, user: User, action: str, **details: Any) -> list[Problem]:
    """Store the draft's files, rebuild its rows and audit the change; return the validator's problems."""
    spec, problems = read_course_files(draft.course.slug, draft.files)
    _remember(_checked_key(draft), tuple(problems))  # the page the editor goes to next shows them
    draft.version.files = dict(draft.files)
    if spec is not None:
        fill_version(draft.version, spec)
        draft.version.files = dict(draft.files)  # keep non-source files out, sources exactly as edited
    else:
        draft.version.title = draft.version.title or draft.course.slug
        draft.version.summary = draft.version.summary or ""
        draft.version.description_html = draft.version.description_html or ""
        draft.version.language = draft.version.language or "en"
        draft.version.hours = draft.version.hours or 1
        draft.version.source_hash = draft.version.source_hash or ""
        db.session.flush()
    audit.record(action, actor_id=user.id, course_id=draft.course.id, subject=draft.course.slug, **details)
    db.session.flush()
    return problems


# The validator's findings for the drafts seen last, by the course's slug and its files' digest: every editor
# page shows them (saving a draft records what its check found), and each check writes the whole course to a
# temporary folder and reads it back (60-80 ms of CPU for a small course, by the form fuzzer's profile).
# They depend on the files alone.
_CHECKED: OrderedDict[tuple[str, bytes], tuple[Problem, ...]] = OrderedDict()
_CHECKED_SIZE = 32
_checked_lock = threading.Lock()


def _checked_key(draft: Draft) -> tuple[str, bytes]:
    digest = hashlib.sha256()
    for path in sorted(draft.files):
        for part in (path, draft.files[path]):
            encoded = part.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "big"))
            digest.update(encoded)
    return draft.course.slug, digest.digest()


def _remember(key: tuple[str, bytes], found: tuple[Problem, ...]) -> None:
    with _checked_lock:
        _CHECKED[key] = found
        while len(_CHECKED) > _CHECKED_SIZE:
            _CHECKED.popitem(last=False)


def problems_of(draft: Draft) -> list[Problem]:
    key = _checked_key(draft)
    with _checked_lock:
        found = _CHECKED.get(key)
        if found is not None:
            _CHECKED.move_to_end(key)
            return list(found)
    found = tuple(read_course_files(draft.course.slug, draft.files)[1])
    _remember(key, found)
    return list(found)


def publish_draft(draft: Draft, user: User, change_note: str) -> list[Problem]:
    """Publish the draft as the course's new version unless the validator finds problems. Flushes."""
    problems = problems_of(draft)
    if problems:
        return problems
    version = draft.version
    version.change_note = change_note.strip()
    version.number = next_number(draft.course) if _number_taken(version) else version.number
    publish(draft.course, version)
    audit.record(
        "course.publish",
        actor_id=user.id,
        course_id=draft.course.id,
        subject=draft.course.slug,
        version=version.number,
        change_note=version.change_note,
        learners_moved=version.moved_enrolments,
    )
    db.session.flush()
    return []


def _number_taken(version: CourseVersion) -> bool:
    return (
        db.session.scalar(
            select(CourseVersion.id).where(
                CourseVersion.course_id == version.course_id,
                CourseVersion.number == version.number,
                CourseVersion.id != version.id,
            )
        )
        is not None
    )


def discard_draft(draft: Draft, user: User) -> None:
    audit.record("draft.discard", actor_id=user.id, course_id=draft.course.id, subject=draft.course.slug)
    db.session.delete(draft.version)
    db.session.flush()


def set_archived(course: Course, archived: bool, user: User) -> None:
    """Archive (no new enrolments; learners keep what they completed) or bring back a course."""
    course.status = "archived" if archived else "active"
    course.archived_at = utcnow() if archived else None
    audit.record(
        "course.archive" if archived else "course.unarchive",
        actor_id=user.id,
        course_id=course.id,
        subject=course.slug,
    )
    db.session.flush()
