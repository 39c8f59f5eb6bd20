"""Signatures: one per letter and canonical email, whatever the race (a unique constraint)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, enum_check, enum_type, utcnow
from petitions.models.letters import Letter


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


LISTED_SIGNATURES = "status = 'confirmed' AND is_public AND NOT is_hidden"


class Signature(Base):
    __tablename__ = "signatures"
    __table_args__ = (
        # One signature per letter per (canonical) email, whatever races happen above.
        UniqueConstraint("letter_id", "email_canonical"),
        CheckConstraint(enum_check("status", SignatureStatus), name="status"),
        CheckConstraint(enum_check("kind", SignatureKind), name="kind"),
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
        # Everything of one address, on every letter: erasure and access requests.
        Index("ix_signatures_email_canonical", "email_canonical"),
        # The all-letters queue, newest or oldest first.
        Index("ix_signatures_created", "created_at", "id"),
        # The staff dashboard: confirmations per day, and the (few) hidden signatures.
        Index("ix_signatures_letter_confirmed", "letter_id", "confirmed_at"),
        # An update's recipients, walked in id order batch after batch.
        Index("ix_signatures_update_recipients", "letter_id", "updates", "status", "id"),
        # The dashboard's signatures per referral source.
        Index("ix_signatures_letter_source", "letter_id", "source"),
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
    kind: Mapped[SignatureKind] = mapped_column(enum_type(SignatureKind, 16))
    status: Mapped[SignatureStatus] = mapped_column(
        enum_type(SignatureStatus, 20), default=SignatureStatus.PENDING
    )
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
    # The hash of the public-listing sentence the signer ticked (in their language), or "" when
    # they did not ask to be listed; given at ``consented_at`` (services/consents.py).
    public_consent_hash: Mapped[str] = mapped_column(String(64), server_default="")
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    # Bound into confirmation links; replaced when a new email goes out, so old links stop working.
    confirm_nonce: Mapped[str] = mapped_column(String(32))
    # Bound into withdrawal links; stable, so every email's withdrawal link keeps working.
    withdraw_nonce: Mapped[str] = mapped_column(String(32))
    # Emails the signing form made: the confirmation, reminders, offers of other details. Capped
    # (CONFIRM_RESENDS), as anyone who knows the address can make them.
    confirm_emails_sent: Mapped[int] = mapped_column(Integer, default=0)
    # When the owner last asked, from an expired link, for a fresh one: not counted in the cap
    # above, which strangers can use up, but at most one per quiet period.
    renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
    # Follow-up: whether the signer asked to hear about this letter, when, and the sentence
    # they saw (hashed per language); the one reminder sent while it was pending.
    updates: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    updates_text_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    updates_chosen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The referral code (``?ref=``) the signing form carried; "" when none.
    source: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # When the personal data went (retention or an erasure request): name, address, city …
    # are blank; kind, country, status and dates stay, so every count stays (services/erasure.py).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    letter: Mapped[Letter] = relationship()

    @property
    def is_counted(self) -> bool:
        return self.status == SignatureStatus.CONFIRMED

    @property
    def is_listed(self) -> bool:
        return self.is_counted and self.is_public and not self.is_hidden
