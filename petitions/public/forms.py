"""The signing form. Field names are the contract's; the checks are the service's text rules."""

from __future__ import annotations

import functools
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import Select, html_params

from petitions.models.signatures import SignatureKind
from petitions.services.consents import PUBLIC_LABEL
from petitions.services.referrals import clean_ref
from petitions.services.signing import CONSENT_LABEL, SignatureInput
from petitions.services.subscriptions import UPDATES_LABEL
from petitions.services.text_input import (
    country_choices,
    country_codes,
    looks_like_link,
    normalise,
    refused_characters,
)
from petitions.web.form_messages import TranslatedForm

LIMITS = {"name": 120, "organisation": 200, "title": 150, "city": 100, "website": 300,
          "comment": 2000, "email": 254}  # fmt: skip


class CountrySelect(Select):
    """The country list, rendered once per language: 250 options built per page view were half
    the cost of the letter page."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        if field.flags.required:
            kwargs.setdefault("required", True)
        options = _country_options(getattr(field, "language", "en"))
        chosen = field.data or ""
        # Every part is escaped: html_params escapes attributes, _country_options the labels.
        return Markup(  # noqa: S704
            f"<select {html_params(name=field.name, **kwargs)}>"
            + "".join(selected if code == chosen else plain for code, plain, selected in options)
            + "</select>"
        )


@functools.cache
def _country_options(language: str) -> tuple[tuple[str, str, str], ...]:
    """(code, option HTML, selected option HTML) for the placeholder and every country."""
    with force_locale(language):
        placeholder = str(_l("Choose…"))
    rendered = []
    for code, name in (("", placeholder), *country_choices(language)):
        label = escape(name)
        rendered.append(
            (
                code,
                f'<option value="{escape(code)}">{label}</option>',
                f'<option selected value="{escape(code)}">{label}</option>',
            )
        )
    return tuple(rendered)


class PlainText:
    """Refuse control characters (and, for names, links)."""

    def __init__(self, multiline: bool = False, no_links: bool = False) -> None:
        self.multiline = multiline
        self.no_links = no_links

    def __call__(self, form: TranslatedForm, field: Any) -> None:
        value = field.data or ""
        if refused_characters(value, self.multiline):
            raise ValidationError(_l("This contains invisible control characters; remove them."))
        if self.no_links and looks_like_link(value):
            raise ValidationError(_l("Please write a name here, not a web address."))


def _length(field: str) -> Length:
    return Length(
        max=LIMITS[field], message=_l("At most %(max)d characters, please.", max=LIMITS[field])
    )


class SignatureForm(TranslatedForm):
    class Meta:
        csrf_field_name = "csrf_token"

    kind = RadioField(
        _l("I sign as"),
        choices=[
            SelectChoice(SignatureKind.INDIVIDUAL.value, _l("an individual")),
            SelectChoice(SignatureKind.ORGANISATION.value, _l("an organisation")),
        ],
        default=SignatureKind.INDIVIDUAL.value,
        validate_choice=False,  # validate_kind says it in the signer's language
        validators=[InputRequired(_l("Choose whether you sign as a person or an organisation."))],
    )
    organisation = StringField(
        _l("Organisation"),
        filters=[normalise],
        validators=[_length("organisation"), PlainText(no_links=True)],
    )
    name = StringField(
        _l("Your full name"),
        filters=[normalise],
        validators=[
            DataRequired(_l("Please give your name.")),
            _length("name"),
            PlainText(no_links=True),
        ],
    )
    title = StringField(
        _l("Role or occupation"),
        filters=[normalise],
        validators=[_length("title"), PlainText(no_links=True)],
    )
    email = EmailField(
        _l("Email address"),
        filters=[normalise],
        validators=[DataRequired(_l("Please give your email address.")), _length("email")],
    )
    country = SelectField(
        _l("Country"),
        widget=CountrySelect(),
        validate_choice=False,
        validators=[DataRequired(_l("Please choose your country."))],
    )
    city = StringField(
        _l("City or town"), filters=[normalise], validators=[_length("city"), PlainText()]
    )
    website = StringField(
        _l("Website"), filters=[normalise], validators=[Optional(), _length("website"), PlainText()]
    )
    comment = TextAreaField(
        _l("Comment"),
        filters=[normalise],
        validators=[_length("comment"), PlainText(multiline=True)],
    )
    public = BooleanField(PUBLIC_LABEL)
    consent = BooleanField(
        CONSENT_LABEL,
        validators=[DataRequired(_l("Your signature can only be delivered with this consent."))],
    )
    updates = BooleanField(UPDATES_LABEL)  # optional, never ticked in advance
    # A field people never see; automated form fillers do.
    leave_empty = StringField(_l("Leave this field empty"))
    # The referral source (``?ref=``) carried by the page; a malformed one is dropped, not refused.
    ref = HiddenField(filters=[clean_ref])

    def __init__(self, *args: Any, language: str = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = []  # CountrySelect renders them; validate_country checks them
        self.country.language = language
        self.email_check_deliverability = current_app.config["EMAIL_CHECK_DELIVERABILITY"]

    def validate_kind(self, field: Any) -> None:
        if field.data not in {kind.value for kind in SignatureKind}:
            raise ValidationError(_l("Choose whether you sign as a person or an organisation."))

    def validate_country(self, field: Any) -> None:
        if field.data and field.data not in country_codes():
            raise ValidationError(_l("Please choose a country from the list."))

    def validate_organisation(self, field: Any) -> None:
        if self.kind.data == SignatureKind.ORGANISATION.value and not field.data:
            raise ValidationError(_l("Please give the organisation's name."))

    def validate_email(self, field: Any) -> None:
        if not field.data:
            return
        try:
            result = validate_email(
                field.data, check_deliverability=self.email_check_deliverability
            )
        except EmailNotValidError:
            raise ValidationError(_l("This does not look like a valid email address.")) from None
        field.data = result.normalized

    def validate_website(self, field: Any) -> None:
        value = field.data or ""
        if value and not value.lower().startswith(("http://", "https://")):
            value = "https://" + value
        host = value.split("://", 1)[1].split("/", 1)[0]
        if " " in value or "." not in host:
            raise ValidationError(_l("This does not look like a web address."))
        field.data = value

    @property
    def is_bot(self) -> bool:
        return bool(self.leave_empty.data)

    def to_input(self, language: str) -> SignatureInput:
        return SignatureInput(
            kind=SignatureKind(self.kind.data),
            name=self.name.data,
            email=self.email.data,
            organisation=self.organisation.data or "",
            title=self.title.data or "",
            country=self.country.data,
            city=self.city.data or "",
            website=self.website.data or "",
            comment=self.comment.data or "",
            is_public=bool(self.public.data),
            language=language,
            updates=bool(self.updates.data),
            source=self.ref.data or "",
        )


class ConfirmForm(TranslatedForm):
    """The one button behind an emailed link: mail scanners open links, they do not press it."""

    class Meta:
        csrf_field_name = "csrf_token"
