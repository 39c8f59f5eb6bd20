"""One reminder to each signature still pending after ``REMINDER_AFTER``, while its letter is open.

Never a second: a reminder is claimed by a conditional UPDATE (``reminded_at IS NULL AND status =
'pending'``) in the same transaction as its email, so two runs at once, or one run twice, remind
nobody twice; a signature confirmed, withdrawn or erased meanwhile no longer matches. The link is
fresh (a new timestamp) but keeps the signature's nonce, so the first email's link still works.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext
from sqlalchemy import func, select, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import unit_of_work
from petitions.models.letters import Letter, LetterStatus
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.signer_mail import LetterRef, confirm_url
from petitions.services.signer_notices import queue_signer_notice

REMINDER_SUBJECT = lazy_gettext("Reminder: please confirm your signature: %(title)s")
BATCH = 500


def send_due_reminders() -> int:
    """Queue the reminders that are due; return how many. Commits each batch (run it inside an
    app context, from the jobs worker's schedule or ``flask reminders send``)."""
    after = float(current_app.config["REMINDER_AFTER"] or 0)
    if after <= 0:
        return 0
    with unit_of_work():
        letters = [
            letter.id
            for letter in db.session.scalars(
                select(Letter).where(Letter.status == LetterStatus.OPEN)
            )
            if letter.is_open()
        ]
    total = 0
    for letter_id in letters:
        while True:
            with unit_of_work():
                seen, sent = _remind_batch(letter_id, utcnow() - timedelta(seconds=after))
            total += sent
            if seen < BATCH:
                break
    return total


def _remind_batch(letter_id: int, created_before: datetime) -> tuple[int, int]:
    """Remind the next batch; return (how many were due, how many this run reminded)."""
    letter = db.session.get(Letter, letter_id)
    if letter is None or not letter.is_open():
        return 0, 0
    due = (
        select(Signature.id)
        .where(
            Signature.letter_id == letter_id,
            Signature.status == SignatureStatus.PENDING,
            Signature.reminded_at.is_(None),
            Signature.anonymised_at.is_(None),
            Signature.created_at <= created_before,
        )
        .order_by(Signature.id)
        .limit(BATCH)
    )
    ids = list(db.session.scalars(due))
    if not ids:
        return 0, 0
    claimed = list(
        db.session.scalars(
            update(Signature)
            .where(
                Signature.id.in_(ids),
                Signature.reminded_at.is_(None),
                Signature.status == SignatureStatus.PENDING,
            )
            .values(reminded_at=utcnow())
            .returning(Signature.id)
            .execution_options(synchronize_session=False)
        )
    )
    ref = LetterRef.of(letter)
    for signature in db.session.scalars(
        select(Signature).where(Signature.id.in_(claimed)).order_by(Signature.id)
    ):
        _queue_reminder(signature, ref)
    return len(ids), len(claimed)


def _queue_reminder(signature: Signature, letter: LetterRef) -> None:
    queue_signer_notice(
        signature, letter, "reminder", REMINDER_SUBJECT, confirm_url=confirm_url(signature)
    )


def reminder_figures(letter: Letter) -> dict[str, int]:
    """For staff: pending now, reminded, and confirmed after their reminder."""
    base = select(func.count()).select_from(Signature).where(Signature.letter_id == letter.id)
    return {
        "pending": int(
            db.session.scalar(base.where(Signature.status == SignatureStatus.PENDING)) or 0
        ),
        "reminded": int(db.session.scalar(base.where(Signature.reminded_at.is_not(None))) or 0),
        "confirmed_after": int(
            db.session.scalar(
                base.where(
                    Signature.reminded_at.is_not(None),
                    Signature.confirmed_at.is_not(None),
                    Signature.confirmed_at >= Signature.reminded_at,
                )
            )
            or 0
        ),
    }
