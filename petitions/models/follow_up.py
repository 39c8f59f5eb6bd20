"""Follow-up: the organisers' updates to signers who asked to hear, and who each was sent to.

An update is written once per language; :class:`UpdateDelivery` holds one row per (update,
signature), made by a unique constraint, so however often the job that queues the emails is
killed, resumed or started twice, nobody gets the same update twice and nobody is skipped.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, enum_check, enum_type, utcnow


class UpdateKind(enum.StrEnum):
    UPDATE = "update"  # written by an organiser
    RESPONSE = "response"  # the addressees' response, mailed on


class LetterUpdate(Base):
    __tablename__ = "letter_updates"
    __table_args__ = (CheckConstraint(enum_check("kind", UpdateKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    kind: Mapped[UpdateKind] = mapped_column(enum_type(UpdateKind, 16), default=UpdateKind.UPDATE)
    # {"en": "…", "sq": "…"}: each signer gets their language, else the letter's main one.
    subjects: Mapped[dict[str, str]] = mapped_column(JSON)
    bodies: Mapped[dict[str, str]] = mapped_column(JSON)  # Markdown, as written
    bodies_html: Mapped[dict[str, str]] = mapped_column(JSON)  # sanitised, rendered once
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # No foreign key: the audit trail says who; an account may go.
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    # How many opted-in counted signatures there were when it was sent.
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # Set when every recipient has its email in the outbox; until then the job resumes it.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A response: who responded (as it should be shown) and on which day.
    responder: Mapped[str] = mapped_column(String(300), default="")
    responded_on: Mapped[date | None] = mapped_column(Date)
    # The compose form's one-time key: a double click on "send" makes one update, not two.
    request_key: Mapped[str | None] = mapped_column(String(32), unique=True)


class UpdateDelivery(Base):
    """One update's email to one signature: exactly one, whatever happens to the job. Its
    outbox email is written in the same transaction and carries the update's id."""

    __tablename__ = "update_deliveries"
    __table_args__ = (UniqueConstraint("update_id", "signature_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("letter_updates.id", ondelete="CASCADE"))
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailRateWindow(Base):
    """The shared count of emails sent in one window of time (``MAIL_MAX_PER_SECOND`` without
    Redis): every worker adds to the same row."""

    __tablename__ = "mail_rate_windows"

    window: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sent: Mapped[int] = mapped_column(Integer, default=0)
