"""What the emailed links do: confirm a signature, withdraw it, sign with the other details an
email offered, or ask for a fresh link.

Opening a link (GET) only reads; these run when its one button is pressed (POST). Each reads the
signature afresh under a row lock, so pressing twice, or in two tabs, acts once.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Letter, Moderation
from petitions.models.signature_changes import SignatureChange
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus
from petitions.services.counters import set_status
from petitions.services.signature_changes import checked_offer, forget_offers
from petitions.services.signer_mail import LetterRef, queue_confirmation
from petitions.services.signing import (
    RESEND_QUIET_PERIOD,
    LetterNotOpen,
    LinkReplaced,
    LinkUnknown,
    OfferGone,
)
from petitions.services.tokens import ChangeClaim, Claim, Purpose


class Outcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    AWAITING_APPROVAL = "awaiting_approval"
    ALREADY_CONFIRMED = "already_confirmed"
    WITHDRAWN = "withdrawn"
    ALREADY_WITHDRAWN = "already_withdrawn"
    NOT_COUNTED = "not_counted"  # rejected or marked spam by staff


@dataclass(frozen=True)
class LinkResult:
    outcome: Outcome
    letter: Letter


def _signature(signature_id: int, lock: bool) -> Signature:
    """With ``lock``, the row is read afresh under ``FOR UPDATE``: two presses of one button wait
    for each other and the second sees what the first did, so nothing is counted twice."""
    query = select(Signature).where(Signature.id == signature_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    signature = db.session.scalar(query)
    if signature is None:
        raise LinkUnknown()
    return signature


def signature_for(claim: Claim, purpose: Purpose, lock: bool = False) -> Signature:
    """The signature a verified link names; refuses a link whose nonce was replaced."""
    signature = _signature(claim.signature_id, lock)
    nonce = signature.confirm_nonce if purpose is Purpose.CONFIRM else signature.withdraw_nonce
    if not secrets.compare_digest(nonce, claim.nonce):
        if purpose is Purpose.CONFIRM and signature.status != SignatureStatus.PENDING:
            return signature  # an older link of a settled signature: harmless to show its state
        raise LinkReplaced()
    return signature


def confirm_signature(claim: Claim) -> LinkResult:
    """Confirm the email behind a signature. Confirming twice is harmless."""
    signature = signature_for(claim, Purpose.CONFIRM, lock=True)
    return LinkResult(_confirm(signature), signature.letter)


def _confirm(signature: Signature) -> Outcome:
    status = signature.status
    if status is SignatureStatus.CONFIRMED:
        return Outcome.ALREADY_CONFIRMED
    if status is SignatureStatus.AWAITING_APPROVAL:
        return Outcome.AWAITING_APPROVAL
    if status is SignatureStatus.WITHDRAWN:
        return Outcome.ALREADY_WITHDRAWN
    if status is not SignatureStatus.PENDING:
        return Outcome.NOT_COUNTED
    letter = signature.letter
    if not letter.is_open():
        raise LetterNotOpen()
    needs_approval = letter.moderation == Moderation.PRE or (
        letter.organisations_need_approval and signature.kind == SignatureKind.ORGANISATION
    )
    signature.confirmed_at = utcnow()
    forget_offers(signature)  # settled: no other details can be chosen any more
    if needs_approval:
        set_status(signature, SignatureStatus.AWAITING_APPROVAL)
        return Outcome.AWAITING_APPROVAL
    set_status(signature, SignatureStatus.CONFIRMED)
    return Outcome.CONFIRMED


def withdraw_signature(claim: Claim) -> LinkResult:
    """Withdraw a signature; it stops counting at once. Withdrawing twice is harmless."""
    signature = signature_for(claim, Purpose.WITHDRAW, lock=True)
    return LinkResult(_withdraw(signature), signature.letter)


def _withdraw(signature: Signature) -> Outcome:
    status = signature.status
    forget_offers(signature)
    if status is SignatureStatus.WITHDRAWN:
        return Outcome.ALREADY_WITHDRAWN
    if status in (SignatureStatus.REJECTED, SignatureStatus.SPAM):
        # The signer's wish is recorded (no restore by staff can make it count again), and the
        # staff decision stays: signing again later does not wash a rejection away.
        if signature.withdrawn_at is None:
            signature.withdrawn_at = utcnow()
            return Outcome.WITHDRAWN
        return Outcome.ALREADY_WITHDRAWN
    signature.withdrawn_at = utcnow()
    set_status(signature, SignatureStatus.WITHDRAWN)
    return Outcome.WITHDRAWN


def offer_for(claim: ChangeClaim, lock: bool = False) -> tuple[Signature, SignatureChange]:
    """The pending signature and the offer of other details a verified change link names."""
    signature = _signature(claim.signature_id, lock)
    change = checked_offer(signature, claim.change_id, claim.details_hash)
    if change is None or signature.status != SignatureStatus.PENDING:
        raise OfferGone()
    return signature, change


def sign_with_offer(claim: ChangeClaim) -> LinkResult:
    """The owner, from their inbox, takes the offered details ("use these details") and confirms.

    The offer carries its own consent (given with those details); confirming then follows the
    same rules as the confirmation link, and forgets every other offer.
    """
    signature, change = offer_for(claim, lock=True)
    if not signature.letter.is_open():
        raise LetterNotOpen()
    for key, value in change.details.items():
        setattr(signature, key, value)
    signature.consent_text_hash = change.consent_text_hash
    signature.consented_at = change.consented_at
    signature.ip_hash = change.ip_hash
    return LinkResult(_confirm(signature), signature.letter)


def resend_confirmation(claim: Claim) -> None:
    """An expired confirmation link asks for a new one: send it if the signature still waits.

    Only a genuine link from the owner's inbox gets here, so this is not counted in the cap on
    emails the signing form causes (strangers can use that up); one per quiet period instead.
    """
    signature = db.session.scalar(
        select(Signature)
        .where(Signature.id == claim.signature_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if signature is None or signature.status != SignatureStatus.PENDING:
        return
    if not secrets.compare_digest(signature.confirm_nonce, claim.nonce):
        return  # a link of an earlier signature with this address: it renews nothing
    now = utcnow()
    if signature.renewed_at is not None and now - signature.renewed_at < RESEND_QUIET_PERIOD:
        return  # pressed twice: one email is on its way
    if not signature.letter.is_open():
        raise LetterNotOpen()
    signature.renewed_at = now
    queue_confirmation(signature, LetterRef.of(signature.letter))
