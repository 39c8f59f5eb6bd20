"""Forms of the staff account pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from petitions.web.form_messages import TranslatedForm


class LoginForm(TranslatedForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class NewPasswordForm(TranslatedForm):
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=1024)],
        description=_l("At least 12 characters. A few unrelated words make a good password."),
    )
    password_again = PasswordField(
        _l("Password again"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    """A session alone (an unattended browser) must not be enough to take over the account."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1024)]
    )
