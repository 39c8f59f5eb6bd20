"""The moderation queue: which signatures a staff member sees, filtered, one keyset page at a time.

The same filter drives the queue page, the "apply to all matching" preview and the bulk action
itself, so what a moderator previewed is exactly what the action recomputes. Pages follow a
keyset (the last row's sort value and id), never an OFFSET, so page 400 costs what page 1 does.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, tuple_

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus
from petitions.models.staff import ModerationReason, StaffUser
from petitions.services.access import Permission, letter_scope, letters_for

PAGE_SIZE = 50
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


class Sort(enum.StrEnum):
    DECISION = "decision"  # awaiting approval first, then newest: what needs a moderator
    NEWEST = "newest"
    OLDEST = "oldest"
    NAME = "name"


class YesNo(enum.StrEnum):
    ANY = ""
    YES = "yes"
    NO = "no"


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows; every field empty means "all signatures the user may see"."""

    letter_id: int | None = None
    status: str = ""
    kind: str = ""
    country: str = ""
    created_from: date | None = None
    created_to: date | None = None  # inclusive: the whole day
    hidden: str = YesNo.ANY
    verified: str = YesNo.ANY  # organisations only
    q: str = ""
    sort: str = Sort.DECISION

    def audit_details(self) -> dict[str, Any]:
        """The filter as the audit trail keeps it: set fields only, and no signer's address.

        A free-text search may hold part of an email address or a signer's name; the trail
        (which nothing can clean later, not even retention) keeps only that a search was made.
        Domain and address-hash searches are not personal data and stay.
        """
        details = {k: v for k, v in asdict(self).items() if v not in (None, "")}
        for key in ("created_from", "created_to"):
            if key in details:
                details[key] = details[key].isoformat()
        query = self.q.strip()
        searches_text = not query.lower().startswith(("@", "domain:", "ip:"))
        if query and searches_text:
            details["q"] = "(text search)"
        return details


@dataclass(frozen=True)
class QueuePage:
    signatures: list[Signature]
    next_cursor: str | None
    total: int  # at most COUNT_UP_TO + 1

    @property
    def total_is_exact(self) -> bool:
        return self.total <= COUNT_UP_TO


def visible_letters(
    user: StaffUser, permission: Permission = Permission.VIEW_SIGNATURES
) -> list[Letter]:
    """The letters whose signatures ``user`` may see (or act on), for the letter filter."""
    return list(db.session.scalars(letters_for(user, permission).order_by(Letter.slug)))


def active_reasons() -> list[str]:
    """The rejection reasons a moderator picks from, in the admins' order."""
    return list(
        db.session.scalars(
            select(ModerationReason.text)
            .where(ModerationReason.is_active.is_(True))
            .order_by(ModerationReason.position, ModerationReason.id)
        )
    )


def search_clause(query: str) -> ColumnElement[bool] | None:
    """``q``: ``ip:<prefix>`` (address hash), ``@domain`` or ``domain:x`` (exact), else text.

    Text matches the name, the organisation and the email, ignoring case, anywhere in them.
    """
    query = query.strip()
    if not query:
        return None
    lowered = query.lower()
    if lowered.startswith("ip:"):
        prefix = lowered[3:].strip()
        return Signature.ip_hash.startswith(prefix, autoescape=True) if prefix else None
    if lowered.startswith("domain:") or lowered.startswith("@"):
        domain = lowered.split(":", 1)[1] if lowered.startswith("domain:") else lowered[1:]
        return Signature.email_domain == domain.strip()
    return or_(
        Signature.name.icontains(query, autoescape=True),
        Signature.organisation.icontains(query, autoescape=True),
        Signature.email.icontains(query, autoescape=True),
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def matching_clauses(
    user: StaffUser, permission: Permission, filters: QueueFilter
) -> list[ColumnElement[bool]]:
    """The WHERE of the queue: the user's letters, then each filter that is set."""
    clauses: list[ColumnElement[bool]] = []
    scope = letter_scope(user, permission)
    if scope is not None:
        clauses.append(Signature.letter_id.in_(scope))
    if filters.letter_id is not None:
        clauses.append(Signature.letter_id == filters.letter_id)
    if filters.status:
        clauses.append(Signature.status == filters.status)
    if filters.kind:
        clauses.append(Signature.kind == filters.kind)
    if filters.country:
        clauses.append(Signature.country == filters.country.upper())
    if filters.created_from is not None:
        clauses.append(Signature.created_at >= _day_start(filters.created_from))
    if filters.created_to is not None and filters.created_to < date.max:  # the last day: no bound
        clauses.append(Signature.created_at < _day_start(filters.created_to + timedelta(days=1)))
    if filters.hidden:
        clauses.append(Signature.is_hidden.is_(filters.hidden == YesNo.YES))
    if filters.verified:
        clauses.append(Signature.kind == SignatureKind.ORGANISATION)
        verified = filters.verified == YesNo.YES
        clauses.append(
            Signature.verified_at.is_not(None) if verified else Signature.verified_at.is_(None)
        )
    searched = search_clause(filters.q)
    if searched is not None:
        clauses.append(searched)
    return clauses


COUNT_UP_TO = 10_000  # the queue's count says "more than this" beyond it


def count_matching(
    user: StaffUser, permission: Permission, filters: QueueFilter, up_to: int | None = None
) -> int:
    """How many signatures match; with ``up_to``, counting stops after ``up_to + 1`` of them.

    The queue only needs "more than 10,000" on a big letter: an exact count of a million rows
    would cost every page view a scan of them all.
    """
    matching = select(Signature.id).where(*matching_clauses(user, permission, filters))
    if up_to is not None:
        matching = matching.limit(up_to + 1)
    return db.session.scalar(select(func.count()).select_from(matching.subquery())) or 0


# --- keyset pages ---------------------------------------------------------------------------


def _sort_key(sort: str) -> tuple[Any, bool]:
    """The column the queue sorts on (the id breaks ties), and whether it ascends."""
    if sort == Sort.NAME:
        return Signature.name, True
    return Signature.created_at, sort == Sort.OLDEST


def _waits() -> ColumnElement[int]:
    """0 for a signature awaiting approval, 1 for any other: the decision order's first key."""
    return case((Signature.status == SignatureStatus.AWAITING_APPROVAL, 0), else_=1)


def encode_cursor(signature: Signature, sort: str) -> str:
    value = signature.name if sort == Sort.NAME else signature.created_at.isoformat()
    if sort == Sort.DECISION:
        waits = 0 if signature.status == SignatureStatus.AWAITING_APPROVAL else 1
        value = f"{waits}|{value}"
    raw = json.dumps([value, signature.id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, sort: str) -> tuple[Any, int] | None:
    """Read a cursor from a URL; anything malformed means "from the start", never an error.

    Malformed includes what the database would refuse: a name holding NUL (PostgreSQL) or a lone
    surrogate (no UTF-8 for it), a time that leaves the calendar once moved to UTC.
    The decision order's value is ``(waits, time)``.
    """
    if not cursor or len(cursor) > 1000:
        return None
    try:
        value, ident = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(ident, int) or not 0 < ident <= MAX_ID or not isinstance(value, str):
            return None
        if "\x00" in value:
            return None
        value.encode()  # a lone surrogate raises UnicodeEncodeError
        if sort == Sort.NAME:
            return value, ident
        waits = None
        if sort == Sort.DECISION:
            head, _, value = value.partition("|")
            if head not in ("0", "1"):
                return None
            waits = int(head)
        stamp = datetime.fromisoformat(value)
        if stamp.tzinfo is None:
            return None
        stamp = stamp.astimezone(UTC)
        return ((waits, stamp), ident) if waits is not None else (stamp, ident)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeError):
        return None


def _ordered(statement: Select[Any], sort: str, after: tuple[Any, int] | None) -> Select[Any]:
    if sort == Sort.DECISION:
        waits = _waits()
        if after is not None:
            (after_waits, after_time), after_id = after
            later = tuple_(Signature.created_at, Signature.id) < (after_time, after_id)
            statement = statement.where(or_(waits > after_waits, and_(waits == after_waits, later)))
        return statement.order_by(waits, Signature.created_at.desc(), Signature.id.desc())
    column, ascending = _sort_key(sort)
    if after is not None:
        key = tuple_(column, Signature.id)
        statement = statement.where(key > after if ascending else key < after)
    if ascending:
        return statement.order_by(column.asc(), Signature.id.asc())
    return statement.order_by(column.desc(), Signature.id.desc())


def waiting_by_letter(letter_ids: list[int]) -> dict[int, int]:
    """How many signatures await approval on each of these letters (the staff home shows it)."""
    if not letter_ids:
        return {}
    rows = db.session.execute(
        select(Signature.letter_id, func.count())
        .where(
            Signature.letter_id.in_(letter_ids),
            Signature.status == SignatureStatus.AWAITING_APPROVAL,
        )
        .group_by(Signature.letter_id)
    )
    return {letter_id: count for letter_id, count in rows}


def queue_page(
    user: StaffUser, filters: QueueFilter, cursor: str | None = None, size: int = PAGE_SIZE
) -> QueuePage:
    """One page of the queue after ``cursor``, the cursor of the next page, and the total."""
    clauses = matching_clauses(user, Permission.VIEW_SIGNATURES, filters)
    after = decode_cursor(cursor, filters.sort)
    statement = _ordered(select(Signature).where(*clauses), filters.sort, after).limit(size + 1)
    rows = list(db.session.scalars(statement))
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor(rows[-1], filters.sort) if more and rows else None
    total = count_matching(user, Permission.VIEW_SIGNATURES, filters, up_to=COUNT_UP_TO)
    return QueuePage(rows, next_cursor, total)


def first_matching(
    user: StaffUser, permission: Permission, filters: QueueFilter, size: int
) -> list[Signature]:
    """The first rows of a filter in the queue's order (the bulk preview shows them)."""
    clauses = matching_clauses(user, permission, filters)
    statement = _ordered(select(Signature).where(*clauses), filters.sort, None).limit(size)
    return list(db.session.scalars(statement))


def selected_signatures(user: StaffUser, ids: list[int], limit: int = 200) -> list[Signature]:
    """The chosen signatures ``user`` may act on, newest first (a confirmation page lists them)."""
    statement = select(Signature).where(Signature.id.in_(sorted(set(ids))[:limit]))
    scope = letter_scope(user, Permission.MODERATE)
    if scope is not None:
        statement = statement.where(Signature.letter_id.in_(scope))
    return list(
        db.session.scalars(statement.order_by(Signature.created_at.desc(), Signature.id.desc()))
    )


# --- what a row shows -----------------------------------------------------------------------


def _bare_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def website_host(website: str) -> str:
    """The host of a website as signers type it (with or without ``https://``), lower-case."""
    website = website.strip()
    if not website:
        return ""
    try:
        parts = urlsplit(website if "://" in website else f"http://{website}")
        return _bare_host(parts.hostname or "")
    except ValueError:
        return ""


def likely_match(signature: Signature) -> bool:
    """An organisation whose email domain is its website's host: a hint, not a verification."""
    if signature.kind != SignatureKind.ORGANISATION or not signature.email_domain:
        return False
    return _bare_host(signature.email_domain) == website_host(signature.website)
