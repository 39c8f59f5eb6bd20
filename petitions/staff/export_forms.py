"""The export form (read from the query string of a GET, or from the posted form) and the
delivery form.

Every field has a default, so ``/export.csv`` and ``/export.pdf`` with no query at all give the
usual list: counted signatures, names that are not public included (consent covers delivery),
the letter's main language.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from petitions.models.exports import DeliveryMethod
from petitions.models.letters import Letter
from petitions.services.exports.delivery_document import PdfOptions
from petitions.services.exports.signatory_rows import STATUS_SETS, ExportFilter
from petitions.services.languages import language_label
from petitions.services.text_input import normalise
from petitions.web.form_messages import TranslatedForm
from petitions.web.i18n import LANGUAGE_NAMES, current_language

# Which signatures an export holds (the sets themselves are the service's).
STATUS_LABELS: dict[str, Any] = {
    "counted": _l("Counted signatures"),
    "counted_and_waiting": _l("Counted, and confirmed ones awaiting approval"),
    "all": _l("All, whatever their status (not for delivery)"),
}


FORMAT_NAMES: dict[str, Any] = {
    "csv": _l("CSV file"),
    "xlsx": _l("XLSX file"),
    "pdf": _l("Delivery PDF"),
}
# The choices a confirmation page shows, by export: the PDF's own ones only for a PDF.
LIST_FIELDS = ("status", "since", "until", "include_non_public")
PDF_FIELDS = ("language", "second_language", "layout", "group_by_country", "include_comments")


class ExportForm(TranslatedForm):
    class Meta:
        # A GET (a link, a script) has no token; a POST's is checked by CSRFProtect.
        csrf = False

    language = SelectField(_l("Language of the document"))
    second_language = SelectField(_l("Second language of the text"), default="")
    layout = RadioField(
        _l("Two languages"),
        choices=[
            SelectChoice("sequential", _l("One after the other")),
            SelectChoice("side_by_side", _l("Side by side")),
        ],
        default="sequential",
    )
    status = SelectField(
        _l("Signatures"),
        choices=[SelectChoice(key, label) for key, label in STATUS_LABELS.items()],
        default="counted",
    )
    since = DateField(_l("Signed from (UTC)"), validators=[Optional()])
    until = DateField(_l("Signed until (UTC)"), validators=[Optional()])
    include_non_public = BooleanField(_l("Include names that are not public"), default=True)
    include_comments = BooleanField(_l("Include comments"))
    group_by_country = BooleanField(_l("Group by country"))

    def __init__(self, letter: Letter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        languages = letter.languages
        interface = current_language()
        names = [
            SelectChoice(code, language_label(code, interface, LANGUAGE_NAMES))
            for code in languages
        ]
        self.language.choices = names
        self.second_language.choices = [SelectChoice("", _l("None")), *names]
        if not self.language.data:
            self.language.data = letter.main_language
        if self.second_language.data is None:
            self.second_language.data = ""

    def validate_until(self, field: Any) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))

    def hidden_values(self) -> list[tuple[str, str]]:
        """The choices as the form posts them (a ticked box sends "y", an unticked one nothing)."""
        values = []
        for field in self:
            if isinstance(field, BooleanField):
                if field.data:
                    values.append((field.name, "y"))
            elif isinstance(field.data, date):
                values.append((field.name, field.data.isoformat()))
            elif field.data not in (None, ""):
                values.append((field.name, str(field.data)))
        return values

    def summary(self, pdf: bool) -> list[tuple[Any, Any]]:
        """(label, value) of each choice that applies, as the person chose it, for a page."""
        rows: list[tuple[Any, Any]] = []
        for name in LIST_FIELDS + (PDF_FIELDS if pdf else ()):
            field = self[name]
            if isinstance(field, BooleanField):
                rows.append((field.label.text, _l("Yes") if field.data else _l("No")))
            elif isinstance(field, SelectField | RadioField):
                picked = [c.label for c in field.iter_choices() if c.selected]
                if picked and field.data:
                    rows.append((field.label.text, picked[0]))
            elif field.data:
                rows.append((field.label.text, field.data.isoformat()))
        return rows

    def row_filter(self) -> ExportFilter:
        return ExportFilter(
            statuses=STATUS_SETS[self.status.data],
            since=self.since.data,
            until=self.until.data,
            include_non_public=bool(self.include_non_public.data),
        )

    def pdf_options(self) -> PdfOptions:
        languages = [self.language.data]
        if self.second_language.data and self.second_language.data != self.language.data:
            languages.append(self.second_language.data)
        return PdfOptions(
            languages=tuple(languages),
            layout=self.layout.data,
            include_comments=bool(self.include_comments.data),
            group_by_country=bool(self.group_by_country.data),
            rows=self.row_filter(),
        )


def export_form(letter: Letter, args: Any) -> ExportForm:
    """The form from a query string; a checkbox missing from a submitted form means "no"."""
    return ExportForm(letter, formdata=args if "status" in args else None)


class DeliveryForm(TranslatedForm):
    export = SelectField(_l("Delivered PDF"), coerce=int)
    recipient = StringField(
        _l("Delivered to"),
        filters=[lambda value: normalise(value or "")],
        validators=[DataRequired(_l("Say who received the list.")), Length(max=300)],
    )
    delivered_on = DateField(_l("Date of delivery"), validators=[DataRequired()], default=None)
    method = RadioField(
        _l("How"),
        choices=[
            SelectChoice(DeliveryMethod.EMAIL.value, _l("By email")),
            SelectChoice(DeliveryMethod.IN_PERSON.value, _l("In person")),
            SelectChoice(DeliveryMethod.POST.value, _l("By post")),
        ],
        validators=[DataRequired(_l("Say how the list was delivered."))],
    )
    note = TextAreaField(
        _l("Note (public)"),
        filters=[lambda value: normalise(value or "")],
        validators=[Length(max=2000)],
    )
    collection_continues = BooleanField(
        _l("Collection continues: keep the letter open for more signatures")
    )

    def __init__(self, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.export.choices = [SelectChoice(value, label) for value, label in choices]
        if self.delivered_on.data is None and not self.is_submitted():
            self.delivered_on.data = date.today()
