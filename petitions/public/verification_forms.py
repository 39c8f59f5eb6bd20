"""Forms of the public verification page: a digest, a file, or a (name, email) pair."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from petitions.web.form_messages import TranslatedForm


class DigestForm(TranslatedForm):
    digest = StringField(
        _l("Digest (64 hexadecimal characters)"),
        validators=[
            DataRequired(_l("Paste the digest printed at the end of the document.")),
            Length(max=200),
            Regexp(
                r"^[\s0-9a-fA-F:]+$",
                message=_l("A digest has only the digits 0-9 and the letters a-f."),
            ),
        ],
    )


class FileForm(TranslatedForm):
    document = FileField(_l("The PDF file"), validators=[FileRequired(_l("Choose a file."))])


class ListedForm(TranslatedForm):
    name = StringField(
        _l("Your name, as you signed"),
        validators=[DataRequired(_l("Please give your name.")), Length(max=200)],
    )
    email = EmailField(
        _l("Your email address, as you signed"),
        validators=[DataRequired(_l("Please give your email address.")), Length(max=320)],
    )
