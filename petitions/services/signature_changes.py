"""Offers of other details for a pending signature: kept aside, applied only from the owner's inbox.

Signing again with other details used to rewrite the pending signature and replace its link, so
anyone who knew an address could change what its owner would confirm, and by doing it a few times
use up the emails the owner could still get. Now the details wait in ``signature_changes`` and the
owner is mailed a link that applies them; the signature keeps the first details, and its links
keep working, until a link from the owner's inbox is pressed.

Why a table and not the link itself: the details hold a comment of up to 2,000 characters (six
bytes each once JSON escapes a non-Latin script), which makes URLs too long for some mail
clients, and a name and comment in a URL end up in every proxy's access log.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import delete, select

from petitions.extensions import db
from petitions.models.signature_changes import SignatureChange
from petitions.models.signatures import Signature


def details_hash(details: dict[str, Any]) -> str:
    """SHA-256 of the details in one canonical JSON spelling (sorted keys, no spaces)."""
    canonical = json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def existing_offer(signature: Signature, key: str) -> SignatureChange | None:
    """The offer of these details (by their hash) for this signature, if one was made."""
    return db.session.scalar(
        select(SignatureChange).where(
            SignatureChange.signature_id == signature.id, SignatureChange.details_hash == key
        )
    )


def checked_offer(
    signature: Signature, change_id: int, claimed_hash: str
) -> SignatureChange | None:
    """The offer a change link names, if it still exists and holds exactly the details the link
    was made for (an old link never applies other details)."""
    change = db.session.get(SignatureChange, change_id)
    if change is None or change.signature_id != signature.id:
        return None
    stored = details_hash(change.details)
    if not claimed_hash.isascii() or not (
        secrets.compare_digest(stored, change.details_hash)
        and secrets.compare_digest(stored, claimed_hash)
    ):
        return None
    return change


def forget_offers(signature: Signature) -> None:
    """The signature is settled (confirmed, withdrawn): no offer of other details applies now."""
    db.session.execute(
        delete(SignatureChange)
        .where(SignatureChange.signature_id == signature.id)
        .execution_options(synchronize_session=False)
    )
