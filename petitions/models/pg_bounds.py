"""PostgreSQL: how long a web request may wait for it.

Three bounds, so that a server that hangs costs a request a few seconds and a 503, not the whole
of the server's worker timeout:

- a new connection waits ``DATABASE_CONNECT_TIMEOUT`` (libpq's ``connect_timeout``), and a request
  waits as long for a free connection from the pool (both set in ``config.postgres_timeouts``);
- a statement stops after ``DATABASE_STATEMENT_TIMEOUT`` on the server (``statement_timeout``,
  every connection's default, so web requests pay nothing for it); a transaction begun outside a
  request (commands, the outbox and job threads, migrations) lifts it with ``SET LOCAL``: a
  recount, a long PDF job or an index build may take longer. No web request needs one statement
  that long (exports read in keyset batches);
- a server that is frozen (stopped, its machine paused) enforces no timeout and its kernel still
  acknowledges every packet, so a query or the pool's ping on an open connection would wait
  forever. Inside a web request each wait on the connection also stops on the client,
  ``CLIENT_MARGIN_SECONDS`` after the server's own timeout would have answered; that connection
  is then closed (its state is unknown) and the pool replaces it.
"""

from __future__ import annotations

import inspect
from typing import Any

from flask import has_request_context
from sqlalchemy import Engine, event

CLIENT_MARGIN_SECONDS = 2.0


def configure_postgresql(engine: Engine, statement_timeout: float) -> None:
    if statement_timeout <= 0:
        return

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        if not has_request_context():
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")

    connection_class = _bounded_connection_class(statement_timeout + CLIENT_MARGIN_SECONDS)
    if connection_class is not None:

        @event.listens_for(engine, "do_connect")
        def connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            return connection_class.connect(*cargs, **cparams)


def _bounded_connection_class(seconds: float) -> Any:
    """psycopg's connection, whose waits in a web request end after ``seconds``.

    psycopg (3.2 and later) bounds a wait with its ``timeout`` argument and then raises an
    OperationalError, which the error pages answer with 503; older versions get no client bound.
    """
    import psycopg

    if "timeout" not in inspect.signature(psycopg.Connection.wait).parameters:
        return None

    class BoundedConnection(psycopg.Connection[Any]):
        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            if timeout is not None or not has_request_context():
                return super().wait(gen, interval, timeout)
            try:
                return super().wait(gen, interval, seconds)
            except psycopg.OperationalError:
                if self.pgconn.transaction_status == psycopg.pq.TransactionStatus.ACTIVE:
                    self.pgconn.finish()  # no answer mid-query: never use this connection again
                raise

    return BoundedConnection
