"""Locale and time zone of the current user (translations themselves come with later work)."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return str(current_user.language)
    return request.accept_languages.best_match(list(languages)) if request else None


def select_timezone() -> str | None:
    if current_user and current_user.is_authenticated:
        return str(current_user.timezone)
    return None


def current_locale() -> str:
    """The locale of this request as a language tag, for <html lang>."""
    locale = get_locale()
    return str(locale).replace("_", "-") if locale else "en"
