"""A pending signature cannot be taken over by someone who only knows its address.

Resubmitting the form with other details never changes what the owner submitted: the owner is
mailed a separate "use these details?" link, their first link keeps confirming their first
details, and no number of resubmissions silences the "send me a new link" button.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from conftest import (
    G20,
    csrf_token,
    links_in,
    outbox_rows,
    path_of,
    press_button,
    sign,
    text_part,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.signature_changes import SignatureChange
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.signing import RESEND_QUIET_PERIOD
from petitions.web.log_redaction import redact
from petitions.workers.outbox_delivery import deliver_all_due

OWNER = "ana@example.org"
CHANGE_LINK = re.compile(r"https?://[^\s\"<>]+/change/[^\s\"<>]+")
FORM = re.compile(r"<form\b.*?</form>", re.S)
PAST_QUIET = RESEND_QUIET_PERIOD + timedelta(seconds=1)
# What a stranger who knows the owner's address submits, in every way it differs.
OTHER_DETAILS: dict[str, Any] = {
    "kind": "organisation",
    "name": "Mallory Impostor",
    "organisation": "Impostors United",
    "title": "Chief",
    "country": "RS",
    "city": "Beograd",
    "website": "https://impostors.example.net",
    "comment": "I take it all back.",
    "public": "y",
}


# --- helpers -------------------------------------------------------------------------------------


def row(app: Flask, email: str = OWNER) -> Signature:
    with app.app_context():
        found = db.session.scalar(select(Signature).where(Signature.email_canonical == email))
        assert found is not None
        db.session.expunge_all()
        return found


def first_details(found: Signature) -> tuple[Any, ...]:
    return (
        found.kind,
        found.name,
        found.organisation,
        found.title,
        found.country,
        found.city,
        found.website,
        found.comment,
        found.is_public,
    )


ORIGINAL = ("individual", "Ana Hoxha", "", "Teacher", "AL", "Tiranë", "", "", False)


def mails(app: Flask, purpose: str, email: str = OWNER) -> list[Any]:
    return [r for r in outbox_rows(app) if r.recipient == email and r.purpose == purpose]


def newest_confirm(app: Flask, email: str = OWNER) -> str:
    found = [links_in(r.text_body)["confirm"] for r in outbox_rows(app) if r.recipient == email]
    found = [links for links in found if links]
    assert found, "no confirmation link emailed"
    return found[-1][0]


def change_link(app: Flask, email: str = OWNER) -> str:
    offers = mails(app, "change-offer", email)
    assert offers, "no 'use these details?' email"
    found = CHANGE_LINK.findall(offers[-1].text_body)
    assert len(found) == 1, found
    assert CHANGE_LINK.findall(offers[-1].html_body) == found
    return found[0]


def counts(client: FlaskClient) -> dict[str, int]:
    return dict(client.get(f"/api/v1/letters/{G20}").json["signatures"])


ZERO = {"total": 0, "organisations": 0, "individuals": 0}
ONE = {"total": 1, "organisations": 0, "individuals": 1}


def owner_signs(client: FlaskClient, **fields: Any) -> None:
    """The owner signs, not on the public list and without a comment."""
    assert sign(client, public=None, **fields).status_code == 303


def age(app: Flask, column: str = "updated_at", email: str = OWNER) -> None:
    """Move time: make the signature's ``column`` older than the quiet period (no sleeping)."""
    with app.app_context():
        db.session.execute(
            update(Signature)
            .where(Signature.email_canonical == email)
            .values({column: utcnow() - PAST_QUIET})
        )
        db.session.commit()


def tamper(url: str) -> str:
    head, signature = url.rsplit(".", 1)
    return f"{head}.{'B' if signature[0] != 'B' else 'C'}{signature[1:]}"


# --- the takeover --------------------------------------------------------------------------------


def test_resubmitting_other_details_never_replaces_the_owners_pending_signature(app):
    owner = app.test_client()
    owner_signs(owner)
    first_link = newest_confirm(app)
    stranger = app.test_client()
    for round_ in range(app.config["CONFIRM_RESENDS"] + 3):
        answer = sign(stranger, **{**OTHER_DETAILS, "name": f"Mallory {round_}"})
        assert answer.status_code == 303
        assert first_details(row(app)) == ORIGINAL
    # The same other details again, after the quiet period, and the owner's own details again.
    age(app)
    assert sign(stranger, **OTHER_DETAILS).status_code == 303
    age(app)
    assert sign(stranger, public=None).status_code == 303
    assert first_details(row(app)) == ORIGINAL
    assert row(app).status == SignatureStatus.PENDING

    page = owner.get(path_of(first_link))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ana Hoxha" in html and "Mallory" not in html
    done = press_button(owner, first_link)
    assert done.status_code == 200
    assert "your signature is confirmed" in done.get_data(as_text=True)
    confirmed = row(app)
    assert confirmed.status == SignatureStatus.CONFIRMED
    assert first_details(confirmed) == ORIGINAL
    assert counts(owner) == ONE


def test_the_owners_renew_button_still_sends_a_link_after_any_number_of_resubmissions(make_app):
    app = make_app()
    expired = make_app(CONFIRM_MAX_AGE=-1)  # as if the owner came back after the link expired
    owner_signs(app.test_client())
    first_link = newest_confirm(app)
    stranger = app.test_client()
    for round_ in range(app.config["CONFIRM_RESENDS"] + 3):
        age(app)
        # Other details, then the owner's own ones again (a reminder).
        details = {**OTHER_DETAILS, "name": f"Mallory {round_}"} if round_ % 2 else {"public": None}
        assert sign(stranger, **details).status_code == 303

    browser = expired.test_client()
    for renewal in range(app.config["CONFIRM_RESENDS"] + 2):
        page = browser.get(path_of(first_link))
        assert page.status_code == 410
        html = page.get_data(as_text=True)
        (form,) = FORM.findall(html)
        renew_path = re.search(r'action="([^"]+)"', form).group(1)
        before = len(mails(app, "confirm"))
        renewed = browser.post(renew_path, data={"csrf_token": csrf_token(html)})
        assert renewed.status_code == 200
        assert "a new link is on its way" in renewed.get_data(as_text=True)
        assert len(mails(app, "confirm")) == before + 1, f"renewal {renewal} sent nothing"
        age(app, "renewed_at")  # the owner may ask again once the quiet period is over

    owner = app.test_client()
    fresh = newest_confirm(app)
    assert press_button(owner, fresh).status_code == 200
    assert row(app).status == SignatureStatus.CONFIRMED
    assert first_details(row(app)) == ORIGINAL
    assert counts(owner) == ONE


def test_renewing_twice_at_once_sends_one_link(make_app):
    app = make_app()
    expired = make_app(CONFIRM_MAX_AGE=-1)
    owner_signs(app.test_client())
    browser = expired.test_client()
    html = browser.get(path_of(newest_confirm(app))).get_data(as_text=True)
    renew_path = path_of(newest_confirm(app)).split("?", 1)[0] + "/renew"
    for _ in range(3):
        answer = browser.post(renew_path, data={"csrf_token": csrf_token(html)})
        assert answer.status_code == 200  # the same answer, whether or not a link went out
    assert len(mails(app, "confirm")) == 2


# --- "use these details?" ------------------------------------------------------------------------


def test_the_owner_is_offered_the_new_details_and_only_the_button_applies_them(app):
    owner = app.test_client()
    owner_signs(owner)
    first_link = newest_confirm(app)
    sent_before = len(outbox_rows(app))
    # The owner (or anyone) asks for other details: a fixed typo, a comment, the public list.
    fixed = {"name": "Ana H. Hoxha", "city": "Durrës", "comment": "Për arsimin!"}
    assert sign(owner, **fixed).status_code == 303
    assert first_details(row(app)) == ORIGINAL
    assert len(outbox_rows(app)) == sent_before + 1
    (offer,) = mails(app, "change-offer")
    assert "Ana H. Hoxha" in offer.text_body and "Durrës" in offer.text_body
    assert links_in(offer.text_body)["confirm"] == []  # it confirms nothing by itself
    assert len(links_in(offer.text_body)["withdraw"]) == 1
    link = change_link(app)
    assert link.endswith("?lang=en")

    scanner = app.test_client()  # a mail scanner opens the link, again and again
    for opener in (scanner, scanner, owner):
        page = opener.get(path_of(link))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        (form,) = FORM.findall(html)
        assert html.count("<form") == 1 and 'method="post"' in form
        assert 'name="csrf_token"' in form
        assert "Ana H. Hoxha" in html and "Për arsimin!" in html
        assert 'content="noindex, nofollow"' in html
        assert first_details(row(app)) == ORIGINAL
        assert row(app).status == SignatureStatus.PENDING
    # A POST without the page's CSRF token applies nothing.
    assert owner.post(path_of(link), data={}).status_code == 400
    assert first_details(row(app)) == ORIGINAL

    done = press_button(owner, link)
    assert done.status_code == 200
    assert "your signature is confirmed" in done.get_data(as_text=True)
    applied = row(app)
    assert applied.status == SignatureStatus.CONFIRMED
    assert (applied.name, applied.city, applied.comment, applied.is_public) == (
        "Ana H. Hoxha",
        "Durrës",
        "Për arsimin!",
        True,
    )
    assert counts(owner) == ONE
    # The first link now finds a confirmed signature, says so, and confirms nothing else.
    again = owner.get(path_of(first_link))
    assert "already confirmed" in again.get_data(as_text=True)
    assert row(app).name == "Ana H. Hoxha"
    assert counts(owner) == ONE


def test_the_first_link_still_confirms_the_first_details_when_an_offer_is_ignored(app):
    owner = app.test_client()
    owner_signs(owner)
    first_link = newest_confirm(app)
    assert sign(app.test_client(), **OTHER_DETAILS).status_code == 303
    offer = change_link(app)
    assert press_button(owner, first_link).status_code == 200
    assert first_details(row(app)) == ORIGINAL
    # The offer came too late: pressing it now changes nothing.
    page = owner.get(path_of(offer))
    assert page.status_code == 409
    assert "Nothing was changed." in page.get_data(as_text=True)
    assert first_details(row(app)) == ORIGINAL
    assert counts(owner) == ONE


@pytest.mark.parametrize(
    "damage",
    ["tampered", "confirm-token", "as-confirm-link", "other-details", "settled", "signed-anew"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_stale_or_damaged_change_link_answers_4xx_and_changes_nothing(app, damage, method):
    owner = app.test_client()
    owner_signs(owner)
    first_link = newest_confirm(app)
    assert sign(app.test_client(), **OTHER_DETAILS).status_code == 303
    good = change_link(app)
    base, query = good.split("?", 1)
    token = base.rsplit("/", 1)[1]
    if damage == "tampered":
        url = f"{tamper(base)}?{query}"
    elif damage == "confirm-token":  # a genuine token of another purpose
        url = good.replace(token, newest_confirm(app).split("?", 1)[0].rsplit("/", 1)[1])
    elif damage == "as-confirm-link":
        url = good.replace("/change/", "/confirm/")
    elif damage == "other-details":
        # A link we signed, for this offer, but naming other details than those stored with it:
        # an old link must never apply newer details.
        from petitions.services.tokens import make_change_token, read_change_token

        with app.test_request_context():
            claim = read_change_token(token)
            forged = make_change_token(claim.signature_id, claim.change_id, "0" * 64)
        url = good.replace(token, forged)
    elif damage == "settled":
        assert press_button(owner, first_link).status_code == 200
        url = good
    else:  # withdrawn, then signed anew with the same details: the old offer is gone
        withdraw = links_in(mails(app, "confirm")[-1].text_body)["withdraw"][0]
        assert press_button(owner, withdraw).status_code == 200
        owner_signs(owner)
        url = good
    expected = (row(app).status, first_details(row(app)))
    assert expected[1] == ORIGINAL

    if method == "GET":
        answer = owner.get(path_of(url))
    else:
        html = owner.get(f"/letters/{G20}").get_data(as_text=True)
        answer = owner.post(path_of(url), data={"csrf_token": csrf_token(html)})
    assert 400 <= answer.status_code < 500, answer.status_code
    page = answer.get_data(as_text=True)
    assert "Nothing was changed." in page
    assert "<form" not in page
    assert (row(app).status, first_details(row(app))) == expected


def test_an_expired_change_link_answers_410_and_changes_nothing(make_app):
    app = make_app()
    expired = make_app(CONFIRM_MAX_AGE=-1)
    owner_signs(app.test_client())
    assert sign(app.test_client(), **OTHER_DETAILS).status_code == 303
    browser = expired.test_client()
    page = browser.get(path_of(change_link(app)))
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "This link has expired" in html and "Nothing was changed." in html
    assert "<form" not in html
    answer = browser.post(path_of(change_link(app)), data={"csrf_token": "x"})
    assert answer.status_code in (400, 410)
    assert first_details(row(app)) == ORIGINAL


def test_offers_are_capped_and_a_double_click_sends_one(app):
    owner_signs(app.test_client())
    stranger = app.test_client()
    assert sign(stranger, **OTHER_DETAILS).status_code == 303
    assert sign(stranger, **OTHER_DETAILS).status_code == 303  # a double click
    assert len(mails(app, "change-offer")) == 1
    for round_ in range(app.config["CONFIRM_RESENDS"] + 3):
        assert sign(stranger, **{**OTHER_DETAILS, "name": f"Mallory {round_}"}).status_code == 303
    # Form-triggered emails to one address stay capped, so the form cannot flood an inbox.
    assert len(mails(app, "change-offer")) + len(mails(app, "confirm")) == (
        1 + app.config["CONFIRM_RESENDS"]
    )
    assert first_details(row(app)) == ORIGINAL


@pytest.mark.parametrize(
    ("language", "subject", "phrase", "button"),
    [
        ("en", "Sign with other details?", "Someone, maybe you,", "Use these details"),
        ("sq", "Të nënshkruani me të dhëna të tjera?", "Dikush, ndoshta ju,", "Përdor këto"),
    ],
)
def test_the_offer_email_and_its_page_speak_the_signers_language(
    make_app, smtp, language, subject, phrase, button
):
    app = make_app(MAIL_URL=smtp.url)
    owner_signs(app.test_client())
    assert sign(app.test_client(), lang=language, **OTHER_DETAILS).status_code == 303
    with app.app_context():
        assert deliver_all_due() == 2
    offer = smtp.messages[-1]
    assert offer["To"] == OWNER
    assert str(offer["Subject"]).startswith(subject), offer["Subject"]
    body = text_part(offer)
    assert phrase in body and "Mallory Impostor" in body
    (link,) = CHANGE_LINK.findall(body)
    assert link.endswith(f"?lang={language}")
    html_part = offer.get_body(preferencelist=("html",)).get_content()
    assert f'<html lang="{language}">' in html_part and button in html_part
    page = app.test_client().get(path_of(link)).get_data(as_text=True)
    assert f'<html lang="{language}">' in page and button in page


# --- confirmed signatures, and what a stranger sees ----------------------------------------------


def test_a_confirmed_signature_keeps_its_details_and_the_notice_says_so(app):
    owner = app.test_client()
    owner_signs(owner)
    assert press_button(owner, newest_confirm(app)).status_code == 200
    assert sign(app.test_client(), **OTHER_DETAILS).status_code == 303
    assert first_details(row(app)) == ORIGINAL
    assert row(app).status == SignatureStatus.CONFIRMED
    (notice,) = mails(app, "already-signed")
    assert "was not changed" in notice.text_body
    assert "Mallory" not in notice.text_body
    assert mails(app, "change-offer") == []
    assert counts(owner) == ONE


def _answer(app: Flask, **fields: Any) -> tuple[Any, ...]:
    client = app.test_client()
    answer = sign(client, **fields)
    followed = client.get(answer.headers["Location"])
    # The check-email page's masked address and form token are this browser's own.
    page = re.sub(rb'name="csrf_token"[^>]*? value="[^"]+"', b"CSRF", followed.data)
    page = re.sub(rb"\S\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@[^\s<]+", b"MASKED", page)
    return answer.status_code, answer.headers["Location"], followed.status_code, page


def test_other_details_for_a_pending_address_answer_like_a_first_signature(app):
    first = _answer(app, email="first@example.org")
    assert _answer(app, email=OWNER, public=None) == first
    assert _answer(app, **OTHER_DETAILS) == first
    assert _answer(app, **{**OTHER_DETAILS, "name": "Someone Else"}) == first


# --- tokens --------------------------------------------------------------------------------------


def test_a_change_token_has_its_own_salt_and_payload(app):
    from petitions.services.tokens import (
        ChangeClaim,
        Purpose,
        TokenInvalid,
        make_change_token,
        make_token,
        read_change_token,
        read_token,
    )

    with app.app_context():
        token = make_change_token(7, 9, "ab" * 32)
        assert read_change_token(token) == ChangeClaim(7, 9, "ab" * 32)
        for purpose in Purpose:
            with pytest.raises(TokenInvalid):
                read_token(purpose, token)
        for purpose in (Purpose.CONFIRM, Purpose.WITHDRAW):
            with pytest.raises(TokenInvalid):
                read_change_token(make_token(purpose, 7, "abcdef0123456789"))
        # Access logs print the path: the token goes, whole, like a confirmation link's.
        line = f'"GET /change/{token}?lang=sq HTTP/1.1" 200 -'
        assert redact(line) == '"GET /change/[token]?lang=sq HTTP/1.1" 200 -'


# --- races (PostgreSQL) --------------------------------------------------------------------------

ROUNDS = 5


@pytest.mark.race
def test_race_the_first_link_and_the_offer_pressed_at_once_settle_once(app, live_server):
    """Both buttons at the same moment: one wins, wholly; the other changes nothing."""
    from test_concurrency import Browser

    setup = app.test_client()
    for index in range(ROUNDS):
        email = f"racer{index}@example.org"
        assert sign(setup, email=email, public=None).status_code == 303
        assert sign(setup, email=email, **OTHER_DETAILS).status_code == 303
    emails = [f"racer{index}@example.org" for index in range(ROUNDS)]
    pairs = [(newest_confirm(app, email), change_link(app, email)) for email in emails]
    browsers = [Browser(live_server) for _ in range(2 * ROUNDS)]
    paths = [path_of(link) for pair in pairs for link in pair]
    forms = [csrf_token(b.request("GET", p)[2]) for b, p in zip(browsers, paths, strict=True)]
    start = threading.Barrier(len(browsers))

    def press(index: int) -> int:
        start.wait()
        return browsers[index].request("POST", paths[index], {"csrf_token": forms[index]})[0]

    with ThreadPoolExecutor(len(browsers)) as pool:
        answers = list(pool.map(press, range(len(browsers))))
    assert set(answers) <= {200, 409}, answers
    fields = ("organisation", "title", "country", "city", "website", "comment")
    other = ("organisation", "Mallory Impostor", *(OTHER_DETAILS[k] for k in fields), True)
    organisations = 0
    for index in range(ROUNDS):
        found = row(app, emails[index])
        assert found.status == SignatureStatus.CONFIRMED
        assert first_details(found) in (ORIGINAL, other)  # one or the other, never a mix
        organisations += found.kind == "organisation"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SignatureChange)) == 0
    assert counts(setup) == {
        "total": ROUNDS,
        "organisations": organisations,
        "individuals": ROUNDS - organisations,
    }
