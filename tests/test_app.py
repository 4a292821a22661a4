"""The factory, configuration, probes, headers and error pages."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from learning import create_app
from learning.auth.models import User
from learning.config import from_environment, server_settings
from learning.extensions import db
from learning.security import permissions
from tests.conftest import TEST_SECRET, app_config


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    for key in ("", "dev", "change-me", "short"):
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app(app_config(url, ACADEMY_ENV="production", SECRET_KEY=key))
    app = create_app(app_config(url, ACADEMY_ENV="production", SECRET_KEY=TEST_SECRET))
    assert app.config["SESSION_COOKIE_SECURE"] is True and not app.debug
    with pytest.raises(RuntimeError, match="ACADEMY_ENV"):
        create_app(app_config(url, ACADEMY_ENV="staging"))
    for size in (0, -5):  # no task would ever issue a certificate
        with pytest.raises(RuntimeError, match="CERTIFICATE_BATCH_SIZE"):
            create_app(app_config(url, CERTIFICATE_BATCH_SIZE=size))


def test_development_makes_and_keeps_a_key_in_the_instance_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(Flask, "instance_path", str(tmp_path / "instance"), raising=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = create_app(app_config(url, ACADEMY_ENV="development", SECRET_KEY=""))
    second = create_app(app_config(url, ACADEMY_ENV="development", SECRET_KEY=""))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SESSION_COOKIE_SECURE"] is False


def test_environment_variables_are_read() -> None:
    settings = from_environment(
        {
            "DATABASE_URL": "postgres://u@h/db",
            "SECRET_KEY": "k" * 40,
            "CELERY_BROKER_URL": "redis://h:6379/0",
            "MAIL_PORT": "2525",
            "MAIL_USE_TLS": "true",
            "BASE_URL": "https://academy.example",
            "MAIL_SERVER": "smtp.h",
            "REGISTRATIONS_PER_MINUTE": "120",
        }
    )
    assert settings["REGISTRATIONS_PER_MINUTE"] == 120
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgres://u@h/db" and settings["MAIL_PORT"] == 2525
    assert settings["MAIL_USE_TLS"] is True and settings["CELERY_BROKER_URL"] == "redis://h:6379/0"
    assert server_settings({"ACADEMY_PORT": "9000"})["port"] == 9000


def test_database_and_broker_urls_are_normalised(tmp_path) -> None:
    app = create_app(app_config("postgres://user@127.0.0.1/db", CELERY_BROKER_URL="redis://127.0.0.1:6379/0"))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@127.0.0.1/db"
    celery = app.extensions["celery"]
    assert celery.conf.broker_url == "redis://127.0.0.1:6379/0"
    assert celery.conf.broker_transport_options["visibility_timeout"] >= 3600
    assert celery.conf.task_acks_late and celery.conf.worker_prefetch_multiplier == 1


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    connection = db.session.connection()
    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_healthz_does_not_touch_the_database(app: Flask, client: FlaskClient) -> None:
    statements: list[str] = []
    from sqlalchemy import event

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get("/healthz")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert statements == []


@pytest.mark.no_rollback  # the broken app needs its own session, not the test's
def test_readyz_checks_database_and_broker(app: Flask, client: FlaskClient, tmp_path) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "broker": "ok"}
    broken = create_app(
        app_config(f"sqlite:///{tmp_path}/no/such/dir/x.db", CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    )
    broken.config["CELERY"]["broker_connection_timeout"] = 1
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "unavailable", "broker": "unavailable"}


def test_security_headers_on_pages_api_and_errors(client: FlaskClient) -> None:
    nonces = set()
    for path in ("/", "/login", "/api/v1/openapi.json", "/no-such-page", "/api/v1/no-such", "/healthz"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "'nonce-" in csp
        nonces.add(csp.split("'nonce-")[1].split("'")[0])
        assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31_536_000
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert len(nonces) == 6  # a fresh nonce per response


def test_friendly_error_pages_and_json_errors(app: Flask, client: FlaskClient) -> None:
    page = client.get("/courses/no-such-course")
    assert page.status_code == 404 and "Page not found" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    api = client.get("/api/v1/courses/x")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "unauthorized"
    assert client.post("/courses/harbour-basics/enrolment").status_code in (302, 400)


def test_an_unexpected_error_is_a_friendly_500_without_a_traceback(tmp_path, monkeypatch) -> None:
    app = create_app(app_config(f"sqlite:///{tmp_path / 'x.db'}"))
    # routes of this test only; the permissions table refuses any endpoint it does not list
    monkeypatch.setitem(permissions.TABLE, "boom", permissions.public())
    monkeypatch.setitem(permissions.TABLE, "api_boom", permissions.public())

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("secret detail")

    @app.get("/api/v1/boom")
    def api_boom() -> str:
        raise ValueError("secret detail")

    client = app.test_client()
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body and "secret detail" not in body and "Traceback" not in body
    response = client.get("/api/v1/boom")
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    assert "secret detail" not in response.get_data(as_text=True)


def test_each_test_runs_in_a_transaction_that_is_rolled_back_part_one(create_user) -> None:
    create_user(email="rollback-proof@example.org")
    assert (
        db.session.scalar(
            select(func.count()).select_from(User).where(User.email == "rollback-proof@example.org")
        )
        == 1
    )


def test_each_test_runs_in_a_transaction_that_is_rolled_back_part_two(app: Flask) -> None:
    """The user committed by part one is gone: the per-test rollback works."""
    assert (
        db.session.scalar(
            select(func.count()).select_from(User).where(User.email == "rollback-proof@example.org")
        )
        == 0
    )
    assert db.session.execute(text("SELECT 1")).scalar() == 1
