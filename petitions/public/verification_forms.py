"""Forms of the public verification page: a digest, a file (or its SHA-256), or a (name, email)
pair."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, Field, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from petitions.services.deliveries import find_sha256
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
    """The upload. Its CSRF token travels in the form's action URL, not in the body: the view
    checks it before it reads a byte of the upload (see ``verification.check_file``)."""

    class Meta:
        csrf = False

    document = FileField(_l("The PDF file"), validators=[FileRequired(_l("Choose a file."))])


class FileHashForm(TranslatedForm):
    """The file's SHA-256, computed by the verifier: the same answer as an upload, no upload."""

    sha256 = TextAreaField(
        _l("SHA-256 of your file"),
        validators=[
            DataRequired(_l("Paste the SHA-256 your computer printed for the file.")),
            Length(max=2000),
        ],
    )

    def validate_sha256(self, field: Field) -> None:
        if find_sha256(field.data or "") is None:
            raise ValidationError(
                _l("Paste the 64 hexadecimal characters (0-9, a-f) that the command printed.")
            )


class ListedForm(TranslatedForm):
    name = StringField(
        _l("Your name, as you signed"),
        validators=[DataRequired(_l("Please give your name.")), Length(max=200)],
    )
    email = EmailField(
        _l("Your email address, as you signed"),
        validators=[DataRequired(_l("Please give your email address.")), Length(max=320)],
    )
