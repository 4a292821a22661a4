"""Configuration defaults, overridden by environment variables and by the factory's dict.

This is the only module that reads the environment.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery.schedules import crontab

ENVIRONMENTS = ("production", "development", "testing")
INSECURE_KEYS = {"", "dev", "change-me", "changeme", "secret"}


def defaults(instance_path: str) -> dict[str, Any]:
    """Return the settings every installation starts from."""
    instance = Path(instance_path)
    return {
        "ACADEMY_ENV": "production",
        "SECRET_KEY": "",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'academy.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SQLITE_BUSY_TIMEOUT_MS": 30_000,
        "BASE_URL": "http://localhost:8000",
        "CONTENT_PATH": str(Path(__file__).resolve().parent.parent / "content"),
        # Celery: the embedded default is kombu's SQLAlchemy transport on a SQLite file.
        "CELERY": {
            "broker_url": f"sqla+sqlite:///{instance / 'broker.db'}",
            "broker_polling_interval": 0.05,
            "task_ignore_result": True,
            "task_serializer": "json",
            "accept_content": ["json"],
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
            # longer than the longest task (an export of 100,000 rows takes well under an hour)
            "broker_transport_options": {},
            "beat_schedule_filename": str(instance / "celerybeat-schedule"),
            # One beat runs this (`celery -A worker.app worker --beat` under `academy serve`); the scan
            # also holds a lock, so a second beat by mistake sends nothing twice (RELIABILITY rule 5).
            "beat_schedule": {
                "reminders-scan": {
                    "task": "learning.reminders.tasks.scan_reminders",
                    "schedule": crontab(minute="*/15"),
                    # a scan that waited in the queue past the next one is pointless
                    "options": {"expires": 14 * 60},
                },
                # the monthly report e-mail to the secretariat, early on the first of each month (UTC)
                "reports-monthly": {
                    "task": "learning.reports.tasks.send_monthly_reports",
                    "schedule": crontab(minute=0, hour=6, day_of_month=1),
                },
            },
            "task_always_eager": False,
        },
        "REDIS_VISIBILITY_TIMEOUT": 2 * 3600,
        # Reminders (learning/reminders): the scan runs every 15 minutes and picks up each learner
        # once per local day, in their morning.
        "REMINDER_MORNING_HOURS": (8, 11),  # local hours [start, end)
        "REMINDER_INACTIVITY_DAYS": 7,  # first reminder after N days without activity
        "REMINDER_INACTIVITY_REPEAT_DAYS": 7,  # then again every M days
        "REMINDER_INACTIVITY_MAX": 3,  # at most K times in one spell of inactivity
        "REMINDER_QUIZ_WAIT_DAYS": 1,  # after a second failed quiz, a day to retry alone
        "REMINDER_DEADLINE_DAYS": (7, 1),  # before a cohort's due date
        "REMINDER_CERTIFICATE_WAIT_DAYS": 3,  # a certificate not downloaded this long after its e-mail
        "REMINDER_BATCH_SIZE": 100,  # e-mails per task, sent over one SMTP connection
        "REMINDER_CLAIM_TIMEOUT": timedelta(hours=1),  # a claim older than this was a dead worker's
        "REMINDER_MAX_ATTEMPTS": 10,  # temporary failures before an e-mail is given up
        # seconds between scans instead of the quarter-hour crontab (crash tests use a second or two)
        "REMINDER_SCAN_SECONDS": None,
        # the queue tasks go to and the worker reads: installations sharing one broker use their own
        "CELERY_DEFAULT_QUEUE": "celery",
        # Mail: "file" writes each message to MAIL_FILE_PATH; "smtp" sends through MAIL_SERVER.
        "MAIL_BACKEND": "file",
        "MAIL_FILE_PATH": str(instance / "mail"),
        "MAIL_SERVER": "localhost",
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": "Smart Port Academy <no-reply@localhost>",
        "MAIL_TIMEOUT": 10,
        # a worker keeps its SMTP connection this long after a certificate's e-mail for the next (0: never)
        "MAIL_KEEP_SECONDS": 30.0,
        # Reports: exports of more rows than this are prepared by a task; where their files are kept.
        "REPORT_SYNC_EXPORT_LIMIT": 10_000,
        "REPORT_EXPORT_PATH": str(instance / "exports"),
        "REPORT_EXPORT_KEEP": timedelta(days=7),  # then the file goes (its job page says so)
        # Behind a reverse proxy that sets X-Forwarded-For/-Proto/-Host (one hop).
        "PROXY_FIX": False,
        # Security
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 2 * 1024 * 1024,
        "SESSION_COOKIE_NAME": "academy_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": True,
        "SESSION_LIFETIME": timedelta(hours=12),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # The cookie is set when the session changes (sign-in, the first CSRF token), not re-signed on every
        # response: a web session ends 12 hours after sign-in in the database (LoginSession.expires_at)
        # whatever the cookie says, so a refreshed cookie would outlive its session anyway.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "WTF_CSRF_TIME_LIMIT": 3600 * 12,
        "WTF_CSRF_SSL_STRICT": False,
        "HSTS_SECONDS": 31_536_000,
        "API_TOKEN_LIFETIME": timedelta(days=30),
        "PASSWORD_RESET_LIFETIME": timedelta(hours=1),
        # a registration's confirmation link works this long; registrations per client address and minute
        "REGISTRATION_LIFETIME": timedelta(hours=24),
        "REGISTRATIONS_PER_MINUTE": 30,
        "LOGIN_LOCK_FAILURES": 6,
        "LOGIN_LOCK_DURATION": timedelta(minutes=30),
        "THROTTLE_PER_MINUTE": 10,
        # Files (certificates' PDFs) kept by learning.storage
        "STORAGE_PATH": str(instance / "storage"),
        # Certificates: the issuer named on them, the signing key (KID:SEED; development keeps one in the
        # instance folder), retired public keys still published (KID:MULTIBASE,...), public look-ups per
        # address and minute, how long an e-mail claim holds (and how old work must be before the sweep
        # queues it again), the base of the retry backoff and the sweep's period, in seconds, and how many
        # waiting completions one issuing task takes (50: a transaction, an SMTP session and a task for 50
        # certificates; its first e-mail waits for its 50 PDFs, about half a second).
        "CERTIFICATE_ISSUER_NAME": "ESCAP capacity-building programme",
        "CERTIFICATE_SIGNING_KEY": "",
        "CERTIFICATE_RETIRED_KEYS": "",
        "CERTIFICATE_LOOKUPS_PER_MINUTE": 30,
        "CERTIFICATE_EMAIL_LEASE": timedelta(minutes=10),
        "CERTIFICATE_RETRY_BACKOFF": 5.0,
        "CERTIFICATE_SWEEP_SECONDS": 60.0,
        "CERTIFICATE_BATCH_SIZE": 50,
        # How long a queued issuing task that has not started keeps later completions from queueing their
        # own (they are within its reach); past it, it is taken for lost.
        "CERTIFICATE_WAKEUP_SECONDS": 60.0,
        # Certificates of an erased account: "keep" (still verifiable, as issued to a deleted account) or
        # "revoke"; the secretariat may choose otherwise when it erases an account on request.
        "ERASURE_CERTIFICATES": "keep",
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": {"en": "English"},
    }


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """Read the documented environment variables into settings."""
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    simple = {
        "ACADEMY_ENV": "ACADEMY_ENV",
        "SECRET_KEY": "SECRET_KEY",
        "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
        "BASE_URL": "BASE_URL",
        "CONTENT_PATH": "CONTENT_PATH",
        "MAIL_BACKEND": "MAIL_BACKEND",
        "MAIL_FILE_PATH": "MAIL_FILE_PATH",
        "MAIL_SERVER": "MAIL_SERVER",
        "MAIL_USERNAME": "MAIL_USERNAME",
        "MAIL_PASSWORD": "MAIL_PASSWORD",
        "MAIL_DEFAULT_SENDER": "MAIL_DEFAULT_SENDER",
        "STORAGE_PATH": "STORAGE_PATH",
        "CERTIFICATE_SIGNING_KEY": "CERTIFICATE_SIGNING_KEY",
        "CERTIFICATE_RETIRED_KEYS": "CERTIFICATE_RETIRED_KEYS",
        "CERTIFICATE_ISSUER_NAME": "CERTIFICATE_ISSUER_NAME",
        "CELERY_DEFAULT_QUEUE": "CELERY_DEFAULT_QUEUE",
        "ERASURE_CERTIFICATES": "ERASURE_CERTIFICATES",
    }
    for name, key in simple.items():
        if env.get(name):
            settings[key] = env[name]
    for name in (
        "MAIL_PORT",
        "MAIL_TIMEOUT",
        "REDIS_VISIBILITY_TIMEOUT",
        "REMINDER_INACTIVITY_DAYS",
        "REMINDER_INACTIVITY_REPEAT_DAYS",
        "REMINDER_INACTIVITY_MAX",
        "REMINDER_BATCH_SIZE",
        "REMINDER_MAX_ATTEMPTS",
        "CERTIFICATE_LOOKUPS_PER_MINUTE",
        "CERTIFICATE_BATCH_SIZE",
        "REGISTRATIONS_PER_MINUTE",
    ):
        if env.get(name):
            settings[name] = int(env[name])
    for name in ("MAIL_USE_TLS", "MAIL_USE_SSL", "PROXY_FIX"):
        if env.get(name):
            settings[name] = _env_bool(env[name])
    if env.get("CERTIFICATE_EMAIL_LEASE"):
        settings["CERTIFICATE_EMAIL_LEASE"] = timedelta(seconds=float(env["CERTIFICATE_EMAIL_LEASE"]))
    if env.get("REMINDER_CLAIM_TIMEOUT"):
        settings["REMINDER_CLAIM_TIMEOUT"] = timedelta(seconds=float(env["REMINDER_CLAIM_TIMEOUT"]))
    for name in (
        "CERTIFICATE_RETRY_BACKOFF", "CERTIFICATE_SWEEP_SECONDS", "CERTIFICATE_WAKEUP_SECONDS",
        "REMINDER_SCAN_SECONDS", "MAIL_KEEP_SECONDS",
    ):  # fmt: skip
        if env.get(name):
            settings[name] = float(env[name])
    if env.get("CELERY_BROKER_URL"):
        settings["CELERY_BROKER_URL"] = env["CELERY_BROKER_URL"]
    return settings


def server_settings(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Where `academy serve` listens and how many web workers it starts."""
    env = os.environ if environ is None else environ
    return {
        "host": env.get("ACADEMY_HOST", "127.0.0.1"),
        "port": int(env.get("ACADEMY_PORT", "8000")),
        "workers": int(env.get("WEB_CONCURRENCY", "2")),
    }


def finalise(config: dict[str, Any], instance_path: str) -> None:
    """Derive dependent settings and refuse unsafe ones; mutates ``config``."""
    env = config["ACADEMY_ENV"]
    if env not in ENVIRONMENTS:
        raise RuntimeError(f"ACADEMY_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    config["SQLALCHEMY_DATABASE_URI"] = url

    broker = config.pop("CELERY_BROKER_URL", None)
    celery = dict(config["CELERY"])
    if broker:
        celery["broker_url"] = broker
    if celery["broker_url"].startswith(("redis://", "rediss://")):
        celery["broker_transport_options"] = {
            **celery.get("broker_transport_options", {}),
            "visibility_timeout": config["REDIS_VISIBILITY_TIMEOUT"],
        }
    celery["task_default_queue"] = config["CELERY_DEFAULT_QUEUE"]
    schedule = dict(celery.get("beat_schedule", {}))
    if config.get("REMINDER_SCAN_SECONDS") and "reminders-scan" in schedule:
        schedule["reminders-scan"] = {
            **schedule["reminders-scan"],
            "schedule": float(config["REMINDER_SCAN_SECONDS"]),
        }
    celery["beat_schedule"] = {
        **schedule,
        "certificates-sweep": {
            "task": "learning.certificates.tasks.sweep_certificates",
            "schedule": float(config["CERTIFICATE_SWEEP_SECONDS"]),
        },
    }
    config["CELERY"] = celery

    key = config.get("SECRET_KEY") or ""
    if key.strip().lower() in INSECURE_KEYS or len(key) < 32:
        if env == "production":
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        config["SECRET_KEY"] = _instance_secret(instance_path)
    if config["ERASURE_CERTIFICATES"] not in ("keep", "revoke"):
        raise RuntimeError("ERASURE_CERTIFICATES must be 'keep' or 'revoke'")
    if int(config["CERTIFICATE_BATCH_SIZE"]) < 1:  # 0 would issue nothing, ever
        raise RuntimeError("CERTIFICATE_BATCH_SIZE must be at least 1")
    if env == "development":
        config["SESSION_COOKIE_SECURE"] = False


def _instance_secret(instance_path: str) -> str:
    """Return a key kept in the instance folder, made on first use (development and tests only)."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
