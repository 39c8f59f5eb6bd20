"""Typed models of the staff side: accounts, invitations, letter owners, reasons, the audit trail.

Kept apart from :mod:`petitions.models` (letters and signatures), which the public side reads.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petitions.extensions import db
from petitions.models import Letter, UTCDateTime, _enum_check, utcnow


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


class StaffUser(db.Model):  # type: ignore[name-defined]
    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(_enum_check("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so logins and the unique constraint ignore case.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
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


class StaffInvitation(db.Model):  # type: ignore[name-defined]
    """An emailed, single-use, expiring link that lets someone choose a password."""

    __tablename__ = "staff_invitations"
    __table_args__ = (CheckConstraint(_enum_check("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
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


class ModerationReason(db.Model):  # type: ignore[name-defined]
    """One entry of the editable list of reasons a moderator picks from when rejecting."""

    __tablename__ = "moderation_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(300), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


# The trail refuses changes in the database itself, whatever code or console touches it.
APPEND_ONLY_SQLITE = [
    f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]
APPEND_ONLY_POSTGRESQL = [
    "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
]


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """One line of the append-only audit trail (database triggers refuse UPDATE and DELETE).

    No foreign keys: the trail outlives the accounts, letters and signatures it speaks of.
    ``details`` never holds a password, a token or a signer's email.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_letter", "letter_id", "id"),
        Index("ix_audit_events_actor", "actor_id", "id"),
        Index("ix_audit_events_action", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    # A copy of the actor's email at the time (staff data, not signers').
    actor_email: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None] = mapped_column(Integer)
    letter_id: Mapped[int | None] = mapped_column(Integer)
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


for _statement in APPEND_ONLY_SQLITE:
    event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in APPEND_ONLY_POSTGRESQL:
    event.listen(
        AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )
