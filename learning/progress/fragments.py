"""HTML that is the same for every learner, rendered once per process and kept."""

from __future__ import annotations

from functools import lru_cache

from flask import render_template
from markupsafe import Markup

from learning.catalog.models import Module
from learning.catalog.services import LessonContent, ModuleContent, lesson_in_version
from learning.i18n import current_locale


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


def clear_fragment_cache() -> None:
    """Forget rendered lessons (tests that roll back may reuse version ids)."""
    _lesson_body.cache_clear()
