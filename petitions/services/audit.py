"""The audit trail: who did what, when, to which object, from which address (as a keyed hash).

Every staff service calls :func:`record` in the same transaction as the change it describes, so
the trail and the data never disagree. Rows are never updated or deleted (database triggers
refuse it). ``details`` is for figures, filters and before/after states: never a password, a
token, or a signer's email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.columns import utcnow
from petitions.models.staff import StaffUser
from petitions.web.client_address import client_ip_hash
from petitions.web.log_redaction import redact

# Keys whose values must never reach the trail, whatever a caller passes.
FORBIDDEN_KEYS = frozenset({"password", "token", "email", "secret", "csrf_token"})

# The first word of every action, for the trail's filter ("staff" finds "staff.disabled" …).
ACTION_PREFIXES = {
    "login": _l("Sign-ins"),
    "logout": _l("Sign-outs"),
    "staff": _l("Staff accounts"),
    "letter": _l("Letters"),
    "signature": _l("Signatures"),
    "reason": _l("Reasons"),
    "export": _l("Exports"),
    "privacy": _l("Privacy requests"),
    "retention": _l("Retention"),
}

# Readable names of the actions this code records; the trail shows others as they are.
ACTION_LABELS = {
    "login.ok": _l("Signed in"),
    "login.failed": _l("Sign-in failed"),
    "logout": _l("Signed out"),
    "staff.created": _l("Account created"),
    "staff.enabled": _l("Account enabled"),
    "staff.disabled": _l("Account disabled"),
    "staff.role_changed": _l("Role changed"),
    "staff.letters_changed": _l("Organiser's letters changed"),
    "staff.password_changed": _l("Password changed"),
    "staff.password_change_refused": _l("Password change refused (wrong current password)"),
    "staff.invited": _l("Invitation sent"),
    "staff.invitation_accepted": _l("Invitation accepted"),
    "staff.invitation_revoked": _l("Invitation revoked"),
    "reason.created": _l("Reason added"),
    "reason.edited": _l("Reason reworded"),
    "reason.moved": _l("Reason moved"),
    "reason.deactivated": _l("Reason deactivated"),
    "reason.activated": _l("Reason activated"),
    "letter.created": _l("Letter created"),
    "letter.edited": _l("Letter edited"),
    "letter.text_versioned": _l("New text version"),
    "letter.status_changed": _l("Letter status changed"),
    "letter.organisers_changed": _l("Letter's organisers changed"),
    "letter.partner_added": _l("Partner registered"),
    "letter.partner_removed": _l("Partner removed"),
    "signature.approve": _l("Signature approved"),
    "signature.reject": _l("Signature rejected"),
    "signature.spam": _l("Signature marked as spam"),
    "signature.hide": _l("Signature hidden"),
    "signature.restore": _l("Signature restored"),
    "signature.verified": _l("Organisation verified"),
    "signature.unverified": _l("Organisation no longer verified"),
    "signature.bulk": _l("Action on all matching signatures"),
    "export.csv": _l("Signatory list exported (CSV)"),
    "export.xlsx": _l("Signatory list exported (XLSX)"),
    "export.pdf_requested": _l("Delivery PDF requested"),
    "export.pdf_downloaded": _l("Delivery PDF downloaded"),
    "delivery.recorded": _l("Delivery recorded"),
    "letter.update_sent": _l("Update sent to the signers"),
    "letter.update_published": _l("Update published"),
    "privacy.erased": _l("A signer erased their signatures"),
    "retention.anonymised": _l("Signatures anonymised (retention)"),
    "retention.expired": _l("Old emails and offers deleted (retention)"),
}

# Readable names of the tables events point at.
OBJECT_LABELS = {
    "staff_users": _l("Staff account"),
    "staff_invitations": _l("Invitation"),
    "moderation_reasons": _l("Reason"),
    "letters": _l("Letter"),
    "signatures": _l("Signature"),
    "pdf_exports": _l("Delivery PDF"),
    "deliveries": _l("Delivery"),
    "partners": _l("Partner"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def object_label(object_type: str) -> str:
    label = OBJECT_LABELS.get(object_type)
    return str(label) if label is not None else object_type


def record(
    action: str,
    *,
    obj: Any = None,
    letter_id: int | None = None,
    actor: StaffUser | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; ``actor`` defaults to the logged-in staff member, if any."""
    leaked = FORBIDDEN_KEYS & set(details or {})
    if leaked:
        raise ValueError(f"the audit trail does not take {sorted(leaked)}")
    # Free text (a reason, a search) may hold an address or a token typed by a person: the trail
    # cannot be cleaned later, so it never takes them in.
    details = _redacted(dict(details or {}))
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else "",
        action=action,
        object_type=obj.__tablename__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        letter_id=letter_id,
        ip_hash=client_ip_hash() if has_request_context() else "",
        details=details,
    )
    db.session.add(event)
    return event


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""  # an action, or its first word(s) up to a dot: "login", "staff.invited"
    action_starts: str = ""  # free text: actions that begin with it, "staff.inv" …
    actor_id: int | None = None
    letter_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # keyset: events older than this one


def audit_events(query: AuditFilter, limit: int = 100) -> list[AuditEvent]:
    """Newest first, a page at a time (keyset on the id, so deep pages cost the same)."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if query.action:
        # "login" matches "login.ok" and "login.failed".
        statement = statement.where(
            (AuditEvent.action == query.action)
            | AuditEvent.action.startswith(query.action + ".", autoescape=True)
        )
    if query.action_starts:
        statement = statement.where(
            AuditEvent.action.startswith(query.action_starts, autoescape=True)
        )
    if query.actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == query.actor_id)
    if query.letter_id is not None:
        statement = statement.where(AuditEvent.letter_id == query.letter_id)
    if query.since is not None:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEvent.at < query.until)
    if query.before_id is not None:
        statement = statement.where(AuditEvent.id < query.before_id)
    return list(db.session.scalars(statement))
