"""The public list of signatories as numbered pages a visitor can jump through, and its search.

"Is my name there?" is answered by a search over what the list shows and nothing else: the
public name of an individual, the name of an organisation (never the person who signed for it,
never an email, never a hidden or private signature).

Pages are numbered so a visitor can jump, but walking them stays cheap: "next" and "previous"
carry a keyset cursor (no OFFSET scan, whatever the depth), the last page reads the list from its
other end, and only a jump to a page number in the middle uses an offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, TextClause, func, or_, select, text, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.signatures import LISTED_SIGNATURES, Signature, SignatureKind
from petitions.services.letters import _cursor, _parse_cursor

MAX_SEARCH = 100


@dataclass(frozen=True)
class NumberedPage:
    signatures: list[Signature]
    number: int  # 1-based
    pages: int  # at least 1
    total: int  # listed signatories matching (the search, if any)
    next_cursor: str | None  # the last row shown: "next" continues after it
    prev_cursor: str | None  # the first row shown: "previous" ends before it

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _shown_name(kind: SignatureKind) -> InstrumentedAttribute[str]:
    """The column the public list shows as the signatory's name."""
    return Signature.organisation if kind is SignatureKind.ORGANISATION else Signature.name


def _listed(
    letter: Letter, kind: SignatureKind, search: str
) -> list[ColumnElement[Any] | TextClause]:
    terms: list[ColumnElement[Any] | TextClause] = [
        Signature.letter_id == letter.id,
        Signature.kind == kind,
        text(LISTED_SIGNATURES),
    ]
    words = search.split()[:5]
    for word in words:
        pattern = f"%{_escape_like(word.lower())}%"
        name = _shown_name(kind)
        # lower() folds ASCII everywhere; PostgreSQL's ILIKE also folds ë, ç and the rest.
        if db.session.get_bind().dialect.name == "postgresql":
            terms.append(name.ilike(pattern, escape="\\"))
        else:
            exact = f"%{_escape_like(word)}%"  # lower() leaves Ç as it is: try the word as typed
            terms.append(
                or_(func.lower(name).like(pattern, escape="\\"), name.like(exact, escape="\\"))
            )
    return terms


def listed_count(letter: Letter, kind: SignatureKind, search: str = "") -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(Signature).where(*_listed(letter, kind, search))
        )
        or 0
    )


def _newest_first(query: Select[Signature]) -> Select[Signature]:
    return query.order_by(Signature.confirmed_at.desc(), Signature.id.desc())


def signatory_page(
    letter: Letter,
    kind: SignatureKind,
    size: int,
    number: int = 1,
    after: str | None = None,
    before: str | None = None,
    search: str = "",
) -> NumberedPage:
    """Page ``number`` of the listed signatories, newest first.

    ``after`` (the cursor of the previous page's last row) or ``before`` (of the next page's
    first row) make it a keyset read; without them the page is found by its number.
    """
    search = " ".join(search.split())[:MAX_SEARCH]
    total = listed_count(letter, kind, search)
    pages = max(1, math.ceil(total / size))
    number = min(max(1, number), pages)
    base = select(Signature).where(*_listed(letter, kind, search))
    after_key, before_key = _parse_cursor(after), _parse_cursor(before)
    rows: list[Signature]
    if after_key is not None:
        rows = list(db.session.scalars(_newest_first(_older_than(base, after_key)).limit(size)))
    elif before_key is not None:
        # The rows just newer than the cursor, read upwards, then put back in order.
        newer = base.where(tuple_(Signature.confirmed_at, Signature.id) > before_key)
        query = newer.order_by(Signature.confirmed_at.asc(), Signature.id.asc()).limit(size)
        rows = list(reversed(list(db.session.scalars(query))))
    elif number == pages and pages > 1:
        # The last page from the list's other end: cheap however long the list is.
        remainder = total - (pages - 1) * size
        query = base.order_by(Signature.confirmed_at.asc(), Signature.id.asc()).limit(remainder)
        rows = list(reversed(list(db.session.scalars(query))))
    else:
        offset = (number - 1) * size
        rows = list(db.session.scalars(_newest_first(base).offset(offset).limit(size)))
    return NumberedPage(
        signatures=rows,
        number=number,
        pages=pages,
        total=total,
        next_cursor=_cursor(rows[-1]) if rows else None,
        prev_cursor=_cursor(rows[0]) if rows else None,
    )


def _older_than(query: Select[Signature], key: tuple[datetime, int]) -> Select[Signature]:
    return query.where(tuple_(Signature.confirmed_at, Signature.id) < key)
