"""The editable list of rejection reasons the moderation queue offers.

Admins add, reword, reorder and retire reasons; a retired reason leaves the queue's list but
stays in the table, and signatures keep the text they were rejected with (they store a copy),
so rewording a reason never rewrites history. Every change is audited.
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from petitions.extensions import db
from petitions.models.staff import ModerationReason
from petitions.services import audit
from petitions.services.errors import DomainError

MAX_LENGTH = 300  # the column's size


class ReasonError(DomainError, ValueError):
    """A change to the list of reasons that cannot be made; the message says why."""


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"


def active_reasons() -> list[ModerationReason]:
    """The reasons a moderator may pick, in the admins' order."""
    return list(
        db.session.scalars(
            select(ModerationReason)
            .where(ModerationReason.is_active.is_(True))
            .order_by(ModerationReason.position, ModerationReason.id)
        )
    )


def all_reasons() -> list[ModerationReason]:
    """Every reason, retired ones included, in the admins' order (the admin page)."""
    return list(
        db.session.scalars(
            select(ModerationReason).order_by(ModerationReason.position, ModerationReason.id)
        )
    )


def locked_reason(reason_id: int) -> ModerationReason | None:
    """The reason, its row locked until the commit, so two admins' edits queue up."""
    return db.session.scalar(
        select(ModerationReason)
        .where(ModerationReason.id == reason_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _clean(text: str) -> str:
    """One line, single spaces: the text is shown in a select and stored on signatures."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ReasonError(_l("Write the reason."))
    if len(cleaned) > MAX_LENGTH:
        raise ReasonError(_l("Use at most %(n)d characters.", n=MAX_LENGTH))
    return cleaned


def _refuse_duplicate(text: str, except_id: int | None = None) -> None:
    # Case-insensitive here; the database's unique constraint backs it up exactly.
    statement = select(ModerationReason.id).where(func.lower(ModerationReason.text) == text.lower())
    if except_id is not None:
        statement = statement.where(ModerationReason.id != except_id)
    if db.session.scalar(statement.limit(1)) is not None:
        raise ReasonError(_l("This reason is in the list already."))


def _flush_unique() -> None:
    """Flush in a savepoint: a concurrent twin trips the unique constraint, not the request."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ReasonError(_l("This reason is in the list already.")) from None


def add_reason(text: str) -> ModerationReason:
    """A new active reason at the end of the list."""
    cleaned = _clean(text)
    _refuse_duplicate(cleaned)
    last = db.session.scalar(select(func.max(ModerationReason.position)))
    reason = ModerationReason(text=cleaned, position=(last or 0) + 1, is_active=True)
    db.session.add(reason)
    _flush_unique()
    audit.record("reason.created", obj=reason, details={"text": cleaned})
    return reason


def edit_reason(reason: ModerationReason, text: str) -> bool:
    """Reword a reason; False when the text is unchanged (nothing recorded)."""
    cleaned = _clean(text)
    if cleaned == reason.text:
        return False
    _refuse_duplicate(cleaned, except_id=reason.id)
    before = reason.text
    reason.text = cleaned
    _flush_unique()
    audit.record("reason.edited", obj=reason, details={"from": before, "to": cleaned})
    return True


def move_reason(reason: ModerationReason, direction: Direction) -> bool:
    """Swap the reason with its neighbour; False at the top or bottom of the list.

    Positions are renumbered 0, 1, 2 … on the way, so equal or sparse positions (seeded or
    edited by hand) still move one step at a time.
    """
    ordered = list(
        db.session.scalars(
            select(ModerationReason)
            .order_by(ModerationReason.position, ModerationReason.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    index = next(i for i, item in enumerate(ordered) if item.id == reason.id)
    target = index - 1 if direction is Direction.UP else index + 1
    if not 0 <= target < len(ordered):
        return False
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, item in enumerate(ordered):
        if item.position != position:
            item.position = position
    audit.record(
        "reason.moved",
        obj=reason,
        details={"direction": str(direction), "from": index + 1, "to": target + 1},
    )
    return True


def set_reason_active(reason: ModerationReason, active: bool) -> bool:
    """Retire a reason from the queue's list, or bring it back; False when nothing changes."""
    if reason.is_active == active:
        return False
    reason.is_active = active
    audit.record(
        "reason.activated" if active else "reason.deactivated",
        obj=reason,
        details={"text": reason.text},
    )
    return True
