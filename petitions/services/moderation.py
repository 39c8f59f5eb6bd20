"""Staff decisions on signatures: approve, reject, mark as spam, hide, restore, verify.

Every action locks its rows first (in id order, so two requests never wait on each other in a
circle) and reads them afresh, so when two moderators act on one signature at once the second
sees what the first did: there is one final state, and both are in the audit trail. Status
changes go through :func:`petitions.services.counters.set_statuses` (one UPDATE per letter), so
the counters and the page cache follow in the same transaction.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Moderation
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus
from petitions.models.staff import StaffUser
from petitions.services import audit, decision_notices
from petitions.services.access import Permission, may
from petitions.services.counters import bump_public_version, set_statuses
from petitions.services.errors import DomainError

MAX_IDS = 1_000  # explicit ids in one request
MAX_REASON = 300

S = SignatureStatus


class ModerationAction(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SPAM = "spam"
    HIDE = "hide"
    RESTORE = "restore"


class Skip(enum.StrEnum):
    """Why a signature was left as it was (kept in the audit trail under ``skipped``)."""

    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    WITHDRAWN = "withdrawn"
    NOT_AWAITING = "not_awaiting_approval"
    ALREADY_REJECTED = "already_rejected"
    ALREADY_SPAM = "already_spam"
    ALREADY_HIDDEN = "already_hidden"
    NOTHING_TO_RESTORE = "nothing_to_restore"
    NOT_ORGANISATION = "not_an_organisation"
    ALREADY_VERIFIED = "already_verified"
    NOT_VERIFIED = "not_verified"


SKIP_TEXT = {
    Skip.NOT_FOUND: _l("not found"),
    Skip.NOT_ALLOWED: _l("not yours to moderate"),
    Skip.WITHDRAWN: _l("withdrawn by the signer"),
    Skip.NOT_AWAITING: _l("not waiting for approval"),
    Skip.ALREADY_REJECTED: _l("already rejected"),
    Skip.ALREADY_SPAM: _l("already marked as spam"),
    Skip.ALREADY_HIDDEN: _l("already hidden"),
    Skip.NOTHING_TO_RESTORE: _l("nothing to restore"),
    Skip.NOT_ORGANISATION: _l("not an organisation"),
    Skip.ALREADY_VERIFIED: _l("already verified"),
    Skip.NOT_VERIFIED: _l("not verified"),
}

ACTION_DONE = {
    ModerationAction.APPROVE: _l("approved"),
    ModerationAction.REJECT: _l("rejected"),
    ModerationAction.SPAM: _l("marked as spam"),
    ModerationAction.HIDE: _l("hidden"),
    ModerationAction.RESTORE: _l("restored"),
    "verified": _l("verified"),
    "unverified": _l("no longer verified"),
}


class ModerationError(DomainError, ValueError):
    """A request the rules refuse; the message is for the staff member."""


class ReasonRequired(ModerationError):
    def __init__(self) -> None:
        super().__init__(_("Choose a reason for the rejection (or write one under “Other”)."))


class NothingSelected(ModerationError):
    def __init__(self) -> None:
        super().__init__(_("Select at least one signature."))


class TooManySignatures(ModerationError):
    def __init__(self, limit: int) -> None:
        shown = format(limit, ",")
        super().__init__(_("At most %(limit)s signatures can be moderated at once.", limit=shown))


@dataclass
class ModerationSummary:
    action: str
    changed: int = 0
    skipped: Counter[Skip] = field(default_factory=Counter)

    def message(self) -> str:
        """One line for the flash: how many changed, how many were left and why."""
        done = ngettext(
            "%(num)d signature %(done)s.",
            "%(num)d signatures %(done)s.",
            self.changed,
            done=ACTION_DONE[self.action],
        )
        if not self.skipped:
            return str(done)
        parts = ", ".join(f"{n} {SKIP_TEXT[skip]}" for skip, n in sorted(self.skipped.items()))
        unchanged = _("Left unchanged: %(parts)s.", parts=parts)
        return f"{done} {unchanged}"

    def as_details(self) -> dict[str, object]:
        return {"changed": self.changed, "skipped": {k.value: n for k, n in self.skipped.items()}}


def checked_reason(action: ModerationAction, reason: str) -> str:
    """A rejection needs a reason (a listed one or free text); other actions may give one."""
    reason = " ".join(reason.split())[:MAX_REASON]
    if action is ModerationAction.REJECT and not reason:
        raise ReasonRequired()
    return reason


def _checked_ids(ids: Iterable[int]) -> list[int]:
    unique = sorted(set(ids))
    if not unique:
        raise NothingSelected()
    if len(unique) > MAX_IDS:
        raise TooManySignatures(MAX_IDS)
    return unique


def lock_signatures(ids: Sequence[int]) -> list[Signature]:
    """The rows, read afresh under ``FOR UPDATE`` in id order (no deadlock between requests)."""
    return list(
        db.session.scalars(
            select(Signature)
            .where(Signature.id.in_(ids))
            .order_by(Signature.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _needs_approval(signature: Signature) -> bool:
    letter = signature.letter
    return letter.moderation == Moderation.PRE or (
        letter.organisations_need_approval and signature.kind == SignatureKind.ORGANISATION
    )


def _restored(signature: Signature) -> S:
    """Where a rejected or spam signature goes back to: where it would be had no one acted."""
    if signature.confirmed_at is None:
        return S.PENDING
    if _needs_approval(signature) and signature.approved_at is None:
        return S.AWAITING_APPROVAL
    return S.CONFIRMED


def _decide(signature: Signature, action: ModerationAction) -> tuple[S, bool] | Skip:
    """The (status, hidden) an action leads to, or why it leaves the signature alone."""
    status, hidden = S(signature.status), signature.is_hidden
    if status is S.WITHDRAWN:
        return Skip.WITHDRAWN
    if action is ModerationAction.APPROVE:
        return (S.CONFIRMED, hidden) if status is S.AWAITING_APPROVAL else Skip.NOT_AWAITING
    if action is ModerationAction.REJECT:
        if status in (S.REJECTED, S.SPAM):
            return Skip.ALREADY_REJECTED if status is S.REJECTED else Skip.ALREADY_SPAM
        return S.REJECTED, hidden
    if action is ModerationAction.SPAM:
        return Skip.ALREADY_SPAM if status is S.SPAM else (S.SPAM, hidden)
    if action is ModerationAction.HIDE:
        return Skip.ALREADY_HIDDEN if hidden else (status, True)
    if status in (S.REJECTED, S.SPAM):
        if signature.withdrawn_at is not None:
            return Skip.WITHDRAWN  # its signer withdrew it meanwhile: it stays out
        return _restored(signature), False
    return (status, False) if hidden else Skip.NOTHING_TO_RESTORE


@dataclass
class LetterChanges:
    """What the decisions of one transaction do to letters, written once at its end."""

    statuses: list[tuple[Signature, S]] = field(default_factory=list)
    shown: set[int] = field(default_factory=set)  # letters whose public list changed otherwise


def apply_action(
    signatures: Iterable[Signature],
    action: ModerationAction,
    reason: str,
    actor: StaffUser,
    summary: ModerationSummary,
    pending: LetterChanges,
) -> None:
    """Decide on locked rows, one audit event each, whether or not anything changed.

    The letters are not touched here: :func:`write_letter_changes` does it once, after every
    signature of the transaction is locked.
    """
    now = utcnow()
    with db.session.no_autoflush:
        for signature in signatures:
            if _apply_one(signature, action, reason, actor, now, summary, pending.statuses):
                pending.shown.add(signature.letter_id)


def write_letter_changes(pending: LetterChanges) -> None:
    """Statuses, counters and versions: one UPDATE per letter, in letter id order.

    Every signature row is locked before any letter row, as a signer's confirmation does, and
    letters are written in one order; so no two transactions wait on each other in a circle.
    """
    with db.session.no_autoflush:
        set_statuses(pending.statuses, also_shown=pending.shown)
    db.session.flush()


def _apply_one(
    signature: Signature,
    action: ModerationAction,
    reason: str,
    actor: StaffUser,
    now: datetime,
    summary: ModerationSummary,
    changes: list[tuple[Signature, S]],
) -> bool:
    """Decide for one locked row and audit it; whether its visibility on public lists changed."""
    before = (signature.status, signature.is_hidden)
    allowed = may(actor, Permission.MODERATE, signature.letter)
    decision = _decide(signature, action) if allowed else Skip.NOT_ALLOWED
    details: dict[str, object] = {"from": before[0], "hidden_from": before[1]}
    if isinstance(decision, Skip):
        summary.skipped[decision] += 1
        details.update(to=before[0], hidden_to=before[1], noop=True, skipped=decision.value)
    else:
        status, hidden = decision
        if status != before[0]:
            if action is ModerationAction.APPROVE:
                signature.approved_at = now
            changes.append((signature, status))
            decision_notices.after_decision(signature, S(before[0]), status, reason)
        signature.is_hidden = hidden
        signature.moderated_at = now
        signature.moderated_by_id = actor.id
        signature.moderation_reason = reason
        summary.changed += 1
        details.update(to=status.value, hidden_to=hidden)
    details["reason"] = reason
    audit.record(
        f"signature.{action.value}",
        obj=signature,
        letter_id=signature.letter_id,
        actor=actor,
        details=details,
    )
    return details["hidden_to"] != before[1]


def moderate(
    ids: Iterable[int], action: ModerationAction, reason: str, actor: StaffUser
) -> ModerationSummary:
    """Act on up to :data:`MAX_IDS` signatures at once; returns what changed and what did not."""
    reason = checked_reason(action, reason)
    wanted = _checked_ids(ids)
    signatures = lock_signatures(wanted)
    summary = ModerationSummary(action)
    missing = len(wanted) - len(signatures)
    if missing:
        summary.skipped[Skip.NOT_FOUND] += missing
    pending = LetterChanges()
    apply_action(signatures, action, reason, actor, summary, pending)
    write_letter_changes(pending)
    return summary


def set_verified(ids: Iterable[int], verified: bool, actor: StaffUser) -> ModerationSummary:
    """Mark organisations as checked by staff (a badge on the public list), or undo it."""
    wanted = _checked_ids(ids)
    signatures = lock_signatures(wanted)
    action = "verified" if verified else "unverified"
    summary = ModerationSummary(action)
    if len(wanted) > len(signatures):
        summary.skipped[Skip.NOT_FOUND] += len(wanted) - len(signatures)
    now = utcnow()
    shown_changed: set[int] = set()
    for signature in signatures:
        was = signature.verified_at is not None
        skip: Skip | None = None
        if not may(actor, Permission.MODERATE, signature.letter):
            skip = Skip.NOT_ALLOWED
        elif signature.status == S.WITHDRAWN:
            skip = Skip.WITHDRAWN
        elif signature.kind != SignatureKind.ORGANISATION:
            skip = Skip.NOT_ORGANISATION
        elif was == verified:
            skip = Skip.ALREADY_VERIFIED if verified else Skip.NOT_VERIFIED
        details: dict[str, object] = {"verified_from": was, "verified_to": was}
        if skip is not None:
            summary.skipped[skip] += 1
            details.update(noop=True, skipped=skip.value)
        else:
            signature.verified_at = now if verified else None
            summary.changed += 1
            shown_changed.add(signature.letter_id)
            details["verified_to"] = verified
        audit.record(
            f"signature.{action}",
            obj=signature,
            letter_id=signature.letter_id,
            actor=actor,
            details=details,
        )
    bump_public_version(shown_changed)
    db.session.flush()
    return summary
