"""Details someone asked a pending signature to take, kept aside until its owner chooses them.

Whoever submits the signing form cannot prove they own the address, so a resubmission with other
details never touches the signature: the details wait here, and the owner is mailed a link that
applies them. One row per signature and set of details; the rows go when the signature is
confirmed or withdrawn (or deleted, by the foreign key).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, utcnow


class SignatureChange(Base):
    __tablename__ = "signature_changes"
    __table_args__ = (
        # The same details asked for twice are one offer (and its index finds a signature's).
        UniqueConstraint("signature_id", "details_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signatures.id", ondelete="CASCADE"))
    # What the form held, as the signature's columns name it (kind, name, … text_hash).
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    # SHA-256 of the details; the emailed link carries it, so a link applies only these.
    details_hash: Mapped[str] = mapped_column(String(64))
    # The consent given with these details, as for a signature.
    consent_text_hash: Mapped[str] = mapped_column(String(64))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the owner was last mailed about them: a double click sends one email.
    mailed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
