"""Flask-Login wiring: a web session's key, not the user id, identifies the signed-in user (who may call
what is in learning.security.permissions)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

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
