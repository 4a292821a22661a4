"""Smart Port Academy: the Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from learning import config as settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error handlers and commands."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(settings.defaults(app.instance_path))
    app.config.update(settings.from_environment())
    app.config.update(config or {})
    settings.finalise(app.config, app.instance_path)
    _make_instance_folder(app)
    register_extensions(app)
    register_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_security(app)
    register_hooks(app)
    logging.getLogger("learning").setLevel(logging.INFO)
    return app


def _make_instance_folder(app: Flask) -> None:
    import os

    os.makedirs(app.instance_path, exist_ok=True)


def register_extensions(app: Flask) -> None:
    import flask_babel

    from learning import i18n
    from learning.auth import login
    from learning.celery_app import celery_init_app
    from learning.db import configure_engine, engine_options
    from learning.extensions import babel, csrf, db, login_manager, migrate

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLITE_BUSY_TIMEOUT_MS"]),
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    db.init_app(app)
    with app.app_context():
        configure_engine(app)
    migrate.init_app(app, db, directory=str(_migrations_path()))
    login_manager.init_app(app)
    login.configure(login_manager)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    app.jinja_env.globals.update(
        get_locale=i18n.current_locale,
        format_date=flask_babel.format_date,
        format_datetime=flask_babel.format_datetime,
    )
    celery_init_app(app)
    _import_models()


def _migrations_path() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _import_models() -> None:
    # Every model module, so that metadata is complete for migrations and create_all.
    import learning.audit.models
    import learning.auth.models
    import learning.capstone.models
    import learning.catalog.models
    import learning.certificates.models
    import learning.cohorts.models
    import learning.progress.models
    import learning.quizzes.models
    import learning.reminders.models
    import learning.reports.models
    import learning.throttle  # noqa: F401


def register_converters(app: Flask) -> None:
    from learning.urls import register

    register(app)


def register_blueprints(app: Flask) -> None:
    # authoring's modules attach their routes (and its API routes) to the blueprints when imported
    import learning.authoring.bundle_views
    import learning.authoring.courses
    import learning.authoring.drafts
    import learning.authoring.images
    import learning.authoring.insight
    import learning.authoring.quiz_editor
    import learning.cohorts.views  # noqa: F401
    from learning.api import bp as api_bp
    from learning.auth.views import bp as auth_bp
    from learning.authoring.blueprint import bp as authoring_bp
    from learning.authoring.images import media as media_bp
    from learning.capstone.views import bp as capstone_bp
    from learning.catalog.views import bp as catalog_bp
    from learning.certificates.views import bp as certificates_bp
    from learning.cohorts.views import public as cohorts_bp
    from learning.extensions import csrf
    from learning.health import bp as health_bp
    from learning.privacy.views import bp as privacy_bp
    from learning.progress.views import bp as progress_bp
    from learning.quizzes.views import bp as quizzes_bp
    from learning.reminders.views import bp as reminders_bp
    from learning.reminders.views import unsubscribe
    from learning.reports.views import bp as reports_bp

    for blueprint in (
        health_bp,
        auth_bp,
        catalog_bp,
        progress_bp,
        quizzes_bp,
        authoring_bp,
        certificates_bp,
        reminders_bp,
        cohorts_bp,
        capstone_bp,
        media_bp,
        reports_bp,
        privacy_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # the API takes bearer tokens only, never cookies
    csrf.exempt(unsubscribe)  # its signed token is the proof; mail programs post RFC 8058 without CSRF


def register_errorhandlers(app: Flask) -> None:
    from learning.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from learning.auth.cli import users_cli
    from learning.backup.cli import backup_cli
    from learning.certificates.cli import certificates_cli
    from learning.content.cli import content_cli
    from learning.reminders.cli import reminders_cli
    from learning.reports.cli import demo_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(content_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(backup_cli)


def register_security(app: Flask) -> None:
    from learning.security import headers, limits, permissions

    headers.register(app)
    limits.register(app)
    permissions.init_app(app)


def register_hooks(app: Flask) -> None:
    """Features that react to others: certificates are issued when a course is completed."""
    from learning import certificates

    certificates.init_app(app)
