"""The embed: a letter's count and signing form, framed by coalition members on their own sites.

A framed page is a third-party page: browsers that block third-party cookies (Chromium's
direction) give it no session, so it can use none. The form carries a signed, short-lived form
token bound to the letter instead of the session's CSRF token (services/form_tokens.py); the
language travels in the URLs, not in the session; the "check your email" answer is its own
framable page. Rate limits and the honeypot apply as on the letter page. Only these pages may be
framed (web/security_headers.py); every other page keeps refusing it.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms.validators import ValidationError

from petitions.extensions import csrf
from petitions.models.letters import Letter
from petitions.public.forms import SignatureForm
from petitions.services import letters as letter_service
from petitions.services import signing
from petitions.services.form_tokens import FormTokenRefused, check_form_token, make_form_token
from petitions.services.referrals import clean_ref
from petitions.web.client_address import client_ip_hash
from petitions.web.i18n import current_language
from petitions.web.links import external_url
from petitions.web.security_headers import allow_framing
from petitions.web.unit_of_work import reading_first

bp = Blueprint("embed", __name__)
# Every answer of these URLs may be framed: error pages too (a 429 shows in the frame, not as a
# refused frame).
bp.after_request(allow_framing)


class EmbedSignatureForm(SignatureForm):
    """The signing form without a session: a signed form token replaces the CSRF token."""

    class Meta:
        csrf = False

    form_token = HiddenField()

    def __init__(self, *args: Any, letter_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letter_id = letter_id

    def validate_form_token(self, field: Any) -> None:
        try:
            check_form_token(field.data or "", self.letter_id)
        except FormTokenRefused:
            raise ValidationError(
                _l("This form was open too long. Your answers are kept; please send it again.")
            ) from None


def _letter_or_404(slug: str) -> Letter:
    letter = letter_service.published_letter(slug)
    if letter is None:
        abort(404)
    return letter


def _render(letter: Letter, form: EmbedSignatureForm, status: int = 200) -> Response:
    language = current_language()
    form.form_token.data = make_form_token(letter.id)  # a fresh one on every page
    ref = form.ref.data or ""
    return make_response(
        render_template(
            "public/embed.html",
            letter=letter,
            text=letter.text_in(language),
            form=form,
            is_open=letter.is_open(),
            status=letter.effective_status(),
            action=url_for("embed.sign", slug=letter.slug, lang=language),
            letter_url=external_url(
                "public.letter", slug=letter.slug, lang=language, ref=ref or None
            ),
        ),
        status,
    )


@bp.get("/letters/<slug>/embed")
def embed(slug: str) -> ResponseReturnValue:
    found = _letter_or_404(slug)
    form = EmbedSignatureForm(language=current_language(), letter_id=found.id)
    form.ref.data = clean_ref(request.args.get("ref"))
    return _render(found, form)


@bp.post("/letters/<slug>/embed/sign")
def sign(slug: str) -> ResponseReturnValue:
    language = current_language()
    with reading_first():  # read and check without holding SQLite's write lock
        found = letter_service.letter_for_signing(slug) or abort(404)
        form = EmbedSignatureForm(language=language, letter_id=found.id)
        if not found.is_open():
            return _render(found, form, 403)
        if not form.validate():
            return _render(found, form, 400)
        done = redirect(url_for("embed.check_email", slug=slug, lang=language), 303)
        if form.is_bot:
            return done
        try:
            prepared = signing.prepare_signature(found, form.to_input(language))
        except signing.LetterNotOpen:
            return _render(found, form, 403)
    try:
        signing.record_signature(prepared, client_ip_hash())
    except signing.LetterNotOpen:  # closed between the read and the write
        return _render(_letter_or_404(slug), form, 403)
    return done


# No session to hold a CSRF token: the form token is checked instead (EmbedSignatureForm).
csrf.exempt(sign)


@bp.get("/letters/<slug>/embed/check-email")
def check_email(slug: str) -> ResponseReturnValue:
    found = _letter_or_404(slug)
    return make_response(
        render_template(
            "public/embed_check_email.html",
            letter=found,
            text=found.text_in(current_language()),
            again_url=url_for("embed.embed", slug=slug, lang=current_language()),
            letter_url=external_url("public.letter", slug=slug, lang=current_language()),
        )
    )


@bp.get("/letters/<slug>/badge.svg")
def badge(slug: str) -> ResponseReturnValue:
    """A live counter for partners' pages, in the language asked (``?lang=``)."""
    found = _letter_or_404(slug)
    count = found.count_total
    label = ngettext(
        "%(count)s signature", "%(count)s signatures", count, count=format_decimal(count)
    )
    body = render_template(
        "public/badge.svg",
        label=label,
        width=_badge_width(label),
        title=found.text_in(current_language()).title,
    )
    response = make_response(body)
    response.mimetype = "image/svg+xml"
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['API_CACHE_SECONDS']}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


def _badge_width(label: str) -> int:
    """An estimate of the label's width in the badge's 12 px sans-serif, plus its padding."""
    return 20 + 7 * len(label)
