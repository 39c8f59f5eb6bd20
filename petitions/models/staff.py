"""Typed models of the staff side: accounts, invitations, letter owners, reasons, the audit trail.

Kept apart from :mod:`petitions.models` (letters and signatures), which the public side reads.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petitions.extensions import Base, db
from petitions.models.columns import UTCDateTime, enum_check, enum_type, utcnow
from petitions.models.letters import Letter


class Role(enum.StrEnum):
    ADMIN = "admin"  # everything: staff, all letters, the audit trail
    ORGANISER = "organiser"  # the letters they own or are given
    MODERATOR = "moderator"  # the moderation queue of all letters


# Which organisers may work on which letter (admins may work on all of them).
letter_organisers = Table(
    "letter_organisers",
    db.metadata,
    Column("letter_id", ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True),
    Column("staff_id", ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
)


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(enum_check("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so logins and the unique constraint ignore case.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, 16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session cookie's user id: raising it ends all sessions of the account
    # (logout, disabling, a password change), which a signed cookie alone cannot do.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    letters: Mapped[list[Letter]] = relationship(secondary=letter_organisers)

    # Flask-Login's interface.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class StaffInvitation(Base):
    """An emailed, single-use, expiring link that lets someone choose a password."""

    __tablename__ = "staff_invitations"
    __table_args__ = (CheckConstraint(enum_check("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(enum_type(Role, 16))
    # SHA-256 of the link's random token: a copy of the database opens no invitation.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # Letters an invited organiser will work on.
    letter_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ModerationReason(Base):
    """One entry of the editable list of reasons a moderator picks from when rejecting."""

    __tablename__ = "moderation_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(300), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
