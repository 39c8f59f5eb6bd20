"""Partners of a letter: the coalition members who spread it, each known by a referral code.

A signature keeps the code it came with (``Signature.source``, from ``?ref=``) whether or not a
partner registered it: codes are recorded first and named later, so nothing is lost when an
organiser registers a partner after its link went out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, utcnow


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("letter_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40))
    website: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
