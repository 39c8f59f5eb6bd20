"""``/healthz`` and ``/readyz`` for load balancers and process managers.

They are answered in front of the Flask app (a WSGI layer), so a probe costs no session, no
cookie, no rate-limit count, no log line from the app and no host check: a load balancer probes
by the machine's address, which ``ALLOWED_HOSTS`` would rightly refuse for pages. They disclose
nothing but "ok" or which dependency is not ready.

- ``/healthz``: the process answers (no database); a process manager restarts it when this fails.
- ``/readyz``: the database answers and its schema is current; else 503, and the load balancer
  sends requests to another instance meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def readiness(app: Flask) -> tuple[bool, str]:
    from petitions.extensions import db
    from petitions.models.schema_version import schema_state

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                state = schema_state(connection)
        except SQLAlchemyError as error:
            return False, f"database unreachable ({type(error).__name__})"
        finally:
            db.session.remove()
    return state.current, "ready" if state.current else "schema not current"


class Probes:
    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        self.inner = inner

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return self._answer(start_response, True, "ok")
        if path == "/readyz":
            return self._answer(start_response, *readiness(self.app))
        return self.inner(environ, start_response)

    @staticmethod
    def _answer(start_response: StartResponse, ok: bool, text: str) -> list[bytes]:
        body = (text + "\n").encode()
        start_response(
            "200 OK" if ok else "503 Service Unavailable",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]


def init_probes(app: Flask) -> None:
    inner: Any = app.wsgi_app
    app.wsgi_app = Probes(app, inner)  # type: ignore[method-assign]
