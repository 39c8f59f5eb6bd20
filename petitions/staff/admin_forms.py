"""Forms of the admin pages: invitations, accounts, reasons, and the audit trail's filters.

Choices that come from the database (letters, accounts) are filled in by the view; the forms
only check that what comes back is one of them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from petitions.models.staff import Role
from petitions.services.audit import ACTION_PREFIXES, AuditFilter
from petitions.services.moderation_reasons import MAX_LENGTH, Direction
from petitions.web.form_messages import TranslatedForm

ROLE_LABELS = {
    Role.ORGANISER.value: _l("Organiser"),
    Role.MODERATOR.value: _l("Moderator"),
    Role.ADMIN.value: _l("Administrator"),
}
ROLE_CHOICES = [SelectChoice(value, label) for value, label in ROLE_LABELS.items()]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ActionForm(TranslatedForm):
    """A button that changes one thing named by the URL; only the CSRF token travels."""


class InviteForm(TranslatedForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)], filters=[_strip])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.ORGANISER.value)
    letters = SelectMultipleField(
        _l("Letters"),
        coerce=int,
        description=_l(
            "Only for organisers: the letters they will work on (hold Ctrl or ⌘ to pick several)."
        ),
    )
    language = SelectField(_l("Language of the invitation email"))


class RoleForm(TranslatedForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class LettersForm(TranslatedForm):
    letters = SelectMultipleField(_l("Letters"), coerce=int)


class ReasonForm(TranslatedForm):
    text = StringField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        filters=[_strip],
    )


class MoveForm(TranslatedForm):
    direction = StringField(validators=[AnyOf([d.value for d in Direction])])


ACTION_CHOICES = [
    SelectChoice("", _l("All actions")),
    *(SelectChoice(prefix, label) for prefix, label in ACTION_PREFIXES.items()),
]


MAX_EVENT_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


class EventIdField(HiddenField):
    """``before``, from the "older events" link: an event id, in ASCII digits (``int()`` would
    also take "١٢" and numbers no database column holds)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0].strip() if valuelist else ""
        self.data = None
        if not raw:
            return
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_EVENT_ID:
            raise ValueError(_l("This link to older events is not valid."))
        self.data = int(raw)


class AuditFilterForm(TranslatedForm):
    """The trail's filters: a GET form (no CSRF token), so a filtered view is a link."""

    class Meta:
        csrf = False

    action = SelectField(_l("Kind of action"), choices=ACTION_CHOICES, default="")
    text = StringField(
        _l("Action begins with"),
        validators=[Optional(), Length(max=60)],
        filters=[_strip],
        description=_l("For example staff.role or signature."),
    )
    actor = SelectField(_l("Done by"), default="")
    letter = SelectField(_l("Letter"), default="")
    date_from = DateField(_l("From (UTC)"), validators=[Optional()])
    date_to = DateField(_l("Until (UTC, included)"), validators=[Optional()])
    before = EventIdField()

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("This date is before the first one."))

    def audit_filter(self, before_id: int | None) -> AuditFilter:
        """The service's query for these (validated) filters."""
        since = until = None
        if self.date_from.data:
            since = datetime.combine(self.date_from.data, time.min, tzinfo=UTC)
        if self.date_to.data and self.date_to.data < date.max:  # the last day there is: no bound
            until = datetime.combine(self.date_to.data + timedelta(days=1), time.min, tzinfo=UTC)
        return AuditFilter(
            action=self.action.data or "",
            action_starts=self.text.data or "",
            actor_id=int(self.actor.data) if self.actor.data else None,
            letter_id=int(self.letter.data) if self.letter.data else None,
            since=since,
            until=until,
            before_id=before_id,
        )

    def query_args(self) -> dict[str, Any]:
        """The filters as URL parameters, for the "older" link (empty ones left out)."""
        values = {
            "action": self.action.data,
            "text": self.text.data,
            "actor": self.actor.data,
            "letter": self.letter.data,
            "date_from": self.date_from.data.isoformat() if self.date_from.data else "",
            "date_to": self.date_to.data.isoformat() if self.date_to.data else "",
        }
        return {key: value for key, value in values.items() if value}
