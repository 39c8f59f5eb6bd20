"""Moderating signatures through the staff pages: each action, its counters, its audit trail."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, csrf_token, links_in, outbox_rows, press_button, sign
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.columns import utcnow
from petitions.models.letters import Letter, Moderation
from petitions.models.signatures import Signature
from petitions.models.staff import ModerationReason
from petitions.services.counters import recount

REASONS = ("Not a real person or organisation", "Duplicate of another signature")


# --- helpers (the other moderation test files use them too) ------------------------------------


def letter_id(app: Flask, slug: str = G20) -> int:
    with app.app_context():
        return int(db.session.scalar(select(Letter.id).where(Letter.slug == slug)))


def signature_row(app: Flask, slug: str = G20, **fields: Any) -> dict[str, Any]:
    """All the columns of one signature, as signing would fill them (overridable)."""
    now = utcnow()
    email = fields.pop("email", None) or f"s{secrets.token_hex(6)}@example.org"
    status = fields.get("status", "confirmed")
    row = {
        "letter_id": fields.pop("letter_id", None) or letter_id(app, slug),
        "kind": "individual",
        "status": status,
        "name": "Ana Hoxha",
        "email": email,
        "email_canonical": email.lower(),
        "email_domain": email.rpartition("@")[2].lower(),
        "organisation": "",
        "title": "",
        "country": "AL",
        "city": "",
        "website": "",
        "comment": "",
        "is_public": True,
        "is_hidden": False,
        "language": "en",
        "text_hash": "a" * 64,
        "consent_text_hash": "b" * 64,
        "consented_at": now,
        "ip_hash": "",
        "confirm_nonce": secrets.token_hex(8),
        "withdraw_nonce": secrets.token_hex(8),
        "created_at": now,
        "updated_at": now,
        "confirmed_at": None if status == "pending" else now,
        "moderation_reason": "",
    }
    row.update(fields)
    return row


def add_signatures(app: Flask, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows directly (fast), then bring the stored counters in line with them."""
    with app.app_context():
        signatures = [Signature(**row) for row in rows]
        db.session.add_all(signatures)
        db.session.flush()
        recount(repair=True)
        db.session.commit()
        return [s.id for s in signatures]


def add_signature(app: Flask, slug: str = G20, **fields: Any) -> int:
    return add_signatures(app, [signature_row(app, slug, **fields)])[0]


def add_reasons(app: Flask) -> None:
    with app.app_context():
        for position, text in enumerate(REASONS):
            db.session.add(ModerationReason(text=text, position=position))
        db.session.add(ModerationReason(text="An old reason", position=9, is_active=False))
        db.session.commit()


def staff_token(client: FlaskClient) -> str:
    """The staff session's CSRF token (every staff form carries the same one)."""
    return csrf_token(client.get("/staff/account/password").get_data(as_text=True))


def moderate(
    client: FlaskClient, ids: list[int], action: str, reason: str = "", **extra: Any
) -> Any:
    follow = extra.pop("follow_redirects", False)
    data: dict[str, Any] = {"csrf_token": staff_token(client), "action": action, "signature": ids}
    data["confirmed"] = "1"  # as the confirmation page's button sends it
    if reason:
        data["reason"] = reason
    data.update(extra)
    return client.post("/staff/signatures/moderate", data=data, follow_redirects=follow)


def api_counts(client: FlaskClient, slug: str = G20) -> tuple[int, int]:
    """(individuals, organisations) as the public API shows them."""
    answer = client.get(f"/api/v1/letters/{slug}")
    assert answer.status_code == 200
    found = answer.json["signatures"]
    assert found["total"] == found["individuals"] + found["organisations"]
    return found["individuals"], found["organisations"]


def state(app: Flask, ident: int) -> Signature:
    with app.app_context():
        found = db.session.get(Signature, ident)
        assert found is not None
        db.session.expunge(found)
        return found


def events(app: Flask, action: str, ident: int | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        if ident is not None:
            query = query.where(AuditEvent.object_id == ident)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
        return found


def no_drift(app: Flask) -> bool:
    with app.app_context():
        drifts = recount(repair=False)
        db.session.rollback()
        return drifts == []


def set_letter(app: Flask, slug: str = G20, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == slug).values(**values))
        db.session.commit()


def sign_and_confirm(app: Flask, client: FlaskClient, email: str, **fields: Any) -> int:
    assert sign(client, email=email, **fields).status_code == 303
    row = [r for r in outbox_rows(app) if r.recipient == email][-1]
    assert press_button(client, links_in(row.text_body)["confirm"][0]).status_code == 200
    with app.app_context():
        return int(db.session.scalar(select(Signature.id).where(Signature.email == email)))


@pytest.fixture
def moderator(staff_client: Any) -> FlaskClient:
    return staff_client("moderator")


# --- each action, with its counters ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "action", "reason", "expected_status", "counted"),
    [
        ("individual", "reject", "Spam bot", "rejected", False),
        ("organisation", "reject", "Spam bot", "rejected", False),
        ("individual", "spam", "", "spam", False),
        ("organisation", "spam", "", "spam", False),
        ("individual", "hide", "", "confirmed", True),
        ("organisation", "hide", "", "confirmed", True),
        ("individual", "approve", "", "confirmed", True),  # not waiting: skipped
    ],
)
def test_each_action_changes_the_right_counter_at_once(
    app, client, moderator, kind, action, reason, expected_status, counted
):
    ident = add_signature(app, kind=kind, organisation="Org" if kind == "organisation" else "")
    other = add_signature(app, kind="organisation" if kind == "individual" else "individual")
    before = api_counts(client)
    assert sum(before) == 2

    answer = moderate(moderator, [ident], action, reason)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/staff/moderation"

    assert state(app, ident).status == expected_status
    assert state(app, other).status == "confirmed"
    position = 0 if kind == "individual" else 1
    after = list(before)
    after[position] -= 0 if counted else 1
    assert api_counts(client) == tuple(after)
    assert no_drift(app)
    assert len(events(app, f"signature.{action}", ident)) == 1


def test_pre_moderation_counts_only_after_approval(app, client, moderator):
    set_letter(app, moderation=Moderation.PRE)
    ident = sign_and_confirm(app, client, "waiting@example.org", name="Wanda Waiting")
    found = state(app, ident)
    assert found.status == "awaiting_approval" and found.approved_at is None
    assert api_counts(client) == (0, 0)
    assert "Wanda Waiting" not in client.get(f"/letters/{G20}").get_data(as_text=True)

    answer = moderate(moderator, [ident], "approve")
    assert answer.status_code == 303
    found = state(app, ident)
    assert found.status == "confirmed" and found.approved_at is not None
    assert found.moderated_at is not None and found.moderated_by_id is not None
    assert api_counts(client) == (1, 0)
    assert "Wanda Waiting" in client.get(f"/letters/{G20}").get_data(as_text=True)
    (event,) = events(app, "signature.approve", ident)
    assert event.details["from"] == "awaiting_approval" and event.details["to"] == "confirmed"
    assert event.letter_id == letter_id(app) and event.actor_email.startswith("moderator")
    assert "noop" not in event.details


def test_organisations_may_need_approval_while_individuals_count_at_once(app, client, moderator):
    set_letter(app, organisations_need_approval=True)
    person = sign_and_confirm(app, client, "person@example.org")
    org = sign_and_confirm(
        app, client, "org@example.org", kind="organisation", organisation="Teachers' Union"
    )
    assert state(app, person).status == "confirmed"
    assert state(app, org).status == "awaiting_approval"
    assert api_counts(client) == (1, 0)
    moderate(moderator, [person, org], "approve")
    assert api_counts(client) == (1, 1)
    assert state(app, person).approved_at is None  # it never waited: skipped
    skipped = events(app, "signature.approve", person)[0].details
    assert skipped["noop"] is True and skipped["skipped"] == "not_awaiting_approval"


def test_reject_needs_a_reason(app, client, moderator):
    add_reasons(app)
    ident = add_signature(app)
    answer = moderate(moderator, [ident], "reject", follow_redirects=True)
    assert answer.status_code == 200
    assert "Choose a reason" in answer.get_data(as_text=True)
    assert state(app, ident).status == "confirmed"
    assert events(app, "signature.reject") == []
    assert api_counts(client) == (1, 0)

    # "Other" with nothing written is no reason either.
    moderate(moderator, [ident], "reject", "other", reason_other="  ")
    assert state(app, ident).status == "confirmed"

    moderate(moderator, [ident], "reject", REASONS[1])
    found = state(app, ident)
    assert (found.status, found.moderation_reason) == ("rejected", REASONS[1])
    assert events(app, "signature.reject", ident)[0].details["reason"] == REASONS[1]
    assert api_counts(client) == (0, 0)


def test_other_reason_is_free_text(app, moderator):
    add_reasons(app)
    ident = add_signature(app)
    moderate(moderator, [ident], "reject", "other", reason_other="Signed twice under two names")
    assert state(app, ident).moderation_reason == "Signed twice under two names"


def test_queue_offers_the_active_reasons_and_other(app, moderator):
    add_reasons(app)
    add_signature(app)
    html = moderator.get("/staff/moderation").get_data(as_text=True)
    assert all(f">{reason}</option>" in html for reason in REASONS)
    assert "An old reason" not in html
    assert 'value="other"' in html


@pytest.mark.parametrize(
    ("moderation", "needs_org_approval", "kind", "confirmed", "approved", "expected"),
    [
        ("none", False, "individual", False, False, "pending"),
        ("none", False, "individual", True, False, "confirmed"),
        ("pre", False, "individual", True, False, "awaiting_approval"),
        ("pre", False, "individual", True, True, "confirmed"),
        ("none", True, "organisation", True, False, "awaiting_approval"),
        ("none", True, "individual", True, False, "confirmed"),
        ("post", False, "organisation", True, False, "confirmed"),
    ],
)
def test_restore_returns_to_where_the_signature_would_be(
    app, client, moderator, moderation, needs_org_approval, kind, confirmed, approved, expected
):
    set_letter(app, moderation=moderation, organisations_need_approval=needs_org_approval)
    now = utcnow()
    ident = add_signature(
        app,
        kind=kind,
        organisation="Org" if kind == "organisation" else "",
        status="spam",
        is_hidden=True,
        confirmed_at=now if confirmed else None,
        approved_at=now if approved else None,
    )
    assert api_counts(client) == (0, 0)
    assert moderate(moderator, [ident], "restore").status_code == 303
    found = state(app, ident)
    assert found.status == expected
    assert found.is_hidden is False
    counted = int(expected == "confirmed")
    assert api_counts(client) == ((counted, 0) if kind == "individual" else (0, counted))
    assert no_drift(app)


def test_spam_from_rejected_and_restore_from_rejected(app, client, moderator):
    ident = add_signature(app, kind="organisation", organisation="Org")
    moderate(moderator, [ident], "reject", "Not real")
    moderate(moderator, [ident], "spam")
    assert state(app, ident).status == "spam"
    moderate(moderator, [ident], "restore")
    assert state(app, ident).status == "confirmed"
    assert api_counts(client) == (0, 1)
    # A rejection of a spam signature changes nothing, but is in the trail.
    moderate(moderator, [ident], "spam")
    moderate(moderator, [ident], "reject", "Late")
    (event,) = events(app, "signature.reject", ident)[-1:]
    assert event.details["noop"] is True and event.details["skipped"] == "already_spam"
    assert state(app, ident).status == "spam"


@pytest.mark.parametrize("action", ["approve", "reject", "spam", "hide", "restore"])
def test_withdrawn_signatures_are_skipped_by_every_action(app, moderator, action):
    ident = add_signature(app, status="withdrawn", withdrawn_at=utcnow())
    answer = moderate(moderator, [ident], action, "Reason", follow_redirects=True)
    assert "withdrawn by the signer" in answer.get_data(as_text=True)
    found = state(app, ident)
    assert (found.status, found.is_hidden, found.moderated_at) == ("withdrawn", False, None)
    (event,) = events(app, f"signature.{action}", ident)
    assert event.details["noop"] is True and event.details["skipped"] == "withdrawn"


def test_summary_counts_changed_and_skipped(app, moderator):
    waiting = add_signature(app, status="awaiting_approval")
    confirmed = add_signature(app)
    answer = moderate(moderator, [waiting, confirmed, 999_999], "approve", follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert "1 signature approved." in html
    assert "1 not found" in html and "1 not waiting for approval" in html


def test_hide_keeps_the_count_but_leaves_the_public_list(app, client, moderator):
    ident = add_signature(app, name="Hana Hidden")
    page = client.get(f"/letters/{G20}").get_data(as_text=True)  # now in the page cache
    assert "Hana Hidden" in page
    version = _version(app)

    moderate(moderator, [ident], "hide")
    assert state(app, ident).is_hidden is True
    assert _version(app) > version
    assert "Hana Hidden" not in client.get(f"/letters/{G20}").get_data(as_text=True)
    assert "Hana Hidden" not in client.get(f"/letters/{G20}/signatories?kind=individual").text
    assert api_counts(client) == (1, 0)

    moderate(moderator, [ident], "restore")  # restoring a hidden signature shows it again
    assert state(app, ident).is_hidden is False
    assert "Hana Hidden" in client.get(f"/letters/{G20}").get_data(as_text=True)
    assert api_counts(client) == (1, 0)


def _version(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(Letter.public_version).where(Letter.slug == G20)))


def test_confirming_after_rejection_does_not_count(app, client, moderator):
    assert sign(client, email="late@example.org").status_code == 303
    with app.app_context():
        ident = db.session.scalar(select(Signature.id))
    moderate(moderator, [ident], "reject", "Not real")
    link = links_in(outbox_rows(app)[0].text_body)["confirm"][0]
    assert press_button(client, link).status_code == 200
    assert state(app, ident).status == "rejected"
    assert api_counts(client) == (0, 0)


# --- access, CSRF, limits -------------------------------------------------------------------


def test_moderate_without_csrf_token_is_refused(app, client, moderator):
    ident = add_signature(app)
    moderator.get("/staff/moderation")
    answer = moderator.post(
        "/staff/signatures/moderate", data={"action": "spam", "signature": [ident]}
    )
    assert answer.status_code == 400
    assert state(app, ident).status == "confirmed"
    assert api_counts(client) == (1, 0)
    answer = moderator.post(
        "/staff/signatures/moderate",
        data={"action": "spam", "signature": [ident], "csrf_token": "forged"},
    )
    assert answer.status_code == 400
    assert state(app, ident).status == "confirmed"


def test_organiser_may_read_but_not_moderate_or_verify(app, staff_client):
    ident = add_signature(app, kind="organisation", organisation="Org", name="Orla Org")
    organiser = staff_client("organiser", letters=(G20,))
    html = organiser.get("/staff/moderation").get_data(as_text=True)
    assert "Orla Org" in html
    assert "/staff/signatures/moderate" not in html and 'name="signature"' not in html
    assert moderate(organiser, [ident], "spam").status_code == 403
    token = staff_token(organiser)
    answer = organiser.post(
        "/staff/signatures/verify", data={"csrf_token": token, "signature": ident, "verified": "1"}
    )
    assert answer.status_code == 403
    assert organiser.get(f"/staff/moderation/bulk?letter={G20}&action=spam").status_code == 403
    found = state(app, ident)
    assert (found.status, found.verified_at) == ("confirmed", None)


def test_admin_may_moderate(app, staff_client):
    ident = add_signature(app)
    admin = staff_client("admin")
    assert moderate(admin, [ident], "spam").status_code == 303
    assert state(app, ident).status == "spam"


def test_signed_out_visitor_is_sent_to_login(app, client):
    ident = add_signature(app)
    assert client.get("/staff/moderation").status_code == 302
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    answer = client.post(
        "/staff/signatures/moderate",
        data={"csrf_token": token, "action": "spam", "signature": ident},
    )
    assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"]
    assert state(app, ident).status == "confirmed"


def test_more_than_a_thousand_ids_are_refused(app, moderator):
    ident = add_signature(app)
    ids = [ident, *range(100_000, 101_000)]
    answer = moderate(moderator, ids, "spam", follow_redirects=True)
    assert "At most 1,000 signatures" in answer.get_data(as_text=True)
    assert state(app, ident).status == "confirmed"
    assert events(app, "signature.spam") == []


def test_invalid_input_changes_nothing(app, moderator):
    ident = add_signature(app)
    assert moderate(moderator, [ident], "delete").status_code == 303
    assert moderate(moderator, ["x1"], "spam").status_code == 303
    answer = moderate(moderator, [], "spam", follow_redirects=True)
    assert "Select at least one signature" in answer.get_data(as_text=True)
    assert state(app, ident).status == "confirmed"


def test_redirects_back_to_a_safe_next_only(app, moderator):
    ident = add_signature(app)
    back = f"/staff/moderation?letter={G20}&status=confirmed"
    answer = moderate(moderator, [ident], "hide", next=back)
    assert answer.status_code == 303 and answer.headers["Location"] == back
    answer = moderate(moderator, [ident], "restore", next="//evil.example/x")
    assert answer.status_code == 303 and "evil" not in answer.headers["Location"]


def test_audit_trail_keeps_no_signer_email(app, moderator):
    ident = add_signature(app, email="private.person@example.org")
    moderate(moderator, [ident], "reject", "Other", reason_other="Fake")
    moderate(moderator, [ident], "restore")
    with app.app_context():
        for event in db.session.scalars(select(AuditEvent)):
            assert "private.person" not in repr(event.details)


# --- verified organisations -----------------------------------------------------------------


def _verify(client: FlaskClient, ids: list[int], verified: str) -> Any:
    return client.post(
        "/staff/signatures/verify",
        data={"csrf_token": staff_token(client), "signature": ids, "verified": verified},
    )


def test_verified_organisations_get_a_badge(app, client, moderator):
    org = add_signature(app, kind="organisation", organisation="Civic Forum", name="Contact")
    person = add_signature(app, name="Ina Individual")
    client.get(f"/letters/{G20}")  # cached without the badge
    version = _version(app)

    answer = _verify(moderator, [org, person], "1")
    assert answer.status_code == 303
    assert state(app, org).verified_at is not None
    assert state(app, person).verified_at is None  # not an organisation: skipped
    assert _version(app) > version
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert '<strong>Civic Forum</strong> <span class="badge verified">verified</span>' in page
    listing = client.get(f"/letters/{G20}/signatories?kind=organisation").text
    assert "verified</span>" in listing
    assert events(app, "signature.verified", org)[0].details["verified_to"] is True
    assert events(app, "signature.verified", person)[0].details["noop"] is True

    _verify(moderator, [org], "0")
    assert state(app, org).verified_at is None
    assert "badge verified" not in client.get(f"/letters/{G20}").get_data(as_text=True)
    assert len(events(app, "signature.unverified", org)) == 1


def test_verify_without_token_is_refused(app, moderator):
    org = add_signature(app, kind="organisation", organisation="Civic Forum")
    moderator.get("/staff/moderation")
    answer = moderator.post("/staff/signatures/verify", data={"signature": org, "verified": "1"})
    assert answer.status_code == 400
    assert state(app, org).verified_at is None


def test_other_letters_are_untouched(app, client, moderator):
    mine = add_signature(app)
    theirs = add_signature(app, INCLUSIVE)
    moderate(moderator, [mine], "spam")
    assert api_counts(client, INCLUSIVE) == (1, 0)
    assert state(app, theirs).status == "confirmed"
    assert state(app, mine).moderated_at > utcnow() - timedelta(minutes=1)


def test_a_signer_who_withdraws_after_a_rejection_stays_out(app, client, staff_client):
    """Withdrawal is the signer's last word: a later restore by staff cannot bring it back."""
    from petitions.models.signatures import SignatureStatus

    sign(client, G20, email="late@example.org")
    links = links_in(outbox_rows(app)[-1].text_body)
    press_button(client, links["confirm"][0])
    with app.app_context():
        signature_id = db.session.scalar(
            select(Signature.id).where(Signature.email == "late@example.org")
        )
    staff = staff_client("moderator")

    def act(action: str, **extra: str) -> None:
        page = staff.get("/staff/moderation").get_data(as_text=True)
        answer = staff.post(
            "/staff/signatures/moderate",
            data={"csrf_token": csrf_token(page), "action": action, "signature": signature_id,
                  **extra},
        )  # fmt: skip
        assert answer.status_code == 303

    act("reject", reason="Not a real person or organisation")
    press_button(client, links["withdraw"][0])
    act("restore")
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.status == SignatureStatus.REJECTED
        assert signature.withdrawn_at is not None
        assert db.session.get(Letter, signature.letter_id).count_total == 0
    # Signing again does not wash the rejection away.
    sign(client, G20, email="late@example.org")
    with app.app_context():
        assert db.session.get(Signature, signature_id).status == SignatureStatus.REJECTED


def _sign_and_confirm(app: Flask, client: FlaskClient, email: str, **fields: Any):
    assert sign(client, email=email, **fields).status_code == 303
    row = [r for r in outbox_rows(app) if r.recipient == email][-1]
    links = links_in(row.text_body)
    assert press_button(client, links["confirm"][0]).status_code == 200
    with app.app_context():
        ident = db.session.scalar(select(Signature.id).where(Signature.email == email))
    return ident, links


def test_a_new_signature_after_a_withdrawal_is_verified_afresh(app, client, staff_client):
    """The badge was for the organisation that signed before, not whatever signs now."""
    moderator = staff_client("moderator")
    ident, links = _sign_and_confirm(
        app,
        client,
        "org@example.org",
        kind="organisation",
        organisation="Real Teachers Union",
        website="realunion.al",
    )
    answer = moderator.post(
        "/staff/signatures/verify",
        data={"csrf_token": staff_token(moderator), "signature": [ident], "verified": "1"},
    )
    assert answer.status_code == 303
    press_button(client, links["withdraw"][0])
    _sign_and_confirm(
        app,
        client,
        "org@example.org",
        kind="organisation",
        organisation="Totally Different Org",
        website="other.example",
    )
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert "verified" not in page.split("Totally Different Org")[1].split("</li>")[0]
    assert state(app, ident).verified_at is None


def test_a_new_signature_after_a_withdrawal_is_approved_afresh(app, client, staff_client):
    set_letter(app, moderation=Moderation.PRE)
    moderator = staff_client("moderator")
    ident, links = _sign_and_confirm(app, client, "p@example.org", name="Approved Once")
    moderate(moderator, [ident], "approve")
    press_button(client, links["withdraw"][0])
    _sign_and_confirm(app, client, "p@example.org", name="Someone Else Entirely")
    assert state(app, ident).status == "awaiting_approval"
    moderate(moderator, [ident], "reject", "no")
    moderate(moderator, [ident], "restore")
    assert state(app, ident).status == "awaiting_approval"  # the old approval does not carry
    assert api_counts(client) == (0, 0)
