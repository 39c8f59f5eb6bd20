"""Consent records: which sentences a signer ticked, in which language, and when.

A signature keeps, for each consent it gave, the SHA-256 of the exact sentence shown (in the
signer's language, with a version name), and the moment it was given (``consented_at``): the
delivery consent every signature needs (``consent_text_hash``), the optional public listing
(``public_consent_hash``, empty when not given) and the optional updates (``updates_text_hash``
with ``updates_chosen_at``; shown while the signer still wants them). The access page
(services/rights.py) shows them, with the sentences themselves, so a signer can see what they
agreed to.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale, lazy_gettext

from petitions.models.signatures import Signature
from petitions.services.letters import text_hash
from petitions.services.signing import CONSENT_LABEL, CONSENT_TEXT_VERSION, consent_hash
from petitions.services.subscriptions import UPDATES_LABEL, UPDATES_TEXT_VERSION, updates_hash

PUBLIC_TEXT_VERSION = "public-listing-1"
PUBLIC_LABEL = lazy_gettext("Show my name on the public list of signatories")


@functools.cache
def public_consent_hash(language: str) -> str:
    """A fingerprint of the public-listing sentence in ``language`` (catalogs are fixed)."""
    with force_locale(language):
        return text_hash(PUBLIC_TEXT_VERSION, str(PUBLIC_LABEL))


def public_consent(language: str, is_public: bool) -> str:
    """What a signature stores for its public-listing choice: the hash, or "" if not given."""
    return public_consent_hash(language) if is_public else ""


@dataclass(frozen=True)
class ConsentRecord:
    kind: str  # "delivery", "public_listing" or "updates"
    version: str
    language: str
    sentence: str  # the sentence as it reads now in that language (its hash says if it changed)
    text_hash: str
    given_at: datetime
    hash_matches: bool  # whether today's sentence still has the stored hash


def consent_records(signature: Signature) -> list[ConsentRecord]:
    """The consents a signature holds, with the sentences they stand for."""
    language = signature.language
    with force_locale(language):
        delivery = str(CONSENT_LABEL)
        public = str(PUBLIC_LABEL)
        updates = str(UPDATES_LABEL)
    records = [
        ConsentRecord(
            "delivery",
            CONSENT_TEXT_VERSION,
            language,
            delivery,
            signature.consent_text_hash,
            signature.consented_at,
            signature.consent_text_hash == consent_hash(language),
        )
    ]
    if signature.public_consent_hash:
        records.append(
            ConsentRecord(
                "public_listing",
                PUBLIC_TEXT_VERSION,
                language,
                public,
                signature.public_consent_hash,
                signature.consented_at,
                signature.public_consent_hash == public_consent_hash(language),
            )
        )
    if signature.updates and signature.updates_chosen_at is not None:
        records.append(
            ConsentRecord(
                "updates",
                UPDATES_TEXT_VERSION,
                language,
                updates,
                signature.updates_text_hash,
                signature.updates_chosen_at,
                signature.updates_text_hash == updates_hash(language),
            )
        )
    return records
