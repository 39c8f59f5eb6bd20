"""Per-account login throttling: failures count, and no stranger can lock a moderator out.

After a few failures for an account, an address that failed for it waits a growing, capped
delay (refused at once with "try again in X s", 429); an address that has not failed is never
made to wait, so the owner gets in with the right password whatever an attacker does.
"""

from __future__ import annotations

import re
import time
from typing import Any

from conftest import STAFF_PASSWORD, csrf_token
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.staff import StaffUser

ATTACKER = "203.0.113.7"
MODERATOR = "198.51.100.20"
WRONG = "not the moderator's password"


def attempt(app: Any, email: str, address: str, password: str = STAFF_PASSWORD) -> Any:
    """A login from ``address``, as a browser there would make it (its own cookies)."""
    client = app.test_client()
    page = client.get("/staff/login", environ_base={"REMOTE_ADDR": address})
    return client.post(
        "/staff/login",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "email": email,
              "password": password},
        environ_base={"REMOTE_ADDR": address},
    )  # fmt: skip


def throttled_app(make_app: Any, **settings: Any) -> Any:
    """Rate limits on; the per-address limit high, so what is seen is the per-account part."""
    return make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT_ADDRESS="1000 per minute", **settings)


def wait_in(answer: Any) -> int:
    """The wait a refusal announces, in its header and on its page (the same figure)."""
    assert answer.status_code == 429
    seconds = int(answer.headers["Retry-After"])
    shown = re.search(r"Try again in (\d+) seconds?\.", answer.get_data(as_text=True))
    assert shown is not None and int(shown.group(1)) == seconds
    return seconds


def audit_actions(app: Any) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_stranger_cannot_lock_a_moderator_out(make_app, make_staff):
    app = throttled_app(make_app)
    moderator = make_staff("moderator")
    answers = [attempt(app, moderator, ATTACKER, WRONG).status_code for _ in range(50)]
    # Five failures are free; then the attacker's address waits (1 s, 2 s, …) and is refused at
    # once, without a password check, so only a few of the 50 guesses were ever checked.
    assert answers[:5] == [400] * 5
    assert set(answers) == {400, 429}
    assert answers.count(400) < 10
    # The moderator, from an address that has not failed, gets in at once.
    assert attempt(app, moderator, MODERATOR).status_code == 303
    # Guess on until a guess is checked: it starts a fresh, longer wait (on a slow machine the
    # last one may be about to run out), so the next attempt surely meets it.
    deadline = time.monotonic() + 120
    while attempt(app, moderator, ATTACKER, WRONG).status_code == 429:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    # The attacker is still throttled, even with the right password: the refusal tells nothing.
    assert wait_in(attempt(app, moderator, ATTACKER)) >= 1
    assert audit_actions(app).count("login.failed") == answers.count(400) + 1
    assert audit_actions(app).count("login.ok") == 1


def test_the_wait_grows_and_is_capped(make_app, make_staff):
    app = throttled_app(make_app, LOGIN_ACCOUNT_FREE_FAILURES=2, LOGIN_ACCOUNT_DELAY_MAX=8)
    email = make_staff("moderator")
    assert attempt(app, email, ATTACKER, WRONG).status_code == 400
    waits = []
    for n in range(2, 8):
        # Each failure from a new address counts (a new address itself never waits) …
        assert attempt(app, email, f"192.0.2.{n}", WRONG).status_code == 400
        # … and the address that failed before waits longer each time, up to the cap.
        waits.append(wait_in(attempt(app, email, ATTACKER, WRONG)))
    assert waits == [1, 2, 4, 8, 8, 8]


def test_a_failed_address_may_try_again_once_its_wait_is_over(make_app, make_staff):
    app = throttled_app(make_app, LOGIN_ACCOUNT_FREE_FAILURES=1, LOGIN_ACCOUNT_DELAY_MAX=1)
    email = make_staff("admin")
    assert attempt(app, email, ATTACKER, WRONG).status_code == 400
    # Knocking during the wait is refused and does not make the wait longer.
    for _ in range(5):
        assert wait_in(attempt(app, email, ATTACKER)) == 1
    time.sleep(1.2)
    assert attempt(app, email, ATTACKER).status_code == 303


def test_signing_in_frees_the_address_even_while_the_account_is_throttled(make_app, make_staff):
    app = throttled_app(make_app, LOGIN_ACCOUNT_FREE_FAILURES=1, LOGIN_ACCOUNT_DELAY_MAX=1)
    email = make_staff("moderator")
    assert attempt(app, email, ATTACKER, WRONG).status_code == 400
    assert attempt(app, email, MODERATOR, "a typo in my password").status_code == 400
    assert wait_in(attempt(app, email, MODERATOR)) == 1  # the moderator failed too: they wait
    time.sleep(1.2)
    assert attempt(app, email, MODERATOR).status_code == 303
    # Signed in, the moderator's address waits no more, while failed addresses still do.
    assert attempt(app, email, "192.0.2.50", WRONG).status_code == 400  # the wait starts anew
    assert attempt(app, email, ATTACKER).status_code == 429
    assert attempt(app, email, MODERATOR).status_code == 303


def without_tokens(html: str) -> str:
    html = re.sub(r'name="csrf_token"[^>]*? value="[^"]+"', "", html)
    return re.sub(r'name="email"([^>]*) value="[^"]*"', r'name="email"\1', html)


def test_throttled_attempts_look_the_same_for_any_account(make_app, make_staff):
    """No account, a wrong password, a disabled account: the same failures, the same waits."""
    app = throttled_app(make_app, LOGIN_ACCOUNT_FREE_FAILURES=1)
    known, disabled = make_staff("moderator"), make_staff("moderator")
    with app.app_context():
        db.session.scalar(select(StaffUser).where(StaffUser.email == disabled)).is_active = False
        db.session.commit()
    cases = [(known, WRONG), (disabled, STAFF_PASSWORD), ("nobody@staff.example.org", WRONG)]
    failures, refusals = [], []
    for email, password in cases:
        failures.append(attempt(app, email, ATTACKER, password))
        refusals.append(attempt(app, email, ATTACKER, password))
    assert [answer.status_code for answer in failures] == [400, 400, 400]
    assert [wait_in(answer) for answer in refusals] == [1, 1, 1]
    for answers in (failures, refusals):
        pages = {without_tokens(answer.get_data(as_text=True)) for answer in answers}
        assert len(pages) == 1


def test_logins_go_on_when_the_shared_storage_is_down(make_app, make_staff):
    """Redis down: this process counts meanwhile (as Flask-Limiter does for its own limits)."""
    app = throttled_app(
        make_app,
        LOGIN_ACCOUNT_FREE_FAILURES=1,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",  # nothing listens there
    )
    email = make_staff("admin")
    assert attempt(app, email, ATTACKER, WRONG).status_code == 400
    assert attempt(app, email, ATTACKER).status_code == 429
    assert attempt(app, email, MODERATOR).status_code == 303
