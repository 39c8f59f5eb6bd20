"""A letter's dashboard figures: counts by status and kind, signatures per day, countries, and
the latest events and signatures.

Every figure is one GROUP BY (or one short, indexed ORDER BY ... LIMIT) in the database, so the
page costs a few scans of the letter's rows at most, never a Python loop over signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, select, text

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.columns import utcnow
from petitions.models.letters import Letter, LetterStatus
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus
from petitions.services.site_time import site_date, site_zone

CHART_DAYS = 90
TOP_COUNTRIES = 15
RECENT = 20


@dataclass(frozen=True)
class StatusCounts:
    """Signatures by (status, kind), and how many of each kind are hidden (any status)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    hidden: dict[str, int] = field(default_factory=dict)

    def get(self, status: str, kind: str) -> int:
        return self.counts.get((status, kind), 0)

    def status_total(self, status: str) -> int:
        return sum(self.get(status, kind) for kind in SignatureKind)

    def kind_total(self, kind: str) -> int:
        return sum(n for (_, k), n in self.counts.items() if k == kind)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def hidden_total(self) -> int:
        return sum(self.hidden.values())


@dataclass(frozen=True)
class DailySeries:
    days: list[date]
    created: list[int]
    confirmed: list[int]


@dataclass(frozen=True)
class Dashboard:
    counts: StatusCounts
    daily: DailySeries
    countries: list[tuple[str, int]]
    events: list[AuditEvent]
    signatures: list[Signature]


def letter_dashboard(letter: Letter, now: datetime | None = None) -> Dashboard:
    return Dashboard(
        counts=status_counts(letter),
        daily=daily_series(letter, now or utcnow()),
        countries=top_countries(letter),
        events=recent_events(letter),
        signatures=recent_signatures(letter),
    )


def status_counts(letter: Letter) -> StatusCounts:
    """Two GROUP BYs: (status, kind) is read from an index alone; hidden rows are few.

    One GROUP BY over (status, kind, is_hidden) would read every row of the letter and sort
    them all: five times slower on SQLite at a million signatures.
    """
    rows = db.session.execute(
        select(Signature.status, Signature.kind, func.count())
        .where(Signature.letter_id == letter.id)
        .group_by(Signature.status, Signature.kind)
    ).all()
    hidden = db.session.execute(
        select(Signature.kind, func.count())
        # This very text, so that a partial index "WHERE is_hidden" would serve it (see models).
        .where(Signature.letter_id == letter.id, text("is_hidden"))
        .group_by(Signature.kind)
    ).all()
    return StatusCounts(
        {(status, kind): count for status, kind, count in rows},
        {kind: count for kind, count in hidden},
    )


def chart_period(letter: Letter, now: datetime, days: int = CHART_DAYS) -> tuple[date, date]:
    """The letter's period (from its creation or opening, to its deadline or today), cut to its
    last ``days`` days; days of the site's time zone."""
    end = site_date(now)
    if letter.status != LetterStatus.DRAFT and letter.closes_at and letter.closes_at < now:
        end = site_date(letter.closes_at)
    starts = [letter.created_at] + ([letter.opens_at] if letter.opens_at else [])
    start = site_date(min(starts))
    start = max(start, end - timedelta(days=days - 1))
    return min(start, end), end


def _per_day(letter: Letter, column: Any, start: date, end: date) -> dict[date, int]:
    """Counts per calendar day of the site's time zone.

    PostgreSQL converts each time to the zone itself. SQLite knows no zones: it counts per UTC
    hour and each hour goes to the zone's day it starts in (exact for zones whose offset is whole
    hours, as Europe's are).
    """
    zone = site_zone()
    low = datetime.combine(start, time(), zone)
    high = datetime.combine(end + timedelta(days=1), time(), zone)
    where = (Signature.letter_id == letter.id, column >= low, column < high)
    if db.session.get_bind().dialect.name == "postgresql":
        local_day = cast(func.timezone(zone.key, column), Date)
        rows = db.session.execute(
            select(local_day, func.count()).where(*where).group_by(local_day)
        ).all()
        return {found: count for found, count in rows}
    hour = func.strftime("%Y-%m-%d %H", column)  # SQLite keeps UTC text: 'YYYY-MM-DD HH:MM:SS'
    per_day: dict[date, int] = {}
    for found, count in db.session.execute(select(hour, func.count()).where(*where).group_by(hour)):
        moment = datetime.strptime(found, "%Y-%m-%d %H").replace(tzinfo=UTC)
        day = moment.astimezone(zone).date()
        per_day[day] = per_day.get(day, 0) + count
    return per_day


def daily_series(letter: Letter, now: datetime) -> DailySeries:
    """Signatures created (submitted) and confirmed (by email) per day of the chart's period."""
    start, end = chart_period(letter, now)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    created = _per_day(letter, Signature.created_at, start, end)
    confirmed = _per_day(letter, Signature.confirmed_at, start, end)
    return DailySeries(days, [created.get(d, 0) for d in days], [confirmed.get(d, 0) for d in days])


def top_countries(letter: Letter, limit: int = TOP_COUNTRIES) -> list[tuple[str, int]]:
    """Countries of the counted signatures, most first."""
    count = func.count().label("n")
    rows = db.session.execute(
        select(Signature.country, count)
        .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.CONFIRMED)
        .group_by(Signature.country)
        .order_by(count.desc(), Signature.country)
        .limit(limit)
    ).all()
    return [(country, n) for country, n in rows]


def recent_events(letter: Letter, limit: int = RECENT) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.letter_id == letter.id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


def recent_signatures(letter: Letter, limit: int = RECENT) -> list[Signature]:
    return list(
        db.session.scalars(
            select(Signature)
            .where(Signature.letter_id == letter.id)
            .order_by(Signature.created_at.desc(), Signature.id.desc())
            .limit(limit)
        )
    )
