"""The append-only audit trail: what staff and commands did, refused changes by the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Index,
    Integer,
    String,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime, utcnow

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


class AuditEvent(Base):
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


def _on_create(statement: str, dialect: str) -> None:
    ddl = DDL(statement)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves DDL() unannotated
    event.listen(AuditEvent.__table__, "after_create", ddl.execute_if(dialect=dialect))


for _statement in APPEND_ONLY_SQLITE:
    _on_create(_statement, "sqlite")
for _statement in APPEND_ONLY_POSTGRESQL:
    _on_create(_statement, "postgresql")
