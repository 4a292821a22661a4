"""Celery, the Flask way: tasks run inside an application context (Flask docs, "Celery" pattern)."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask, has_app_context
from kombu.transport import sqlalchemy as kombu_sqla


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app bound to ``app`` and store it in ``app.extensions['celery']``."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            # A task run eagerly from inside an application (tests, `task_always_eager`) keeps that
            # application's context; a worker has none and pushes its own app's.
            if has_app_context():
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    settings = dict(app.config["CELERY"])
    polling = settings.pop("broker_polling_interval", None)
    if polling is not None and settings["broker_url"].startswith("sqla+"):
        # kombu passes broker_transport_options to create_engine() for this transport,
        # so the polling interval is set on the transport class instead.
        kombu_sqla.Transport.polling_interval = polling
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(settings)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
