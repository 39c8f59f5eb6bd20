"""The outbox: an email is a row written in the same transaction as what it announces."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, enum_check, enum_type, utcnow


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxEmail(Base):
    """An email written in the same transaction as what caused it, delivered after the commit."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        CheckConstraint(enum_check("status", OutboxStatus), name="status"),
        Index("ix_outbox_emails_due", "status", "next_attempt_at"),
        # A signature's emails: erasure, access and retention find them by it.
        Index("ix_outbox_emails_signature", "signature_id"),
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
    status: Mapped[OutboxStatus] = mapped_column(
        enum_type(OutboxStatus, 16), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # While "sending": until when the claim holds; a worker killed mid-send loses it then.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The claiming round's token: only that round may record the outcome.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    # The update this email belongs to, if any (its progress: queued, sent, failed). No foreign
    # key: adding one would make SQLite copy this table.
    update_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Extra headers of this email (List-Unsubscribe, List-Unsubscribe-Post), name -> value.
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
