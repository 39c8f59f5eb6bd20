"""Which signatures an export holds, read in keyset batches: the one query CSV, XLSX and PDF share.

Rows are plain tuples of the exported columns, never ORM objects: a million of them stream
through in constant memory, ``batch`` rows at a time, each batch a fresh ``id > last`` query
(no OFFSET, no open server-side cursor, no session identity map growing with the export).

What the filter means, and why:

- ``statuses``: ``("confirmed",)`` by default, the signatures that count, so an export's totals
  are the letter's public counters.
- ``since``/``until``: whole UTC days, both inclusive, on the day a signature was *confirmed*
  (the day it began to count), or the day it was submitted for one that never was (pending).
  One rule for every status, so a signature keeps its day when it is later withdrawn or rejected;
  the PDF prints the same day (``confirmed_at or created_at``).
- ``include_non_public`` (default yes): "public" is about the website's list; every signer
  consented to their name being delivered to the addressees with the letter.
- ``include_hidden`` (default yes): staff hide a name from the public list (it still counts);
  delivering it is what the signer asked for, and leaving it out would make the list disagree
  with the count. Organisers who want the public list exactly can untick it.
- ``kind``: ``"organisation"`` or ``"individual"``; ``None`` for both.

Rows come in ascending id order, each once. Read them inside one transaction, as a request
does: SQLite then reads one snapshot throughout; on PostgreSQL (each batch its own statement) a
signature confirmed while an export runs may or may not be in it, but none appears twice.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, select

from petitions.extensions import db
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus

STATUS_VALUES = frozenset(s.value for s in SignatureStatus)

# The status choices the export form and the command line offer, by name. A delivery PDF takes
# only the first two (the people in it confirmed their email).
STATUS_SETS: dict[str, tuple[str, ...]] = {
    "counted": ("confirmed",),
    "counted_and_waiting": ("awaiting_approval", "confirmed"),
    "all": tuple(sorted(STATUS_VALUES)),
}
PDF_STATUS_SETS = ("counted", "counted_and_waiting")
KIND_VALUES = frozenset(k.value for k in SignatureKind)


class SignatureRow(NamedTuple):
    """One exported signature: the columns every export needs, as the database holds them."""

    id: int
    kind: str
    name: str
    organisation: str
    title: str
    email: str
    country: str
    city: str
    status: str
    is_public: bool
    created_at: datetime
    confirmed_at: datetime | None
    website: str
    comment: str
    is_hidden: bool
    verified_at: datetime | None
    language: str
    withdrawn_at: datetime | None
    source: str = ""  # the referral code the signature came with


# The selected columns, in SignatureRow's order.
_COLUMNS = tuple(getattr(Signature, name) for name in SignatureRow._fields)


@dataclass(frozen=True)
class ExportFilter:
    """Which of a letter's signatures an export holds (see the module's docstring)."""

    statuses: tuple[str, ...] = (SignatureStatus.CONFIRMED.value,)
    since: date | None = None
    until: date | None = None
    include_non_public: bool = True
    include_hidden: bool = True
    kind: str | None = None

    def __post_init__(self) -> None:
        # Normalised, so equal filters compare (and hash, and key PDF jobs) equal.
        statuses = tuple(sorted({str(s) for s in self.statuses}))
        if not statuses or not set(statuses) <= STATUS_VALUES:
            raise ValueError(f"unknown or no statuses: {self.statuses!r}")
        if self.kind is not None and self.kind not in KIND_VALUES:
            raise ValueError(f"unknown kind: {self.kind!r}")
        object.__setattr__(self, "statuses", statuses)
        object.__setattr__(self, "kind", str(self.kind) if self.kind else None)

    def audit_details(self) -> dict[str, Any]:
        """The filter as plain JSON values (the audit trail, PDF job keys); no personal data."""
        return {
            "statuses": list(self.statuses),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "include_non_public": self.include_non_public,
            "include_hidden": self.include_hidden,
            "kind": self.kind,
        }

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> ExportFilter:
        """The inverse of :meth:`audit_details`; missing keys take their defaults."""
        defaults = cls()

        def day(key: str) -> date | None:
            value = details.get(key)
            return date.fromisoformat(value) if value else None

        return cls(
            statuses=tuple(details.get("statuses") or defaults.statuses),
            since=day("since"),
            until=day("until"),
            include_non_public=bool(details.get("include_non_public", True)),
            include_hidden=bool(details.get("include_hidden", True)),
            kind=details.get("kind") or None,
        )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def signed_at() -> ColumnElement[datetime]:
    """The moment the date filter looks at: confirmation, else submission."""
    return func.coalesce(Signature.confirmed_at, Signature.created_at)


def filter_clauses(letter_id: int, flt: ExportFilter) -> list[ColumnElement[bool]]:
    """The WHERE of an export (also for callers that need other aggregates of the same rows)."""
    clauses: list[ColumnElement[bool]] = [Signature.letter_id == letter_id]
    if len(flt.statuses) == 1:
        clauses.append(Signature.status == flt.statuses[0])
    elif set(flt.statuses) != STATUS_VALUES:
        clauses.append(Signature.status.in_(flt.statuses))
    if flt.kind is not None:
        clauses.append(Signature.kind == flt.kind)
    if flt.since is not None:
        clauses.append(signed_at() >= _day_start(flt.since))
    if flt.until is not None and flt.until < date.max:  # the last day there is: no bound
        clauses.append(signed_at() < _day_start(flt.until + timedelta(days=1)))
    if not flt.include_non_public:
        clauses.append(Signature.is_public.is_(True))
    if not flt.include_hidden:
        clauses.append(Signature.is_hidden.is_(False))
    return clauses


def iter_signatures(
    letter_id: int, flt: ExportFilter, *, batch: int = 2000
) -> Iterator[SignatureRow]:
    """Every signature of the letter that the filter selects, in id order, ``batch`` at a time.

    Needs an app context for as long as it is read (``stream_with_context`` in a view).

    On SQLite, one keyset stream per (status, kind), merged by id: SQLite can walk an id range
    only inside one entry of the ``(letter_id, status, kind)`` index (whose last column is the
    rowid), and a single stream over several statuses would sort every remaining row again for
    each batch (a million rows took a minute instead of seconds). PostgreSQL walks the primary
    key and filters, or sorts a small letter's rows, whichever its statistics say is cheaper.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    clauses = filter_clauses(letter_id, flt)
    if db.session.get_bind().dialect.name != "sqlite":
        yield from _keyset(clauses, batch)
        return
    kinds = (flt.kind,) if flt.kind else tuple(sorted(KIND_VALUES))
    groups = [(status, kind) for status in flt.statuses for kind in kinds]
    if len(groups) == 1:
        yield from _keyset(clauses, batch)
        return
    size = max(batch // len(groups), 1)  # about ``batch`` rows held at once, all streams together
    streams = [
        _keyset([*clauses, Signature.status == status, Signature.kind == kind], size)
        for status, kind in groups
    ]
    yield from heapq.merge(*streams, key=itemgetter(0))


def _keyset(clauses: list[ColumnElement[bool]], batch: int) -> Iterator[SignatureRow]:
    last = 0
    while True:
        statement = (
            select(*_COLUMNS)
            .where(*clauses, Signature.id > last)
            .order_by(Signature.id)
            .limit(batch)
        )
        # Core rows through the session's connection: no ORM loading machinery per row.
        rows = db.session.connection().execute(statement).all()
        for row in rows:
            yield SignatureRow._make(row)
        if len(rows) < batch:
            return
        last = rows[-1][0]


def signatures_by_id(ids: list[int]) -> list[SignatureRow]:
    """These signatures, in this order (whatever their status now); missing ids are skipped."""
    found = {
        row[0]: SignatureRow._make(row)
        for row in db.session.execute(select(*_COLUMNS).where(Signature.id.in_(ids)))
    }
    return [found[i] for i in ids if i in found]


def count_signatures(letter_id: int, flt: ExportFilter) -> tuple[int, int]:
    """(organisations, individuals) among the rows ``iter_signatures`` gives for this filter."""
    found = dict(
        db.session.execute(
            select(Signature.kind, func.count())
            .where(*filter_clauses(letter_id, flt))
            .group_by(Signature.kind)
        ).all()
    )
    return (
        int(found.get(SignatureKind.ORGANISATION, 0)),
        int(found.get(SignatureKind.INDIVIDUAL, 0)),
    )
