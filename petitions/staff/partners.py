"""A letter's partners: the coalition members who spread it, registered by their referral code.

Registering names a code; signatures keep whatever code they came with, so the dashboard's
figures per partner (``staff/letters/_spread.html``) count signatures made before, too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from petitions.models.letters import Letter
from petitions.services import letter_editing, referrals
from petitions.services.access import Permission, may
from petitions.services.referrals import PartnerError
from petitions.services.text_input import normalise
from petitions.staff.gate import require
from petitions.web.form_messages import TranslatedForm

bp = Blueprint("partners", __name__, url_prefix="/letters")
bp.before_request(require(Permission.VIEW_LETTER))


class PartnerForm(TranslatedForm):
    class Meta:
        csrf_field_name = "csrf_token"

    name = StringField(
        _l("Partner's name"),
        filters=[normalise],
        validators=[DataRequired(_l("Please give the partner's name.")), Length(max=200)],
    )
    code = StringField(
        _l("Code"),
        filters=[normalise],
        validators=[
            DataRequired(_l("Please give a code.")),
            Regexp(
                r"^[a-z0-9-]{1,40}$",
                message=_l("A code has 1 to 40 lower-case letters, digits or hyphens."),
            ),
        ],
    )
    website = StringField(
        _l("Website"), filters=[normalise], validators=[Optional(), Length(max=300)]
    )

    def validate_website(self, field: Any) -> None:
        """Only a web address: the dashboard links to it (never ``javascript:`` or the like)."""
        value = field.data or ""
        if value and "://" not in value:
            value = "https://" + value
        parts = urlsplit(value)
        host = parts.netloc.rpartition("@")[2]
        if value and (
            parts.scheme.lower() not in ("http", "https")
            or "." not in host
            or not all(c.isalnum() or c in ".-:[]" for c in host)
            or " " in value
        ):
            raise ValidationError(_l("This does not look like a web address."))
        field.data = value


class RemoveForm(TranslatedForm):
    class Meta:
        csrf_field_name = "csrf_token"


def _letter(slug: str, permission: Permission) -> Letter:
    letter = letter_editing.staff_letter(slug)
    if letter is None:
        abort(404)
    if not may(current_user, permission, letter):
        abort(403)
    return letter


def _page(letter: Letter, form: PartnerForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "staff/letters/partners.html",
        letter=letter,
        form=form,
        remove_form=RemoveForm(),
        sources=referrals.source_figures(letter),
        may_edit=may(current_user, Permission.EDIT_LETTER, letter),
    ), status


@bp.get("/<slug>/partners")
def partners(slug: str) -> ResponseReturnValue:
    return _page(_letter(slug, Permission.VIEW_LETTER), PartnerForm(formdata=None))


@bp.post("/<slug>/partners")
def add(slug: str) -> ResponseReturnValue:
    letter = _letter(slug, Permission.EDIT_LETTER)
    form = PartnerForm()
    if not form.validate():
        return _page(letter, form, 400)
    try:
        referrals.add_partner(letter, form.name.data, form.code.data, form.website.data or "")
    except PartnerError as error:
        form.code.errors = [str(error)]
        return _page(letter, form, 400)
    flash(_l("The partner is registered."))
    return redirect(url_for(".partners", slug=slug), 303)


@bp.post("/<slug>/partners/<int:partner_id>/remove")
def remove(slug: str, partner_id: int) -> ResponseReturnValue:
    letter = _letter(slug, Permission.EDIT_LETTER)
    if not RemoveForm().validate():
        abort(400)
    try:
        referrals.remove_partner(letter, partner_id)
    except PartnerError:
        abort(404)
    flash(_l("The partner is removed; its signatures keep their code."))
    return redirect(url_for(".partners", slug=slug), 303)
