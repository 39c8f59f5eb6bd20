"""Queueing an update's emails, batch after batch, each batch its own transaction.

A runner (the jobs worker, the command line), so it owns its transactions. Killed at any point,
it leaves whole batches behind it; run again (:func:`resume_unfinished`, or the same job twice)
it walks the recipients from the start and the unique (update, signature) skips those done.
"""

from __future__ import annotations

import logging

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import unit_of_work
from petitions.models.follow_up import LetterUpdate
from petitions.models.letters import Letter
from petitions.services import updates

log = logging.getLogger(__name__)


def queue_update(update_id: int) -> int:
    """Queue every recipient's email of one update; return how many batches it took."""
    size = updates.batch_size()
    after, batches = 0, 0
    while True:
        with unit_of_work():
            item = db.session.get(LetterUpdate, update_id)
            if item is None:
                return batches
            letter = db.session.get(Letter, item.letter_id)
            assert letter is not None
            after = updates.queue_batch(item, letter, after, size)
            if after == 0:
                if item.queued_at is None:
                    item.queued_at = utcnow()
                return batches
        batches += 1


def resume_unfinished() -> int:
    """Finish updates whose job was killed or lost; return how many it resumed."""
    with unit_of_work():
        pending = updates.unfinished_updates()
    for update_id in pending:
        queue_update(update_id)
    return len(pending)
