"""The public verification page of a delivery PDF: /v/<code>, printed (and QR-coded) in the PDF.

It shows the letter, the date, the counts and the digest, and the deliveries made with the PDF.
Anyone can check a digest they hold, upload the file or paste the file's SHA-256 (computed on
their own computer); a signer can check that their name and email were on the list, which tells
them yes or no and nothing about anyone else (and is rate limited, so it cannot be used to try
many addresses).

The upload is the one request here that may be larger than ``MAX_CONTENT_LENGTH``. Its view reads
no byte of the body before the rate limit (its decorator), the code (404) and the CSRF token (in
the form's action URL or a header; 400) have passed; only then does it raise the limit for this
request. CSRFProtect, which reads every POST's form first, therefore skips that view.

A PDF that was never recorded as delivered has a page too (its QR code must lead somewhere), but
that page names no letter until the letter is published.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, same_origin, validate_csrf
from wtforms import ValidationError

from petitions.extensions import csrf
from petitions.models.exports import ExportStatus, PdfExport
from petitions.models.letters import LetterStatus
from petitions.public.verification_forms import DigestForm, FileForm, FileHashForm, ListedForm
from petitions.services import deliveries
from petitions.web.unit_of_work import reading_first

bp = Blueprint("verification", __name__)

# A delivery PDF of 100,000 signatories weighs about 7 MB.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def _reads_only(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """A check only reads: its POST must not take SQLite's write lock (signers would wait
    while someone's 25 MB upload is hashed)."""

    @functools.wraps(view)
    def reading(*args: object, **kwargs: object) -> ResponseReturnValue:
        with reading_first():
            return view(*args, **kwargs)

    return reading


def _export(code: str) -> PdfExport:
    export = deliveries.export_by_code(code)
    if export is None or export.status != ExportStatus.READY:
        abort(404)
    return export


def _page(export: PdfExport, status: int = 200, **results: object) -> tuple[str, int]:
    return render_template(
        "public/verification.html",
        export=export,
        letter=export.letter,
        public=export.letter.status != LetterStatus.DRAFT,
        digest_form=results.pop("digest_form", None) or DigestForm(),
        file_form=results.pop("file_form", None) or FileForm(),
        hash_form=results.pop("hash_form", None) or FileHashForm(),
        listed_form=results.pop("listed_form", None) or ListedForm(),
        max_upload_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        **results,
    ), status


@bp.get("/v/<code>")
def show(code: str) -> ResponseReturnValue:
    return _page(_export(code))


@bp.post("/v/<code>/digest")
@_reads_only
def check_digest(code: str) -> ResponseReturnValue:
    export = _export(code)
    form = DigestForm()
    if not form.validate_on_submit():
        return _page(export, 400, digest_form=form)
    return _page(
        export, digest_form=form, digest_result=deliveries.digest_matches(export, form.digest.data)
    )


def _check_url_token() -> None:
    """CSRFProtect's checks, with the token taken from a header or the query string only."""
    if not current_app.config["WTF_CSRF_ENABLED"]:
        return
    token = request.headers.get("X-CSRFToken") or request.args.get("csrf_token", "")
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise CSRFError(error.args[0]) from None
    strict = request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]
    if strict and not same_origin(request.referrer or "", f"https://{request.host}/"):
        raise CSRFError("The referrer does not match the host.")


@bp.post("/v/<code>/file")
@_reads_only
def check_file(code: str) -> ResponseReturnValue:
    export = _export(code)
    _check_url_token()
    request.max_content_length = MAX_UPLOAD_BYTES
    form = FileForm()
    if not form.validate_on_submit():
        return _page(export, 400, file_form=form)
    upload = form.document.data
    blocks = iter(lambda: upload.stream.read(256 * 1024), b"")
    return _page(export, file_form=form, file_result=deliveries.file_matches(export, blocks))


# Its token is checked from the URL, before the body is read (CSRFProtect would read it).
csrf.exempt(check_file)


@bp.post("/v/<code>/sha256")
@_reads_only
def check_file_hash(code: str) -> ResponseReturnValue:
    """The file check without the upload: the verifier hashes the file and pastes the hash."""
    export = _export(code)
    form = FileHashForm()
    if not form.validate_on_submit():
        return _page(export, 400, hash_form=form)
    matches = deliveries.file_hash_matches(export, form.sha256.data)
    return _page(export, hash_form=form, hash_result=matches)


@bp.post("/v/<code>/listed")
@_reads_only
def check_listed(code: str) -> ResponseReturnValue:
    export = _export(code)
    form = ListedForm()
    if not form.validate_on_submit():
        return _page(export, 400, listed_form=form)
    found = deliveries.was_listed(export, form.name.data, form.email.data)
    # The form is emptied either way: the page must not keep someone's address on screen.
    return _page(export, listed_result=found, listed_form=ListedForm(formdata=None))
