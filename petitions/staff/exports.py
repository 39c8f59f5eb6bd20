"""Exports of a letter's signatories (CSV, XLSX, the delivery PDF) and its deliveries.

The whole area needs EXPORT (admins, and organisers on their own letters); moderators have no
access. Every download is written to the audit trail with its filters and number of rows before
the first byte leaves. CSV and XLSX stream; a PDF of a short list is built within the request,
a longer one by a background job whose page the organiser watches.

The export addresses answer GET (links, bookmarks, scripts: the filters in the query string) and
POST (the export form, with its CSRF token). An export writes (an audit entry in the staff
member's name, a PDF job and its public page), so a GET that a browser says comes from another
site, a sibling subdomain included, only gets a page asking to confirm: its button POSTs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import end_reading, unit_of_work
from petitions.models.exports import DeliveryMethod, ExportStatus, PdfExport
from petitions.models.letters import Letter
from petitions.services import deliveries, delivery_notice, letter_editing, updates
from petitions.services.access import Permission, may
from petitions.services.exports import pdf_jobs
from petitions.services.exports.export_audit import record_list_export, record_pdf_download
from petitions.services.exports.signatory_rows import (
    PDF_STATUS_SETS,
    count_signatures,
    iter_signatures,
)
from petitions.services.exports.tabular import content_disposition, csv_chunks, write_xlsx
from petitions.staff.export_forms import FORMAT_NAMES, DeliveryForm, ExportForm, export_form
from petitions.staff.gate import current_staff, require
from petitions.web.i18n import current_language
from petitions.web.links import external_url, link_base
from petitions.workers import pdf_builder

bp = Blueprint("exports", __name__, url_prefix="/letters")
bp.before_request(require(Permission.EXPORT))


def _letter(slug: str) -> Letter:
    letter = letter_editing.staff_letter(slug)
    if letter is None:
        abort(404)
    if not may(current_user, Permission.EXPORT, letter):
        abort(403)
    return letter


def _form_page(letter: Letter, form: ExportForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "staff/exports/form.html",
        letter=letter,
        form=form,
        exports=pdf_jobs.letter_exports(letter),
    ), status


def _valid_form(letter: Letter) -> ExportForm:
    """The choices of the query string (GET) or the form (POST); invalid ones end the request
    with the form and its errors."""
    form = export_form(letter, request.form if request.method == "POST" else request.args)
    if not form.validate():
        abort(make_response(_form_page(letter, form, 400)))
    return form


@bp.get("/<slug>/export")
def form(slug: str) -> ResponseReturnValue:
    letter = _letter(slug)
    return _form_page(letter, export_form(letter, {}))


# Sec-Fetch-Site values that are not this site: another site, or a sibling subdomain (which may
# be another application). "same-origin", "none" (typed, a bookmark) and no header (scripts,
# older browsers) export at once.
FOREIGN_ORIGINS = frozenset({"cross-site", "same-site"})


def _unconfirmed_cross_site() -> bool:
    """A GET (or HEAD) the browser says was started from another site: the staff member may not
    mean it."""
    origin = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    return request.method in ("GET", "HEAD") and origin in FOREIGN_ORIGINS


def _confirm_page(
    letter: Letter, what: str, button: str, hidden: list[tuple[str, str]], facts: list[Any]
) -> tuple[str, int]:
    """The same address, asked again by POST with the same choices and a CSRF token."""
    return render_template(
        "staff/exports/confirm.html",
        letter=letter,
        what=what,
        button=button,
        action=url_for(str(request.endpoint), **(request.view_args or {})),
        hidden=hidden,
        facts=facts,
        # Its language links lead to the export page: reopening this address would export.
        language_endpoint="staff.exports.form",
        language_args={"slug": letter.slug},
    ), 200


def _confirm_export(letter: Letter, fmt: str, form: ExportForm) -> tuple[str, int]:
    what = FORMAT_NAMES[fmt]
    return _confirm_page(
        letter,
        str(what),
        str(_l("Export (%(format)s)", format=what)),
        form.hidden_values(),
        form.summary(pdf=fmt == "pdf"),
    )


def _audit_download(letter: Letter, fmt: str, form: ExportForm) -> None:
    organisations, individuals = count_signatures(letter.id, form.row_filter())
    end_reading()
    with unit_of_work():
        record_list_export(letter, fmt, form.row_filter(), organisations + individuals)


@bp.route("/<slug>/export.csv", methods=["GET", "POST"])
def csv_file(slug: str) -> ResponseReturnValue:
    letter = _letter(slug)
    form = _valid_form(letter)
    if _unconfirmed_cross_site():
        return _confirm_export(letter, "csv", form)
    _audit_download(letter, "csv", form)
    rows = iter_signatures(letter.id, form.row_filter())
    return Response(
        stream_with_context(csv_chunks(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": content_disposition(letter.slug, "csv", utcnow())},
    )


@bp.route("/<slug>/export.xlsx", methods=["GET", "POST"])
def xlsx_file(slug: str) -> ResponseReturnValue:
    letter = _letter(slug)
    form = _valid_form(letter)
    if _unconfirmed_cross_site():
        return _confirm_export(letter, "xlsx", form)
    _audit_download(letter, "xlsx", form)
    # XlsxWriter needs a file it can seek; the rows never sit in memory (constant-memory mode).
    handle = tempfile.TemporaryFile()  # noqa: SIM115  (closed once sent, by _file_blocks)
    write_xlsx(iter_signatures(letter.id, form.row_filter()), handle)
    size = handle.tell()
    handle.seek(0)
    return Response(
        _file_blocks(handle),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": content_disposition(letter.slug, "xlsx", utcnow()),
            "Content-Length": str(size),
        },
    )


def _file_blocks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while block := handle.read(256 * 1024):
            yield block
    finally:
        handle.close()


@bp.route("/<slug>/export.pdf", methods=["GET", "POST"])
def pdf_file(slug: str) -> ResponseReturnValue:
    """Ask for a delivery PDF: the file at once for a short list, else the job's page."""
    letter = _letter(slug)
    form = _valid_form(letter)
    if form.status.data not in PDF_STATUS_SETS:
        form.status.errors = [_l("A delivery PDF holds only signatures whose email is confirmed.")]
        return _form_page(letter, form, 400)
    if _unconfirmed_cross_site():
        return _confirm_export(letter, "pdf", form)
    end_reading()
    with unit_of_work():  # committed before the build, which owns its transactions
        export, _is_new = pdf_jobs.request_pdf(
            letter,
            form.pdf_options(),
            current_staff(),
            lambda code: external_url("verification.show", code=code),
            notify_language=current_language(),
            notify_base_url=link_base(),
        )
    export_id = export.id
    inline = export.progress_total <= current_app.config["EXPORT_INLINE_ROWS"]
    if export.status == ExportStatus.QUEUED and inline:
        pdf_builder.build_pdf(export_id)
        built = db.session.get(PdfExport, export_id, populate_existing=True)
        if built is not None and built.status == ExportStatus.READY:
            return _send_pdf(letter, built)
    elif export.status == ExportStatus.QUEUED:
        current_app.extensions["petitions.jobs"].build_pdf(export_id)
    return redirect(url_for(".job", slug=slug, export_id=export_id), 303)


def _export(letter: Letter, export_id: int) -> PdfExport:
    export = db.session.get(PdfExport, export_id)
    if export is None or export.letter_id != letter.id:
        abort(404)
    return export


@bp.get("/<slug>/exports/<int(max=2147483647):export_id>")
def job(slug: str, export_id: int) -> ResponseReturnValue:
    letter = _letter(slug)
    export = _export(letter, export_id)
    return render_template("staff/exports/job.html", letter=letter, export=export)


@bp.route("/<slug>/exports/<int(max=2147483647):export_id>/file.pdf", methods=["GET", "POST"])
def pdf_download(slug: str, export_id: int) -> ResponseReturnValue:
    letter = _letter(slug)
    export = _export(letter, export_id)
    if export.status != ExportStatus.READY:
        return redirect(url_for(".job", slug=slug, export_id=export_id), 303)
    if export.list_deleted_at is not None:  # deleted under the retention policy
        abort(410)
    if _unconfirmed_cross_site():  # a download is audited in the staff member's name too
        what = _l("Delivery PDF of %(when)s", when=format_datetime(export.created_at, "short"))
        return _confirm_page(letter, str(what), str(_l("Download the PDF")), [], [])
    return _send_pdf(letter, export)


def _send_pdf(letter: Letter, export: PdfExport) -> Response:
    end_reading()
    with unit_of_work():  # the audit entry is in before the download streams
        record_pdf_download(export)
    return Response(
        stream_with_context(pdf_jobs.pdf_bytes(export)),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(letter.slug, "pdf", export.created_at),
            "Content-Length": str(export.file_size),
        },
    )


@bp.route("/<slug>/deliveries", methods=["GET", "POST"])
def deliveries_page(slug: str) -> ResponseReturnValue:
    letter = _letter(slug)
    ready = pdf_jobs.letter_exports(letter, ready_only=True)
    form = DeliveryForm(choices=[(e.id, _export_choice(e)) for e in ready])
    if form.validate_on_submit():
        given = deliveries.DeliveryInput(
            export_id=form.export.data,
            recipient=form.recipient.data,
            delivered_on=form.delivered_on.data,
            method=DeliveryMethod(form.method.data),
            note=form.note.data or "",
            collection_continues=bool(form.collection_continues.data),
        )
        try:
            recorded = deliveries.record_delivery(letter, given, current_staff())
        except deliveries.DeliveryError as error:
            form.export.errors = [str(error)]
        else:
            flash(_l("The delivery is recorded."))
            # The page then offers to tell the signers who asked to hear about it.
            return redirect(url_for(".deliveries_page", slug=slug, recorded=recorded.id), 303)
    status = 400 if request.method == "POST" else 200
    may_tell = may(current_user, Permission.EDIT_LETTER, letter)
    recorded_id = request.args.get("recorded", type=int)
    return render_template(
        "staff/exports/deliveries.html",
        letter=letter,
        form=form,
        has_exports=bool(ready),
        deliveries=deliveries.letter_deliveries(letter),
        may_tell=may_tell,
        offer=delivery_notice.letter_delivery(letter, recorded_id)
        if may_tell and recorded_id
        else None,
        listeners=updates.count_recipients(letter) if may_tell else 0,
    ), status


def _export_choice(export: PdfExport) -> str:
    return str(
        _l(
            "%(when)s: %(count)s signatories, digest %(digest)s…",
            when=format_datetime(export.created_at, "short"),
            count=export.count_total,
            digest=export.list_digest[:12],
        )
    )
