"""The one field the rights pages ask for: the address whose signatures are meant."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms import EmailField
from wtforms.validators import DataRequired, Length, ValidationError

from petitions.web.form_messages import TranslatedForm


class RightsRequestForm(TranslatedForm):
    email = EmailField(
        _l("Email address"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[DataRequired(_l("Please give your email address.")), Length(max=320)],
    )

    def validate_email(self, field: Any) -> None:
        try:
            validate_email(field.data, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(_l("This does not look like a valid email address.")) from None
