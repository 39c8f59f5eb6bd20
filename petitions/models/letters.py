"""Letters, their texts per language and their addressees."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, enum_check, enum_type, utcnow


class LetterStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    DELIVERED = "delivered"


class Moderation(enum.StrEnum):
    NONE = "none"  # confirmed signatures count at once
    POST = "post"  # count at once; staff may remove them later
    PRE = "pre"  # wait for a moderator's approval


class Letter(Base):
    __tablename__ = "letters"
    __table_args__ = (
        CheckConstraint(enum_check("status", LetterStatus), name="status"),
        CheckConstraint(enum_check("moderation", Moderation), name="moderation"),
        CheckConstraint("count_individuals >= 0 AND count_organisations >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    main_language: Mapped[str] = mapped_column(String(8))
    status: Mapped[LetterStatus] = mapped_column(
        enum_type(LetterStatus, 16), default=LetterStatus.DRAFT
    )
    moderation: Mapped[Moderation] = mapped_column(
        enum_type(Moderation, 8), default=Moderation.NONE
    )
    organisations_need_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    goal: Mapped[int | None] = mapped_column(Integer)
    # Shown as the next milestone once the goal is reached (else a round number is).
    stretch_goal: Mapped[int | None] = mapped_column(Integer)
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
    # Privacy: when the letter was last closed (by hand, by its deadline or the command line),
    # its own retention period (None: the site's RETENTION_DAYS), and when the retention run last
    # finished anonymising its signatures (services/retention.py).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
        status = self.status
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


class LetterText(Base):
    """One language's text of a letter. Editing makes a new row; signatures keep the old one."""

    __tablename__ = "letter_texts"
    __table_args__ = (UniqueConstraint("letter_id", "language", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)  # Markdown, as staff wrote it
    # The body as sanitised HTML, rendered once when the text is saved
    # (services/letter_markdown.py): the page and the PDF use it, never the Markdown.
    body_html: Mapped[str] = mapped_column(Text, server_default="")
    # SHA-256 of the title and body: what a signer read and agreed to.
    text_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    letter: Mapped[Letter] = relationship(back_populates="texts")


class Addressee(Base):
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
