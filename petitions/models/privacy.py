"""Requests for an erasure or access link: when, for which purpose, for which (hashed) address.

Every valid request writes one row, whether or not the address signed anything: the answer then
costs the same either way (a row and a commit), and an address gets at most one link per quiet
period whoever asks. The address is kept only as a keyed hash; rows go after a day (retention).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, utcnow


class PrivacyRequest(Base):
    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_address", "address_hash", "purpose", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    address_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Whether a link was mailed (only the retention run and the quiet period read it).
    mailed: Mapped[bool] = mapped_column(default=False)
