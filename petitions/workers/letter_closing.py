"""Periodic work: letters past their deadline are written "closed" (pages already show them so)."""

from __future__ import annotations

from petitions.models.database import unit_of_work
from petitions.services.letters import close_expired_letters


def close_expired() -> int:
    """Close letters past their deadline, in a transaction of their own."""
    with unit_of_work():
        closed = close_expired_letters()
    return closed
