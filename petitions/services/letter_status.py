"""A letter's life: draft → open → closed (and back to open). Delivery is recorded elsewhere.

Every change is audited and bumps ``Letter.public_version``, like the edits in
:mod:`petitions.services.letter_editing`.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l

from petitions.models.columns import utcnow
from petitions.models.letters import Letter, LetterStatus
from petitions.services import audit
from petitions.services.letter_editing import LetterEditError, lock_letter


class StatusAction(enum.StrEnum):
    PUBLISH = "publish"
    CLOSE = "close"
    REOPEN = "reopen"


# Each action: the status it starts from, the one it leads to, and why it cannot be done from
# another. Delivering is not done here.
_S = LetterStatus
TRANSITIONS: dict[StatusAction, tuple[LetterStatus, LetterStatus, str]] = {
    StatusAction.PUBLISH: (_S.DRAFT, _S.OPEN, _l("Only a draft can be published.")),
    StatusAction.CLOSE: (_S.OPEN, _S.CLOSED, _l("Only an open letter can be closed.")),
    StatusAction.REOPEN: (_S.CLOSED, _S.OPEN, _l("Only a closed letter can be reopened.")),
}


def change_status(letter: Letter, action: StatusAction, via: str = "") -> LetterStatus:
    """Publish a draft, close an open letter, or reopen a closed one. ``via`` names a channel
    other than the staff pages (the command line) in the audit trail."""
    letter = lock_letter(letter)
    start, end, refusal = TRANSITIONS[action]
    if letter.status != start:
        raise LetterEditError(refusal)
    if end is LetterStatus.OPEN and letter.auto_close and _past(letter.closes_at):
        raise LetterEditError(
            _l("The closing date has passed. Set a new closing date first, then try again.")
        )
    letter.status = end
    # Retention counts from the closing (services/retention.py); reopening starts it afresh.
    letter.closed_at = utcnow() if end is LetterStatus.CLOSED else None
    letter.public_version += 1
    details = {"from": start.value, "to": end.value}
    if via:
        details["via"] = via
    audit.record("letter.status_changed", obj=letter, letter_id=letter.id, details=details)
    return end


def _past(moment: datetime | None) -> bool:
    return moment is not None and moment <= utcnow()
