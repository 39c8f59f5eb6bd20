"""argon2 runs outside any transaction: a password check never holds SQLite's write lock.

On SQLite every POST writes in a ``BEGIN IMMEDIATE`` transaction, which holds back every other
writer until it ends. A login that checked its password inside it stopped all signing for the
length of a hash (two streams of failed logins pushed signing's p90 to seconds). Here argon2's
``hash`` and ``verify`` (the library, a third-party boundary) are wrapped by a probe that asks,
at the moment they run, whether the request's session is inside a transaction and, on SQLite,
whether a second connection can begin a write at once; then they run as usual.
"""

from __future__ import annotations

import http.client
import sqlite3
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from argon2 import PasswordHasher
from conftest import G20, STAFF_PASSWORD, csrf_token, login, valid_fields
from flask import has_app_context
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.staff import Role, StaffUser
from petitions.services import staff_accounts

WRONG = "not the password at all"
NEW_PASSWORD = "a brand new staff password"


class Probe:
    """What argon2 saw of the database each time it ran inside the app."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def look(self, call: str) -> None:
        if not has_app_context():
            return
        seen: dict[str, Any] = {"call": call, "in_transaction": db.session().in_transaction()}
        if db.engine.dialect.name == "sqlite":
            other = sqlite3.connect(db.engine.url.database, timeout=0.1, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                seen["another_writer_got_in"] = True
            except sqlite3.OperationalError as error:
                seen["another_writer_got_in"] = f"no: {error}"
            finally:
                other.close()
        self.seen.append(seen)

    def assert_free(self, *calls: str) -> None:
        """These calls were made (an unknown account's first login also hashes a stand-in),
        and at none of argon2's calls was a transaction open or the write lock taken."""
        made = [seen["call"] for seen in self.seen]
        assert all(made.count(call) >= list(calls).count(call) for call in calls), made
        for seen in self.seen:
            assert seen["in_transaction"] is False, seen
            assert seen.get("another_writer_got_in", True) is True, seen


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> Probe:
    probe = Probe()
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def hash_(self: PasswordHasher, password: Any, *, salt: Any = None) -> str:
        probe.look("hash")
        return real_hash(self, password, salt=salt)

    def verify(self: PasswordHasher, hash: Any, password: Any) -> Any:
        probe.look("verify")
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "hash", hash_)
    monkeypatch.setattr(PasswordHasher, "verify", verify)
    return probe


def _disable(app: Any, email: str) -> None:
    with app.app_context():
        db.session.scalar(select(StaffUser).where(StaffUser.email == email)).is_active = False
        db.session.commit()


@pytest.mark.parametrize(
    ("account", "password", "status"),
    [
        ("active", STAFF_PASSWORD, 303),
        ("active", WRONG, 400),
        ("unknown", WRONG, 400),
        ("disabled", STAFF_PASSWORD, 400),
    ],
)
def test_a_login_checks_its_password_outside_any_transaction(
    app, client, make_staff, probe, account, password, status
):
    email = "nobody@staff.example.org" if account == "unknown" else make_staff("moderator")
    if account == "disabled":
        _disable(app, email)
    client.get("/staff/login")  # the form's page first, before anything is recorded
    probe.seen.clear()
    assert login(client, email, password=password).status_code == status
    probe.assert_free("verify")


def test_a_login_rehashes_an_old_hash_outside_any_transaction(app, client, make_staff, probe):
    email = make_staff("moderator")
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        user.password_hash = weaker.hash(STAFF_PASSWORD)
        db.session.commit()
    probe.seen.clear()
    assert login(client, email).status_code == 303
    probe.assert_free("verify", "hash")
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert not PasswordHasher().check_needs_rehash(user.password_hash)


@pytest.mark.parametrize(("current", "status"), [(STAFF_PASSWORD, 303), (WRONG, 400)])
def test_a_password_change_hashes_outside_any_transaction(app, make_staff, probe, current, status):
    email = make_staff("organiser")
    staff = app.test_client()
    login(staff, email)
    page = staff.get("/staff/account/password").get_data(as_text=True)
    probe.seen.clear()
    answer = staff.post(
        "/staff/account/password",
        data={"csrf_token": csrf_token(page), "password": NEW_PASSWORD,
              "password_again": NEW_PASSWORD, "current_password": current},
    )  # fmt: skip
    assert answer.status_code == status
    if status == 303:
        probe.assert_free("verify", "hash")
    else:
        probe.assert_free("verify")
    expected = NEW_PASSWORD if status == 303 else STAFF_PASSWORD
    assert login(app.test_client(), email, password=expected).status_code == 303


def test_accepting_an_invitation_hashes_outside_any_transaction(app, make_staff, probe):
    admin_email = make_staff("admin")
    with app.test_request_context():
        admin = db.session.scalar(select(StaffUser).where(StaffUser.email == admin_email))
        link = staff_accounts.invite("invited@example.org", Role.MODERATOR, [], admin, "en")
        db.session.commit()
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    visitor = app.test_client()
    page = visitor.get(path).get_data(as_text=True)
    probe.seen.clear()
    answer = visitor.post(
        path,
        data={"csrf_token": csrf_token(page), "password": NEW_PASSWORD,
              "password_again": NEW_PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 303
    probe.assert_free("hash")
    assert login(app.test_client(), "invited@example.org", NEW_PASSWORD).status_code == 303


def test_staff_create_hashes_outside_any_transaction(app, runner, probe):
    result = runner.invoke(
        args=["staff", "create", "cli@example.org", "--role", "admin"], input=NEW_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    probe.assert_free("hash")
    assert login(app.test_client(), "cli@example.org", NEW_PASSWORD).status_code == 303


class Browser:
    """One visitor over real HTTP: a cookie, one connection per request, a socket timeout."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        """(status, body); a socket timeout (5 s) comes back as the status "timed out"."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=urlencode(form) if form else None, headers=headers)
            response = conn.getresponse()
            body = response.read().decode()
        except TimeoutError:
            return "timed out", ""
        finally:
            conn.close()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, body


def test_signing_goes_on_while_a_login_checks_its_password(
    app, live_server, make_staff, monkeypatch
):
    """Over real HTTP: a failed login is held inside argon2; a signature made meanwhile goes
    through at once (before, it waited for the login's write lock, up to SQLite's busy timeout)."""
    email = make_staff("moderator")
    in_verify, release = threading.Event(), threading.Event()
    real_verify = PasswordHasher.verify

    def held_verify(self: PasswordHasher, hash: Any, password: Any) -> Any:
        in_verify.set()
        release.wait(20)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", held_verify)
    attacker, signer = Browser(live_server), Browser(live_server)
    login_form = {"email": email, "password": WRONG}
    login_form["csrf_token"] = csrf_token(attacker.request("GET", "/staff/login")[1])
    sign_form = valid_fields(email="signer@example.org")
    sign_form["csrf_token"] = csrf_token(signer.request("GET", f"/letters/{G20}")[1])
    answers: list[Any] = []
    thread = threading.Thread(
        target=lambda: answers.append(attacker.request("POST", "/staff/login", login_form)[0])
    )
    thread.start()
    try:
        assert in_verify.wait(10), "the login never reached argon2"
        started = time.monotonic()
        signed = signer.request("POST", f"/letters/{G20}/sign", sign_form)[0]
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(30)
    assert signed == 303
    assert waited < 5
    assert answers == [400]
