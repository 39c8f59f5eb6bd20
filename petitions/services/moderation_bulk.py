"""Moderation of everything a queue filter matches, after a preview of how many.

Kept apart from :mod:`petitions.services.moderation` (which it builds on): the rules per
signature live there, this module only finds, counts and locks the set.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.signatures import Signature
from petitions.models.staff import StaffUser
from petitions.services import audit
from petitions.services.access import Permission
from petitions.services.moderation import (
    LetterChanges,
    ModerationAction,
    ModerationError,
    ModerationSummary,
    apply_action,
    checked_reason,
    lock_signatures,
    write_letter_changes,
)
from petitions.services.moderation_queue import (
    QueueFilter,
    count_matching,
    first_matching,
    matching_clauses,
)

MAX_BULK = 50_000  # signatures in one "apply to all matching"
BULK_CHUNK = 500
PREVIEW_ROWS = 20


class BulkTooLarge(ModerationError):
    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(
            _(
                "More than %(limit)s signatures match: they cannot be changed in one go. "
                "Narrow the filter (for example by date) and apply it in parts.",
                limit=format(MAX_BULK, ","),
            )
        )


class MatchingChanged(ModerationError):
    """The filter matches another number of signatures than the preview showed."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(
            _(
                "The number of matching signatures changed to %(count)s. Check them again.",
                count=count,
            )
        )


@dataclass(frozen=True)
class BulkPreview:
    count: int
    first: list[Signature]
    too_large: bool


def preview_matching(actor: StaffUser, filters: QueueFilter) -> BulkPreview:
    """How many signatures a bulk action would touch, and the first of them."""
    count = _count(actor, filters)
    first = first_matching(actor, Permission.MODERATE, filters, PREVIEW_ROWS)
    return BulkPreview(count, first, count > MAX_BULK)


def _count(actor: StaffUser, filters: QueueFilter) -> int:
    """Exact up to the cap; beyond it, only that it is beyond (no need to count a million)."""
    return count_matching(actor, Permission.MODERATE, filters, up_to=MAX_BULK)


def moderate_matching(
    actor: StaffUser,
    filters: QueueFilter,
    action: ModerationAction,
    reason: str,
    expected: int,
) -> ModerationSummary:
    """Act on every signature the filter matches, if that is still the number previewed.

    The set is recomputed, and locked, in this write transaction; another count refuses the
    whole action, so nobody rejects 5,000 signatures having looked at 500. Every row is locked
    (keyset chunks in id order) before any counter is touched, as a signer's confirmation
    locks its row before the letter's: the two never wait on each other in a circle.
    """
    reason = checked_reason(action, reason)
    count = _count(actor, filters)
    if count > MAX_BULK:
        raise BulkTooLarge(count)
    clauses = matching_clauses(actor, Permission.MODERATE, filters)
    ids: list[int] = []
    while chunk := db.session.scalars(
        select(Signature.id)
        .where(*clauses, Signature.id > (ids[-1] if ids else 0))
        .order_by(Signature.id)
        .limit(BULK_CHUNK)
        .with_for_update()
    ).all():
        ids.extend(chunk)
    if len(ids) != expected:
        raise MatchingChanged(len(ids))
    if len(ids) > MAX_BULK:  # more arrived between the count and the locks
        raise BulkTooLarge(len(ids))
    summary = ModerationSummary(action)
    pending = LetterChanges()
    for start in range(0, len(ids), BULK_CHUNK):
        rows = lock_signatures(ids[start : start + BULK_CHUNK])
        apply_action(rows, action, reason, actor, summary, pending)
    write_letter_changes(pending)
    audit.record(
        "signature.bulk",
        letter_id=filters.letter_id,
        actor=actor,
        details={
            "filters": filters.audit_details(),
            "action": action.value,
            "count": len(ids),
            "reason": reason,
            **summary.as_details(),
        },
    )
    db.session.flush()
    return summary
