"""Database engine setup and the two portable tools the services need for concurrency.

SQLite serves the embedded default; it copes with several writers only when it is told how:
WAL (readers never block the writer), a busy timeout (writers queue instead of failing), and write
transactions that begin ``IMMEDIATE`` (a deferred one that later writes can fail at once with
"database is locked", which no timeout cures). Whether a transaction will write is known before it
starts: a request with an unsafe method, or a block wrapped in :func:`write_intent`.
PostgreSQL needs none of this.

PostgreSQL gets bounds instead (:mod:`petitions.models.pg_bounds`): a web request waits a few
seconds for a server that hangs, then answers 503 (see :func:`unavailable`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import CursorResult, Engine, Result, event, exc
from sqlalchemy.dialects import postgresql, sqlite

from petitions.extensions import db
from petitions.models.pg_bounds import configure_postgresql

_WRITE_INTENT: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)
_READ_PHASE: contextvars.ContextVar[bool] = contextvars.ContextVar("read_phase", default=False)
SQLITE_BUSY_TIMEOUT_MS = 30_000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextlib.contextmanager
def write_intent() -> Iterator[None]:
    """Mark the transactions begun inside this block as writers (``BEGIN IMMEDIATE`` on SQLite)."""
    marker = _WRITE_INTENT.set(True)
    try:
        yield
    finally:
        _WRITE_INTENT.reset(marker)


@contextlib.contextmanager
def unit_of_work() -> Iterator[None]:
    """Outside a request (commands, workers): one writing transaction, committed when the block
    ends and rolled back if it raises. Requests get the same from the request handler."""
    with write_intent():
        try:
            yield
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()


def end_reading() -> None:
    """End the transaction this request has read in, so that its writes begin one of their own.

    On SQLite a transaction that began as a reader and then writes fails at once with "database
    is locked" if anyone committed since its first read (SQLITE_BUSY_SNAPSHOT); no busy timeout
    cures that. A GET that writes (an audited download) reads first, then calls this.
    """
    db.session.commit()


@contextlib.contextmanager
def read_phase() -> Iterator[None]:
    """Mark the transactions begun inside this block as readers, even in a POST request.

    For a request that reads a while before it writes: it reads here, ends that transaction,
    and then writes in a new one that holds SQLite's write lock only for the writing.
    """
    marker = _READ_PHASE.set(True)
    try:
        yield
    finally:
        _READ_PHASE.reset(marker)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
        raise ValueError("SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        # NORMAL is only safe with WAL (some file systems refuse WAL): else wait for the disk.
        level = synchronous.upper() if str(mode).lower() == "wal" else "FULL"
        cursor.execute(f"PRAGMA synchronous={level}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writes() else "BEGIN")


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached or did not answer in time.

    OperationalError covers a refused or timed-out connection, a dropped one, a statement
    cancelled by its timeout and SQLite's "unable to open" or "locked"; a pool that has no free
    connection within ``pool_timeout`` raises SQLAlchemy's own TimeoutError.
    """
    if isinstance(error, exc.OperationalError | exc.TimeoutError):
        return True
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


def _writes() -> bool:
    if _WRITE_INTENT.get():
        return True
    if _READ_PHASE.get():
        return False
    return has_request_context() and request.method not in SAFE_METHODS


def init_database(app: Flask) -> None:
    """Configure the app's engine once it exists."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, app.config["SQLITE_SYNCHRONOUS"])
        elif engine.dialect.name == "postgresql":
            configure_postgresql(engine, app.config["DATABASE_STATEMENT_TIMEOUT"])


def dialect_insert(model: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing`` on the session's database."""
    name = db.session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database: {name}")


def rowcount(result: Result[Any]) -> int:
    """The number of rows an UPDATE or DELETE touched (``Session.execute`` types it loosely)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"no row count on {type(result).__name__}")
    return result.rowcount
