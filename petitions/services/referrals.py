"""Referral sources: which partner's link or embed brought a signature, and the partners' counts.

A code (``?ref=``) is kept only when it has the agreed shape (``[a-z0-9-]{1,40}``); anything else
is dropped silently, as a link with a typo should still let people sign. Codes are stored on the
signature whether or not a partner registered them, so the dashboard can show the unregistered
ones (a partner who made up its own code, or one registered later).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.referrals import Partner
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services import audit
from petitions.services.errors import DomainError

REF_PATTERN = re.compile(r"[a-z0-9-]{1,40}")


class PartnerError(DomainError):
    """A partner could not be registered as asked."""


def clean_ref(value: object) -> str:
    """The referral code if it has the agreed shape, else "" (ignored, never an error)."""
    if isinstance(value, str) and REF_PATTERN.fullmatch(value):
        return value
    return ""


def letter_partners(letter: Letter) -> list[Partner]:
    return list(
        db.session.scalars(
            select(Partner).where(Partner.letter_id == letter.id).order_by(Partner.name)
        )
    )


def add_partner(letter: Letter, name: str, code: str, website: str) -> Partner:
    """Register a partner under a code; the code must be free on this letter."""
    if clean_ref(code) != code:
        raise PartnerError(_l("A code has 1 to 40 lower-case letters, digits or hyphens."))
    taken = db.session.scalar(
        select(Partner.id).where(Partner.letter_id == letter.id, Partner.code == code)
    )
    if taken is not None:
        raise PartnerError(_l("Another partner of this letter has this code."))
    partner = Partner(letter_id=letter.id, name=name, code=code, website=website)
    db.session.add(partner)
    db.session.flush()
    audit.record(
        "letter.partner_added",
        obj=partner,
        letter_id=letter.id,
        details={"name": name, "code": code},
    )
    return partner


def remove_partner(letter: Letter, partner_id: int) -> None:
    """Forget a partner; its signatures keep their code (shown as unregistered)."""
    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.letter_id != letter.id:
        raise PartnerError(_l("This partner is not registered on this letter."))
    audit.record(
        "letter.partner_removed",
        obj=partner,
        letter_id=letter.id,
        details={"name": partner.name, "code": partner.code},
    )
    db.session.delete(partner)
    db.session.flush()


@dataclass(frozen=True)
class SourceFigures:
    """Signatures that came with one code: counted (confirmed) and pending (email unconfirmed)."""

    code: str
    partner: Partner | None
    counted: int
    pending: int


def source_figures(letter: Letter) -> list[SourceFigures]:
    """Every registered partner (even with no signature yet), then the unregistered codes."""
    rows = db.session.execute(
        select(Signature.source, Signature.status, func.count())
        .where(
            Signature.letter_id == letter.id,
            Signature.source != "",
            Signature.status.in_((SignatureStatus.CONFIRMED, SignatureStatus.PENDING)),
        )
        .group_by(Signature.source, Signature.status)
    ).all()
    counts: dict[str, dict[SignatureStatus, int]] = {}
    for code, status, number in rows:
        counts.setdefault(code, {})[SignatureStatus(status)] = number
    partners = letter_partners(letter)
    figures = [
        SourceFigures(
            partner.code,
            partner,
            counts.get(partner.code, {}).get(SignatureStatus.CONFIRMED, 0),
            counts.get(partner.code, {}).get(SignatureStatus.PENDING, 0),
        )
        for partner in partners
    ]
    registered = {partner.code for partner in partners}
    for code in sorted(set(counts) - registered):
        by_status = counts[code]
        figures.append(
            SourceFigures(
                code,
                None,
                by_status.get(SignatureStatus.CONFIRMED, 0),
                by_status.get(SignatureStatus.PENDING, 0),
            )
        )
    return figures
