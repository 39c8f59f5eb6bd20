"""The emailed links through HTTP: GET shows one button, POST acts; bad links explain themselves."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from conftest import G20, csrf_token, links_in, outbox_rows, path_of, press_button, sign, text_part
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Letter, LetterStatus
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.signing import RESEND_QUIET_PERIOD
from petitions.workers.outbox_delivery import deliver_all_due

FORM_PATTERN = re.compile(r"<form\b.*?</form>", re.S)


# --- helpers ---------------------------------------------------------------------------------


def status_of(app: Flask, email: str = "ana@example.org") -> str:
    with app.app_context():
        found = db.session.scalar(
            select(Signature.status).where(Signature.email_canonical == email)
        )
        assert found is not None
        return str(found)


def counts(client: FlaskClient) -> dict[str, int]:
    answer = client.get(f"/api/v1/letters/{G20}")
    assert answer.status_code == 200
    return dict(answer.json["signatures"])


ZERO = {"total": 0, "organisations": 0, "individuals": 0}
ONE = {"total": 1, "organisations": 0, "individuals": 1}


def emailed_links(app: Flask, email: str = "ana@example.org") -> list[dict[str, list[str]]]:
    return [links_in(row.text_body) for row in outbox_rows(app) if row.recipient == email]


def newest(app: Flask, kind: str, email: str = "ana@example.org") -> str:
    found = [links[kind] for links in emailed_links(app, email) if links[kind]]
    assert found, f"no {kind} link emailed"
    assert len(found[-1]) == 1
    return found[-1][0]


def session_csrf(client: FlaskClient) -> str:
    """A CSRF token valid for the client's session (any page's form carries one)."""
    return csrf_token(client.get(f"/letters/{G20}").get_data(as_text=True))


def tamper(url: str) -> str:
    """Change one character in the signature part of the token (not its last character)."""
    head, signature = url.rsplit(".", 1)
    changed = "B" if signature[0] != "B" else "C"
    return f"{head}.{changed}{signature[1:]}"


def confirmed_signer(app: Flask, client: FlaskClient, **fields: Any) -> None:
    assert sign(client, **fields).status_code == 303
    assert press_button(client, newest(app, "confirm")).status_code == 200
    assert status_of(app) == SignatureStatus.CONFIRMED


def age_signature(app: Flask, email: str = "ana@example.org") -> None:
    with app.app_context():
        db.session.execute(
            update(Signature)
            .where(Signature.email_canonical == email)
            .values(updated_at=utcnow() - RESEND_QUIET_PERIOD - timedelta(seconds=1))
        )
        db.session.commit()


def assert_explains_invalid(answer: Any) -> None:
    assert 400 <= answer.status_code < 500, answer.status_code
    page = answer.get_data(as_text=True)
    assert "This link cannot be used" in page
    assert "Nothing was changed." in page


# --- the confirmation link -------------------------------------------------------------------


def test_opening_the_confirm_link_changes_nothing_and_the_button_confirms(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    client = app.test_client()
    assert sign(client).status_code == 303
    with app.app_context():
        assert deliver_all_due() == 1
    assert len(smtp.messages) == 1
    links = links_in(text_part(smtp.messages[0]))
    assert len(links["confirm"]) == 1
    url = links["confirm"][0]

    scanner = app.test_client()  # a mail scanner: its own cookies, opens the link many times
    for opener in (scanner, scanner, client, scanner, client):
        page = opener.get(path_of(url))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        forms = FORM_PATTERN.findall(html)
        assert len(forms) == 1 and html.count("<form") == 1
        assert 'name="csrf_token"' in forms[0]
        assert 'method="post"' in forms[0]
        assert status_of(app) == SignatureStatus.PENDING
        assert counts(client) == ZERO

    page = client.get(path_of(url)).get_data(as_text=True)
    done = client.post(path_of(url), data={"csrf_token": csrf_token(page)})
    assert done.status_code == 200
    assert "your signature is confirmed" in done.get_data(as_text=True)
    assert status_of(app) == SignatureStatus.CONFIRMED
    assert counts(client) == ONE

    again = client.post(path_of(url), data={"csrf_token": csrf_token(page)})
    assert again.status_code == 200
    assert "already confirmed" in again.get_data(as_text=True)
    assert counts(client) == ONE
    reopened = client.get(path_of(url)).get_data(as_text=True)  # says so, with no button
    assert "already confirmed" in reopened and "Confirm my signature</button>" not in reopened
    assert counts(client) == ONE


@pytest.mark.parametrize("token", [None, "", "not-the-session-token"])
def test_posting_the_confirm_link_without_a_valid_csrf_token_is_refused(client, app, token):
    assert sign(client).status_code == 303
    url = newest(app, "confirm")
    client.get(path_of(url))  # the session exists, as it would after opening the link
    answer = client.post(path_of(url), data={} if token is None else {"csrf_token": token})
    assert answer.status_code == 400
    assert status_of(app) == SignatureStatus.PENDING
    assert counts(client) == ZERO
    # CSRFProtect answers before the view: the page says why and that nothing happened.
    assert "session expired before the form was sent" in answer.get_data(as_text=True)


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("damage", ["tampered", "garbage", "other-purpose"])
def test_a_damaged_link_explains_and_changes_nothing(app, client, purpose, method, damage):
    assert sign(client).status_code == 303
    if purpose == "withdraw":
        assert press_button(client, newest(app, "confirm")).status_code == 200
    expected_status = status_of(app)
    expected_counts = counts(client)
    good = newest(app, purpose)
    other = newest(app, "withdraw" if purpose == "confirm" else "confirm")
    path = {
        "tampered": path_of(tamper(good)),
        "garbage": f"/{purpose}/this-is-not-a-token",
        # A genuine token of the other purpose, pasted into this purpose's URL.
        "other-purpose": f"/{purpose}/{other.rsplit('/', 1)[1]}",
    }[damage]
    assert path != path_of(good)
    if method == "GET":
        answer = client.get(path)
    else:
        answer = client.post(path, data={"csrf_token": session_csrf(client)})
    assert_explains_invalid(answer)
    assert "<form" not in answer.get_data(as_text=True)
    assert status_of(app) == expected_status
    assert counts(client) == expected_counts
    # The genuine link still works afterwards.
    assert press_button(client, good).status_code == 200


def test_an_expired_confirm_link_offers_a_fresh_one_that_works(make_app):
    app = make_app()
    expired_app = make_app(CONFIRM_MAX_AGE=-1)  # every confirmation token is already expired
    client = app.test_client()
    assert sign(client).status_code == 303
    old_link = newest(app, "confirm")
    emails_before = len(outbox_rows(app))

    stale = expired_app.test_client()
    page = stale.get(path_of(old_link))
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "This link has expired" in html and "Nothing was changed." in html
    renew_path = path_of(old_link).split("?", 1)[0] + "/renew"
    forms = FORM_PATTERN.findall(html)
    assert len(forms) == 1
    assert f'action="{renew_path}"' in forms[0]
    assert status_of(app) == SignatureStatus.PENDING

    # Pressing "confirm" with an expired link does not confirm either.
    pressed = stale.post(path_of(old_link), data={"csrf_token": csrf_token(html)})
    assert pressed.status_code == 410
    assert status_of(app) == SignatureStatus.PENDING
    assert len(outbox_rows(app)) == emails_before

    renewed = stale.post(renew_path, data={"csrf_token": csrf_token(html)})
    assert renewed.status_code == 200
    assert "a new link is on its way" in renewed.get_data(as_text=True)
    rows = outbox_rows(app)
    assert len(rows) == emails_before + 1
    assert rows[-1].purpose == "confirm" and rows[-1].recipient == "ana@example.org"
    new_link = newest(app, "confirm")  # a new expiry (the same link within one second)
    assert status_of(app) == SignatureStatus.PENDING
    assert counts(client) == ZERO

    # With the normal lifetime, the fresh link confirms. A renewal replaces nothing (nobody can
    # make the owner's links stop working), so the old link would confirm too.
    assert client.get(path_of(old_link)).status_code == 200
    assert press_button(client, new_link).status_code == 200
    assert status_of(app) == SignatureStatus.CONFIRMED
    assert counts(client) == ONE


def test_renewing_without_csrf_token_sends_nothing(make_app):
    app = make_app()
    expired_app = make_app(CONFIRM_MAX_AGE=-1)
    assert sign(app.test_client()).status_code == 303
    old_link = newest(app, "confirm")
    stale = expired_app.test_client()
    stale.get(path_of(old_link))  # a session, as after opening the link
    answer = stale.post(path_of(old_link).split("?", 1)[0] + "/renew", data={})
    assert answer.status_code == 400
    assert len(outbox_rows(app)) == 1


def test_a_replaced_link_says_a_newer_email_was_sent(app, client):
    assert sign(client).status_code == 303
    first = newest(app, "confirm")
    # Withdrawn, then signed anew: a new signature in all but its row, with new links. (Signing
    # again while it waits replaces nothing: nobody can make the owner's link stop working.)
    assert press_button(client, newest(app, "withdraw")).status_code == 200
    age_signature(app)
    assert sign(client).status_code == 303
    second = newest(app, "confirm")
    assert second != first
    assert len(emailed_links(app)) == 2

    for answer in (
        client.get(path_of(first)),
        client.post(path_of(first), data={"csrf_token": session_csrf(client)}),
    ):
        assert_explains_invalid(answer)
        assert "newer email" in answer.get_data(as_text=True)
        assert status_of(app) == SignatureStatus.PENDING
        assert counts(client) == ZERO

    assert press_button(client, second).status_code == 200
    assert counts(client) == ONE


# --- the withdrawal link -------------------------------------------------------------------------


def test_withdraw_link_get_changes_nothing_post_withdraws(app, client):
    confirmed_signer(app, client, name="Ëndri Çela", public="y")
    assert counts(client) == ONE
    listing = f"/letters/{G20}/signatories?kind=individual"
    assert "Ëndri Çela" in client.get(listing).get_data(as_text=True)

    url = newest(app, "withdraw")
    for _ in range(3):
        page = client.get(path_of(url))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert html.count("<form") == 1 and 'name="csrf_token"' in html
        assert status_of(app) == SignatureStatus.CONFIRMED
        assert counts(client) == ONE

    done = client.post(path_of(url), data={"csrf_token": csrf_token(html)})
    assert done.status_code == 200
    assert "Your signature is withdrawn" in done.get_data(as_text=True)
    assert status_of(app) == SignatureStatus.WITHDRAWN
    assert counts(client) == ZERO
    assert "Ëndri Çela" not in client.get(listing).get_data(as_text=True)
    assert "Ëndri Çela" not in client.get(f"/letters/{G20}").get_data(as_text=True)

    again = client.post(path_of(url), data={"csrf_token": csrf_token(html)})
    assert again.status_code == 200
    assert "already withdrawn" in again.get_data(as_text=True)
    assert status_of(app) == SignatureStatus.WITHDRAWN
    assert counts(client) == ZERO


def test_withdraw_post_without_csrf_token_withdraws_nothing(app, client):
    confirmed_signer(app, client)
    answer = client.post(path_of(newest(app, "withdraw")), data={})
    assert answer.status_code == 400
    assert status_of(app) == SignatureStatus.CONFIRMED
    assert counts(client) == ONE


# --- a letter that closed meanwhile --------------------------------------------------------------


@pytest.mark.parametrize("how", ["status-closed", "deadline-passed"])
def test_confirming_after_the_letter_closed_answers_409(app, client, how):
    assert sign(client).status_code == 303
    url = newest(app, "confirm")
    token = csrf_token(client.get(path_of(url)).get_data(as_text=True))
    values: dict[str, Any] = (
        {"status": LetterStatus.CLOSED}
        if how == "status-closed"
        else {"closes_at": utcnow() - timedelta(minutes=1), "auto_close": True}
    )
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == G20).values(**values))
        db.session.commit()

    opened = client.get(path_of(url))
    assert opened.status_code in (200, 409)
    assert status_of(app) == SignatureStatus.PENDING

    answer = client.post(path_of(url), data={"csrf_token": token})
    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert "no longer takes signatures" in page
    assert "Nothing was changed." in page
    assert status_of(app) == SignatureStatus.PENDING
    assert counts(client) == ZERO


def test_the_emailed_link_opens_in_the_signers_language(client, app):
    assert sign(client, lang="sq").status_code == 303
    url = newest(app, "confirm")
    assert url.endswith("?lang=sq")
    fresh_browser = app.test_client()  # no session, no Accept-Language: English otherwise
    page = fresh_browser.get(path_of(url)).get_data(as_text=True)
    assert '<html lang="sq">' in page
