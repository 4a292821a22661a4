"""Database plumbing: engine settings per dialect, UTC timestamps and upserts."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import DateTime, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.types import TypeDecorator

from learning.extensions import db

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TURN = "sqlite_write_turn"  # in a connection's info while it holds its process's turn to write


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def engine_options(url: str, busy_timeout_ms: int) -> dict[str, Any]:
    """Return create_engine options that suit the database behind ``url``."""
    if url.startswith("sqlite"):
        # SQLite serialises writers anyway; a threaded server (or test) waiting for the write lock must not
        # first run out of pooled connections, so the pool is wide and waits as long as the busy timeout.
        return {
            "connect_args": {"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            "pool_size": 10,
            "max_overflow": 60,
            "pool_timeout": max(30, 2 * busy_timeout_ms / 1000),
        }
    # No pool_pre_ping: it costs every request a round trip (two, with psycopg's BEGIN). A connection lost
    # to a database restart fails its request instead, answered with a clean 503
    # (learning.errors.database_unavailable), and SQLAlchemy then replaces every older pooled connection.
    return {"pool_size": 5, "max_overflow": 10, "pool_recycle": 1800}


def configure_engine(app: Flask) -> None:
    """Attach the per-connection settings to the application's engine."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and upgrades read locks to write locks,
        # which fails at once under contention; we emit BEGIN ourselves (SQLAlchemy's recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # PRAGMA takes no bound parameters; the value is an int.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")  # nosemgrep: sql-built-from-strings
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # SQLite's busy handler polls with growing sleeps and serves no one in order: under load, one of fifty
    # threads waiting for the write lock could wait past the busy timeout while others got it many times
    # over. So the writers of one process first queue on a lock of their own, held from BEGIN IMMEDIATE
    # to COMMIT or ROLLBACK; only the head of the queue polls SQLite (for other processes' writers).
    turn = threading.Lock()

    def release(info: dict[str, Any]) -> None:
        if info.pop(TURN, False):
            turn.release()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # Requests that may write (and every CLI command and task) take the write lock up front,
        # so that the busy timeout applies instead of an immediate "database is locked".
        if has_request_context() and request.method in READ_ONLY_METHODS and not g.get("db_writes"):
            connection.exec_driver_sql("BEGIN")
            return
        if not turn.acquire(timeout=busy_timeout_ms / 1000):
            raise sqlite3.OperationalError("database is locked (waited for this process's other writers)")
        connection.info[TURN] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(connection.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def on_end(connection: Any) -> None:
        # before the COMMIT itself: the next writer's BEGIN IMMEDIATE waits for it in SQLite's busy handler
        if not connection.invalidated:  # an invalidated one gave its turn back then (below)
            release(connection.info)

    @event.listens_for(engine.pool, "checkin")
    @event.listens_for(engine.pool, "invalidate")
    def on_return(_dbapi_connection: Any, record: Any, *_exception: Any) -> None:
        if record is not None:
            release(record.info)  # a connection returned or lost in the middle of a transaction


def write_in_this_request() -> None:
    """Declare that this GET request writes (a rate-limit counter, say): on SQLite its transaction then
    begins with BEGIN IMMEDIATE, like any other write. Call it before the request's first query."""
    if has_request_context():
        g.db_writes = True


def insert_for(table: Table | Any) -> postgresql.Insert | sqlite.Insert:
    """Return a dialect-specific INSERT that supports ON CONFLICT for the current engine."""
    name = db.session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {name!r}")


def dialect_name() -> str:
    """Return the name of the dialect the session talks to."""
    return db.session.get_bind().dialect.name


@contextmanager
def read_connection() -> Iterator[Connection]:
    """A connection for a view's read outside the ORM session, on the session's bind (so in autocommit mode
    in a view marked ``reads_without_transaction``, on PostgreSQL), back in the pool when the block ends.

    For the statements learners send most: the session's transaction bookkeeping (begin, close) costs
    several times as much Python time as checking a connection out of the pool. When the session is bound
    to a connection (the tests' transaction), that connection is used, so the read sees what the session
    sees.
    """
    bind = db.session.get_bind()
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as connection:
        yield connection
