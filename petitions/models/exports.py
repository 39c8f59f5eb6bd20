"""Delivery PDFs and deliveries: what was exported, what was handed over, and how to check it.

A PDF export is a row from the moment it is asked for (so a second click finds the first job)
until long after: the file itself is kept in the database in chunks, so any web worker on any
machine can serve it and a delivery can point at exactly the bytes that were handed over.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, enum_check, enum_type, utcnow
from petitions.models.letters import Letter


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class DeliveryMethod(enum.StrEnum):
    EMAIL = "email"
    IN_PERSON = "in_person"
    POST = "post"


# Exports still being made: at most one per letter and set of options (the second click's row
# would break the unique index below, so it finds the first one instead).
ACTIVE_EXPORTS = "status IN ('queued', 'running')"


class PdfExport(Base):
    __tablename__ = "pdf_exports"
    __table_args__ = (
        CheckConstraint(enum_check("status", ExportStatus), name="status"),
        Index(
            "ux_pdf_exports_active",
            "letter_id",
            "options_key",
            unique=True,
            postgresql_where=text(ACTIVE_EXPORTS),
            sqlite_where=text(ACTIVE_EXPORTS),
        ),
        Index("ix_pdf_exports_letter", "letter_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public verification page's address: /v/<code>. Random, so exports cannot be listed.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    options_key: Mapped[str] = mapped_column(String(64))
    verify_url: Mapped[str] = mapped_column(String(300))
    status: Mapped[ExportStatus] = mapped_column(
        enum_type(ExportStatus, 16), default=ExportStatus.QUEUED
    )
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written by the job as it goes: a "running" export whose heartbeat stopped was killed.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    count_organisations: Mapped[int] = mapped_column(Integer, default=0)
    count_individuals: Mapped[int] = mapped_column(Integer, default=0)
    # SHA-256 of the canonical list (printed in the PDF), and of the file's bytes.
    list_digest: Mapped[str] = mapped_column(String(64), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(300), default="")
    # The "ready" email speaks the asker's language and links to the site as they reached it
    # (``scheme://host``; empty: PUBLIC_URL or the default, as any emailed link).
    notify_language: Mapped[str] = mapped_column(String(16), default="", server_default="")
    notify_base_url: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # When the stored file and its name checks were deleted under the retention policy; the
    # digests and counts stay, so the verification page still answers for the list.
    list_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    letter: Mapped[Letter] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="export", order_by="Delivery.delivered_on"
    )

    @property
    def count_total(self) -> int:
        return self.count_organisations + self.count_individuals

    @property
    def is_active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)


class PdfExportChunk(Base):
    """A slice of a finished PDF's bytes: served one after the other, never all in memory."""

    __tablename__ = "pdf_export_chunks"

    export_id: Mapped[int] = mapped_column(
        ForeignKey("pdf_exports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ListedEntry(Base):
    """A keyed hash of (name, email) of one signatory in one export.

    It answers "was I on the list handed over?" for someone who knows both, and nothing else:
    without the server's key the hashes reveal no one.
    """

    __tablename__ = "pdf_export_entries"

    export_id: Mapped[int] = mapped_column(
        ForeignKey("pdf_exports.id", ondelete="CASCADE"), primary_key=True
    )
    entry_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class Delivery(Base):
    """A signatory list handed to its addressees: to whom, when, how, and which PDF."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(enum_check("method", DeliveryMethod), name="method"),
        Index("ix_deliveries_letter", "letter_id", "delivered_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    export_id: Mapped[int] = mapped_column(ForeignKey("pdf_exports.id", ondelete="RESTRICT"))
    recipient: Mapped[str] = mapped_column(String(300))
    delivered_on: Mapped[date] = mapped_column(Date)
    method: Mapped[DeliveryMethod] = mapped_column(enum_type(DeliveryMethod, 16))
    note: Mapped[str] = mapped_column(Text, default="")
    # Collection went on after this delivery (the letter stayed open).
    collection_continues: Mapped[bool] = mapped_column(Boolean, default=False)
    # The letter's counted signatures when the delivery was recorded (the PDF may hold fewer).
    signatures_at_delivery: Mapped[int] = mapped_column(Integer, default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    letter: Mapped[Letter] = relationship()
    export: Mapped[PdfExport] = relationship(back_populates="deliveries")
