"""Whether a signer hears about the letter after signing: their choice, and leaving in one click.

The choice is stored like the delivery consent: yes or no, when, and a fingerprint of the
sentence shown in the signer's language. Every email sent because of it carries RFC 8058's
one-click unsubscribe (``List-Unsubscribe`` and ``List-Unsubscribe-Post``) and a visible link;
the link is a token of its own purpose, bound to the signature's withdrawal nonce, so a
signature made anew (after a withdrawal) does not inherit the old links.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime

from flask_babel import force_locale, lazy_gettext
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.errors import DomainError
from petitions.services.letters import text_hash
from petitions.services.tokens import Claim, Purpose, make_token
from petitions.web.links import external_url

UPDATES_TEXT_VERSION = "updates-1"
UPDATES_LABEL = lazy_gettext(
    "Keep me informed about this letter: its delivery, the addressees' response and the "
    "organisers' updates"
)


class SubscriptionLinkGone(DomainError):
    """The link names a signature that no longer exists, or was made anew since."""


@functools.cache
def updates_hash(language: str) -> str:
    """A fingerprint of the sentence the signer saw next to the box, in their language."""
    with force_locale(language):
        return text_hash(UPDATES_TEXT_VERSION, str(UPDATES_LABEL))


def updates_choice(wants: bool, language: str, now: datetime) -> dict[str, object]:
    """The columns that record a choice made on the signing form (ticked or not)."""
    return {
        "updates": wants,
        "updates_text_hash": updates_hash(language),
        "updates_chosen_at": now,
    }


def unsubscribe_url(signature: Signature) -> str:
    token = make_token(Purpose.UNSUBSCRIBE, signature.id, signature.withdraw_nonce)
    return external_url("follow_up.unsubscribe", token=token, lang=signature.language)


def updates_url(signature: Signature) -> str:
    """The link behind "keep me informed" on the page that confirmed a signature."""
    token = make_token(Purpose.UPDATES, signature.id, signature.withdraw_nonce)
    return external_url("follow_up.opt_in", token=token, lang=signature.language)


def list_headers(url: str) -> dict[str, str]:
    """RFC 8058: a mail provider's "unsubscribe" button POSTs to ``url`` with no cookie."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def signature_of(claim: Claim, lock: bool = False) -> Signature:
    query = select(Signature).where(Signature.id == claim.signature_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    signature = db.session.scalar(query)
    if signature is None or not secrets.compare_digest(signature.withdraw_nonce, claim.nonce):
        raise SubscriptionLinkGone()
    return signature


def unsubscribe(claim: Claim) -> Signature:
    """Stop updates for the signature a link names; doing it twice is harmless."""
    signature = signature_of(claim, lock=True)
    if signature.updates:
        signature.updates = False
        signature.updates_chosen_at = utcnow()
    return signature


def opt_in(claim: Claim) -> Signature:
    """Ask for updates after confirming (the signer holds the link from their own inbox)."""
    signature = signature_of(claim, lock=True)
    if signature.status in (SignatureStatus.WITHDRAWN, SignatureStatus.REJECTED,
                            SignatureStatus.SPAM):  # fmt: skip
        raise SubscriptionLinkGone()
    if not signature.updates:
        signature.updates = True
        signature.updates_chosen_at = utcnow()
        signature.updates_text_hash = updates_hash(signature.language)
    return signature
