"""Staff sign-in: credentials, throttling, sessions that end, safe redirects, the CLI."""

from __future__ import annotations

import re

import pytest
from conftest import STAFF_PASSWORD, csrf_token, login
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.staff import StaffUser
from petitions.services.passwords import (
    PasswordRejected,
    check_new_password,
    common_passwords,
    hash_password,
    verify_password,
)


def audit_actions(app) -> list[tuple[str, int | None]]:
    with app.app_context():
        return [
            (e.action, e.actor_id)
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def without_tokens(html: str) -> str:
    """The page without what differs by design: the CSRF token and the email typed in."""
    html = re.sub(r'name="csrf_token"[^>]*? value="[^"]+"', "", html)
    return re.sub(r'name="email"([^>]*) value="[^"]*"', r'name="email"\1', html)


def test_staff_pages_send_visitors_to_the_login_page(client):
    answer = client.get("/staff/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/staff/login?next=/staff/")


def test_login_answers_with_a_redirect_and_opens_the_staff_area(app, client, make_staff):
    email = make_staff("moderator")
    answer = login(client, email)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200
    assert email in home.get_data(as_text=True)
    assert home.headers["Cache-Control"] == "no-store"
    assert ("login.ok", 1) in audit_actions(app)


def test_login_email_ignores_case_and_spaces(client, make_staff):
    make_staff("admin", email="ana@staff.example.org")
    assert login(client, "  Ana@Staff.Example.org ").status_code == 303


def test_failures_look_the_same_whether_or_not_the_account_exists(app, client, make_staff):
    email = make_staff("admin")
    wrong_password = login(client, email, password="not the right password")
    unknown_account = login(client, "nobody@staff.example.org", password="not the right password")
    assert wrong_password.status_code == unknown_account.status_code == 400
    assert without_tokens(wrong_password.get_data(as_text=True)) == without_tokens(
        unknown_account.get_data(as_text=True)
    )
    assert "The email address or the password is not right." in wrong_password.get_data(
        as_text=True
    )
    assert client.get("/staff/").status_code == 302
    actions = [action for action, _ in audit_actions(app)]
    assert actions == ["login.failed", "login.failed"]


def test_a_disabled_account_cannot_sign_in_and_fails_like_a_wrong_password(app, client, make_staff):
    email = make_staff("admin")
    with app.app_context():
        db.session.scalar(select(StaffUser).where(StaffUser.email == email)).is_active = False
        db.session.commit()
    disabled = login(client, email)
    wrong = login(client, email, password="not the right password")
    assert disabled.status_code == 400
    assert without_tokens(disabled.get_data(as_text=True)) == without_tokens(
        wrong.get_data(as_text=True)
    )


def test_no_password_reaches_the_audit_trail_or_the_log(app, client, make_staff, caplog):
    email = make_staff("admin")
    login(client, email, password="a wrong but secret password")
    login(client, email)
    with app.app_context():
        stored = " ".join(
            repr((e.details, e.actor_email, e.action))
            for e in db.session.scalars(select(AuditEvent))
        )
    for secret in ("a wrong but secret password", STAFF_PASSWORD):
        assert secret not in stored
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "payload",
    [
        "//evil.example/staff/",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/staff/\r\nLocation: https://evil.example",
        "evil.example",
        "",
    ],
)
def test_next_only_leads_to_our_own_pages(client, make_staff, payload):
    answer = login(client, make_staff("admin"), next=payload)
    if "\r" in payload:  # a control character is refused outright (web/input_guard.py)
        assert answer.status_code == 400 and "Location" not in answer.headers
        return
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/staff/"


def test_next_keeps_a_relative_path_with_its_query(client, make_staff):
    answer = login(client, make_staff("admin"), next="/staff/moderation?letter=abc")
    assert answer.headers["Location"] == "/staff/moderation?letter=abc"


def test_login_without_a_csrf_token_is_refused(client, make_staff):
    email = make_staff("admin")
    client.get("/staff/login")
    answer = client.post("/staff/login", data={"email": email, "password": STAFF_PASSWORD})
    assert answer.status_code == 400
    assert client.get("/staff/").status_code == 302


def test_a_new_session_on_login(client, make_staff):
    """Nothing from before the login survives it but the language: a fixed token dies."""
    before = csrf_token(client.get("/staff/login?lang=sq").get_data(as_text=True))
    login(client, make_staff("admin"))
    after = csrf_token(client.get("/staff/").get_data(as_text=True))
    assert before != after
    with client.session_transaction() as session:
        assert session["lang"] == "sq"


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_logout_ends_the_session_on_the_server_too(app, client, make_staff):
    login(client, make_staff("admin"))
    stolen = _session_cookie(client)
    page = client.get("/staff/").get_data(as_text=True)
    answer = client.post("/staff/logout", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 303
    assert client.get("/staff/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/staff/").status_code == 302
    assert "logout" in [action for action, _ in audit_actions(app)]


def test_logout_needs_a_csrf_token(client, make_staff):
    login(client, make_staff("admin"))
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff/").status_code == 200


def test_disabling_an_account_ends_its_open_sessions(app, client, make_staff):
    email = make_staff("moderator")
    login(client, email)
    assert client.get("/staff/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        user.is_active = False
        db.session.commit()
    assert client.get("/staff/").status_code == 302


def test_an_idle_session_ends(make_app, make_staff):
    app = make_app(STAFF_IDLE_TIMEOUT=60)
    staff = app.test_client()
    login(staff, make_staff("admin"))
    with staff.session_transaction() as session:
        session["staff_seen"] -= 61
    answer = staff.get("/staff/")
    assert answer.status_code == 302
    assert "/staff/login" in answer.headers["Location"]
    assert staff.get("/staff/").status_code == 302


def test_an_active_session_goes_on(make_app, make_staff):
    app = make_app(STAFF_IDLE_TIMEOUT=60)
    staff = app.test_client()
    login(staff, make_staff("admin"))
    with staff.session_transaction() as session:
        session["staff_seen"] -= 59
    assert staff.get("/staff/").status_code == 200


def test_session_cookie_is_httponly_and_samesite_lax(client, make_staff):
    answer = login(client, make_staff("admin"))
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    from petitions.config import load_settings

    monkeypatch.setenv("PETITIONS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:25")
    monkeypatch.setenv("PUBLIC_URL", "https://letters.example.org")
    assert load_settings(tmp_path)["SESSION_COOKIE_SECURE"] is True


def test_changing_the_password_ends_other_sessions(app, make_staff):
    email = make_staff("admin")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, email)
    login(phone, email)
    page = laptop.get("/staff/account/password").get_data(as_text=True)
    new = "a brand new staff password"
    answer = laptop.post(
        "/staff/account/password",
        data={"csrf_token": csrf_token(page), "password": new, "password_again": new,
              "current_password": STAFF_PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 303
    assert laptop.get("/staff/").status_code == 200
    assert phone.get("/staff/").status_code == 302
    assert login(app.test_client(), email, password=new).status_code == 303


# --- throttling ---------------------------------------------------------------------------------


def test_login_attempts_are_limited_per_address(make_app, make_staff):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT_ADDRESS="3 per minute")
    staff = app.test_client()
    email = make_staff("admin")
    for n in range(3):
        assert login(staff, f"guess{n}@staff.example.org").status_code == 400
    assert login(staff, email).status_code == 429
    other = app.test_client()
    answer = login_from(other, email, "10.0.0.9")
    assert answer.status_code == 303


def login_from(client, email: str, address: str, password: str = STAFF_PASSWORD):
    page = client.get("/staff/login", environ_base={"REMOTE_ADDR": address})
    return client.post(
        "/staff/login",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "email": email,
              "password": password},
        environ_base={"REMOTE_ADDR": address},
    )  # fmt: skip


def test_login_failures_are_counted_per_account_from_any_address(make_app, make_staff):
    app = make_app(
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT_ADDRESS="100 per minute",
        LOGIN_ACCOUNT_FREE_FAILURES=2,
    )
    email = make_staff("admin")
    other = make_staff("admin")
    for n in range(2):
        answer = login_from(app.test_client(), email, f"10.0.1.{n}", password="wrong password!!")
        assert answer.status_code == 400
    # Each address that failed for the account now waits, whatever password it brings …
    for n in range(2):
        refused = login_from(app.test_client(), email.upper(), f"10.0.1.{n}")
        assert refused.status_code == 429
        assert "Too many failed sign-ins for this account." in refused.get_data(as_text=True)
    # … an address that has not failed for it does not, and other accounts are not throttled.
    assert login_from(app.test_client(), email, "10.0.1.9").status_code == 303
    assert login_from(app.test_client(), other, "10.0.1.0").status_code == 303


# --- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["short", "eleven char", "aaaaaaaaaaaaaaaa", "abababababababab", "staff@example.org"],
)
def test_weak_passwords_are_refused(password):
    with pytest.raises(PasswordRejected):
        check_new_password(password, email="staff@example.org")


def test_the_shipped_common_password_list_is_used():
    listed = sorted(p for p in common_passwords() if len(p) >= 12)
    assert len(common_passwords()) > 19_000
    assert listed
    with pytest.raises(PasswordRejected):
        check_new_password(listed[0].upper())


def test_no_composition_rules():
    check_new_password("just some lowercase words")


def test_hashes_are_argon2id_and_verify():
    hashed = hash_password("just some lowercase words")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "just some lowercase words")
    assert not verify_password(hashed, "just some lowercase word")
    assert not verify_password(None, "anything at all")


# --- the command line ---------------------------------------------------------------------------


def test_staff_create_reads_the_password_from_standard_input(app, runner):
    result = runner.invoke(
        args=["staff", "create", "Editor@Example.org", "--role", "organiser"],
        input="a good long password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created organiser account editor@example.org" in result.output
    assert login(app.test_client(), "editor@example.org", "a good long password").status_code == 303


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["x@example.org", "--role", "admin"], "too short\n", "at least 12"),
        (["not-an-email", "--role", "admin"], "a good long password\n", "valid email"),
        (["x@example.org", "--role", "king"], "a good long password\n", "Invalid value"),
    ],
)
def test_staff_create_refuses_bad_input(app, runner, args, password, message):
    result = runner.invoke(args=["staff", "create", *args], input=password)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert (
            db.session.scalar(select(StaffUser).where(StaffUser.email == "x@example.org")) is None
        )


def test_staff_create_refuses_a_second_account_for_one_email(runner):
    args = ["staff", "create", "same@example.org", "--role", "admin"]
    assert runner.invoke(args=args, input="a good long password\n").exit_code == 0
    again = runner.invoke(args=args, input="another long password\n")
    assert again.exit_code != 0
    assert "already an account" in again.output


def test_invitation_tokens_are_redacted_from_logs():
    from petitions.web.log_redaction import redact

    line = '"GET /staff/invitations/Zx8_-k2LmQ HTTP/1.1" 200 -'
    assert redact(line) == '"GET /staff/invitations/[token] HTTP/1.1" 200 -'


def test_a_form_posted_after_the_session_ended_leads_back_to_its_page(make_app, make_staff):
    app = make_app(STAFF_IDLE_TIMEOUT=60)
    staff = app.test_client()
    login(staff, make_staff("moderator"))
    page = staff.get("/staff/moderation?status=confirmed").get_data(as_text=True)
    with staff.session_transaction() as session:
        session["staff_seen"] -= 61
    answer = staff.post(
        "/staff/signatures/moderate",
        data={"csrf_token": csrf_token(page), "action": "hide", "signature": "1"},
        headers={"Referer": "http://localhost/staff/moderation?status=confirmed"},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == ("/staff/login?next=/staff/moderation?status%3Dconfirmed")


@pytest.mark.parametrize(
    "line",
    [
        '"GET /staff/moderation?q=ana.hoxha%40example.org HTTP/1.1" 200',
        '"GET /staff/login?next=/staff/moderation?q%3Dana.hoxha%2540example.org HTTP/1.1" 200',
        '"http://host/staff/moderation?q=Ana.Hoxha%40Example.ORG"',
    ],
)
def test_encoded_addresses_in_access_logs_are_redacted(line):
    from petitions.web.log_redaction import redact

    assert "hoxha" not in redact(line).lower()
    assert "[email]" in redact(line)


def test_changing_the_password_needs_the_current_one(app, make_staff):
    """A session alone (an unattended browser) cannot take the account over."""
    email = make_staff("admin")
    staff = app.test_client()
    login(staff, email)
    page = staff.get("/staff/account/password").get_data(as_text=True)
    new = "a brand new staff password"
    answer = staff.post(
        "/staff/account/password",
        data={"csrf_token": csrf_token(page), "password": new, "password_again": new,
              "current_password": "not my current password"},
    )  # fmt: skip
    assert answer.status_code == 400
    assert "Your current password is not right." in answer.get_data(as_text=True)
    assert login(app.test_client(), email).status_code == 303  # the old password still works
    assert login(app.test_client(), email, password=new).status_code == 400
    assert "staff.password_change_refused" in [action for action, _ in audit_actions(app)]


def test_successful_logins_do_not_use_up_the_limit(make_app, make_staff):
    app = make_app(
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT_ADDRESS="2 per minute",
        LOGIN_ACCOUNT_FREE_FAILURES=1,
    )
    email = make_staff("admin")
    for _ in range(4):
        assert login(app.test_client(), email).status_code == 303
