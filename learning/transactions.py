"""Views that only read, run without a transaction on PostgreSQL.

A transaction costs a read two round trips to the database (psycopg's BEGIN before the first statement and
SQLAlchemy's ROLLBACK when the session closes), and the ROLLBACK also makes psycopg forget the statements it
had prepared. The pages learners open most need neither: their statements can each see what was committed
when that statement began. Such views are marked with ``reads_without_transaction``; every other request,
and every command and task, keeps its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import flask_sqlalchemy.session
from flask import current_app, has_request_context, request
from sqlalchemy.engine import Connection, Engine

View = TypeVar("View", bound=Callable[..., Any])
MARK = "reads_without_transaction"


def reads_without_transaction(view: View) -> View:
    """Let a GET view's statements run in autocommit mode on PostgreSQL.

    Only for views that write nothing, that are content with each statement seeing its own snapshot, and that
    do not stream rows with ``yield_per`` (psycopg's server-side cursors need a transaction). SQLite keeps its
    deferred BEGIN (see learning.db): there it is a call within the process, not a round trip.
    """
    setattr(view, MARK, True)
    return view


class Session(flask_sqlalchemy.session.Session):
    """Flask-SQLAlchemy's session, on an autocommit view of the engine during a marked view's request."""

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Engine | Connection | None = None,
        **kwargs: Any,
    ) -> Engine | Connection:
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if isinstance(engine, Engine) and engine.dialect.name == "postgresql" and _in_marked_view():
            return _autocommit(engine)
        return engine


def _in_marked_view() -> bool:
    # The method and the endpoint are fixed for the whole request, so every statement of a request gets the
    # same bind, and the session never holds two connections.
    if not has_request_context() or request.method not in ("GET", "HEAD") or request.endpoint is None:
        return False
    return getattr(current_app.view_functions.get(request.endpoint), MARK, False)


@lru_cache(maxsize=8)
def _autocommit(engine: Engine) -> Engine:
    # The same pool: SQLAlchemy puts a connection in autocommit mode when it is checked out this way and
    # restores the isolation level when it goes back. One object per engine, because the session looks its
    # connection up by bind.
    return engine.execution_options(isolation_level="AUTOCOMMIT")
