"""Flask-Login wiring: a web session's key, not the user id, identifies the signed-in user; role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort, current_app
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user

from learning.auth.models import User
from learning.auth.services import user_for_session

P = ParamSpec("P")
R = TypeVar("R")


def configure(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = _l("Sign in to continue.")
    manager.login_message_category = "info"
    manager.session_protection = None  # sessions are checked against the database on every request

    @manager.user_loader
    def load_user(key: str) -> User | None:
        return user_for_session(key)


def role_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let a view run only for a signed-in user holding one of ``roles``; others get 403, strangers the
    sign-in page."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
