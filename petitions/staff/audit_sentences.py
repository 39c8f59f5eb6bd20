"""The audit trail in words: each event as a sentence in the reader's language.

"Moderator ana@example.org rejected the signature of Besa Krasniqi on “g20” (reason: duplicate)."
reads faster than an action code and a dictionary; the raw record stays one click away on the
page. Every action the code records has its own sentence (a test holds the list to
:data:`petitions.services.audit.ACTION_LABELS`); an action added later without one still reads
"<who>: <its label>." rather than breaking the page.

The people and objects an event names are loaded for a whole page at once, a few queries per
page rather than per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.letters import Letter
from petitions.models.signatures import Signature
from petitions.models.staff import ModerationReason, StaffUser
from petitions.services.audit import action_label
from petitions.services.moderation import SKIP_TEXT, Skip
from petitions.staff.admin_forms import ROLE_LABELS
from petitions.staff.moderation_forms import ACTION_LABELS as MODERATION_LABELS
from petitions.web.i18n import current_language
from petitions.web.templating import number


def _(message: str, /, **values: Any) -> str:
    """gettext, typed."""
    return str(gettext(message, **values))


LETTER_STATUS = {
    "draft": _l("draft"),
    "open": _l("open"),
    "closed": _l("closed"),
    "delivered": _l("delivered"),
}
EXPORT_FORMATS = {"export.csv": "CSV", "export.xlsx": "XLSX"}


@dataclass
class _Names:
    """What a page of events points at, loaded once for the page."""

    staff: dict[int, StaffUser] = field(default_factory=dict)
    letters: dict[int, Letter] = field(default_factory=dict)
    signatures: dict[int, Signature] = field(default_factory=dict)
    reasons: dict[int, ModerationReason] = field(default_factory=dict)


def _ids(events: Sequence[AuditEvent], object_type: str) -> set[int]:
    return {e.object_id for e in events if e.object_type == object_type and e.object_id is not None}


def _load(events: Sequence[AuditEvent]) -> _Names:
    names = _Names()
    staff_ids = {e.actor_id for e in events if e.actor_id is not None} | _ids(events, "staff_users")
    letter_ids = {e.letter_id for e in events if e.letter_id is not None}
    for model, ids, target in (
        (StaffUser, staff_ids, names.staff),
        (Letter, letter_ids, names.letters),
        (Signature, _ids(events, "signatures"), names.signatures),
        (ModerationReason, _ids(events, "moderation_reasons"), names.reasons),
    ):
        if ids:
            rows: Iterable[Any] = db.session.scalars(select(model).where(model.id.in_(ids)))
            target.update({row.id: row for row in rows})
    return names


class _Event:
    """One event and the names it needs, with the words each sentence is built from."""

    def __init__(self, event: AuditEvent, names: _Names) -> None:
        self.event = event
        self.names = names
        self.details: dict[str, Any] = dict(event.details or {})

    def detail(self, key: str, default: Any = "") -> Any:
        return self.details.get(key, default)

    @property
    def actor(self) -> str:
        event = self.event
        if event.actor_id is None:
            if self.detail("via") == "cli":
                return _("The command line")
            return _("The system") if not event.ip_hash else _("Someone not signed in")
        user = self.names.staff.get(event.actor_id)
        if user is None:
            return _("Staff member %(email)s", email=event.actor_email)
        role = ROLE_LABELS.get(str(user.role))
        return f"{role} {user.email}" if role is not None else user.email

    @property
    def letter(self) -> str:
        letter_id = self.event.letter_id
        letter = self.names.letters.get(letter_id) if letter_id is not None else None
        if letter is None:
            return _("a letter") if letter_id is None else f"#{letter_id}"
        return f"“{letter.text_in(current_language()).title}”"

    @property
    def target(self) -> str:
        """The staff account or invitation the event is about, by its email."""
        event = self.event
        ident = event.object_id
        if event.object_type == "staff_users" and ident is not None:
            user = self.names.staff.get(ident)
            return user.email if user is not None else f"#{ident}"
        if event.object_type == "staff_invitations" and ident is not None:
            # Someone invited is not staff until they accept: the trail names no address.
            return _("invitation #%(id)s", id=ident)
        return _("an unknown account")

    @property
    def signer(self) -> str:
        ident = self.event.object_id
        signature = self.names.signatures.get(ident) if ident is not None else None
        return signature.name if signature is not None else f"#{ident}"

    @property
    def reason_text(self) -> str:
        text = self.detail("text")
        if text:
            return str(text)
        ident = self.event.object_id
        reason = self.names.reasons.get(ident) if ident is not None else None
        return reason.text if reason is not None else f"#{ident}"

    def role(self, key: str) -> str:
        value = str(self.detail(key))
        return str(ROLE_LABELS.get(value, value))

    def status(self, value: Any) -> str:
        return str(LETTER_STATUS.get(str(value), str(value)))


def _skipped(e: _Event, sentence: str) -> str:
    """A moderation that changed nothing says why."""
    if not e.detail("noop"):
        return sentence
    why = e.detail("skipped")
    try:
        reason = str(SKIP_TEXT[Skip(why)])
    except ValueError:
        reason = str(why)
    return sentence + " " + _("Nothing changed: %(why)s.", why=reason)


def _with_reason(e: _Event, sentence: str) -> str:
    reason = e.detail("reason")
    if not reason:
        return sentence
    return _("%(sentence)s (reason: %(reason)s)", sentence=sentence, reason=reason)


def _moderated(verb: str) -> Callable[[_Event], str]:
    def say(e: _Event) -> str:
        sentences = {
            "approve": _("%(actor)s approved the signature of %(name)s on %(letter)s"),
            "reject": _("%(actor)s rejected the signature of %(name)s on %(letter)s"),
            "spam": _("%(actor)s marked the signature of %(name)s on %(letter)s as spam"),
            "hide": _("%(actor)s hid the signature of %(name)s on %(letter)s from the public list"),
            "restore": _("%(actor)s restored the signature of %(name)s on %(letter)s"),
        }
        sentence = sentences[verb] % {"actor": e.actor, "name": e.signer, "letter": e.letter}
        return _skipped(e, _with_reason(e, sentence) + ".")

    return say


def _status_changed(e: _Event) -> str:
    start, end = e.detail("from"), e.detail("to")
    values = {"actor": e.actor, "letter": e.letter}
    if (start, end) == ("draft", "open"):
        return _("%(actor)s published %(letter)s.", **values)
    if (start, end) == ("open", "closed"):
        return _("%(actor)s closed %(letter)s.", **values)
    if (start, end) == ("closed", "open"):
        return _("%(actor)s reopened %(letter)s.", **values)
    return _(
        "%(actor)s changed the status of %(letter)s from %(start)s to %(end)s.",
        start=e.status(start),
        end=e.status(end),
        **values,
    )


def _password_changed(e: _Event) -> str:
    if e.event.actor_id is not None and e.event.actor_id == e.event.object_id:
        return _("%(actor)s changed their password.", actor=e.actor)
    return _("%(actor)s changed the password of %(target)s.", actor=e.actor, target=e.target)


def _login_failed(e: _Event) -> str:
    if e.detail("reason") == "disabled":
        return _("A sign-in as %(target)s was refused: the account is disabled.", target=e.target)
    if e.event.object_id is None:
        return _("A sign-in failed: unknown email or wrong password.")
    return _("A sign-in as %(target)s failed: wrong password.", target=e.target)


def _bulk(e: _Event) -> str:
    action = str(e.detail("action"))
    label = str(MODERATION_LABELS.get(action, action))  # type: ignore[call-overload]
    letter = e.letter if e.event.letter_id is not None else _("every letter")
    sentence = _(
        "%(actor)s applied “%(action)s” to all %(count)s matching signatures on %(letter)s",
        actor=e.actor,
        action=label,
        count=number(e.detail("count", 0)),
        letter=letter,
    )
    return _with_reason(e, sentence) + "."


def _verified(e: _Event) -> str:
    if e.detail("verified_to") is True or e.event.action == "signature.verified":
        sentence = _(
            "%(actor)s marked the organisation %(name)s as verified.", actor=e.actor, name=e.signer
        )
    else:
        sentence = _(
            "%(actor)s removed the verification of the organisation %(name)s.",
            actor=e.actor,
            name=e.signer,
        )
    return _skipped(e, sentence)


def _list_export(e: _Event) -> str:
    return _(
        "%(actor)s exported %(rows)s signatories of %(letter)s as %(format)s.",
        actor=e.actor,
        rows=number(e.detail("rows", 0)),
        letter=e.letter,
        format=EXPORT_FORMATS.get(e.event.action, ""),
    )


SENTENCES: dict[str, Callable[[_Event], str]] = {
    "login.ok": lambda e: _("%(actor)s signed in.", actor=e.actor),
    "login.failed": _login_failed,
    "logout": lambda e: _("%(actor)s signed out.", actor=e.actor),
    "staff.created": lambda e: _(
        "%(actor)s created the account %(target)s (%(role)s).",
        actor=e.actor,
        target=e.target,
        role=e.role("role"),
    ),
    "staff.enabled": lambda e: _(
        "%(actor)s enabled the account %(target)s.", actor=e.actor, target=e.target
    ),
    "staff.disabled": lambda e: _(
        "%(actor)s disabled the account %(target)s and signed it out everywhere.",
        actor=e.actor,
        target=e.target,
    ),
    "staff.role_changed": lambda e: _(
        "%(actor)s changed the role of %(target)s from %(start)s to %(end)s.",
        actor=e.actor,
        target=e.target,
        start=e.role("from"),
        end=e.role("to"),
    ),
    "staff.letters_changed": lambda e: _(
        "%(actor)s changed which letters the organiser %(target)s works on.",
        actor=e.actor,
        target=e.target,
    ),
    "staff.password_changed": _password_changed,
    "staff.password_change_refused": lambda e: _(
        "%(actor)s tried to change their password; the current password given was wrong.",
        actor=e.actor,
    ),
    "staff.invited": lambda e: _(
        "%(actor)s sent an invitation (%(target)s) to join as %(role)s.",
        actor=e.actor,
        target=e.target,
        role=e.role("role"),
    ),
    "staff.invitation_accepted": lambda e: _(
        "%(actor)s accepted their invitation and set a password.", actor=e.actor
    ),
    "staff.invitation_revoked": lambda e: _(
        "%(actor)s revoked %(target)s.", actor=e.actor, target=e.target
    ),
    "reason.created": lambda e: _(
        "%(actor)s added the reason “%(text)s”.", actor=e.actor, text=e.reason_text
    ),
    "reason.edited": lambda e: _(
        "%(actor)s reworded the reason “%(start)s” as “%(end)s”.",
        actor=e.actor,
        start=e.detail("from"),
        end=e.detail("to"),
    ),
    "reason.moved": lambda e: _(
        "%(actor)s moved the reason “%(text)s” from place %(start)s to place %(end)s.",
        actor=e.actor,
        text=e.reason_text,
        start=e.detail("from"),
        end=e.detail("to"),
    ),
    "reason.deactivated": lambda e: _(
        "%(actor)s stopped offering the reason “%(text)s” to moderators.",
        actor=e.actor,
        text=e.reason_text,
    ),
    "reason.activated": lambda e: _(
        "%(actor)s offered the reason “%(text)s” to moderators again.",
        actor=e.actor,
        text=e.reason_text,
    ),
    "letter.created": lambda e: _(
        "%(actor)s created the letter %(letter)s as a draft.", actor=e.actor, letter=e.letter
    ),
    "letter.edited": lambda e: _(
        "%(actor)s edited %(letter)s (%(fields)s).",
        actor=e.actor,
        letter=e.letter,
        fields=", ".join(str(name) for name in e.detail("fields", [])),
    ),
    "letter.text_versioned": lambda e: _(
        "%(actor)s changed the published text of %(letter)s in %(language)s; "
        "the earlier version is kept.",
        actor=e.actor,
        letter=e.letter,
        language=e.detail("language"),
    ),
    "letter.status_changed": _status_changed,
    "letter.partner_added": lambda e: _(
        "%(actor)s registered the partner %(name)s (code %(code)s) on %(letter)s.",
        actor=e.actor,
        name=e.detail("name"),
        code=e.detail("code"),
        letter=e.letter,
    ),
    "letter.partner_removed": lambda e: _(
        "%(actor)s removed the partner %(name)s (code %(code)s) from %(letter)s.",
        actor=e.actor,
        name=e.detail("name"),
        code=e.detail("code"),
        letter=e.letter,
    ),
    "letter.update_sent": lambda e: _(
        "%(actor)s sent an update on %(letter)s to %(num)s signers.",
        actor=e.actor,
        letter=e.letter,
        num=number(e.detail("recipients", 0)),
    ),
    "letter.update_published": lambda e: _(
        "%(actor)s published an update on %(letter)s without mailing it.",
        actor=e.actor,
        letter=e.letter,
    ),
    "privacy.erased": lambda e: _(
        "A signer erased their signatures (%(num)s): %(withdrawn)s withdrawn, %(kept)s anonymised "
        "in delivered counts.",
        num=number(e.detail("signatures", 0)),
        withdrawn=number(e.detail("withdrawn", 0)),
        kept=number(e.detail("kept_in_delivered_count", 0)),
    ),
    "retention.anonymised": lambda e: _(
        "%(actor)s anonymised %(num)s signatures of %(letter)s (retention of %(days)s days).",
        actor=e.actor,
        num=number(e.detail("signatures", 0)),
        letter=e.letter,
        days=number(e.detail("retention_days", 0)),
    ),
    "retention.expired": lambda e: _(
        "%(actor)s deleted %(emails)s old emails and %(offers)s expired offers (retention).",
        actor=e.actor,
        emails=number(e.detail("emails", 0)),
        offers=number(e.detail("offers", 0)),
    ),
    "letter.organisers_changed": lambda e: _(
        "%(actor)s changed the organisers of %(letter)s.", actor=e.actor, letter=e.letter
    ),
    "signature.approve": _moderated("approve"),
    "signature.reject": _moderated("reject"),
    "signature.spam": _moderated("spam"),
    "signature.hide": _moderated("hide"),
    "signature.restore": _moderated("restore"),
    "signature.verified": _verified,
    "signature.unverified": _verified,
    "signature.bulk": _bulk,
    "export.csv": _list_export,
    "export.xlsx": _list_export,
    "export.pdf_requested": lambda e: _(
        "%(actor)s asked for a delivery PDF of %(letter)s (%(rows)s signatories).",
        actor=e.actor,
        letter=e.letter,
        rows=number(e.detail("rows", 0)),
    ),
    "export.pdf_downloaded": lambda e: _(
        "%(actor)s downloaded the delivery PDF of %(letter)s (%(rows)s signatories).",
        actor=e.actor,
        letter=e.letter,
        rows=number(e.detail("rows", 0)),
    ),
    "delivery.recorded": lambda e: _(
        "%(actor)s recorded the delivery of %(letter)s on %(day)s (%(rows)s signatories).",
        actor=e.actor,
        letter=e.letter,
        day=e.detail("delivered_on"),
        rows=number(e.detail("rows", 0)),
    ),
}


def _fallback(e: _Event) -> str:
    return _("%(actor)s: %(action)s.", actor=e.actor, action=action_label(e.event.action))


def sentences(events: Sequence[AuditEvent]) -> dict[int, str]:
    """Each event's sentence by its id, in the current language."""
    names = _load(events)
    said: dict[int, str] = {}
    for event in events:
        say = SENTENCES.get(event.action, _fallback)
        said[event.id] = say(_Event(event, names))
    return said
