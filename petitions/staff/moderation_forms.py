"""Forms of the moderation queue: its filter (GET, no token), and the actions (POST, token)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    Field,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from petitions.models.letters import Letter
from petitions.models.signatures import SignatureKind, SignatureStatus
from petitions.services.moderation import ModerationAction
from petitions.services.moderation_queue import MAX_ID, QueueFilter, Sort, YesNo
from petitions.web.form_messages import TranslatedForm

STATUS_LABELS = {
    SignatureStatus.PENDING: _l("Unconfirmed"),
    SignatureStatus.AWAITING_APPROVAL: _l("Awaiting approval"),
    SignatureStatus.CONFIRMED: _l("Confirmed"),
    SignatureStatus.WITHDRAWN: _l("Withdrawn"),
    SignatureStatus.REJECTED: _l("Rejected"),
    SignatureStatus.SPAM: _l("Spam"),
}
KIND_LABELS = {
    SignatureKind.INDIVIDUAL: _l("Individual"),
    SignatureKind.ORGANISATION: _l("Organisation"),
}
ACTION_LABELS = {
    ModerationAction.APPROVE: _l("Approve"),
    ModerationAction.REJECT: _l("Reject"),
    ModerationAction.SPAM: _l("Mark as spam"),
    ModerationAction.HIDE: _l("Hide from public lists"),
    ModerationAction.RESTORE: _l("Restore"),
}
OTHER_REASON = "other"
FILTER_FIELDS = (
    "letter",
    "status",
    "kind",
    "country",
    "created_from",
    "created_to",
    "hidden",
    "verified",
    "q",
    "sort",
)


class IdListField(Field):
    """Every ``signature`` value of the form (checkboxes or hidden fields), as integers."""

    def _value(self) -> str:
        return ""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data: list[int] = []
        for raw in valuelist:
            raw = raw.strip()
            if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
                self.data = []
                raise ValueError(_l("A selected signature is not valid."))
            self.data.append(int(raw))


class QueueFilterForm(TranslatedForm):
    """The queue's filters; read from the query string (or from a bulk form's hidden fields)."""

    class Meta:
        csrf = False

    letter = SelectField(_l("Letter"), choices=[], default="")
    status = SelectField(
        _l("Status"),
        default="",
        choices=[SelectChoice("", _l("Any status"))]
        + [SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()],
    )
    kind = SelectField(
        _l("Kind"),
        default="",
        choices=[SelectChoice("", _l("Both kinds"))]
        + [SelectChoice(k.value, label) for k, label in KIND_LABELS.items()],
    )
    country = StringField(
        _l("Country code"),
        validators=[Optional(), Regexp(r"^[A-Za-z]{2}$", message=_l("Two letters, like AL."))],
    )
    created_from = DateField(_l("Signed from"), validators=[Optional()])
    created_to = DateField(_l("Signed until"), validators=[Optional()])
    hidden = SelectField(
        _l("Hidden"),
        default="",
        choices=[
            SelectChoice(YesNo.ANY, _l("Any")),
            SelectChoice(YesNo.YES, _l("Hidden")),
            SelectChoice(YesNo.NO, _l("Not hidden")),
        ],
    )
    verified = SelectField(
        _l("Verified organisation"),
        default="",
        choices=[
            SelectChoice(YesNo.ANY, _l("Any")),
            SelectChoice(YesNo.YES, _l("Verified organisations")),
            SelectChoice(YesNo.NO, _l("Organisations not verified")),
        ],
    )
    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)])
    sort = SelectField(
        _l("Order"),
        choices=[
            SelectChoice(Sort.DECISION.value, _l("Awaiting approval first, then newest")),
            SelectChoice(Sort.NEWEST.value, _l("Newest first")),
            SelectChoice(Sort.OLDEST.value, _l("Oldest first")),
            SelectChoice(Sort.NAME.value, _l("By name")),
        ],
        default=Sort.DECISION.value,
    )

    def set_letters(self, letters: list[Letter], language: str) -> None:
        self.letter.choices = [SelectChoice("", _l("All letters"))] + [
            SelectChoice(letter.slug, f"{letter.text_in(language).title} ({letter.slug})")
            for letter in letters
        ]

    def to_filter(self, letters: list[Letter]) -> QueueFilter:
        by_slug = {letter.slug: letter.id for letter in letters}
        return QueueFilter(
            letter_id=by_slug.get(self.letter.data or ""),
            status=self.status.data or "",
            kind=self.kind.data or "",
            country=(self.country.data or "").strip().upper(),
            created_from=self.created_from.data,
            created_to=self.created_to.data,
            hidden=self.hidden.data or "",
            verified=self.verified.data or "",
            q=(self.q.data or "").strip(),
            sort=self.sort.data or Sort.DECISION.value,
        )

    def args(self) -> dict[str, Any]:
        """The filters that are set, as query-string arguments (links keep them)."""
        found: dict[str, str] = {}
        for name in FILTER_FIELDS:
            value: Any = self[name].data
            if value in (None, "") or (name == "sort" and value == Sort.DECISION):
                continue
            found[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return found


def reason_choices(reasons: list[str]) -> list[SelectChoice]:
    return [
        SelectChoice("", _l("No reason")),
        *[SelectChoice(r, r) for r in reasons],
        SelectChoice(OTHER_REASON, _l("Other")),
    ]


class _ReasonMixin:
    reason = SelectField(_l("Reason"), choices=[], validate_choice=False)
    reason_other = StringField(
        _l("Other reason"),
        validators=[Optional(), Length(max=300)],
        description=_l("Used when the reason is “Other”."),
    )

    def reason_text(self) -> str:
        """The listed reason picked, or the free text when "Other" (or nothing) is picked.

        A script may also post any text as ``reason``: it is taken as an "Other" reason.
        """
        picked = (self.reason.data or "").strip()
        if picked in ("", OTHER_REASON):
            return (self.reason_other.data or "").strip()
        return picked


class ModerateForm(_ReasonMixin, TranslatedForm):
    action = SelectField(
        _l("Action"),
        choices=[SelectChoice(a.value, label) for a, label in ACTION_LABELS.items()],
        validators=[DataRequired()],
    )
    signature = IdListField()
    next = HiddenField()
    # Set by the confirmation page's button; several signatures at once need it.
    confirmed = HiddenField()


class VerifyForm(TranslatedForm):
    verified = SelectField(
        _l("Verified"),
        choices=[SelectChoice("1", _l("Verified")), SelectChoice("0", _l("Not verified"))],
    )
    signature = IdListField()
    next = HiddenField()


class BulkForm(_ReasonMixin, TranslatedForm):
    """The action on everything a filter matches; ``expected`` is the count the preview showed."""

    action = SelectField(
        _l("Action"),
        choices=[SelectChoice(a.value, label) for a, label in ACTION_LABELS.items()],
        validators=[DataRequired()],
    )
    expected = IntegerField(
        _l("Expected number of signatures"), validators=[InputRequired(), NumberRange(min=0)]
    )
