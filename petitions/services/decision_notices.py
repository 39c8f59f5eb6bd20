"""Organisations waiting for a moderator's approval are told the outcome by email.

Sent when an organisation's signature leaves "awaiting approval" for counted or rejected. A
rejection names its reason only when it is one of the listed reasons (the wording staff chose for
everyone to read); a reason written by hand may be a note between moderators, so it is never
sent.
"""

from __future__ import annotations

from flask_babel import lazy_gettext
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus
from petitions.models.staff import ModerationReason
from petitions.services.signer_mail import LetterRef
from petitions.services.signer_notices import queue_signer_notice

APPROVED_SUBJECT = lazy_gettext("Your organisation's signature was approved: %(title)s")
REJECTED_SUBJECT = lazy_gettext("Your organisation's signature was not accepted: %(title)s")


def after_decision(
    signature: Signature, before: SignatureStatus, after: SignatureStatus, reason: str
) -> None:
    """Queue the notice if this decision settles an organisation's wait for approval."""
    if (
        signature.kind != SignatureKind.ORGANISATION
        or before is not SignatureStatus.AWAITING_APPROVAL
    ):
        return
    if after not in (SignatureStatus.CONFIRMED, SignatureStatus.REJECTED):
        return
    approved = after is SignatureStatus.CONFIRMED
    public_reason = "" if approved else _listed(reason)
    queue_signer_notice(
        signature,
        LetterRef.of(signature.letter),
        "decision",
        APPROVED_SUBJECT if approved else REJECTED_SUBJECT,
        approved=approved,
        reason=public_reason,
    )


def _listed(reason: str) -> str:
    """The reason if it is a listed one (public wording), else nothing."""
    if not reason:
        return ""
    found = db.session.scalar(
        select(ModerationReason.id).where(ModerationReason.text == reason).limit(1)
    )
    return reason if found is not None else ""
