"""Anonymising signatures in place: the personal data goes, the row and every count stay.

Both the retention run (a letter past its date, in id windows) and an erasure request (the few
signatures of one address) come here. One UPDATE blanks the name, address, title, city, website,
comment, IP hash and link nonces; it keeps kind, country, status, language, consent hashes and
dates, so totals and per-country figures never change. An organisation that chose to be listed
keeps its name (and its place on the public list); everything else leaves the public list.

The address becomes ``anonymised:<row id>``: never an address anyone can type (no "@"), unique
by the row id, so the unique (letter, address) constraint holds and the owner can sign again.
The details someone offered a signature (``signature_changes``) and the emails written to it
(outbox rows, with their bodies) go in the same statement set.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, case, cast, delete, literal, select, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import rowcount
from petitions.models.outbox import OutboxEmail, OutboxStatus
from petitions.models.signature_changes import SignatureChange
from petitions.models.signatures import Signature, SignatureKind

ANONYMOUS_PREFIX = "anonymised:"


def _public_organisation() -> Any:
    return and_(Signature.kind == SignatureKind.ORGANISATION, Signature.is_public.is_(True))


def anonymise_where(*conditions: Any) -> int:
    """Anonymise the not yet anonymised signatures matching ``conditions``; returns how many.

    Flushes only; the caller's transaction commits. Running it twice changes nothing more.
    """
    chosen = and_(*conditions, Signature.anonymised_at.is_(None))
    ids = select(Signature.id).where(chosen).scalar_subquery()
    # Both are rare once a letter is closed: look (by index) before deleting.
    offers = select(SignatureChange.id).where(SignatureChange.signature_id.in_(ids))
    if db.session.scalar(offers.limit(1)) is not None:
        db.session.execute(
            delete(SignatureChange)
            .where(SignatureChange.signature_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    emails = select(OutboxEmail.id).where(OutboxEmail.signature_id.in_(ids))
    if db.session.scalar(emails.limit(1)) is not None:
        # A worker may be sending one right now; its row goes with the age-based expiry.
        db.session.execute(
            delete(OutboxEmail)
            .where(OutboxEmail.signature_id.in_(ids), OutboxEmail.status != OutboxStatus.SENDING)
            .execution_options(synchronize_session=False)
        )
    now = utcnow()
    result = db.session.execute(
        update(Signature)
        .where(chosen)
        .values(
            name="",
            email="",
            email_canonical=literal(ANONYMOUS_PREFIX) + cast(Signature.id, String),
            email_domain="",
            title="",
            city="",
            website="",
            comment="",
            ip_hash="",
            organisation=case((_public_organisation(), Signature.organisation), else_=""),
            is_public=_public_organisation(),
            confirm_nonce="",
            withdraw_nonce="",
            renewed_at=None,
            moderation_reason="",
            # Nobody is left to write to: no update, response or reminder reaches this row.
            updates=False,
            anonymised_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
