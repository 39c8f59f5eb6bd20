"""The signers' rights without an account: erasure and access, by a link mailed to the address.

Asking (``request_link``) answers the same whether or not the address signed anything: the work
done is the same (the lookup, the email rendered) and only the queuing of that email differs,
which costs the request no more than the noise of its timing. The link names one signature of the
address and that signature's withdrawal nonce (services/tokens.py, purposes ``erase`` and
``access``), never the address itself, so it shows nothing in a proxy's log; it stands for every
signature of the address that still holds personal data.

Erasing (``erase``): on a letter not yet delivered the signature is withdrawn (the count goes
down, as for a withdrawal link) and anonymised; on a delivered letter (a list was handed over)
it is anonymised and stays in the delivered count. Either way the address may sign again. The
audit trail records the figures, never the address.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext
from sqlalchemy import delete, select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.exports import Delivery, ListedEntry, PdfExport
from petitions.models.letters import Letter, LetterStatus
from petitions.models.outbox import OutboxEmail
from petitions.models.privacy import PrivacyRequest
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services import audit
from petitions.services.anonymisation import anonymise_where
from petitions.services.consents import consent_records
from petitions.services.counters import bump_public_version, set_status
from petitions.services.errors import DomainError
from petitions.services.exports.digest import entry_hash
from petitions.services.outbox import queue_email
from petitions.services.signature_changes import forget_offers
from petitions.services.signing import RESEND_QUIET_PERIOD
from petitions.services.text_input import canonical_email
from petitions.services.tokens import Claim, Purpose, make_token
from petitions.web.links import external_url

SUBJECTS = {
    Purpose.ERASE: lazy_gettext("Your request to erase your signatures"),
    Purpose.ACCESS: lazy_gettext("Your request to see the data we hold about you"),
}


class RightsLinkGone(DomainError):
    """The link's signature was erased, anonymised or made anew since the link was sent."""


def _first_signature(address: str) -> Signature | None:
    try:
        canonical = canonical_email(address)
    except ValueError:
        return None
    return db.session.scalar(
        select(Signature)
        .where(Signature.email_canonical == canonical, Signature.anonymised_at.is_(None))
        .order_by(Signature.id)
        .limit(1)
    )


def _address_hash(address: str) -> str:
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), b"petitions.privacy", "sha256")
    typed = address.strip().lower()
    with contextlib.suppress(ValueError):
        typed = canonical_email(address)
    return hmac.new(key.digest(), typed.encode(), hashlib.sha256).hexdigest()


def request_link(purpose: Purpose, address: str, language: str) -> None:
    """Mail the address a link for ``purpose`` if it signed anything; the caller's answer is
    the same either way. Both ways do the same work (the lookups, the email rendered, a request
    row written and committed); only whether the rendered email joins the outbox differs. An
    address gets at most one link per quiet period, whoever asks."""
    now = utcnow()
    key = _address_hash(address)
    recently_mailed = db.session.scalar(
        select(PrivacyRequest.id)
        .where(
            PrivacyRequest.address_hash == key,
            PrivacyRequest.purpose == purpose.value,
            PrivacyRequest.at > now - RESEND_QUIET_PERIOD,
            PrivacyRequest.mailed.is_(True),
        )
        .limit(1)
    )
    signature = _first_signature(address)
    stand_in = signature or Signature(id=0, email=address, withdraw_nonce="0" * 16)
    email = _queue_link(purpose, stand_in, language)
    mailed = signature is not None and recently_mailed is None
    if not mailed:
        db.session.expunge(email)  # rendered, never written
    db.session.add(PrivacyRequest(purpose=purpose.value, address_hash=key, at=now, mailed=mailed))


def _queue_link(purpose: Purpose, signature: Signature, language: str) -> OutboxEmail:
    token = make_token(purpose, signature.id, signature.withdraw_nonce)
    endpoint = "privacy.erase_link" if purpose is Purpose.ERASE else "privacy.access_link"
    return queue_email(
        recipient=signature.email,
        purpose=f"privacy-{purpose.value}",
        template="privacy_link",
        subject=str(SUBJECTS[purpose]),
        language=language,
        signature_id=signature.id or None,
        context={
            "purpose": purpose.value,
            "language": language,
            "link": external_url(endpoint, token=token, lang=language),
            "hours": current_app.config["PRIVACY_LINK_MAX_AGE"] // 3600,
        },
    )


def renew_link(purpose: Purpose, claim: Claim, language: str) -> None:
    """An expired link asks for a fresh one: sent to the same address if it still applies."""
    try:
        signature = bound_signature(claim)
    except RightsLinkGone:
        return
    _queue_link(purpose, signature, language)


def bound_signature(claim: Claim) -> Signature:
    """The signature a rights link names, if it still holds its owner's data."""
    signature = db.session.get(Signature, claim.signature_id)
    if (
        signature is None
        or signature.anonymised_at is not None
        or not secrets.compare_digest(signature.withdraw_nonce, claim.nonce)
    ):
        raise RightsLinkGone()
    return signature


def signatures_of(claim: Claim, lock: bool = False) -> list[Signature]:
    """Every signature of the link's address that still holds personal data, oldest first."""
    canonical = bound_signature(claim).email_canonical
    query = (
        select(Signature)
        .where(Signature.email_canonical == canonical, Signature.anonymised_at.is_(None))
        .order_by(Signature.id)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def was_delivered(letter: Letter) -> bool:
    """A list of this letter was handed over (it is delivered, or collection went on after)."""
    if letter.status is LetterStatus.DELIVERED:
        return True
    return db.session.scalar(select(Delivery.id).where(Delivery.letter_id == letter.id)) is not None


@dataclass(frozen=True)
class ErasureResult:
    withdrawn: int  # on letters not delivered: no longer counted
    kept_in_delivered: int  # on delivered letters: anonymised, still in the delivered count


def erase(claim: Claim) -> ErasureResult:
    """Erase every signature of the link's address, on every letter (see the module's note)."""
    signatures = signatures_of(claim, lock=True)
    if not signatures:
        raise RightsLinkGone()
    withdrawn = kept = 0
    letters: set[int] = set()
    key = current_app.config["SECRET_KEY"]
    for signature in signatures:
        letters.add(signature.letter_id)
        forget_offers(signature)
        if was_delivered(signature.letter):
            kept += 1
        else:
            withdrawn += 1
            if signature.status in (
                SignatureStatus.PENDING,
                SignatureStatus.AWAITING_APPROVAL,
                SignatureStatus.CONFIRMED,
            ):
                signature.withdrawn_at = signature.withdrawn_at or utcnow()
                set_status(signature, SignatureStatus.WITHDRAWN)
        # The delivered lists' name checks ("was I on it?") forget this person too.
        exports = select(PdfExport.id).where(PdfExport.letter_id == signature.letter_id)
        db.session.execute(
            delete(ListedEntry)
            .where(
                ListedEntry.export_id.in_(exports.scalar_subquery()),
                ListedEntry.entry_hash == entry_hash(signature.name, signature.email, key),
            )
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    anonymise_where(Signature.id.in_([s.id for s in signatures]))
    bump_public_version(letters)
    audit.record(
        "privacy.erased",
        details={
            "signatures": len(signatures),
            "withdrawn": withdrawn,
            "kept_in_delivered_count": kept,
            "letters": sorted(letters),
        },
    )
    return ErasureResult(withdrawn, kept)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


SIGNATURE_FIELDS = ("kind", "status", "name", "email", "organisation", "title", "country", "city",
                    "website", "comment", "is_public", "is_hidden", "updates", "source", "language",
                    "text_hash", "ip_hash")  # fmt: skip
SIGNATURE_TIMES = ("created_at", "confirmed_at", "withdrawn_at", "approved_at", "verified_at")


def access_report(claim: Claim) -> dict[str, Any]:
    """Everything held about the link's address, as plain JSON-able data; nothing of anyone else
    (every row is found by this address's signatures)."""
    signatures = signatures_of(claim)
    key = current_app.config["SECRET_KEY"]
    report: list[dict[str, Any]] = []
    for signature in signatures:
        letter = signature.letter
        entry: dict[str, Any] = {
            "letter": letter.slug,
            "letter_title": letter.text_in(signature.language).title,
            **{name: _plain(getattr(signature, name)) for name in SIGNATURE_FIELDS},
            **{name: _iso(getattr(signature, name)) for name in SIGNATURE_TIMES},
            "consents": [
                {
                    "consent": record.kind,
                    "given_at": _iso(record.given_at),
                    "language": record.language,
                    "version": record.version,
                    "sentence": record.sentence,
                    "sha256": record.text_hash,
                    "sentence_unchanged": record.hash_matches,
                }
                for record in consent_records(signature)
            ],
            "emails": [
                {
                    "kind": email.purpose,
                    "created_at": _iso(email.created_at),
                    "sent_at": _iso(email.sent_at),
                    "status": _plain(email.status),
                }
                for email in db.session.scalars(
                    select(OutboxEmail)
                    .where(OutboxEmail.signature_id == signature.id)
                    .order_by(OutboxEmail.id)
                )
            ],
            "deliveries": _deliveries(signature, entry_hash(signature.name, signature.email, key)),
        }
        report.append(entry)
    return {
        "generated_at": _iso(utcnow()),
        "email": signatures[0].email if signatures else None,
        "signatures": report,
    }


def _deliveries(signature: Signature, listed: str) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Delivery, PdfExport.code)
        .join(PdfExport, Delivery.export_id == PdfExport.id)
        .join(
            ListedEntry,
            (ListedEntry.export_id == PdfExport.id) & (ListedEntry.entry_hash == listed),
        )
        .where(Delivery.letter_id == signature.letter_id)
        .order_by(Delivery.delivered_on, Delivery.id)
    ).all()
    return [
        {
            "delivered_on": _iso(delivery.delivered_on),
            "recipient": delivery.recipient,
            "method": _plain(delivery.method),
            "document": code,
        }
        for delivery, code in rows
    ]


def _plain(value: object) -> object:
    return str(value) if hasattr(value, "value") else value
