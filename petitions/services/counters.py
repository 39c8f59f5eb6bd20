"""Stored signature counters: changed with each status change, recounted on demand.

Pages and the API read two integers from the letter row instead of counting signatures, so a
letter page costs the same with a hundred signatures or a million.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from petitions.extensions import db
from petitions.models import Letter, Signature, SignatureKind, SignatureStatus


def _counter(kind: str):  # type: ignore[no-untyped-def]
    if kind == SignatureKind.ORGANISATION:
        return Letter.count_organisations
    return Letter.count_individuals


def set_status(signature: Signature, status: SignatureStatus) -> None:
    """Change a signature's status and, in the same statement, its letter's counter."""
    was_counted, was_listed = signature.is_counted, signature.is_listed
    signature.status = status
    delta = int(signature.is_counted) - int(was_counted)
    if delta or signature.is_listed != was_listed:
        column = _counter(signature.kind)
        db.session.execute(
            update(Letter)
            .where(Letter.id == signature.letter_id)
            .values({column: column + delta, Letter.public_version: Letter.public_version + 1})
        )


@dataclass(frozen=True)
class CountDrift:
    slug: str
    stored: tuple[int, int]
    actual: tuple[int, int]


def recount(repair: bool) -> list[CountDrift]:
    """Compare every letter's counters with a real count; optionally write the real figures.

    The letters are locked first, so no confirmation can commit between the count and the
    repair (PostgreSQL); on SQLite the caller runs this in a write transaction.
    """
    letters = db.session.scalars(
        select(Letter)
        .order_by(Letter.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    rows = db.session.execute(
        select(Signature.letter_id, Signature.kind, func.count())
        .where(Signature.status == SignatureStatus.CONFIRMED)
        .group_by(Signature.letter_id, Signature.kind)
    ).all()
    actual: dict[int, dict[str, int]] = {}
    for letter_id, kind, count in rows:
        actual.setdefault(letter_id, {})[kind] = count
    drifts = []
    for letter in letters:
        found = actual.get(letter.id, {})
        real = (found.get(SignatureKind.INDIVIDUAL, 0), found.get(SignatureKind.ORGANISATION, 0))
        stored = (letter.count_individuals, letter.count_organisations)
        if real != stored:
            drifts.append(CountDrift(letter.slug, stored, real))
            if repair:
                letter.count_individuals, letter.count_organisations = real
                letter.public_version += 1
    return drifts
