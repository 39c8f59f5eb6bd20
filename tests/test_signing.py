"""The signing rules, tested on the services (a request context only where links are built)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, links_in, outbox_rows
from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Letter, LetterStatus, LetterText, Moderation
from petitions.models.outbox import OutboxEmail
from petitions.models.signature_changes import SignatureChange
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus
from petitions.services.counters import recount, set_status
from petitions.services.signature_links import (
    Outcome,
    confirm_signature,
    signature_for,
    withdraw_signature,
)
from petitions.services.signing import (
    RESEND_QUIET_PERIOD,
    LetterNotOpen,
    LinkReplaced,
    SignatureInput,
    consent_hash,
    sign_letter,
)
from petitions.services.tokens import (
    Claim,
    Purpose,
    TokenExpired,
    TokenInvalid,
    make_token,
    read_token,
)
from petitions.web.client_address import client_ip_hash, hash_ip
from petitions.workers.letter_closing import close_expired

IP = "203.0.113.77"
HEX32 = re.compile(r"[0-9a-f]{32}")


# --- helpers ---------------------------------------------------------------------------------


def signature_input(**overrides: Any) -> SignatureInput:
    values: dict[str, Any] = {
        "kind": SignatureKind.INDIVIDUAL,
        "name": "Ana Hoxha",
        "email": "ana@example.org",
        "country": "AL",
        "language": "en",
        "title": "Teacher",
        "city": "Tiranë",
    }
    values.update(overrides)
    return SignatureInput(**values)


def sign_as(app: Flask, slug: str = G20, ip: str = IP, **overrides: Any) -> None:
    """Sign as the view does: inside a POST request (for the client address), then commit."""
    with app.test_request_context("/", method="POST", environ_base={"REMOTE_ADDR": ip}):
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None
        sign_letter(letter, signature_input(**overrides), client_ip_hash())
        db.session.commit()


def signature_row(app: Flask, email: str = "ana@example.org", slug: str = G20) -> Signature:
    with app.app_context():
        found = db.session.scalar(
            select(Signature)
            .join(Letter, Letter.id == Signature.letter_id)
            .where(Letter.slug == slug, Signature.email_canonical == email)
        )
        assert found is not None
        db.session.expunge_all()
        return found


def count_rows(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def counts(app: Flask, slug: str = G20) -> tuple[int, int]:
    """(individuals, organisations) as stored on the letter."""
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None
        return letter.count_individuals, letter.count_organisations


def emails(app: Flask, purpose: str | None = None, recipient: str | None = None) -> list[Any]:
    return [
        row
        for row in outbox_rows(app)
        if (purpose is None or row.purpose == purpose)
        and (recipient is None or row.recipient == recipient)
    ]


def token_of(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[1]


def newest_link(app: Flask, kind: str, email: str = "ana@example.org") -> str:
    rows = [row for row in emails(app, recipient=email) if links_in(row.text_body)[kind]]
    assert rows, f"no {kind} link emailed to {email}"
    found = links_in(rows[-1].text_body)[kind]
    assert len(found) == 1
    return found[0]


def use_link(app: Flask, purpose: Purpose, url: str) -> Outcome:
    """Press the button behind an emailed link, as the POST view does."""
    with app.test_request_context("/", method="POST"):
        claim = read_token(purpose, token_of(url))
        act = confirm_signature if purpose is Purpose.CONFIRM else withdraw_signature
        outcome = act(claim).outcome
        db.session.commit()
        return outcome


def change_letter(app: Flask, slug: str = G20, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == slug).values(**values))
        db.session.commit()


def age_signature(app: Flask, age: timedelta, email: str = "ana@example.org") -> None:
    """Move time: make the signature's last change ``age`` old (no sleeping)."""
    with app.app_context():
        db.session.execute(
            update(Signature)
            .where(Signature.email_canonical == email)
            .values(updated_at=utcnow() - age)
        )
        db.session.commit()


PAST_QUIET = RESEND_QUIET_PERIOD + timedelta(seconds=1)


# --- a first signature -------------------------------------------------------------------------


def test_first_signature_is_pending_uncounted_and_queues_one_confirmation(app):
    sign_as(app, email="ana@example.org")
    row = signature_row(app)
    assert row.status == SignatureStatus.PENDING
    assert row.confirmed_at is None and row.withdrawn_at is None
    assert counts(app) == (0, 0)
    sent = outbox_rows(app)
    assert len(sent) == 1
    email = sent[0]
    assert email.purpose == "confirm"
    assert email.recipient == "ana@example.org"
    assert email.signature_id == row.id
    assert email.status == "queued"
    links = links_in(email.text_body)
    assert len(links["confirm"]) == 1 and len(links["withdraw"]) == 1
    assert links["confirm"][0].startswith("http://petitions.test/confirm/")
    assert links_in(email.html_body)["confirm"] == links["confirm"]


def test_signature_records_language_text_version_consent_and_ip_hash(app):
    before = utcnow()
    sign_as(app, language="sq", ip=IP)
    after = utcnow()
    row = signature_row(app)
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        sq_text = next(t for t in letter.texts if t.language == "sq" and t.superseded_at is None)
        en_text = next(t for t in letter.texts if t.language == "en" and t.superseded_at is None)
        assert sq_text.text_hash != en_text.text_hash
        assert row.language == "sq"
        assert row.text_hash == sq_text.text_hash
        assert row.text_id == sq_text.id
        assert row.consent_text_hash == consent_hash("sq")
        # The consent text is the one shown in the signer's language, so its hash differs.
        assert consent_hash("sq") != consent_hash("en")
    assert before <= row.consented_at <= after
    assert before <= row.created_at <= after
    # The IP is kept only as a keyed hash (HMAC), never as itself.
    assert HEX32.fullmatch(row.ip_hash), row.ip_hash
    with app.app_context():
        assert row.ip_hash == hash_ip(IP)
        assert row.ip_hash != hash_ip(IP, "another secret key")
        assert row.ip_hash != hash_ip("198.51.100.1")
    for unkeyed in (hashlib.sha256, hashlib.md5, hashlib.sha1):
        assert unkeyed(IP.encode()).hexdigest()[:32] != row.ip_hash
    for column in Signature.__table__.columns:
        assert IP not in str(getattr(row, column.key)), column.key
    for email in outbox_rows(app):
        assert IP not in email.text_body and IP not in email.html_body


def test_text_version_falls_back_to_the_main_language(app):
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == INCLUSIVE))
        assert letter.main_language == "sq"
        english = next(t for t in letter.texts if t.language == "en")
        letter.texts.remove(english)
        db.session.commit()
        main_text = letter.text_in("sq")
        expected_hash, expected_id = main_text.text_hash, main_text.id
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(LetterText)
                .where(LetterText.letter_id == letter.id, LetterText.language == "en")
            )
            == 0
        )
    sign_as(app, slug=INCLUSIVE, language="en")
    row = signature_row(app, slug=INCLUSIVE)
    assert row.language == "en"
    assert row.text_hash == expected_hash
    assert row.text_id == expected_id
    with app.app_context():
        assert row.consent_text_hash == consent_hash("en")


# --- one signature per letter per email --------------------------------------------------------


def test_emails_are_compared_canonically(app):
    sign_as(app, email=" ANA@Example.ORG ")
    sign_as(app, email="ana@example.org", name="Ana Hoxha-Berisha")
    with app.app_context():
        rows = db.session.scalars(select(Signature)).all()
        assert len(rows) == 1
        assert rows[0].email_canonical == "ana@example.org"
        # A pending signature keeps its first details; others are only offered to its owner.
        assert rows[0].name == "Ana Hoxha"
    # The same address may sign another letter.
    sign_as(app, slug=INCLUSIVE, email="Ana@example.org")
    assert count_rows(app, Signature) == 2


def test_database_refuses_a_second_row_for_the_same_canonical_email(app):
    sign_as(app, email="ana@example.org")
    row = signature_row(app)
    with app.app_context():
        duplicate = {
            "letter_id": row.letter_id,
            "kind": "individual",
            "status": "pending",
            "name": "Someone Else",
            "email": "ANA@example.org",
            "email_canonical": "ana@example.org",
            "country": "AL",
            "language": "en",
            "text_hash": row.text_hash,
            "consent_text_hash": row.consent_text_hash,
            "consented_at": utcnow(),
            "confirm_nonce": "0" * 16,
            "withdraw_nonce": "1" * 16,
        }
        with pytest.raises(IntegrityError):
            db.session.execute(insert(Signature).values(**duplicate))
            db.session.flush()
        db.session.rollback()
    assert count_rows(app, Signature) == 1


# --- signing again ---------------------------------------------------------------------------


def test_identical_repeat_within_the_quiet_period_sends_nothing_and_keeps_the_link(app):
    sign_as(app)
    first = signature_row(app)
    first_link = newest_link(app, "confirm")
    # A double click or a second tab: same details, at once. No second email, same link.
    sign_as(app)
    age_signature(app, RESEND_QUIET_PERIOD - timedelta(seconds=5))
    sign_as(app)
    assert len(emails(app, "confirm")) == 1
    assert signature_row(app).confirm_nonce == first.confirm_nonce
    assert use_link(app, Purpose.CONFIRM, first_link) is Outcome.CONFIRMED


def test_identical_repeat_after_the_quiet_period_sends_a_reminder_and_every_link_works(app):
    sign_as(app)
    first = signature_row(app)
    first_link = newest_link(app, "confirm")
    age_signature(app, PAST_QUIET)
    sign_as(app)
    resent = emails(app, "confirm")
    assert len(resent) == 2
    after = signature_row(app)
    # The same nonces: whoever signed again cannot make the owner's first link stop working.
    assert after.confirm_nonce == first.confirm_nonce
    assert after.withdraw_nonce == first.withdraw_nonce
    second_link = links_in(resent[-1].text_body)["confirm"][0]
    with app.app_context():
        assert read_token(Purpose.CONFIRM, token_of(second_link)) == read_token(
            Purpose.CONFIRM, token_of(first_link)
        )
    assert use_link(app, Purpose.CONFIRM, first_link) is Outcome.CONFIRMED
    assert counts(app) == (1, 0)
    assert use_link(app, Purpose.CONFIRM, second_link) is Outcome.ALREADY_CONFIRMED
    assert counts(app) == (1, 0)


def test_changed_details_are_kept_aside_and_only_offered_to_the_owner(app):
    """Nobody can change what the owner's link confirms: other details wait for the owner."""
    sign_as(app, is_public=False)
    first_link = newest_link(app, "confirm")
    # At once, with other details (someone else, or the owner fixing a typo).
    sign_as(app, name="Ana H. Hoxha", city="Durrës", language="sq", is_public=True)
    again = signature_row(app)
    assert (again.name, again.city, again.language, again.is_public) == (
        "Ana Hoxha",
        "Tiranë",
        "en",
        False,
    )
    assert len(emails(app, "confirm")) == 1
    (offer,) = emails(app, "change-offer")
    assert offer.recipient == "ana@example.org" and offer.signature_id == again.id
    assert "Ana H. Hoxha" in offer.text_body  # the offer shows what it would apply
    with app.app_context():
        (change,) = db.session.scalars(select(SignatureChange)).all()
        assert change.signature_id == again.id
        assert change.details["name"] == "Ana H. Hoxha" and change.details["is_public"] is True
        assert change.consent_text_hash == consent_hash("sq")
        assert change.ip_hash == hash_ip(IP)
    assert use_link(app, Purpose.CONFIRM, first_link) is Outcome.CONFIRMED
    assert signature_row(app).name == "Ana Hoxha"
    assert count_rows(app, SignatureChange) == 0  # settled: no offer applies any more
    assert counts(app) == (1, 0)


def test_offers_beyond_the_resend_cap_are_neither_kept_nor_mailed(app):
    resends = app.config["CONFIRM_RESENDS"]
    sign_as(app)
    for index in range(resends):
        sign_as(app, name=f"Ana {index}")
    assert len(emails(app, "change-offer")) == resends
    sign_as(app, name="Mallory", is_public=True)  # no email can go out any more
    assert len(emails(app, "change-offer")) == resends
    assert count_rows(app, SignatureChange) == resends
    assert signature_row(app).name == "Ana Hoxha"
    assert use_link(app, Purpose.CONFIRM, newest_link(app, "confirm")) is Outcome.CONFIRMED
    assert signature_row(app).name == "Ana Hoxha"


def test_confirmation_is_resent_at_most_confirm_resends_times(app):
    resends = app.config["CONFIRM_RESENDS"]
    assert resends >= 1
    sign_as(app)
    for _ in range(resends + 3):
        age_signature(app, PAST_QUIET)
        sign_as(app)
    assert len(emails(app, "confirm")) == 1 + resends
    assert len(outbox_rows(app)) == 1 + resends
    # The last link sent is still the one that works.
    assert use_link(app, Purpose.CONFIRM, newest_link(app, "confirm")) is Outcome.CONFIRMED


def test_signing_again_when_confirmed_sends_capped_already_signed_notices(app):
    resends = app.config["CONFIRM_RESENDS"]
    sign_as(app)
    first_withdraw = newest_link(app, "withdraw")
    assert use_link(app, Purpose.CONFIRM, newest_link(app, "confirm")) is Outcome.CONFIRMED
    assert counts(app) == (1, 0)

    sign_as(app, name="Mallory Impostor", language="sq")
    notices = emails(app, "already-signed")
    assert len(notices) == 1
    notice = notices[0]
    assert notice.recipient == "ana@example.org"
    links = links_in(notice.text_body)
    assert links["confirm"] == []
    assert len(links["withdraw"]) == 1
    assert links_in(notice.html_body)["confirm"] == []
    # The withdrawal link names the same signature and nonce (the token's timestamp may differ).
    with app.app_context():
        assert read_token(Purpose.WITHDRAW, token_of(links["withdraw"][0])) == read_token(
            Purpose.WITHDRAW, token_of(first_withdraw)
        )
    row = signature_row(app)
    assert row.status == SignatureStatus.CONFIRMED
    assert row.name == "Ana Hoxha"  # a confirmed signature is not rewritten by a repeat

    for _ in range(resends + 3):
        sign_as(app)
    assert len(emails(app, "already-signed")) == resends
    assert len(emails(app, "confirm")) == 1
    assert counts(app) == (1, 0)
    assert count_rows(app, Signature) == 1


def test_signing_again_after_withdrawal_makes_it_pending_with_fresh_nonces(app):
    sign_as(app)
    old_confirm = newest_link(app, "confirm")
    old_withdraw = newest_link(app, "withdraw")
    use_link(app, Purpose.CONFIRM, old_confirm)
    assert use_link(app, Purpose.WITHDRAW, old_withdraw) is Outcome.WITHDRAWN
    withdrawn = signature_row(app)
    assert withdrawn.status == SignatureStatus.WITHDRAWN
    assert counts(app) == (0, 0)

    sign_as(app, name="Ana Hoxha again")
    row = signature_row(app)
    assert row.status == SignatureStatus.PENDING
    assert row.name == "Ana Hoxha again"
    assert row.confirm_nonce != withdrawn.confirm_nonce
    assert row.withdraw_nonce != withdrawn.withdraw_nonce
    assert row.confirmed_at is None and row.withdrawn_at is None
    assert counts(app) == (0, 0)
    assert len(emails(app, "confirm")) == 2
    new_confirm = newest_link(app, "confirm")
    new_withdraw = newest_link(app, "withdraw")
    assert new_confirm != old_confirm and new_withdraw != old_withdraw

    with pytest.raises(LinkReplaced):
        use_link(app, Purpose.WITHDRAW, old_withdraw)
    with pytest.raises(LinkReplaced):
        use_link(app, Purpose.CONFIRM, old_confirm)
    assert signature_row(app).status == SignatureStatus.PENDING
    assert use_link(app, Purpose.CONFIRM, new_confirm) is Outcome.CONFIRMED
    assert counts(app) == (1, 0)


@pytest.mark.parametrize("status", [SignatureStatus.REJECTED, SignatureStatus.SPAM])
@pytest.mark.parametrize("confirmed_first", [True, False])
def test_rejected_or_spam_signature_gets_no_email_on_signing_again(app, status, confirmed_first):
    sign_as(app)
    if confirmed_first:
        use_link(app, Purpose.CONFIRM, newest_link(app, "confirm"))
        assert counts(app) == (1, 0)
    with app.app_context():
        row = db.session.scalar(select(Signature))
        set_status(row, status)
        db.session.commit()
    assert counts(app) == (0, 0)
    sent_before = len(outbox_rows(app))

    age_signature(app, PAST_QUIET)
    sign_as(app, name="Ana Hoxha")
    sign_as(app, email="ANA@example.org")

    assert len(outbox_rows(app)) == sent_before
    assert signature_row(app).status == status
    assert counts(app) == (0, 0)
    assert count_rows(app, Signature) == 1


# --- counters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [(SignatureKind.INDIVIDUAL, (1, 0)), (SignatureKind.ORGANISATION, (0, 1))],
)
def test_confirm_counts_the_right_kind_and_withdraw_uncounts_it(app, kind, expected):
    sign_as(app, kind=kind, organisation="Qendra për Arsim" if kind == "organisation" else "")
    assert counts(app) == (0, 0)
    confirm = newest_link(app, "confirm")
    assert use_link(app, Purpose.CONFIRM, confirm) is Outcome.CONFIRMED
    assert counts(app) == expected
    row = signature_row(app)
    assert row.status == SignatureStatus.CONFIRMED and row.confirmed_at is not None

    assert use_link(app, Purpose.CONFIRM, confirm) is Outcome.ALREADY_CONFIRMED
    assert counts(app) == expected

    withdraw = newest_link(app, "withdraw")
    assert use_link(app, Purpose.WITHDRAW, withdraw) is Outcome.WITHDRAWN
    assert counts(app) == (0, 0)
    assert signature_row(app).withdrawn_at is not None
    assert use_link(app, Purpose.WITHDRAW, withdraw) is Outcome.ALREADY_WITHDRAWN
    assert counts(app) == (0, 0)
    # A confirmation link of a withdrawn signature does not bring it back.
    assert use_link(app, Purpose.CONFIRM, confirm) is Outcome.ALREADY_WITHDRAWN
    assert counts(app) == (0, 0)
    # The other letter's counters never moved.
    assert counts(app, INCLUSIVE) == (0, 0)


def test_pre_moderated_letter_holds_confirmed_signatures_uncounted(app):
    change_letter(app, moderation=Moderation.PRE)
    sign_as(app)
    sign_as(app, email="org@example.org", kind=SignatureKind.ORGANISATION, organisation="Org")
    for email in ("ana@example.org", "org@example.org"):
        confirm = newest_link(app, "confirm", email)
        assert use_link(app, Purpose.CONFIRM, confirm) is Outcome.AWAITING_APPROVAL
        assert use_link(app, Purpose.CONFIRM, confirm) is Outcome.AWAITING_APPROVAL
        row = signature_row(app, email)
        assert row.status == SignatureStatus.AWAITING_APPROVAL
        assert row.confirmed_at is not None
    assert counts(app) == (0, 0)
    with app.app_context():
        assert recount(repair=False) == []


def test_organisations_need_approval_holds_only_organisations(app):
    change_letter(app, organisations_need_approval=True)
    sign_as(app, email="ana@example.org")
    sign_as(app, email="org@example.org", kind=SignatureKind.ORGANISATION, organisation="Org")
    person = use_link(app, Purpose.CONFIRM, newest_link(app, "confirm", "ana@example.org"))
    organisation = use_link(app, Purpose.CONFIRM, newest_link(app, "confirm", "org@example.org"))
    assert person is Outcome.CONFIRMED
    assert organisation is Outcome.AWAITING_APPROVAL
    assert signature_row(app, "ana@example.org").status == SignatureStatus.CONFIRMED
    assert signature_row(app, "org@example.org").status == SignatureStatus.AWAITING_APPROVAL
    assert counts(app) == (1, 0)


# --- letter states ------------------------------------------------------------------------------


LETTER_STATES = {
    "draft": {"status": LetterStatus.DRAFT},
    "closed": {"status": LetterStatus.CLOSED},
    "delivered": {"status": LetterStatus.DELIVERED},
    "open-past-deadline": {"status": LetterStatus.OPEN, "auto_close": True, "past": True},
    "open-not-yet-opened": {"status": LetterStatus.OPEN, "future_open": True},
}


@pytest.mark.parametrize("state", list(LETTER_STATES))
def test_letters_that_are_not_open_refuse_signatures_and_store_nothing(app, state):
    spec = dict(LETTER_STATES[state])
    values: dict[str, Any] = {"status": spec.pop("status")}
    if spec.pop("past", False):
        values["closes_at"] = utcnow() - timedelta(minutes=1)
    if spec.pop("future_open", False):
        values["opens_at"] = utcnow() + timedelta(days=1)
    values.update(spec)
    change_letter(app, **values)
    with pytest.raises(LetterNotOpen):
        sign_as(app)
    assert count_rows(app, Signature) == 0
    assert count_rows(app, OutboxEmail) == 0
    assert counts(app) == (0, 0)


def test_close_expired_letters_writes_closed_only_where_auto_close_applies(app):
    change_letter(app, G20, closes_at=utcnow() - timedelta(minutes=1), auto_close=True)
    change_letter(app, INCLUSIVE, closes_at=utcnow() - timedelta(minutes=1), auto_close=False)
    with app.app_context():
        assert close_expired() == 1
        statuses = {
            slug: status for slug, status in db.session.execute(select(Letter.slug, Letter.status))
        }
    assert statuses[G20] == LetterStatus.CLOSED
    assert statuses[INCLUSIVE] == LetterStatus.OPEN  # its deadline is only shown
    with app.app_context():
        assert close_expired() == 0
    with pytest.raises(LetterNotOpen):
        sign_as(app, G20)
    sign_as(app, INCLUSIVE)
    assert count_rows(app, Signature) == 1


# --- recounting -----------------------------------------------------------------------------


def _one_confirmed_individual(app: Flask) -> None:
    sign_as(app)
    use_link(app, Purpose.CONFIRM, newest_link(app, "confirm"))
    sign_as(app, email="pending@example.org")  # pending: never counted
    assert counts(app) == (1, 0)


def test_recount_reports_drift_and_repairs_it(app):
    _one_confirmed_individual(app)
    change_letter(app, G20, count_individuals=7, count_organisations=2)
    with app.app_context():
        drifts = recount(repair=False)
        db.session.commit()
    assert [(d.slug, d.stored, d.actual) for d in drifts] == [(G20, (7, 2), (1, 0))]
    assert counts(app) == (7, 2)  # reporting repairs nothing

    with app.app_context():
        repaired = recount(repair=True)
        db.session.commit()
    assert [(d.slug, d.stored, d.actual) for d in repaired] == [(G20, (7, 2), (1, 0))]
    assert counts(app) == (1, 0)
    assert counts(app, INCLUSIVE) == (0, 0)
    with app.app_context():
        assert recount(repair=False) == []


def test_counts_check_command_reports_with_dry_run_and_repairs(app):
    _one_confirmed_individual(app)
    change_letter(app, G20, count_individuals=0, count_organisations=3)
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["counts", "check", "--dry-run"])
    assert dry.exit_code == 1, dry.output
    assert G20 in dry.output and "(0, 3)" in dry.output and "(1, 0)" in dry.output
    assert counts(app) == (0, 3)

    fixed = runner.invoke(args=["counts", "check"])
    assert fixed.exit_code == 0, fixed.output
    assert G20 in fixed.output and "repaired" in fixed.output
    assert counts(app) == (1, 0)

    clean = runner.invoke(args=["counts", "check", "--dry-run"])
    assert clean.exit_code == 0, clean.output
    assert G20 not in clean.output


# --- tokens -------------------------------------------------------------------------------------


def test_a_token_for_one_purpose_is_refused_for_the_other(app):
    with app.app_context():
        confirm = make_token(Purpose.CONFIRM, 42, "abcdef0123456789")
        withdraw = make_token(Purpose.WITHDRAW, 42, "abcdef0123456789")
        assert confirm != withdraw
        assert read_token(Purpose.CONFIRM, confirm) == Claim(42, "abcdef0123456789")
        assert read_token(Purpose.WITHDRAW, withdraw) == Claim(42, "abcdef0123456789")
        with pytest.raises(TokenInvalid):
            read_token(Purpose.WITHDRAW, confirm)
        with pytest.raises(TokenInvalid):
            read_token(Purpose.CONFIRM, withdraw)


def _alter(char: str) -> str:
    return "B" if char != "B" else "C"


def test_a_tampered_or_foreign_token_is_invalid(app):
    with app.app_context():
        token = make_token(Purpose.CONFIRM, 42, "abcdef0123456789")
        head, signature = token.rsplit(".", 1)
        # The first character of the signature carries full bits (the last one may not).
        tampered_signature = f"{head}.{_alter(signature[0])}{signature[1:]}"
        tampered_payload = f"{_alter(token[0])}{token[1:]}"
        forged = URLSafeTimedSerializer("not our secret", salt="petitions.confirm").dumps(
            [42, "abcdef0123456789"]
        )
        for bad in (tampered_signature, tampered_payload, forged, "garbage", "", "a.b.c"):
            with pytest.raises(TokenInvalid):
                read_token(Purpose.CONFIRM, bad)


def test_an_expired_token_raises_token_expired_carrying_its_claim(make_app):
    make_app()
    expiring = make_app(CONFIRM_MAX_AGE=-1)
    with expiring.app_context():
        token = make_token(Purpose.CONFIRM, 42, "abcdef0123456789")
        with pytest.raises(TokenExpired) as caught:
            read_token(Purpose.CONFIRM, token)
        assert caught.value.claim == Claim(42, "abcdef0123456789")
        # Expiry is per purpose: withdrawal links keep their own, longer lifetime.
        withdraw = make_token(Purpose.WITHDRAW, 42, "abcdef0123456789")
        assert read_token(Purpose.WITHDRAW, withdraw) == Claim(42, "abcdef0123456789")
        # An expired token that was tampered with is invalid, not expired.
        head, signature = token.rsplit(".", 1)
        with pytest.raises(TokenInvalid):
            read_token(Purpose.CONFIRM, f"{head}.{_alter(signature[0])}{signature[1:]}")


def test_signature_for_refuses_a_genuine_token_with_an_old_nonce(app):
    sign_as(app)
    row = signature_row(app)
    with app.app_context():
        assert signature_for(Claim(row.id, row.confirm_nonce), Purpose.CONFIRM).id == row.id
        with pytest.raises(LinkReplaced):
            signature_for(Claim(row.id, "0000000000000000"), Purpose.CONFIRM)
        with pytest.raises(LinkReplaced):
            signature_for(Claim(row.id, row.confirm_nonce), Purpose.WITHDRAW)


def test_a_deadline_that_passes_between_reading_and_writing_takes_no_signature(app):
    """Signing reads the letter, lets the read go, then writes: the write checks the deadline."""
    import dataclasses

    from petitions.services.signing import prepare_signature, record_signature

    with app.test_request_context("/", method="POST"):
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        prepared = prepare_signature(letter, signature_input())
        db.session.rollback()
        # The same submission, as if the deadline had passed while it was being checked.
        late = dataclasses.replace(
            prepared,
            letter=dataclasses.replace(prepared.letter, closes_at=utcnow() - timedelta(seconds=1)),
        )
        with pytest.raises(LetterNotOpen):
            record_signature(late, "ip-hash")
        db.session.rollback()
        record_signature(prepared, "ip-hash")  # in time: recorded
        db.session.commit()
    assert count_rows(app, Signature) == 1
    assert count_rows(app, OutboxEmail) == 1
