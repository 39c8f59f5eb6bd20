"""Reading letters for the public: lists, one letter, its public signatories, deadlines."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.orm import joinedload, selectinload

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import rowcount
from petitions.models.letters import Letter, LetterStatus, LetterText
from petitions.models.signatures import LISTED_SIGNATURES, Signature, SignatureKind

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def text_hash(title: str, body: str) -> str:
    """What a signer agreed to: the title and body, hashed."""
    return hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()


def published_letters() -> list[Letter]:
    """Every letter that is not a draft: open ones first, then the newest."""
    letters = db.session.scalars(
        select(Letter)
        .options(
            selectinload(Letter.texts).defer(LetterText.body_html),
            selectinload(Letter.addressees),
        )
        .where(Letter.status != LetterStatus.DRAFT)
        .order_by(Letter.id.desc())
    ).all()
    now = utcnow()
    visible = [letter for letter in letters if letter.effective_status(now) != LetterStatus.DRAFT]
    return sorted(visible, key=lambda letter: not letter.is_open(now))


def published_letter(slug: str) -> Letter | None:
    """One query: a letter has a handful of texts and addressees, so joining them is cheap.

    The texts' bodies are left out: a cached page does not need them, a render loads the stored
    HTML of its one (the Markdown source is not needed at all).
    """
    query = (
        select(Letter)
        .options(
            joinedload(Letter.texts).defer(LetterText.body).defer(LetterText.body_html),
            joinedload(Letter.addressees),
        )
        .where(Letter.slug == slug)
    )
    return _if_published(db.session.scalars(query).unique().one_or_none())


def letter_for_signing(slug: str) -> Letter | None:
    """The letter with only what signing reads of its texts (their bodies stay in the database).

    The signing path runs this once per signature, so it loads two short rows, not the letter's
    full texts and addressees.
    """
    query = (
        select(Letter)
        .options(
            joinedload(Letter.texts).load_only(
                LetterText.language,
                LetterText.title,
                LetterText.text_hash,
                LetterText.superseded_at,
            )
        )
        .where(Letter.slug == slug)
    )
    return _if_published(db.session.scalars(query).unique().one_or_none())


def text_changed_on(letter: Letter, text: LetterText) -> datetime | None:
    """When the shown text last replaced an earlier version of itself (earlier signers read
    that one), or None if it is the first."""
    replaced = [
        t.superseded_at
        for t in letter.texts
        if t.language == text.language and t.superseded_at is not None
    ]
    return max(replaced, default=None)


def _if_published(letter: Letter | None) -> Letter | None:
    """Drafts, and letters whose opening date has not come, are not shown to the public."""
    if letter is None or letter.effective_status() is LetterStatus.DRAFT:
        return None
    return letter


@dataclass(frozen=True)
class SignatoryPage:
    signatures: list[Signature]
    next_cursor: str | None


def _cursor(signature: Signature) -> str:
    if signature.confirmed_at is None:  # only confirmed signatures are listed
        raise ValueError(f"signature {signature.id} is listed but not confirmed")
    return f"{signature.confirmed_at.timestamp():.6f}_{signature.id}"


def _parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """Read a cursor from a URL; anything malformed means "from the start", never an error."""
    if not cursor:
        return None
    stamp, _, ident = cursor.partition("_")
    if not (ident.isascii() and ident.isdigit()) or int(ident) > MAX_ID:
        return None
    try:
        return datetime.fromtimestamp(float(stamp), UTC), int(ident)
    except (ValueError, OverflowError, OSError):
        return None


def public_signatories(
    letter: Letter, kind: SignatureKind, limit: int, cursor: str | None = None
) -> SignatoryPage:
    """Newest public signatories of one kind, a page at a time (keyset, no OFFSET scans)."""
    query = (
        select(Signature)
        .where(
            Signature.letter_id == letter.id,
            Signature.kind == kind,
            text(LISTED_SIGNATURES),
        )
        .order_by(Signature.confirmed_at.desc(), Signature.id.desc())
        .limit(limit + 1)
    )
    after = _parse_cursor(cursor)
    if after is not None:
        query = query.where(tuple_(Signature.confirmed_at, Signature.id) < after)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return SignatoryPage(rows, _cursor(rows[-1]) if more and rows else None)


def close_expired_letters() -> int:
    """Write "closed" on open letters past their deadline (pages already show them closed).

    Runs in every worker's delivery loop, so it looks before it writes.
    """
    expired = (
        Letter.status == LetterStatus.OPEN,
        Letter.auto_close.is_(True),
        Letter.closes_at.is_not(None),
        Letter.closes_at <= utcnow(),
    )
    if db.session.scalar(select(Letter.id).where(*expired).limit(1)) is None:
        return 0
    result = db.session.execute(
        update(Letter)
        .where(*expired)
        .values(status=LetterStatus.CLOSED, closed_at=Letter.closes_at)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
