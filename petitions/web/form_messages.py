"""Forms whose built-in messages speak the page's language.

WTForms ships no Albanian catalog, so its own messages ("This field is required.") stayed in
English on Albanian pages. Our forms derive from :class:`TranslatedForm` (or, inside another
form, :class:`TranslatedSubform`), which looks those messages up in
our catalog instead; :func:`_listed_for_the_catalog` names them, so that message extraction puts
them there to be translated with everything else.

Every field of these forms also refuses control characters (tab and line breaks pass in
multi-line text), so a NUL is refused next to its field instead of failing in PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import wtforms
from flask_babel import get_translations, ngettext
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from petitions.web.input_guard import CONTROL, CONTROL_BUT_LINE_BREAKS


class CatalogTranslations:
    """What WTForms asks of a translations object, answered from our catalog."""

    def gettext(self, string: str) -> str:
        return str(get_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(get_translations().ungettext(singular, plural, n))


CATALOG = CatalogTranslations()


class _CatalogMeta:
    def get_translations(self, form: Any) -> CatalogTranslations:
        return CATALOG


def _has_control_characters(field: Any) -> bool:
    """Any control character in what was sent for ``field``; tab and line breaks pass in
    multi-line text. Subforms (``FormField``) check their own fields."""
    if isinstance(field, wtforms.FormField):
        return False
    if isinstance(field, wtforms.FieldList):
        return any(_has_control_characters(entry) for entry in field.entries)
    pattern = CONTROL_BUT_LINE_BREAKS if isinstance(field, wtforms.TextAreaField) else CONTROL
    return any(isinstance(raw, str) and pattern.search(raw) for raw in field.raw_data or ())


class _RefusesControlCharacters:
    """Every field of every form refuses control characters, next to the field (PostgreSQL
    cannot store a NUL; see web/input_guard.py, which lets these forms say it)."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)  # type: ignore[misc]
        for field in self:  # type: ignore[attr-defined]
            if _has_control_characters(field):
                message = _("This contains invisible control characters; remove them.")
                if message not in field.errors:
                    field.errors = [*field.errors, message]
                valid = False
        return valid


class TranslatedForm(_RefusesControlCharacters, FlaskForm):
    """A page's form (with its CSRF token)."""

    class Meta(_CatalogMeta):
        pass


class TranslatedSubform(_RefusesControlCharacters, wtforms.Form):
    """A group of fields inside a page's form (``FormField``): no token of its own."""

    class Meta(_CatalogMeta):
        pass


def _listed_for_the_catalog() -> None:  # pragma: no cover - read by the extractor, never run
    _("This field is required.")
    _("Invalid input.")
    _("Invalid email address.")
    _("Invalid URL.")
    _("Field must be equal to %(other_name)s.")
    ngettext(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
        0,
    )
    ngettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        0,
    )
    ngettext(
        "Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.",
        0,
    )
    _("Field must be between %(min)d and %(max)d characters long.")
    _("Number must be at least %(min)s.")
    _("Number must be at most %(max)s.")
    _("Number must be between %(min)s and %(max)s.")
    _("Invalid value, must be one of: %(values)s.")
    _("Invalid value, can't be any of: %(values)s.")
    _("Not a valid choice.")
    _("Invalid Choice: could not coerce.")
    _("Invalid choice(s): one or more data inputs could not be coerced.")
    ngettext(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
        0,
    )
    _("Not a valid datetime value.")
    _("Not a valid date value.")
    _("Not a valid integer value.")
