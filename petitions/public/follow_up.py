"""Follow-up pages for signers: one-click unsubscribe, "keep me informed" after confirming, and
the check-email page's resend and "sign again".

The unsubscribe address takes a POST with no cookie and no CSRF token (RFC 8058: mail providers
send exactly ``List-Unsubscribe=One-Click``), so it is exempt from CSRF, and it only ever turns
updates off for the signature its signed token names. Its GET shows one button: mail scanners
open links, they do not press buttons.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from petitions.extensions import csrf, db
from petitions.models.signatures import Signature, SignatureStatus
from petitions.public.forms import ConfirmForm, SignatureForm
from petitions.services import check_email as check_email_service
from petitions.services import letters as letter_service
from petitions.services import subscriptions
from petitions.services.signer_mail import withdraw_url
from petitions.services.signing import LetterNotOpen
from petitions.services.tokens import Claim, Purpose, TokenExpired, TokenInvalid, read_token
from petitions.web.i18n import current_language
from petitions.web.unit_of_work import refused

bp = Blueprint("follow_up", __name__)

SIGNED_KEY = "signed"  # the session's note of what this browser just signed with
KEPT_FIELDS = ("kind", "name", "title", "organisation", "country", "city", "website", "public",
               "updates")  # fmt: skip


def remember_signer(slug: str, form: SignatureForm) -> None:
    """Called after a signature is recorded: the answers, for the check-email page."""
    kept: dict[str, Any] = {name: form[name].data for name in KEPT_FIELDS}
    session[SIGNED_KEY] = {"slug": slug, "email": form.email.data, "fields": kept}


def _signed(slug: str) -> dict[str, Any] | None:
    noted = session.get(SIGNED_KEY)
    return noted if isinstance(noted, dict) and noted.get("slug") == slug else None


def check_email_context(slug: str) -> dict[str, Any]:
    noted = _signed(slug)
    return {
        "masked_email": check_email_service.mask_email(noted["email"]) if noted else None,
        "resend_form": ConfirmForm(),
    }


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> ResponseReturnValue:
    try:
        claim = read_token(Purpose.UNSUBSCRIBE, token)
        if request.method == "POST":
            subscriptions.unsubscribe(claim)
            return render_template("public/unsubscribed.html"), 200
        signature = subscriptions.signature_of(claim)
    except TokenExpired:
        return render_template("public/unsubscribe_invalid.html"), 410
    except (TokenInvalid, subscriptions.SubscriptionLinkGone):
        return render_template("public/unsubscribe_invalid.html"), 404
    return render_template("public/unsubscribe.html", signature=signature)


csrf.exempt(unsubscribe)


@bp.post("/updates/<token>")
def opt_in(token: str) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        signature = subscriptions.opt_in(read_token(Purpose.UPDATES, token))
    except (TokenInvalid, TokenExpired, subscriptions.SubscriptionLinkGone):
        return render_template("public/unsubscribe_invalid.html"), 404
    return render_template("public/updates_on.html", letter=signature.letter)


@bp.post("/letters/<slug>/check-email/resend")
def resend(slug: str) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    letter = letter_service.published_letter(slug) or abort(404)
    noted = _signed(slug)
    outcome = "sent"
    if noted is None:
        outcome = "nothing"
    else:
        try:
            check_email_service.resend(letter, noted["email"])
        except check_email_service.ResendRefused:
            refused()
            outcome = "wait"
        except LetterNotOpen:
            outcome = "closed"
    # The same answer whether or not the address has a pending signature: nothing to learn.
    return redirect(url_for("public.check_email", slug=slug, resent=outcome), 303)


@bp.get("/letters/<slug>/sign-again")
def sign_again(slug: str) -> ResponseReturnValue:
    """The form with this browser's last answers, except the email address."""
    letter = letter_service.published_letter(slug) or abort(404)
    noted = _signed(slug)
    language = current_language()
    fields = dict(noted["fields"]) if noted else {}
    form = SignatureForm(formdata=None, data=fields, language=language)
    return render_template("public/sign_again.html", letter=letter, form=form)


def updates_offer(claim: Claim, purpose: Purpose, outcome: str) -> str | None:
    """After a confirmation: the "keep me informed" link, when the signer has not asked yet."""
    if purpose is not Purpose.CONFIRM or outcome not in (
        "confirmed",
        "awaiting_approval",
        "already_confirmed",
    ):
        return None
    signature = db.session.get(Signature, claim.signature_id)
    if signature is None or signature.updates or signature.confirm_nonce != claim.nonce:
        return None
    return subscriptions.updates_url(signature)


def link_state(signature: Signature, purpose: Purpose) -> dict[str, str] | None:
    """What an old link should say before any button: already confirmed (with the way to
    withdraw), already withdrawn, or a withdrawal link already used. None: the button applies."""
    status = signature.status
    if status is SignatureStatus.WITHDRAWN or (
        purpose is Purpose.WITHDRAW and signature.withdrawn_at is not None
    ):
        return {"state": "withdrawn"}
    if purpose is Purpose.CONFIRM and status in (
        SignatureStatus.CONFIRMED,
        SignatureStatus.AWAITING_APPROVAL,
    ):
        return {"state": "confirmed", "withdraw_url": withdraw_url(signature)}
    return None


@bp.app_context_processor
def follow_up_helpers() -> dict[str, Any]:
    return {"published_updates": _published_updates}


def _published_updates(letter: Any) -> list[Any]:
    from petitions.services.updates import letter_updates

    return letter_updates(letter, public_only=True)
