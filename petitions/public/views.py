"""Public pages: letters, the signing form, and the confirmation and withdrawal links.

Each view validates, calls one service, commits once, then renders or redirects.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from petitions.extensions import csrf
from petitions.models.database import unavailable
from petitions.models.letters import Letter
from petitions.models.signatures import SignatureKind
from petitions.public import follow_up
from petitions.public.forms import ConfirmForm, SignatureForm
from petitions.public.page_cache import PageCache, letter_page_key
from petitions.public.referral_field import carry_ref
from petitions.public.sharing import requested_text
from petitions.services import deliveries, signatory_pages, signature_links, signing
from petitions.services import letters as letter_service
from petitions.services.tokens import (
    Claim,
    Purpose,
    TokenExpired,
    TokenInvalid,
    read_change_token,
    read_token,
)
from petitions.web.client_address import client_ip_hash
from petitions.web.errors import dependency_down, unavailable_response
from petitions.web.i18n import current_language
from petitions.web.unit_of_work import reading_first

bp = Blueprint("public", __name__)

RECENT_SIGNATORIES = 10


def _letter_or_404(slug: str) -> Letter:
    letter = letter_service.published_letter(slug)
    if letter is None:
        abort(404)
    return letter


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("public/index.html", letters=letter_service.published_letters())


def _render_letter(letter: Letter, form: SignatureForm, status: int = 200) -> ResponseReturnValue:
    return _letter_html(letter, form), status


def _letter_html(letter: Letter, form: SignatureForm) -> str:
    recent = {
        kind: letter_service.public_signatories(letter, kind, RECENT_SIGNATORIES).signatures
        for kind in SignatureKind
    }
    text, text_requested = requested_text(letter)
    return render_template(
        "public/letter.html",
        letter=letter,
        text=text,
        text_requested=text_requested,
        text_changed_on=letter_service.text_changed_on(letter, text),
        form=form,
        recent=recent,
        is_open=letter.is_open(),
        status=letter.effective_status(),
        deliveries=deliveries.letter_deliveries(letter),
    )


@bp.get("/letters/<slug>")
def letter(slug: str) -> ResponseReturnValue:
    language = current_language()
    cache: PageCache = current_app.extensions["petitions.page_cache"]
    # The text may be in a language the interface lacks (?lang=ar): the page differs by both.
    asked = request.args.get("lang", "")
    name = (
        slug,
        language,
        asked if asked.isalpha() else "",
        request.host_url,
    )  # links use the host
    try:
        found = _letter_or_404(slug)
        shown = requested_text(found)[0].language
        return carry_ref(
            cache.page(
                (letter_page_key(found, language), shown, request.host_url),
                lambda: _letter_html(found, SignatureForm(language=language)),
                name,
            )
        )
    except Exception as error:
        # The database is down: the page as it last was beats an error page.
        kept = cache.last_page(name) if unavailable(error) else None
        if kept is None:
            raise
        current_app.logger.warning("database unavailable: served a kept letter page")
        return kept


@bp.post("/letters/<slug>/sign")
def sign(slug: str) -> ResponseReturnValue:
    try:
        return _sign(slug)
    except Exception as error:
        if not dependency_down(error):
            raise
        # Nothing was stored: the signer gets their answers back to send again.
        return unavailable_response(error, SignatureForm(language=current_language()))


# The form checks its own token, so a stale one shows next to the kept input.
csrf.exempt(sign)


def _sign(slug: str) -> ResponseReturnValue:
    language = current_language()
    with reading_first():  # read and check without holding SQLite's write lock
        found = letter_service.letter_for_signing(slug) or abort(404)
        form = SignatureForm(language=language)
        if not found.is_open():
            return _render_letter(found, form, 403)
        if not form.validate():
            return _render_letter(found, form, 400)
        if form.is_bot:
            return redirect(url_for("public.check_email", slug=slug), 303)
        try:
            prepared = signing.prepare_signature(found, form.to_input(language))
        except signing.LetterNotOpen:  # the deadline passed a moment ago
            return _render_letter(found, form, 403)
    try:
        signing.record_signature(prepared, client_ip_hash())
    except signing.LetterNotOpen:  # closed between the read and the write
        return _render_letter(letter_service.published_letter(slug) or abort(404), form, 403)
    follow_up.remember_signer(slug, form)
    return redirect(url_for("public.check_email", slug=slug), 303)


@bp.get("/letters/<slug>/check-email")
def check_email(slug: str) -> ResponseReturnValue:
    return render_template(
        "public/check_email.html",
        letter=_letter_or_404(slug),
        **follow_up.check_email_context(slug),
    )


@bp.get("/letters/<slug>/signatories")
def signatories(slug: str) -> ResponseReturnValue:
    found = _letter_or_404(slug)
    try:
        kind = SignatureKind(request.args.get("kind", SignatureKind.ORGANISATION.value))
    except ValueError:
        abort(404)
    search = request.args.get("q", "").strip()
    page = signatory_pages.signatory_page(
        found,
        kind,
        current_app.config["PUBLIC_PAGE_SIZE"],
        number=request.args.get("page", 1, type=int) or 1,
        after=request.args.get("after"),
        before=request.args.get("before"),
        search=search,
    )
    listed_total = signatory_pages.listed_count(found, kind) if search else page.total
    return render_template(
        "public/signatories.html",
        letter=found,
        kind=kind,
        page=page,
        search=search,
        listed_total=listed_total,
    )


def _link_problem(error: Exception, purpose: Purpose, token: str) -> ResponseReturnValue:
    """Explain a link that cannot be used: 410 when it expired (with a fresh one offered)."""
    if isinstance(error, TokenExpired):
        return render_template(
            "public/link_expired.html", purpose=purpose, token=token, form=ConfirmForm()
        ), 410
    reasons: dict[type[Exception], str] = {
        signing.LinkReplaced: "replaced",
        signing.LinkUnknown: "unknown",
        signing.LetterNotOpen: "closed",
        signing.OfferGone: "offer_gone",
    }
    reason = reasons.get(type(error), "invalid")
    return render_template("public/link_invalid.html", purpose=purpose, reason=reason), (
        409 if reason in ("closed", "offer_gone") else 404 if reason == "unknown" else 400
    )


def _link_view(purpose: Purpose, token: str) -> ResponseReturnValue:
    """GET shows one button and changes nothing; POST (with its CSRF token) acts."""
    form = ConfirmForm()
    try:
        claim = read_token(purpose, token)
        if request.method == "POST" and form.validate_on_submit():
            act = LINK_ACTIONS[purpose]
            result = act(claim)
            return render_template(
                "public/link_done.html",
                outcome=result.outcome,
                letter=result.letter,
                updates_offer=follow_up.updates_offer(claim, purpose, result.outcome),
            )
        signature = signature_links.signature_for(claim, purpose)
    except (TokenInvalid, TokenExpired, signing.SigningError) as error:
        return _link_problem(error, purpose, token)
    status = 400 if request.method == "POST" else 200  # a POST here lost its CSRF token
    return render_template(
        "public/link_action.html",
        purpose=purpose,
        signature=signature,
        form=form,
        settled=follow_up.link_state(signature, purpose),
    ), status


LINK_ACTIONS = {
    Purpose.CONFIRM: signature_links.confirm_signature,
    Purpose.WITHDRAW: signature_links.withdraw_signature,
}


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    return _link_view(Purpose.CONFIRM, token)


@bp.route("/withdraw/<token>", methods=["GET", "POST"])
def withdraw(token: str) -> ResponseReturnValue:
    return _link_view(Purpose.WITHDRAW, token)


@bp.route("/change/<token>", methods=["GET", "POST"])
def change(token: str) -> ResponseReturnValue:
    """The "use these details" link: as a confirmation link, GET shows one button, POST acts."""
    form = ConfirmForm()
    try:
        claim = read_change_token(token)
        if request.method == "POST" and form.validate_on_submit():
            result = signature_links.sign_with_offer(claim)
            return render_template(
                "public/link_done.html", outcome=result.outcome, letter=result.letter
            )
        signature, offer = signature_links.offer_for(claim)
    except (TokenInvalid, TokenExpired, signing.SigningError) as error:
        return _link_problem(error, Purpose.CHANGE, token)
    status = 400 if request.method == "POST" else 200  # a POST here lost its CSRF token
    return render_template(
        "public/change_action.html", signature=signature, proposed=offer.details, form=form
    ), status


@bp.post("/confirm/<token>/renew")
def renew(token: str) -> ResponseReturnValue:
    """An expired confirmation link asks for a fresh one by email."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        read_token(Purpose.CONFIRM, token)
    except TokenExpired as expired:
        if not isinstance(expired.claim, Claim):
            abort(400)
        try:
            signature_links.resend_confirmation(expired.claim)
        except signing.LetterNotOpen as error:
            return _link_problem(error, Purpose.CONFIRM, token)
        return render_template("public/link_renewed.html")
    except TokenInvalid as error:
        return _link_problem(error, Purpose.CONFIRM, token)
    return redirect(url_for("public.confirm", token=token), 303)
