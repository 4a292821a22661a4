"""HTML that is the same for every learner, rendered once per process and kept."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache
from typing import Any, NoReturn

from flask import render_template, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from learning.catalog.models import Module
from learning.catalog.services import LessonContent, ModuleContent, lesson_in_version
from learning.i18n import current_locale
from learning.security.headers import csp_nonce


def render_lesson_body(html: str, module: Module | ModuleContent, is_last_of_module: bool) -> Markup:
    """Render a lesson's text, its module's reflection (after the module's last lesson) and references."""
    rendered = render_template(
        "progress/_lesson_body.html", html=html, module=module, is_last_of_module=is_last_of_module
    )
    # An autoescaping template's output, so HTML already.
    return Markup(rendered)  # noqa: S704  # nosec B704  # nosemgrep: markup-constructor


def lesson_body(version_id: int, lesson: LessonContent, is_last_of_module: bool) -> Markup:
    """Return the body of a published version's lesson, rendered for the current locale.

    Safe to keep: a published version's lessons never change (see learning.catalog.services
    .lesson_in_version), the body shows nothing about the learner, and the locale is part of the key.
    Drafts are previewed with render_lesson_body, never through here.
    """
    return _lesson_body(version_id, lesson.slug, is_last_of_module, current_locale())


@lru_cache(maxsize=512)
def _lesson_body(version_id: int, slug: str, is_last_of_module: bool, locale: str) -> Markup:
    lesson = lesson_in_version(version_id, slug)
    assert lesson is not None  # the caller has just read it from the same cache
    return render_lesson_body(lesson.html, lesson.module, is_last_of_module)


# --- the whole lesson page ----------------------------------------------------------------------------------
#
# Rendering the page (base.html's menu, a dozen gettext and url_for calls) cost about as much as the rest of
# the request. What it shows of the learner is only: that they are signed in, which roles they hold (the
# menu), whether they completed the lesson, the session's CSRF token, and any flashed messages. So the page is
# rendered once per process for each lesson, locale, set of roles and completion state, with marks where the
# CSRF token and the CSP nonce go, and each request puts its own in. A request with flashed messages waiting
# renders the page in full. While a shared page is rendered, current_user, completed_at, request, session and
# g are stand-ins that refuse anything else, so a template that starts to show more of the learner fails
# loudly (tests render these pages) instead of showing one learner's page to another.

_MARK = secrets.token_hex(12)  # per process, so no lesson text can contain the marks
CSRF_MARK = f"csrf-{_MARK}"
NONCE_MARK = f"nonce-{_MARK}"


def lesson_page(
    course_slug: str,
    version_id: int,
    version_title: str | None,
    lesson: LessonContent,
    completed_at: datetime | None,
) -> str:
    """Return the lesson page of a published version for the signed-in learner."""
    if session.get("_flashes"):
        return _render(course_slug, version_id, version_title, lesson.slug, completed_at, None)
    roles = tuple(sorted(current_user.roles))
    page = _shared_page(
        course_slug, version_id, version_title, lesson.slug, completed_at is not None, roles, current_locale()
    )
    return page.replace(CSRF_MARK, generate_csrf()).replace(NONCE_MARK, csp_nonce())


@lru_cache(maxsize=512)
def _shared_page(
    course_slug: str,
    version_id: int,
    version_title: str | None,
    lesson_slug: str,
    completed: bool,
    roles: tuple[str, ...],
    locale: str,  # part of the key: gettext and <html lang> follow it
) -> str:
    return _render(
        course_slug, version_id, version_title, lesson_slug, _Completed(completed), _Viewer(frozenset(roles))
    )


def _render(
    course_slug: str,
    version_id: int,
    version_title: str | None,
    lesson_slug: str,
    completed_at: object,
    viewer: _Viewer | None,  # None: this request's own page, with its flashed messages
) -> str:
    from learning.progress.services import outline

    lesson = lesson_in_version(version_id, lesson_slug)
    assert lesson is not None  # the caller has just read it from the same cache
    out = outline(version_id)
    previous_slug, next_slug = out.neighbours(lesson.slug)
    is_last_of_module = out.module_of(lesson.slug).lesson_slugs[-1] == lesson.slug
    shared: dict[str, Any] = {}
    if viewer is not None:
        shared = {
            "current_user": viewer,
            "csrf_token": lambda: CSRF_MARK,
            "csp_nonce": lambda: NONCE_MARK,
            "get_flashed_messages": lambda **_: (),
            "request": _Refused("request"),
            "session": _Refused("session"),
            "g": _Refused("g"),
        }
    return render_template(
        "progress/lesson.html",
        course_slug=course_slug,
        version_title=version_title,
        lesson=lesson,
        module=lesson.module,
        body_html=lesson_body(version_id, lesson, is_last_of_module),
        outline=out,
        previous_slug=previous_slug,
        next_slug=next_slug,
        completed_at=completed_at,
        can_complete=True,
        **shared,
    )


class SharedPageError(RuntimeError):
    """A template asked a shared page for something of the learner it cannot show (a bug to fix there)."""


def _refuse(what: str, name: str) -> NoReturn:
    if name.startswith("__"):
        raise AttributeError(name)  # Python's own probes (copy, hasattr(x, "__html__")) get their answer
    # Not AttributeError: Jinja would turn that into an empty value and the page would quietly go wrong.
    raise SharedPageError(f"a shared lesson page cannot use {what}.{name}")


class _Viewer:
    """current_user while a shared page is rendered: signed in, with these roles, and nothing else."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, roles: frozenset[str]) -> None:
        self._roles = roles

    def has_role(self, *roles: str) -> bool:
        return not self._roles.isdisjoint(roles)

    def __getattr__(self, name: str) -> NoReturn:
        _refuse("current_user", name)


class _Completed:
    """completed_at while a shared page is rendered: whether, not when."""

    def __init__(self, completed: bool) -> None:
        self._completed = completed

    def __bool__(self) -> bool:
        return self._completed

    def __str__(self) -> NoReturn:
        raise SharedPageError("a shared lesson page cannot show when the lesson was completed")

    __html__ = __str__


class _Refused:
    """request, session or g while a shared page is rendered: nothing of them may show in it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> NoReturn:
        _refuse(self._name, attribute)

    def __str__(self) -> NoReturn:
        raise SharedPageError(f"a shared lesson page cannot show {self._name}")

    __html__ = __str__


def clear_fragment_cache() -> None:
    """Forget rendered lessons (tests that roll back may reuse version ids)."""
    _lesson_body.cache_clear()
    _shared_page.cache_clear()
