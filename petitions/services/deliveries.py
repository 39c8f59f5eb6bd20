"""Deliveries: recording that a list was handed over, and checking a list against one.

A delivery points at one ready PDF export: the file stays in the database with its hash, and the
export's public page (/v/<code>) shows who received it and when. Checking never reveals a name:
a digest or a file either matches the export or not; a (name, email) pair is compared by keyed
hash only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.exports import Delivery, DeliveryMethod, ExportStatus, ListedEntry, PdfExport
from petitions.models.letters import Letter, LetterStatus
from petitions.models.staff import StaffUser
from petitions.services import audit
from petitions.services.errors import DomainError
from petitions.services.exports.digest import entry_hash, normalise_digest
from petitions.services.letter_editing import lock_letter


class DeliveryError(DomainError):
    """A delivery that cannot be recorded; the message is for the organiser."""


@dataclass(frozen=True)
class DeliveryInput:
    export_id: int
    recipient: str
    delivered_on: date
    method: DeliveryMethod
    note: str = ""
    collection_continues: bool = False


def record_delivery(letter: Letter, given: DeliveryInput, actor: StaffUser | None) -> Delivery:
    """Record a delivery; unless collection continues, the letter becomes delivered."""
    letter = lock_letter(letter)
    export = db.session.get(PdfExport, given.export_id)
    if export is None or export.letter_id != letter.id or export.status != ExportStatus.READY:
        raise DeliveryError(_l("Choose a finished PDF of this letter."))
    if given.delivered_on > utcnow().date():
        raise DeliveryError(_l("A delivery cannot be dated in the future."))
    if letter.status == LetterStatus.DRAFT:
        raise DeliveryError(_l("A draft letter cannot be delivered; publish it first."))
    # A double submit (or a second tab) must not record one handing-over twice; the letter's
    # row lock above makes the look and the write one step.
    twice = db.session.scalar(
        select(Delivery.id).where(
            Delivery.export_id == export.id,
            Delivery.recipient == given.recipient,
            Delivery.delivered_on == given.delivered_on,
        )
    )
    if twice is not None:
        raise DeliveryError(_l("This delivery is already recorded."))
    delivery = Delivery(
        letter_id=letter.id,
        export=export,
        recipient=given.recipient,
        delivered_on=given.delivered_on,
        method=given.method,
        note=given.note,
        collection_continues=given.collection_continues,
        signatures_at_delivery=letter.count_total,
        recorded_by_id=actor.id if actor is not None else None,
    )
    db.session.add(delivery)
    previous = letter.status
    if not given.collection_continues:
        letter.status = LetterStatus.DELIVERED
    letter.public_version += 1
    db.session.flush()
    audit.record(
        "delivery.recorded",
        obj=delivery,
        letter_id=letter.id,
        actor=actor,
        details={
            "export": export.code,
            "method": given.method.value,
            "delivered_on": given.delivered_on.isoformat(),
            "rows": export.count_total,
            "digest": export.list_digest,
            "collection_continues": given.collection_continues,
            "status": {"from": previous, "to": letter.status},
        },
    )
    return delivery


def letter_deliveries(letter: Letter) -> list[Delivery]:
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.letter_id == letter.id)
            .order_by(Delivery.delivered_on, Delivery.id)
        )
    )


def export_by_code(code: str) -> PdfExport | None:
    return db.session.scalar(select(PdfExport).where(PdfExport.code == code.strip().lower()))


def digest_matches(export: PdfExport, typed: str) -> bool:
    """Whether a typed digest (or the file's own SHA-256) is this export's."""
    value = normalise_digest(typed)
    return len(value) == 64 and value in {export.list_digest, export.file_sha256}


def file_matches(export: PdfExport, blocks: Iterable[bytes]) -> bool:
    sha = hashlib.sha256()
    for block in blocks:
        sha.update(block)
    return sha.hexdigest() == export.file_sha256


def find_sha256(pasted: str) -> str | None:
    """The SHA-256 in what a verifier pasted, as lower-case hex, or None if there is none.

    The commands print more than the hash: ``sha256sum`` and ``shasum -a 256`` add the file's
    name, ``certutil -hashfile`` a line before and after (older versions space the bytes out),
    BSD-style tools print ``SHA256 (file.pdf) = …``. The answer is the first word of 64
    hexadecimal digits, or the first line that is one once its spaces and colons are gone.
    """
    for line in pasted[:2000].splitlines():
        for word in [*line.split(), "".join(line.split()).replace(":", "")]:
            value = word.lower()
            if len(value) == 64 and all(ch in "0123456789abcdef" for ch in value):
                return value
    return None


def file_hash_matches(export: PdfExport, pasted: str) -> bool:
    """Whether a pasted SHA-256 is the original file's (the list's digest is not a file's)."""
    return find_sha256(pasted) == export.file_sha256


def was_listed(export: PdfExport, name: str, email: str) -> bool:
    wanted = entry_hash(name, email, current_app.config["SECRET_KEY"])
    return db.session.get(ListedEntry, {"export_id": export.id, "entry_hash": wanted}) is not None
