"""The check-email page's help: the masked address, and "send it again" to that address only.

What the browser just signed with is kept in its own session (not in a link or a form field), so
the resend button can only ever mail the address typed in this browser: it cannot be used to
find out whether another address signed, nor to mail it.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Letter
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.signer_mail import LetterRef, queue_confirmation
from petitions.services.signing import RESEND_QUIET_PERIOD, LetterNotOpen, SigningError
from petitions.services.text_input import canonical_email


class ResendRefused(SigningError):
    """Too soon after the last email, or the cap on emails was reached."""


def mask_email(address: str) -> str:
    """``ana@example.org`` → ``a•••@example.org``: enough to spot a typo in the domain."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "•••"
    return f"{local[0]}•••@{domain}"


def resend(letter: Letter, address: str) -> bool:
    """Mail the confirmation again to ``address``'s pending signature on ``letter``; return
    whether an email was queued (nothing is said either way about other states)."""
    if not letter.is_open():
        raise LetterNotOpen()
    signature = db.session.scalar(
        select(Signature)
        .where(
            Signature.letter_id == letter.id,
            Signature.email_canonical == canonical_email(address),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if signature is None or signature.status != SignatureStatus.PENDING:
        return False
    now = utcnow()
    if now - signature.updated_at < RESEND_QUIET_PERIOD:
        raise ResendRefused("too soon")
    if signature.confirm_emails_sent > current_app.config["CONFIRM_RESENDS"]:
        raise ResendRefused("cap")
    signature.confirm_emails_sent += 1
    signature.updated_at = now
    queue_confirmation(signature, LetterRef.of(letter))
    return True
