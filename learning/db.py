"""Database plumbing: engine settings per dialect, UTC timestamps and upserts."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import DateTime, Select, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

from learning.extensions import db

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
POOL_RECYCLE_SECONDS = 1800  # pooled connections, and the ones RawSelect holds, are replaced at this age
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
    return {"pool_size": 5, "max_overflow": 10, "pool_recycle": POOL_RECYCLE_SECONDS}


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


def session_bind() -> Engine | Connection:
    """What the session's factory is bound to, for statements run beside the session: a connection (the
    tests', in their transaction) or the engine. Not db.session.get_bind(): that makes the request a
    session it would not otherwise need, and makes it close it at the end."""
    return db.session.session_factory.kw.get("bind") or db.engine


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # the parameters' order for a positional paramstyle, else None
    constants: tuple[tuple[str, Any], ...]  # the values the statement holds itself (a literal compared to)
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters whose type converts them
    results: tuple[Callable[[Any], Any] | None, ...]  # per column


class RawSelect:
    """A one-row SELECT built and compiled by SQLAlchemy, run on the DBAPI cursor itself.

    For the statement learners send most (the lesson page's and the lesson API's, learning.progress.
    lesson_access): SQLAlchemy's execution around one statement (checking a Connection out, the execution
    context, the result object, and on PostgreSQL switching the connection to autocommit and back) took
    about four times the Python time of the statement on the DBAPI cursor, and checking a connection out
    of the pool and back still cost the lesson API a tenth of its throughput (bench/README.md). So each
    thread keeps a connection of its own for these statements (``_held_connection``: taken from the
    engine's pool and detached from it, in autocommit mode, replaced at the pool's recycling age, after a
    fork, or when lost), which is one connection per thread on top of the pool.

    What stays the same: the SQL is SQLAlchemy's, compiled once per dialect; parameters and columns go
    through their types' own processors (so UTC timestamps read the same as through the ORM); on
    PostgreSQL it runs in autocommit mode like every statement of a ``reads_without_transaction`` view (one
    round trip), and on SQLite without a BEGIN; the engine's ``before_cursor_execute`` and
    ``after_cursor_execute`` listeners see it, with a Connection (statement counts in tests and bench/);
    a DBAPI error comes out as SQLAlchemy's ``DBAPIError`` with the connection invalidated when it was
    lost, so learning.errors answers 503 as for any other statement. In tests, whose session is bound to a
    connection, it runs on that connection, inside its transaction.

    Only for statements whose SQL does not depend on the values (no expanding ``IN`` parameters).
    """

    def __init__(self, build: Callable[[], Select[*tuple[Any, ...]]]) -> None:
        self._build = build
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def one_or_none(self, **values: Any) -> tuple[Any, ...] | None:
        bind = session_bind()  # a session would cost more than the statement
        compiled = self._compile(bind.dialect)
        converted = dict(compiled.constants)
        converted.update(values)
        for name, convert in compiled.binds:
            converted[name] = convert(converted[name])
        parameters: Any = (
            tuple(converted[name] for name in compiled.names) if compiled.names is not None else converted
        )
        if isinstance(bind, Connection):  # the tests' connection, in its transaction
            row = self._run(bind, bind.connection.driver_connection, compiled, parameters)
        else:
            row = self._run_pooled(bind, compiled, parameters)
        if row is None:
            return None
        return tuple(
            value if convert is None or value is None else convert(value)
            for value, convert in zip(row, compiled.results, strict=True)
        )

    def _compile(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        found = self._compiled.get(key)
        if found is not None:
            return found
        statement = self._build()
        compiled = statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("RawSelect takes no expanding (IN) parameters")
        # Literal-rendered parameters (a string_agg separator, say) are rendered here; the SQL then does
        # not depend on the values, which are given at each call.
        required = {name: None for name, bind in compiled.binds.items() if bind.required}
        constants = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        expanded = compiled.construct_expanded_state({**required, **constants})
        binds = []
        for name, bind in compiled.binds.items():
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                binds.append((name, convert))
        found = _Compiled(
            sql=expanded.statement,
            names=tuple(expanded.positiontup) if compiled.positional and expanded.positiontup else None,
            constants=tuple(constants.items()),
            binds=tuple(binds),
            results=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement.selected_columns
            ),
        )
        self._compiled[key] = found
        return found

    @staticmethod
    def _run(events: Connection | None, connection: Any, compiled: _Compiled, parameters: Any) -> Any:
        cursor = connection.cursor()
        try:
            if events is not None:
                events.dispatch.before_cursor_execute(events, cursor, compiled.sql, parameters, None, False)
            cursor.execute(compiled.sql, parameters)
            row = cursor.fetchone()
            if events is not None:
                events.dispatch.after_cursor_execute(events, cursor, compiled.sql, parameters, None, False)
            return row
        finally:
            cursor.close()

    def _run_pooled(self, engine: Engine, compiled: _Compiled, parameters: Any) -> Any:
        dialect = engine.dialect
        # Where something listens for statements (tests, bench/, instrumentation), it gets the Connection
        # its listeners expect, from the pool; otherwise the thread's own connection.
        listened = bool(engine.dispatch.before_cursor_execute or engine.dispatch.after_cursor_execute)
        events = engine.connect() if listened else None
        connection: Any = (
            events.connection.driver_connection if events is not None else _held_connection(engine)
        )
        # A pooled connection would open a transaction on psycopg (BEGIN, and the pool's ROLLBACK on
        # return: two round trips), so it is switched to autocommit for the statement and back before it
        # returns to the pool; the thread's own connection is in autocommit mode already, like SQLite's
        # (isolation_level None, see above).
        switched = False
        try:
            if events is not None and dialect.name == "postgresql":
                connection.autocommit = True
                switched = True
            return self._run(events, connection, compiled, parameters)
        except dialect.loaded_dbapi.Error as exc:
            lost = dialect.is_disconnect(exc, connection, None)
            if lost:
                # as SQLAlchemy does on a lost connection: this one is dropped, and every pooled
                # connection (opened before the loss too) is closed rather than handed out again
                switched = False
                if events is None:
                    _drop_held(engine)
                else:
                    events.invalidate(exc)
                engine.dispose()
            raise DBAPIError.instance(
                compiled.sql, parameters, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                connection_invalidated=lost, dialect=dialect,
            ) from exc  # fmt: skip
        finally:
            if events is not None:
                if switched:
                    try:
                        connection.autocommit = False
                    except dialect.loaded_dbapi.Error:
                        events.invalidate()  # never back to the pool in autocommit mode
                events.close()


@dataclass(eq=False)
class _HeldConnection:
    """A DBAPI connection RawSelect keeps, the process that opened it, and when. It is closed when this
    holder goes: with its thread (a thread-local keeps it), its engine (a weak key), or when replaced."""

    dbapi: Any
    pid: int
    since: float


class _Held(threading.local):
    def __init__(self) -> None:
        self.by_engine: weakref.WeakKeyDictionary[Engine, _HeldConnection] = weakref.WeakKeyDictionary()


_held = _Held()
# Connections a forked process inherited from its parent: never closed in the child, which would end the
# parent's session on the same socket; kept referenced so that nothing finalizes them either.
_inherited: list[Any] = []


def _held_connection(engine: Engine) -> Any:
    """This thread's DBAPI connection for RawSelect on ``engine``: opened through the pool (so its
    connect-time settings apply) and detached from it, in autocommit mode on PostgreSQL."""
    held = _held.by_engine.get(engine)
    if held is not None:
        if held.pid == os.getpid() and time.monotonic() - held.since < POOL_RECYCLE_SECONDS:
            return held.dbapi
        del _held.by_engine[engine]  # its finalizer closes it (or keeps it, in a forked child)
    fairy = engine.raw_connection()
    connection: Any = fairy.driver_connection
    fairy.detach()  # the pool forgets it: it neither counts against the pool's size nor goes back to it
    if engine.dialect.name == "postgresql":
        connection.autocommit = True
    held = _HeldConnection(connection, os.getpid(), time.monotonic())
    weakref.finalize(held, _close_held, connection, held.pid)
    _held.by_engine[engine] = held
    return connection


def _drop_held(engine: Engine) -> None:
    _held.by_engine.pop(engine, None)


def _close_held(connection: Any, pid: int) -> None:
    if pid == os.getpid():
        connection.close()  # psycopg and sqlite3 close a lost connection without complaint
    else:
        _inherited.append(connection)
