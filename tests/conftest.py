"""Fixtures: a fresh app and database per test, a real SMTP server, a real HTTP server.

The suite runs on SQLite (a new file per test) or, when ``TEST_DATABASE_URL`` is set, on that
PostgreSQL database (schema built once by the migrations, tables emptied before each test).
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from petitions import create_app
from petitions.extensions import db
from petitions.services.demo import load_demo_letters

PG_URL = os.environ.get("TEST_DATABASE_URL")
G20 = "g20-protect-education"
INCLUSIVE = "inclusive-education-albania"
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*? value="([^"]+)"')
LINK_PATTERN = re.compile(r"https?://[^\s\"<>]+/(confirm|withdraw)/[^\s\"<>]+")


def pg_url() -> str | None:
    if not PG_URL:
        return None
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    """On PostgreSQL: drop everything, then build the schema with the real migrations once."""
    url = pg_url()
    if url is None:
        yield None
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app(_settings(url))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    yield url


def _settings(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "OUTBOX_WORKER": "external",
        "JOBS_IMMEDIATE": True,
        "MAIL_URL": "console:",
        "RATELIMIT_ENABLED": False,
        "API_MEMO_SECONDS": 0,  # API answers as they are now (tests of the memo turn it on)
        "PUBLIC_URL": "http://petitions.test",
        "OUTBOX_RETRY_BASE_SECONDS": 0.05,
        "OUTBOX_RETRY_MAX_SECONDS": 0.2,
        **extra,
    }


def _empty_pg_tables() -> None:
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def make_app(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, pg_schema: str | None
) -> Iterator[Any]:
    """Build apps on the test's database (extra settings per call); demo letters loaded."""
    monkeypatch.setenv("PETITIONS_INSTANCE", str(tmp_path / "instance"))
    url = pg_schema or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    built: list[Flask] = []

    def build(**extra: Any) -> Flask:
        app = create_app(_settings(url, **extra))
        if not built:
            with app.app_context():
                if pg_schema:
                    _empty_pg_tables()
                else:
                    db.create_all()
                load_demo_letters()
                db.session.commit()
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["petitions.outbox"].stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# --- signing through HTTP -------------------------------------------------------------------


def assert_no_other_writer_gets_in() -> None:
    """On SQLite, inside a POST's transaction: a second connection cannot write meanwhile."""
    other = db.engine.raw_connection()
    other.execute("PRAGMA busy_timeout=100")
    try:
        other.execute("UPDATE letters SET goal = goal")
        raise AssertionError("another writer got in during a POST's transaction")
    except Exception as error:  # sqlite3.OperationalError: database is locked
        assert "locked" in str(error)
    finally:
        other.close()


def csrf_token(html: str) -> str:
    found = CSRF_PATTERN.search(html)
    assert found, "no csrf_token in the page"
    return found.group(1)


def valid_fields(**overrides: Any) -> dict[str, Any]:
    fields = {
        "kind": "individual",
        "name": "Ana Hoxha",
        "email": "ana@example.org",
        "organisation": "",
        "title": "Teacher",
        "country": "AL",
        "city": "Tiranë",
        "website": "",
        "comment": "",
        "public": "y",
        "consent": "y",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def sign(client: FlaskClient, slug: str = G20, lang: str | None = None, **overrides: Any) -> Any:
    """GET the letter page (as a person would), then POST the form with its CSRF token."""
    page = client.get(f"/letters/{slug}" + (f"?lang={lang}" if lang else ""))
    assert page.status_code == 200
    data = valid_fields(**overrides)
    data["csrf_token"] = csrf_token(page.get_data(as_text=True))
    return client.post(f"/letters/{slug}/sign", data=data)


def links_in(body: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"confirm": [], "withdraw": []}
    for match in LINK_PATTERN.finditer(body):
        found[match.group(1)].append(match.group(0))
    return found


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def press_button(client: FlaskClient, url: str) -> Any:
    """Open an emailed link and press its one button, as the signer does."""
    page = client.get(path_of(url))
    assert page.status_code == 200, page.status_code
    return client.post(path_of(url), data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def outbox_rows(app: Flask) -> list[Any]:
    from sqlalchemy import select

    from petitions.models.outbox import OutboxEmail

    with app.app_context():
        rows = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
        db.session.expunge_all()
        return list(rows)


# --- a real SMTP server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SMTPSink:
    """What the SMTP server received; ``reply`` makes it refuse (e.g. "451 …", "550 …")."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    reply: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


class SMTPServer:
    """Start and stop an aiosmtpd server on a fixed port (to test "down, then up again")."""

    def __init__(self, port: int | None = None) -> None:
        self.sink = SMTPSink(port or free_port())
        self.controller: Controller | None = None

    def start(self) -> SMTPSink:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.sink.port)
        self.controller.start()
        return self.sink

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: SMTPServer) -> SMTPSink:
    return smtp_server.start()


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


# --- a real HTTP server ---------------------------------------------------------------------------


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app behind Werkzeug's threaded HTTP server on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


# --- staff ---------------------------------------------------------------------------------

STAFF_PASSWORD = "a long staff password for tests"


@pytest.fixture(scope="session")
def staff_password_hash() -> str:
    """One real argon2 hash for every test account (hashing costs 0.1 s; logins still verify)."""
    from petitions.services.passwords import hash_password

    return hash_password(STAFF_PASSWORD)


@pytest.fixture
def make_staff(app: Flask, staff_password_hash: str) -> Any:
    """Create a staff account: ``make_staff("organiser", letters=[G20])`` returns its email."""
    from sqlalchemy import select

    from petitions.models.letters import Letter
    from petitions.models.staff import StaffUser

    counter = iter(range(1, 10_000))

    def create(role: str = "admin", email: str | None = None, letters: tuple[str, ...] = ()) -> str:
        address = email or f"{role}{next(counter)}@staff.example.org"
        with app.app_context():
            user = StaffUser(email=address, role=role, password_hash=staff_password_hash)
            user.letters = list(db.session.scalars(select(Letter).where(Letter.slug.in_(letters))))
            db.session.add(user)
            db.session.commit()
        return address

    return create


def login(client: FlaskClient, email: str, password: str = STAFF_PASSWORD, next: str = "") -> Any:
    """Sign in through the login form, as a person does; returns the POST's answer."""
    page = client.get("/staff/login" + (f"?next={next}" if next else ""))
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        "/staff/login",
        data={"csrf_token": token, "email": email, "password": password, "next": next},
    )


@pytest.fixture
def staff_client(app: Flask, make_staff: Any) -> Any:
    """A test client signed in with a new account of the given role (and letters)."""

    def signed_in(role: str = "admin", letters: tuple[str, ...] = ()) -> FlaskClient:
        staff = app.test_client()
        answer = login(staff, make_staff(role, letters=letters))
        assert answer.status_code == 303, answer.status_code
        return staff

    return signed_in


# --- Race tests and skips ---------------------------------------------------------------------

RACE_SKIP_REASON = (
    "race test: SQLite serialises writers, so it proves nothing there; "
    "it runs on PostgreSQL (set TEST_DATABASE_URL)"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "race: several writers at once; meaningful on PostgreSQL only (skipped on SQLite)",
    )
    config.addinivalue_line(
        "markers", "postgresql(reason): tests a feature only PostgreSQL has (SQLite skips it)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    for item in items:
        if item.get_closest_marker("race"):
            item.add_marker(pytest.mark.skip(reason=RACE_SKIP_REASON))
        elif marker := item.get_closest_marker("postgresql"):
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"needs PostgreSQL: {reason}"))


def skip_allowed(item: pytest.Item) -> bool:
    """Under CI (``CI=true``) a skip is a failure, except a PostgreSQL-only test's on SQLite."""
    if not os.environ.get("CI"):
        return True
    only_postgresql = item.get_closest_marker("race") or item.get_closest_marker("postgresql")
    return not PG_URL and only_postgresql is not None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail") and not skip_allowed(item):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where nothing may be skipped: {reason}"
