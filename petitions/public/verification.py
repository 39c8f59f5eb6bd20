"""The public verification page of a delivery PDF: /v/<code>, printed (and QR-coded) in the PDF.

It shows the letter, the date, the counts and the digest, and the deliveries made with the PDF.
Anyone can check a digest they hold, or upload the file; a signer can check that their name and
email were on the list, which tells them yes or no and nothing about anyone else (and is rate
limited, so it cannot be used to try many addresses).

A PDF that was never recorded as delivered has a page too (its QR code must lead somewhere), but
that page names no letter until the letter is published.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from petitions.models.database import read_phase
from petitions.models.exports import ExportStatus, PdfExport
from petitions.models.letters import LetterStatus
from petitions.public.verification_forms import DigestForm, FileForm, ListedForm
from petitions.services import deliveries

bp = Blueprint("verification", __name__)

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def _reads_only(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """A check only reads: its POST must not take SQLite's write lock (signers would wait
    while someone's 200 MB upload is hashed)."""

    @functools.wraps(view)
    def reading(*args: object, **kwargs: object) -> ResponseReturnValue:
        with read_phase():
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
        listed_form=results.pop("listed_form", None) or ListedForm(),
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


@bp.post("/v/<code>/file")
@_reads_only
def check_file(code: str) -> ResponseReturnValue:
    export = _export(code)
    form = FileForm()
    if not form.validate_on_submit():
        return _page(export, 400, file_form=form)
    upload = form.document.data
    blocks = iter(lambda: upload.stream.read(256 * 1024), b"")
    return _page(export, file_form=form, file_result=deliveries.file_matches(export, blocks))


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


def limit_request_size() -> None:
    """Let the file check take a PDF, everything else only ``MAX_CONTENT_LENGTH``.

    Registered on the app ahead of CSRFProtect, which parses every POST's form first: Werkzeug
    then answers 413 from the Content-Length alone, and stops a chunked body at the limit.
    """
    if request.endpoint == "verification.check_file":
        request.max_content_length = MAX_UPLOAD_BYTES
