"""The letter form: settings, one fieldset per language, and the status buttons.

The languages are the interface's, those the letter already has and any language staff add
(``staff/letter_languages.py``), so the form class is built per list of languages.
The form checks what people typed (formats, filled-in pairs, addressee lines); the rules about
letters (a taken address, dates in order) are the service's.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from petitions.models.letters import Letter, Moderation
from petitions.models.staff import StaffUser
from petitions.services.languages import autonym, language_choices, language_label
from petitions.services.letter_editing import (
    AddresseeInput,
    LetterEditError,
    LetterInput,
    TextInput,
)
from petitions.services.letter_markdown import NestingTooDeep, render_body
from petitions.services.letter_status import StatusAction
from petitions.services.text_input import normalise, refused_characters
from petitions.web.form_messages import TranslatedForm, TranslatedSubform
from petitions.web.i18n import LANGUAGE_NAMES, current_language
from petitions.web.site_identity import site_zone

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
LANGUAGE_FIELDS = ("title", "summary", "publisher", "body", "addressees")


def _no_controls(multiline: bool = False) -> Any:
    """Refuse control and bidi-override characters (invisible, and used to disguise text)."""

    def check(form: Form, field: Any) -> None:
        if refused_characters(field.data or "", multiline):
            raise ValidationError(_l("This contains invisible control characters; remove them."))

    return check


def _tidy(value: str | None) -> str:
    """NFC, trimmed, and one kind of line break (browsers send CRLF from text areas), so the
    same wording always has the same hash."""
    return normalise((value or "").replace("\r\n", "\n"))


class LanguageTextForm(TranslatedSubform):
    """One language's text (no CSRF token of its own: it lives inside the letter form)."""

    title = StringField(_l("Title"), filters=[_tidy], validators=[Length(max=200), _no_controls()])
    summary = TextAreaField(
        _l("Summary"),
        filters=[_tidy],
        validators=[Length(max=1000), _no_controls(multiline=True)],
    )
    publisher = StringField(
        _l("Publisher or coalition"),
        filters=[_tidy],
        validators=[Length(max=300), _no_controls()],
    )
    body = TextAreaField(
        _l("Text (Markdown)"),
        filters=[_tidy],
        validators=[Length(max=100_000), _no_controls(multiline=True)],
    )
    addressees = TextAreaField(
        _l("Addressees"),
        filters=[_tidy],
        validators=[Length(max=10_000), _no_controls(multiline=True)],
    )


MODERATION_CHOICES = [
    SelectChoice(Moderation.NONE.value, _l("None: confirmed signatures count at once.")),
    SelectChoice(
        Moderation.POST.value,
        _l("Post-moderation: signatures count at once; staff may remove them later."),
    ),
    SelectChoice(
        Moderation.PRE.value,
        _l("Pre-moderation: signatures wait for a moderator's approval before they count."),
    ),
]


class LetterForm(TranslatedForm):
    """Subclasses made by :func:`letter_form_class` add one ``text_<language>`` per language."""

    LANGUAGES: tuple[str, ...] = ()

    slug = StringField(
        _l("Address (slug)"),
        filters=[lambda value: normalise(value).lower()],
        validators=[
            DataRequired(_l("Please give the letter an address.")),
            Length(max=80),
            Regexp(
                SLUG_PATTERN,
                message=_l("Use lowercase letters, digits and single hyphens only."),
            ),
        ],
    )
    main_language = SelectField(_l("Main language"))
    goal = IntegerField(
        _l("Goal (number of signatures)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=100_000_000, message=_l("A whole number from 1, please.")),
        ],
    )
    stretch_goal = IntegerField(
        _l("Stretch goal"),
        validators=[
            Optional(),
            NumberRange(min=1, max=100_000_000, message=_l("A whole number from 1, please.")),
        ],
    )
    # Typed in the site's time zone (TIME_ZONE), stored in UTC.
    opens_at = DateTimeLocalField(
        _l("Opens at"), format=DATETIME_FORMATS, tz=site_zone, validators=[Optional()]
    )
    closes_at = DateTimeLocalField(
        _l("Closes at"), format=DATETIME_FORMATS, tz=site_zone, validators=[Optional()]
    )
    auto_close = BooleanField(_l("Close by itself at the closing time"), default=True)
    moderation = RadioField(
        _l("Moderation"), choices=MODERATION_CHOICES, default=Moderation.NONE.value
    )
    organisations_need_approval = BooleanField(
        _l("Organisations' signatures need a moderator's approval")
    )
    retention_days = IntegerField(
        _l("Keep signers' data for (days)"),
        validators=[Optional(), NumberRange(min=1, message=_l("A whole number from 1, please."))],
    )
    organisers = SelectMultipleField(_l("Organisers"), coerce=int)
    add_language = SelectField(_l("Language"), default="")
    add = SubmitField(_l("Add a text in this language"))
    save = SubmitField(_l("Save"))
    preview = SubmitField(_l("Preview"))

    def text_form(self, language: str) -> Any:
        return self[f"text_{language}"]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        main = self.main_language.data
        for language in self.LANGUAGES:
            valid &= self._check_language(language, language == main)
        valid &= self._check_addressees(main)
        maximum = current_app.config["RETENTION_MAX_DAYS"]
        if self.retention_days.data and self.retention_days.data > maximum:
            self.retention_days.errors.append(
                _l("At most %(days)d days (the site's maximum).", days=maximum)
            )
            valid = False
        if self.opens_at.data and self.closes_at.data and self.closes_at.data <= self.opens_at.data:
            self.closes_at.errors.append(_l("The closing date must be after the opening date."))
            valid = False
        if self.stretch_goal.data and not self.goal.data:
            self.stretch_goal.errors.append(_l("Set a goal first: the stretch goal follows it."))
            valid = False
        elif self.stretch_goal.data and self.stretch_goal.data <= self.goal.data:
            self.stretch_goal.errors.append(_l("The stretch goal must be larger than the goal."))
            valid = False
        return valid

    def _check_language(self, language: str, is_main: bool) -> bool:
        fields = self.text_form(language)
        filled = any((fields[name].data or "").strip() for name in LANGUAGE_FIELDS)
        if not is_main and not filled:
            return True
        if is_main:
            message = _l("Required in the main language.")
        else:
            message = _l("Fill in the title and the text, or leave this language empty.")
        valid = True
        for name in ("title", "body"):
            if not fields[name].data:
                fields[name].errors.append(message)
                valid = False
        return valid

    def _check_addressees(self, main: str) -> bool:
        if main not in self.LANGUAGES:
            return False
        valid = True
        counts = {}
        for language in self.LANGUAGES:
            field = self.text_form(language)["addressees"]
            try:
                counts[language] = len(parse_addressees(field.data or ""))
            except ValueError as error:
                field.errors.append(str(error))
                valid = False
        for language, count in counts.items():
            if language != main and count and main in counts and count != counts[main]:
                self.text_form(language)["addressees"].errors.append(
                    _l(
                        "%(count)d lines here, %(main)d in the main language: give one line per "
                        "addressee, in the same order.",
                        count=count,
                        main=counts[main],
                    )
                )
                valid = False
        return valid

    def to_input(self) -> LetterInput:
        """What the service needs; call after :meth:`validate`."""
        main = self.main_language.data
        texts: dict[str, TextInput | None] = {}
        lines: dict[str, list[tuple[str, str]]] = {}
        for language in self.LANGUAGES:
            fields = self.text_form(language)
            lines[language] = parse_addressees(fields["addressees"].data or "")
            if fields["title"].data and fields["body"].data:
                texts[language] = TextInput(
                    title=fields["title"].data,
                    body=fields["body"].data,
                    summary=fields["summary"].data or "",
                    publisher=fields["publisher"].data or "",
                )
            else:
                texts[language] = None
        addressees = []
        for position, (name, title) in enumerate(lines[main]):
            translations = {
                language: {"name": found[position][0], "title": found[position][1]}
                for language, found in lines.items()
                if language != main and found
            }
            addressees.append(AddresseeInput(name, title, translations))
        return LetterInput(
            slug=self.slug.data,
            main_language=main,
            texts=texts,
            addressees=addressees,
            goal=self.goal.data,
            stretch_goal=self.stretch_goal.data,
            opens_at=self.opens_at.data,
            closes_at=self.closes_at.data,
            auto_close=bool(self.auto_close.data),
            moderation=Moderation(self.moderation.data),
            organisations_need_approval=bool(self.organisations_need_approval.data),
            retention_days=self.retention_days.data,
        )

    def to_preview(self) -> list[Preview]:
        """Each language with a title or a text, as the public page would show it (works on an
        invalid form too: the preview shows what is there)."""
        main_lines = (
            _lines_or_none(self.text_form(self.main_language.data)["addressees"].data)
            if self.main_language.data in self.LANGUAGES
            else None
        )
        previews = []
        for language in self.LANGUAGES:
            fields = self.text_form(language)
            if not (fields["title"].data or fields["body"].data):
                continue
            lines = _lines_or_none(fields["addressees"].data) or main_lines or []
            body = fields["body"].data or ""
            try:  # the same rendering as on saving
                body_html, problem = Markup(render_body(body)), ""  # noqa: S704 (sanitised)
            except NestingTooDeep as error:
                body_html, problem = Markup(""), str(error)
            previews.append(
                Preview(
                    language=language,
                    title=fields["title"].data or "",
                    summary=fields["summary"].data or "",
                    publisher=fields["publisher"].data or "",
                    body=body,
                    body_html=body_html,
                    body_problem=problem,
                    addressees=lines,
                )
            )
        return previews

    def show_error(self, error: LetterEditError) -> None:
        """Put a service's refusal next to the field it is about (``text_en.body``: in a
        language's fieldset)."""
        target: Any = self
        for name in (error.field or "").split("."):
            target = getattr(target, name, None) if name and target is not None else None
        if target is None:
            self.form_errors.append(str(error))
        else:
            target.errors = [*target.errors, str(error)]


@dataclass(frozen=True)
class Preview:
    language: str
    title: str
    summary: str
    publisher: str
    body: str
    body_html: Markup
    body_problem: str  # why the body cannot be shown (then body_html is empty)
    addressees: list[tuple[str, str]]


def _lines_or_none(text: str | None) -> list[tuple[str, str]] | None:
    try:
        return parse_addressees(text or "") or None
    except ValueError:
        return None


def parse_addressees(text: str) -> list[tuple[str, str]]:
    """``Name | Title`` per line (the title may be left out); blank lines are skipped."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, _, title = (part.strip() for part in line.partition("|"))
        if not name or "|" in title:
            raise ValueError(
                str(_l("Line %(number)d: write one addressee as “Name | Title”.", number=number))
            )
        if len(name) > 200 or len(title) > 200:
            raise ValueError(str(_l("Line %(number)d is too long.", number=number)))
        found.append((name, title))
    return found


@functools.cache
def letter_form_class(languages: tuple[str, ...]) -> type[LetterForm]:
    fields: dict[str, Any] = {
        f"text_{code}": FormField(LanguageTextForm, label=LANGUAGE_NAMES.get(code) or autonym(code))
        for code in languages
    }
    fields["LANGUAGES"] = languages
    return type("LetterForm_" + "_".join(languages), (LetterForm,), fields)


def letter_form(
    languages: list[str], organisers: list[StaffUser] | None = None, **kwargs: Any
) -> LetterForm:
    """The form for these languages; ``organisers`` (the choices) only for those who pick them."""
    form = letter_form_class(tuple(languages))(**kwargs)
    interface = current_language()
    form.main_language.choices = [
        SelectChoice(code, language_label(code, interface, LANGUAGE_NAMES)) for code in languages
    ]
    form.add_language.choices = [
        SelectChoice("", "—"),
        *(
            SelectChoice(code, name)
            for code, name in language_choices(interface)
            if code not in languages
        ),
    ]
    if organisers is None:
        del form.organisers
    else:
        form.organisers.choices = [SelectChoice(user.id, user.email) for user in organisers]
    return form


def letter_form_data(letter: Letter, organiser_ids: list[int]) -> dict[str, Any]:
    """The form's starting values for an existing letter."""
    data: dict[str, Any] = {
        "slug": letter.slug,
        "main_language": letter.main_language,
        "goal": letter.goal,
        "stretch_goal": letter.stretch_goal,
        "opens_at": letter.opens_at,
        "closes_at": letter.closes_at,
        "auto_close": letter.auto_close,
        "moderation": letter.moderation,
        "organisations_need_approval": letter.organisations_need_approval,
        "retention_days": letter.retention_days,
        "organisers": organiser_ids,
    }
    current = {t.language: t for t in letter.texts if t.superseded_at is None}
    for code in {*current, *(lang for a in letter.addressees for lang in a.translations or {})}:
        text = current.get(code)
        data[f"text_{code}"] = {
            "title": text.title if text else "",
            "summary": text.summary if text else "",
            "publisher": text.publisher if text else "",
            "body": text.body if text else "",
            "addressees": _addressee_lines(letter, code),
        }
    return data


def _addressee_lines(letter: Letter, language: str) -> str:
    lines = []
    for addressee in letter.addressees:
        if language == letter.main_language:
            name, title = addressee.name, addressee.title
        else:
            found = (addressee.translations or {}).get(language)
            if not found:
                return ""  # no (complete) translation: the public page shows the main names
            name, title = found.get("name", ""), found.get("title", "")
        lines.append(f"{name} | {title}" if title else name)
    return "\n".join(lines)


class StatusForm(TranslatedForm):
    """A status change; ``confirmed`` comes only from the confirmation page's button."""

    action = StringField(validators=[AnyOf([action.value for action in StatusAction])])
    confirmed = StringField()
