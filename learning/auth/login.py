"""Flask-Login wiring: a web session's key, not the user id, identifies the signed-in user (who may call
what is in learning.security.permissions)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from werkzeug.wrappers import Response

from learning.auth.models import User
from learning.auth.services import user_for_session


def configure(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = _l("Sign in to continue.")
    manager.login_message_category = "info"
    manager.session_protection = None  # sessions are checked against the database on every request

    @manager.user_loader
    def load_user(key: str) -> User | None:
        return user_for_session(key)


def session_key() -> str | None:
    """Return the web session's key from the session cookie (what ``load_user`` is given), if there is one.

    For a view that checks the session in a statement of its own instead of through ``load_user``; it must
    then call ``use_user`` with what it found, or ``unauthorized`` when it found nothing."""
    key = session.get("_user_id")
    return key if isinstance(key, str) else None


@dataclass(frozen=True, eq=False)
class RequestUser:
    """The user of a live session or token, read by a view together with its own data, in plain columns.

    What a page's ``current_user`` needs (Flask-Login's properties, the menu's roles, the locale and time
    zone), and nothing that could be lazy-loaded or written: a view that needs the ``User`` row loads it.
    """

    id: int
    language: str
    timezone: str
    roles: frozenset[str]
    session_key: str | None = None  # the web session's key (Flask-Login's id); None for a bearer token

    is_authenticated = True
    is_active = True  # a deactivated user's sessions and tokens are not live
    is_anonymous = False

    def get_id(self) -> str | None:
        return self.session_key

    def has_role(self, *roles: str) -> bool:
        """Return whether the user holds any of ``roles``."""
        return not self.roles.isdisjoint(roles)


def use_user(user: User | RequestUser) -> None:
    """Make ``user``, loaded by the view with its session's key, this request's ``current_user``, as
    ``load_user`` would have (session protection is off, and no remember-me cookie is ever set)."""
    current_app.login_manager._update_request_context_with_user(user)  # type: ignore[attr-defined]


def unauthorized() -> Response:
    """Answer as ``login_required`` does to a stranger: the sign-in page, with the way back."""
    response: Response = current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    return response
