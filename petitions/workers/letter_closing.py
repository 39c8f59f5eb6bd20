"""Periodic work: letters past their deadline are written "closed" (pages already show them so)."""

from __future__ import annotations

from petitions.extensions import db
from petitions.models.database import write_intent
from petitions.services.letters import close_expired_letters


def close_expired() -> int:
    """Close letters past their deadline, in a transaction of their own."""
    with write_intent():
        closed = close_expired_letters()
        db.session.commit()
    return closed
