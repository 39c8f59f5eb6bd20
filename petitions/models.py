"""Typed models. Invariants live here as constraints, so no race in the code can break them."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petitions.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(db.TypeDecorator):  # type: ignore[name-defined]
    """Timezone-aware UTC datetimes on every database (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use petitions.models.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class LetterStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    DELIVERED = "delivered"


class Moderation(enum.StrEnum):
    NONE = "none"  # confirmed signatures count at once
    POST = "post"  # count at once; staff may remove them later
    PRE = "pre"  # wait for a moderator's approval


class SignatureKind(enum.StrEnum):
    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"


class SignatureStatus(enum.StrEnum):
    """One status, so that "is it counted?" is one comparison and one partial index.

    ``pending``: the email is not confirmed yet. ``awaiting_approval``: confirmed, waiting for a
    moderator (pre-moderated letters). ``confirmed``: counted. The rest do not count.
    """

    PENDING = "pending"
    AWAITING_APPROVAL = "awaiting_approval"
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"
    SPAM = "spam"


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


def _enum_check(column: str, values: type[enum.StrEnum]) -> str:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"


class Letter(db.Model):  # type: ignore[name-defined]
    __tablename__ = "letters"
    __table_args__ = (
        CheckConstraint(_enum_check("status", LetterStatus), name="status"),
        CheckConstraint(_enum_check("moderation", Moderation), name="moderation"),
        CheckConstraint("count_individuals >= 0 AND count_organisations >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    main_language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=LetterStatus.DRAFT)
    moderation: Mapped[str] = mapped_column(String(8), default=Moderation.NONE)
    organisations_need_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    goal: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Close by itself at closes_at (else the deadline is only shown).
    auto_close: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stored counters of counted (status "confirmed") signatures, changed in the same
    # transaction as each status change; `flask counts check` recounts and repairs them.
    count_individuals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    count_organisations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Goes up whenever what the public pages show of this letter changes (counts, the list of
    # signatories, texts); rendered pages are cached under it.
    public_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    texts: Mapped[list[LetterText]] = relationship(
        back_populates="letter", order_by="LetterText.id", cascade="all, delete-orphan"
    )
    addressees: Mapped[list[Addressee]] = relationship(
        back_populates="letter", order_by="Addressee.position", cascade="all, delete-orphan"
    )

    @property
    def count_total(self) -> int:
        return self.count_individuals + self.count_organisations

    def effective_status(self, now: datetime | None = None) -> LetterStatus:
        """The status as a visitor sees it: an open letter past its deadline is closed."""
        status = LetterStatus(self.status)
        now = now or utcnow()
        if status is LetterStatus.OPEN:
            if self.opens_at is not None and now < self.opens_at:
                return LetterStatus.DRAFT
            if self.auto_close and self.closes_at is not None and now >= self.closes_at:
                return LetterStatus.CLOSED
        return status

    def is_open(self, now: datetime | None = None) -> bool:
        return self.effective_status(now) is LetterStatus.OPEN

    def deadline_passed(self, now: datetime | None = None) -> bool:
        return self.closes_at is not None and (now or utcnow()) >= self.closes_at

    @property
    def languages(self) -> list[str]:
        seen = {t.language for t in self.texts if t.superseded_at is None}
        return [self.main_language, *sorted(seen - {self.main_language})]

    def text_in(self, language: str) -> LetterText:
        """The current text in ``language``, falling back to the letter's main language."""
        current = {t.language: t for t in self.texts if t.superseded_at is None}
        return current.get(language) or current[self.main_language]


class LetterText(db.Model):  # type: ignore[name-defined]
    """One language's text of a letter. Editing makes a new row; signatures keep the old one."""

    __tablename__ = "letter_texts"
    __table_args__ = (UniqueConstraint("letter_id", "language", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)  # Markdown, rendered to sanitised HTML
    # SHA-256 of the title and body: what a signer read and agreed to.
    text_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    letter: Mapped[Letter] = relationship(back_populates="texts")


class Addressee(db.Model):  # type: ignore[name-defined]
    __tablename__ = "addressees"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    # {"sq": {"name": ..., "title": ...}}: the same addressee in the letter's other languages.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)

    letter: Mapped[Letter] = relationship(back_populates="addressees")

    def in_language(self, language: str) -> tuple[str, str]:
        found = (self.translations or {}).get(language) or {}
        return found.get("name") or self.name, found.get("title") or self.title


# Signatures on the public list. Queries use this very text, because SQLite (and, for
# "IS TRUE", PostgreSQL) only use a partial index when the query's terms match its own.
LISTED_SIGNATURES = "status = 'confirmed' AND is_public AND NOT is_hidden"


class Signature(db.Model):  # type: ignore[name-defined]
    __tablename__ = "signatures"
    __table_args__ = (
        # One signature per letter per (canonical) email, whatever races happen above.
        UniqueConstraint("letter_id", "email_canonical"),
        CheckConstraint(_enum_check("status", SignatureStatus), name="status"),
        CheckConstraint(_enum_check("kind", SignatureKind), name="kind"),
        # The public list: newest counted, public, visible signatures of one kind.
        Index(
            "ix_signatures_public_list",
            "letter_id",
            "kind",
            "confirmed_at",
            "id",
            postgresql_where=text(LISTED_SIGNATURES),
            sqlite_where=text(LISTED_SIGNATURES),
        ),
        Index("ix_signatures_letter_status", "letter_id", "status", "kind"),
        # The moderation queue's keyset pages and the signals of the last hour.
        Index("ix_signatures_letter_created", "letter_id", "created_at", "id"),
        Index("ix_signatures_letter_domain", "letter_id", "email_domain"),
        # The all-letters queue, newest or oldest first.
        Index("ix_signatures_created", "created_at", "id"),
        # The staff dashboard: confirmations per day, and the (few) hidden signatures.
        Index("ix_signatures_letter_confirmed", "letter_id", "confirmed_at"),
        Index(
            "ix_signatures_letter_hidden",
            "letter_id",
            "kind",
            postgresql_where=text("is_hidden"),
            sqlite_where=text("is_hidden"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default=SignatureStatus.PENDING)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    email_canonical: Mapped[str] = mapped_column(String(320))
    # The part after "@", lower-cased: the queue's filter and the staff's signals group by it.
    email_domain: Mapped[str] = mapped_column(String(255), default="", server_default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str] = mapped_column(String(100), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the signer read and agreed to.
    language: Mapped[str] = mapped_column(String(8))
    text_id: Mapped[int | None] = mapped_column(ForeignKey("letter_texts.id"))
    text_hash: Mapped[str] = mapped_column(String(64))
    consent_text_hash: Mapped[str] = mapped_column(String(64))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    # Bound into confirmation links; replaced when a new email goes out, so old links stop working.
    confirm_nonce: Mapped[str] = mapped_column(String(32))
    # Bound into withdrawal links; stable, so every email's withdrawal link keeps working.
    withdraw_nonce: Mapped[str] = mapped_column(String(32))
    confirm_emails_sent: Mapped[int] = mapped_column(Integer, default=0)
    notices_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Staff decisions: the last one, and whether (and when) an approval let it count.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # No foreign key (the audit trail says who): adding one would make SQLite copy the table.
    moderated_by_id: Mapped[int | None] = mapped_column(Integer)
    moderation_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # An organisation staff have checked: a badge on the public list.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    letter: Mapped[Letter] = relationship()

    @property
    def is_counted(self) -> bool:
        return self.status == SignatureStatus.CONFIRMED

    @property
    def is_listed(self) -> bool:
        return self.is_counted and self.is_public and not self.is_hidden


class OutboxEmail(db.Model):  # type: ignore[name-defined]
    """An email written in the same transaction as what caused it, delivered after the commit."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        CheckConstraint(_enum_check("status", OutboxStatus), name="status"),
        Index("ix_outbox_emails_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(40))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # While "sending": until when the claim holds; a worker killed mid-send loses it then.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The claiming round's token: only that round may record the outcome.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
