"""Signals of a signing campaign gone wrong: a burst of signatures, one domain, one address.

Shown on the queue when one letter is selected, each linking to the queue filtered to it, so a
moderator who sees 300 signatures from one address in the last hour can look at them and act
on all of them. Only counts and hashes: no email address leaves the queue through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import InstrumentedAttribute

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.signatures import Signature

HOURS = 24
TOP = 5
IP_SHOWN = 8  # characters of an address hash shown to staff


@dataclass(frozen=True)
class HourCount:
    start: datetime
    count: int


@dataclass(frozen=True)
class TopValue:
    value: str
    count: int

    @property
    def short(self) -> str:
        return self.value[:IP_SHOWN]


@dataclass(frozen=True)
class Signals:
    hours: list[HourCount]  # oldest first; the last one is the current (partial) hour
    domains: list[TopValue]
    ip_hashes: list[TopValue]

    @property
    def peak(self) -> int:
        return max((h.count for h in self.hours), default=0)

    @property
    def total(self) -> int:
        return sum(h.count for h in self.hours)


def letter_signals(letter_id: int, now: datetime | None = None) -> Signals:
    """Signatures created per hour over the last day; top domains and addresses of the last hour.

    The hourly counts are one query (one conditional count per hour over the letter's
    ``(letter_id, created_at)`` index range), the same on SQLite and PostgreSQL.
    """
    now = now or utcnow()
    current_hour = now.replace(minute=0, second=0, microsecond=0)
    starts = [current_hour - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    bounds = [*starts[1:], current_hour + timedelta(hours=1)]
    columns = [
        func.count(case((and_(Signature.created_at >= start, Signature.created_at < end), 1)))
        for start, end in zip(starts, bounds, strict=True)
    ]
    counts = db.session.execute(
        select(*columns).where(Signature.letter_id == letter_id, Signature.created_at >= starts[0])
    ).one()
    hours = [HourCount(start, int(n)) for start, n in zip(starts, counts, strict=True)]
    hour_ago = now - timedelta(hours=1)
    return Signals(
        hours=hours,
        domains=_top(letter_id, Signature.email_domain, hour_ago),
        ip_hashes=_top(letter_id, Signature.ip_hash, hour_ago),
    )


def _top(letter_id: int, column: InstrumentedAttribute[str], since: datetime) -> list[TopValue]:
    number = func.count().label("n")
    rows = db.session.execute(
        select(column, number)
        .where(Signature.letter_id == letter_id, Signature.created_at >= since, column != "")
        .group_by(column)
        .order_by(number.desc(), column)
        .limit(TOP)
    ).all()
    return [TopValue(value, int(n)) for value, n in rows]
