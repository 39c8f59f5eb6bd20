"""Stored signature counters: changed with each status change, recounted on demand.

Pages and the API read two integers from the letter row instead of counting signatures, so a
letter page costs the same with a hundred signatures or a million.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus


def _counter(kind: str) -> InstrumentedAttribute[int]:
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


def set_statuses(
    changes: Sequence[tuple[Signature, SignatureStatus]], also_shown: Iterable[int] = ()
) -> None:
    """:func:`set_status` for many signatures at once (a moderator's bulk action).

    The same rule, but one UPDATE per letter (both counters and the version in one statement)
    instead of one per signature, so 50,000 rejections do not cost 50,000 round trips. Every
    status change is still made here, in the caller's transaction. ``also_shown``: letters
    whose public list changed otherwise (a signature hidden), bumped in the same UPDATE.

    Each letter row is written once, in id order: two moderators' transactions that touch the
    same letters then lock them in the same order and never wait on each other in a circle.
    """
    deltas: Counter[tuple[int, str]] = Counter()
    touched: set[int] = set(also_shown)
    for signature, status in changes:
        was_counted, was_listed = signature.is_counted, signature.is_listed
        signature.status = status
        delta = int(signature.is_counted) - int(was_counted)
        if delta or signature.is_listed != was_listed:
            deltas[(signature.letter_id, signature.kind)] += delta
            touched.add(signature.letter_id)
    for letter_id in sorted(touched):
        values = {Letter.public_version: Letter.public_version + 1}
        for kind in SignatureKind:
            if deltas[(letter_id, kind)]:
                column = _counter(kind)
                values[column] = column + deltas[(letter_id, kind)]
        db.session.execute(update(Letter).where(Letter.id == letter_id).values(values))


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


def bump_public_version(letter_ids: set[int] | list[int]) -> None:
    """Tell the page cache that what the public sees of these letters changed (no count did).

    For changes that leave the counters alone but change a public list or badge: hiding,
    unhiding, verifying an organisation. One atomic ``+ 1`` per letter, so concurrent bumps add up.
    """
    for letter_id in sorted(set(letter_ids)):  # one row at a time, in id order (see above)
        db.session.execute(
            update(Letter)
            .where(Letter.id == letter_id)
            .values({Letter.public_version: Letter.public_version + 1})
        )
