"""The privacy notice and the signers' rights: /privacy, /privacy/erase, /privacy/access.

Asking for a link answers with the same page, status and (within the noise) time whether the
address signed or not; the link goes to the address only (services/rights.py). Opening the link
only reads and shows one button; pressing it erases, or shows what is held (with a JSON download).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from petitions.public.forms import ConfirmForm
from petitions.public.privacy_forms import RightsRequestForm
from petitions.services import rights
from petitions.services.privacy_notice import (
    COLLECTED,
    DELIVERED,
    KEPT_AFTER_RETENTION,
    LISTED,
    privacy_notice,
)
from petitions.services.retention import retention_date
from petitions.services.tokens import Claim, Purpose, TokenExpired, TokenInvalid, read_token
from petitions.web.i18n import current_language
from petitions.web.links import external_url

bp = Blueprint("privacy", __name__, url_prefix="/privacy")

NOINDEX = {"X-Robots-Tag": "noindex"}


@bp.get("")
def notice() -> ResponseReturnValue:
    return render_template(
        "privacy/notice.html",
        notice=privacy_notice(),
        collected=COLLECTED,
        delivered=DELIVERED,
        listed=LISTED,
        kept=KEPT_AFTER_RETENTION,
    )


def _ask(purpose: Purpose) -> ResponseReturnValue:
    form = RightsRequestForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("privacy/request.html", purpose=purpose.value, form=form), 400
        rights.request_link(purpose, form.email.data, current_language())
        return render_template("privacy/request_sent.html", purpose=purpose.value)
    return render_template("privacy/request.html", purpose=purpose.value, form=form)


@bp.route("/erase", methods=["GET", "POST"])
def erase() -> ResponseReturnValue:
    return _ask(Purpose.ERASE)


@bp.route("/access", methods=["GET", "POST"])
def access() -> ResponseReturnValue:
    return _ask(Purpose.ACCESS)


def _problem(error: Exception, purpose: Purpose, token: str) -> ResponseReturnValue:
    if isinstance(error, TokenExpired):
        return render_template(
            "privacy/link_expired.html", purpose=purpose.value, token=token, form=ConfirmForm()
        ), 410
    return render_template("privacy/link_invalid.html", purpose=purpose.value), 404


@bp.route("/erase/<token>", methods=["GET", "POST"])
def erase_link(token: str) -> ResponseReturnValue:
    form = ConfirmForm()
    try:
        claim = read_token(Purpose.ERASE, token)
        if request.method == "POST" and form.validate_on_submit():
            result = rights.erase(claim)
            return render_template("privacy/erase_done.html", result=result)
        signatures = rights.signatures_of(claim)
    except (TokenInvalid, TokenExpired, rights.RightsLinkGone) as error:
        return _problem(error, Purpose.ERASE, token)
    letters = [
        (signature, rights.was_delivered(signature.letter), retention_date(signature.letter))
        for signature in signatures
    ]
    status = 400 if request.method == "POST" else 200  # a POST here lost its CSRF token
    return render_template("privacy/erase_confirm.html", letters=letters, form=form), status


@bp.route("/access/<token>", methods=["GET", "POST"])
def access_link(token: str) -> ResponseReturnValue:
    form = ConfirmForm()
    try:
        claim = read_token(Purpose.ACCESS, token)
        if request.method == "POST" and form.validate_on_submit():
            report = rights.access_report(claim)
            if request.form.get("format") == "json":
                return Response(
                    json.dumps(report, ensure_ascii=False, indent=2),
                    mimetype="application/json",
                    headers={
                        "Content-Disposition": 'attachment; filename="my-signatures.json"',
                        "Cache-Control": "no-store",
                        **NOINDEX,
                    },
                )
            return render_template("privacy/access_report.html", report=report, form=form)
        rights.signatures_of(claim)  # the link still applies
    except (TokenInvalid, TokenExpired, rights.RightsLinkGone) as error:
        return _problem(error, Purpose.ACCESS, token)
    status = 400 if request.method == "POST" else 200
    return render_template("privacy/access_confirm.html", form=form), status


@bp.post("/<any(erase, access):purpose>/<token>/renew")
def renew(purpose: str, token: str) -> ResponseReturnValue:
    """An expired link asks for a fresh one, mailed to the same address."""
    chosen = Purpose(purpose)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("privacy/link_invalid.html", purpose=purpose), 400
    try:
        read_token(chosen, token)
    except TokenExpired as expired:
        if isinstance(expired.claim, Claim):
            rights.renew_link(chosen, expired.claim, current_language())
        return render_template("privacy/request_sent.html", purpose=purpose)
    except TokenInvalid as error:
        return _problem(error, chosen, token)
    return render_template("privacy/request_sent.html", purpose=purpose)


@bp.app_template_global("privacy_url")
def privacy_url(language: str | None = None) -> str:
    """The notice's absolute address, for the line every email to a signer ends with."""
    return external_url("privacy.notice", lang=language)
