"""The rules of signing: a submission becomes a pending signature, or repeats one.

Views call these functions and commit once; the functions only flush. The database's unique
constraint on (letter, canonical email) decides who signed first, so any number of simultaneous
submissions make one signature. What a signer sees never depends on whether the address had signed
before; the email to that address says what happened.

Whoever submits the form cannot prove they own the address, so a repeat never changes a signature
nor stops its links from working: other details are only offered to the owner by email (see
:mod:`petitions.services.signature_changes`).
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale, lazy_gettext
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import dialect_insert
from petitions.models.letters import Letter
from petitions.models.signature_changes import SignatureChange
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus
from petitions.services.errors import DomainError
from petitions.services.letters import text_hash
from petitions.services.signature_changes import details_hash, existing_offer, forget_offers
from petitions.services.signer_mail import (
    LetterRef,
    queue_change_offer,
    queue_confirmation,
    queue_notice,
)
from petitions.services.subscriptions import updates_choice
from petitions.services.text_input import canonical_email

# A repeat submission within this time sends no new email (a double click, a second tab), and
# the owner's "send me a new link" sends at most one in this time.
RESEND_QUIET_PERIOD = timedelta(seconds=60)
CONSENT_TEXT_VERSION = "delivery-consent-1"


class SigningError(DomainError):
    """A rule refused the action; the view turns it into a message."""


class LetterNotOpen(SigningError):
    pass


class LinkReplaced(SigningError):
    """The signature was made anew (after a withdrawal); only the newer email's links work."""


class OfferGone(SigningError):
    """A "use these details" link whose offer no longer applies: the signature was confirmed,
    withdrawn or made anew since, or the link names other details than those kept."""


class LinkUnknown(SigningError):
    """The link is genuine but its signature no longer exists."""


@dataclass
class SignatureInput:
    kind: SignatureKind
    name: str
    email: str
    country: str
    language: str
    organisation: str = ""
    title: str = ""
    city: str = ""
    website: str = ""
    comment: str = ""
    is_public: bool = True
    updates: bool = False  # keep me informed about this letter
    source: str = ""  # the referral code (``?ref=``), "" when none


CONSENT_LABEL = lazy_gettext(
    "I agree that my name, and my organisation's, may be delivered to the addressees "
    "of this letter together with the letter."
)


@functools.cache
def consent_hash(language: str) -> str:
    """A fingerprint of the consent sentence the signer saw, in their language.

    Cached: the catalogs are fixed for the life of the process.
    """
    with force_locale(language):
        return text_hash(CONSENT_TEXT_VERSION, str(CONSENT_LABEL))


@dataclass(frozen=True)
class PreparedSignature:
    """A submission checked against its letter, ready to be written."""

    letter: LetterRef
    data: SignatureInput
    text_id: int
    text_hash: str


def prepare_signature(letter: Letter, data: SignatureInput) -> PreparedSignature:
    """Check that the letter takes signatures and note which text the signer read. Reads only."""
    if not letter.is_open():
        raise LetterNotOpen()
    text = letter.text_in(data.language)
    return PreparedSignature(LetterRef.of(letter), data, text.id, text.text_hash)


def sign_letter(letter: Letter, data: SignatureInput, ip_hash: str) -> None:
    """Record a signature (or a repeat of one) and queue the email that tells its owner."""
    record_signature(prepare_signature(letter, data), ip_hash)


def record_signature(prepared: PreparedSignature, ip_hash: str) -> None:
    """Write a prepared signature: its first statement is the INSERT, so a transaction begun
    here holds SQLite's write lock only while it writes."""
    letter, data = prepared.letter, prepared.data
    now = utcnow()
    if letter.closes_at is not None and now >= letter.closes_at:
        # The deadline passed since the letter was read. (A letter closed by hand in that
        # instant still gets this pending signature, but confirming it is refused.)
        raise LetterNotOpen()
    details = _signer_details(data, prepared.text_id, prepared.text_hash)
    agreement = {
        **_agreement(data.language, ip_hash, now),
        **updates_choice(data.updates, data.language, now),
        "source": data.source,
    }
    values = {
        "letter_id": letter.id,
        "email": data.email,
        "email_canonical": canonical_email(data.email),
        "email_domain": canonical_email(data.email).rpartition("@")[2],
        "status": SignatureStatus.PENDING,
        "confirm_nonce": secrets.token_hex(8),
        "withdraw_nonce": secrets.token_hex(8),
        "confirm_emails_sent": 1,
        "created_at": now,
        "updated_at": now,
        **details,
        **agreement,
    }
    # A Core statement whose values are parameters: compiled once per process, then reused.
    statement = (
        dialect_insert(Signature.__table__)
        .on_conflict_do_nothing(index_elements=["letter_id", "email_canonical"])
        .returning(Signature.__table__.c.id)
    )
    new_id = db.session.execute(statement, values).scalar_one_or_none()
    if new_id is not None:
        # A transient object to write the email from; the row itself is already inserted.
        queue_confirmation(Signature(id=new_id, **values), letter)
        return
    existing = db.session.scalars(
        select(Signature)
        .where(
            Signature.letter_id == letter.id,
            Signature.email_canonical == values["email_canonical"],
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    _sign_again(existing, letter, data.language, details, agreement)


def public_consent(language: str, is_public: bool) -> str:
    from petitions.services.consents import public_consent as recorded  # it imports this module

    return recorded(language, is_public)


def _signer_details(data: SignatureInput, text_id: int, text_version: str) -> dict[str, object]:
    """What the signer wrote and read: what their confirmation link will confirm."""
    return {
        "kind": data.kind.value,
        "name": data.name,
        "organisation": data.organisation,
        "title": data.title,
        "country": data.country,
        "city": data.city,
        "website": data.website,
        "comment": data.comment,
        "is_public": data.is_public,
        # The public-listing consent goes with the choice it records (services/consents.py).
        "public_consent_hash": public_consent(data.language, data.is_public),
        "language": data.language,
        "text_id": text_id,
        "text_hash": text_version,
    }


def _agreement(language: str, ip_hash: str, now: datetime) -> dict[str, object]:
    return {"consent_text_hash": consent_hash(language), "consented_at": now, "ip_hash": ip_hash}


def _apply(signature: Signature, *changes: dict[str, object]) -> None:
    for change in changes:
        for key, value in change.items():
            setattr(signature, key, value)


def _sign_again(
    signature: Signature,
    letter: LetterRef,
    language: str,
    details: dict[str, object],
    agreement: dict[str, object],
) -> None:
    """The address had signed: tell its owner by email; the answer on screen is the same."""
    now = utcnow()
    status = signature.status
    changed = any(getattr(signature, key) != value for key, value in details.items())
    may_send = signature.confirm_emails_sent <= current_app.config["CONFIRM_RESENDS"]
    if status is SignatureStatus.PENDING:
        quiet = now - signature.updated_at < RESEND_QUIET_PERIOD
        if changed:
            # Maybe the owner fixing a typo, maybe a stranger: the signature keeps the details
            # its owner's link confirms, and the owner is asked by email about the new ones.
            _offer_change(signature, letter, language, details, agreement, may_send)
        elif not quiet and may_send:
            # A reminder, with the same nonce: the links already sent keep working.
            signature.confirm_emails_sent += 1
            queue_confirmation(signature, letter)
        # Identical and within the quiet period: a double click or a second tab; nothing to do.
        signature.updated_at = now
    elif status is SignatureStatus.WITHDRAWN:
        # Signing after withdrawing is a new signature in all but its row.
        _apply(signature, details, agreement)
        signature.status = SignatureStatus.PENDING
        signature.confirm_nonce = secrets.token_hex(8)
        signature.withdraw_nonce = secrets.token_hex(8)
        signature.confirm_emails_sent = 1
        signature.renewed_at = None
        signature.created_at = now
        signature.updated_at = now
        signature.confirmed_at = None
        signature.withdrawn_at = None
        # Staff decisions were about the old signature: a new one is approved, verified and
        # moderated afresh (its name or organisation may be another).
        signature.approved_at = None
        signature.verified_at = None
        signature.is_hidden = False
        signature.moderated_at = None
        signature.moderated_by_id = None
        signature.moderation_reason = ""
        forget_offers(signature)
        queue_confirmation(signature, letter)
    elif (
        status in (SignatureStatus.CONFIRMED, SignatureStatus.AWAITING_APPROVAL)
        and signature.notices_sent < current_app.config["CONFIRM_RESENDS"]
    ):
        # A confirmed signature is not rewritten by a repeat either; the notice says so, and
        # that withdrawing and signing again is the way to other details.
        signature.notices_sent += 1
        queue_notice(signature, letter, language, details_changed=changed)
    # Rejected or spam: nothing to tell, and nothing that shows it.


def _offer_change(
    signature: Signature,
    letter: LetterRef,
    language: str,
    details: dict[str, object],
    agreement: dict[str, object],
    may_send: bool,
) -> None:
    """Keep the other details aside and mail the owner a link that applies them.

    The offers share the cap on emails the form can cause: strangers cannot flood the inbox, and
    the owner's first link and "send me a new link" never depend on that cap.
    """
    now = utcnow()
    key = details_hash(details)
    change = existing_offer(signature, key)
    if change is not None and now - change.mailed_at < RESEND_QUIET_PERIOD:
        return  # the same offer a moment ago: a double click
    if not may_send:
        return  # nothing kept that the owner will not hear of
    if change is None:
        change = SignatureChange(signature_id=signature.id, details=details, details_hash=key)
        db.session.add(change)
    change.consent_text_hash = str(agreement["consent_text_hash"])
    change.consented_at = agreement["consented_at"]  # type: ignore[assignment]
    change.ip_hash = str(agreement["ip_hash"])
    change.mailed_at = now
    db.session.flush()  # its id goes into the link
    signature.confirm_emails_sent += 1
    queue_change_offer(signature, change, letter, language)
