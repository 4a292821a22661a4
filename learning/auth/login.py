"""Flask-Login wiring: a web session's key, not the user id, identifies the signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user

from learning.auth.models import User
from learning.auth.services import user_for_session

F = TypeVar("F", bound=Callable[..., Any])


def configure(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = _l("Sign in to continue.")
    manager.login_message_category = "info"
    manager.session_protection = None  # sessions are checked against the database on every request

    @manager.user_loader
    def load_user(key: str) -> User | None:
        return user_for_session(key)


def role_required(*roles: str) -> Callable[[F], F]:
    """Allow the view only to signed-in users holding one of ``roles``."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from learning.extensions import login_manager

                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
