"""``flask --app petitions export …`` and ``jobs work``: exports from the command line.

The command line is a channel like the staff pages: the same services, the same audit trail
(with no staff member as actor), the same defaults (counted signatures, names that are not
public included). A PDF made here is stored like one made on the site, so it has a verification
page and can be recorded as a delivery.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from petitions.extensions import db
from petitions.models.database import end_reading, unit_of_work
from petitions.models.exports import PdfExport
from petitions.models.letters import Letter
from petitions.services import letter_editing
from petitions.services.exports import pdf_jobs
from petitions.services.exports.delivery_document import PdfOptions
from petitions.services.exports.export_audit import record_list_export, record_pdf_download
from petitions.services.exports.signatory_rows import (
    PDF_STATUS_SETS,
    STATUS_SETS,
    ExportFilter,
    count_signatures,
    iter_signatures,
)
from petitions.services.exports.tabular import csv_chunks, write_xlsx
from petitions.web.links import external_url
from petitions.workers import pdf_builder

jobs_cli = AppGroup("jobs", help="Background jobs (large delivery PDFs).")


@click.command("export")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf"]), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option(
    "--status", type=click.Choice(list(STATUS_SETS)), default="counted", show_default=True
)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Signed on or after (UTC day).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Signed on or before (UTC day).")
@click.option("--public-only", is_flag=True, help="Leave out names that are not public.")
@click.option("--language", "languages", multiple=True, help="PDF: one or two languages.")
@click.option("--side-by-side", is_flag=True, help="PDF: two languages side by side.")
@click.option("--comments", is_flag=True, help="PDF: include comments.")
@click.option("--by-country", is_flag=True, help="PDF: group signatories by country.")
@with_appcontext
def export_command(
    slug: str,
    fmt: str,
    output: str,
    status: str,
    since: datetime | None,
    until: datetime | None,
    public_only: bool,
    languages: tuple[str, ...],
    side_by_side: bool,
    comments: bool,
    by_country: bool,
) -> None:
    """Write a letter's signatory list to a file (CSV, XLSX or the delivery PDF)."""
    letter = letter_editing.staff_letter(slug)
    if letter is None:
        raise click.ClickException(f"No letter {slug!r}.")
    rows = ExportFilter(
        statuses=STATUS_SETS[status],
        since=since.date() if since else None,
        until=until.date() if until else None,
        include_non_public=not public_only,
    )
    if fmt == "pdf":
        if status not in PDF_STATUS_SETS:
            raise click.ClickException("A delivery PDF holds only confirmed signatures.")
        unknown = set(languages) - set(letter.languages)
        if unknown or len(languages) > 2:
            raise click.ClickException(f"Languages: one or two of {', '.join(letter.languages)}.")
        options = PdfOptions(
            languages=languages or (letter.main_language,),
            layout="side_by_side" if side_by_side else "sequential",
            include_comments=comments,
            group_by_country=by_country,
            rows=rows,
        )
        _export_pdf(letter, options, output)
        return
    organisations, individuals = count_signatures(letter.id, rows)
    end_reading()
    with unit_of_work():
        record_list_export(letter, fmt, rows, organisations + individuals, via="cli")
    with open(output, "wb") as handle:
        if fmt == "csv":
            for chunk in csv_chunks(iter_signatures(letter.id, rows)):
                handle.write(chunk)
        else:
            write_xlsx(iter_signatures(letter.id, rows), handle)
    click.echo(f"Wrote {organisations + individuals} signatures to {output}.")


def _export_pdf(letter: Letter, options: PdfOptions, output: str) -> None:
    end_reading()
    with unit_of_work():
        export, _new = pdf_jobs.request_pdf(
            letter,
            options,
            None,
            lambda code: external_url("verification.show", code=code),
        )
    export_id = export.id
    pdf_builder.build_pdf(export_id)
    built = db.session.get(PdfExport, export_id, populate_existing=True)
    if built is None or built.status != "ready":
        raise click.ClickException("The PDF could not be made (see the log).")
    end_reading()
    with unit_of_work():
        record_pdf_download(built, via="cli")
    with open(output, "wb") as handle:
        for block in pdf_jobs.pdf_bytes(built):
            handle.write(block)
    click.echo(
        f"Wrote {export.count_total} signatories on {export.page_count} pages to {output}.\n"
        f"Digest {export.list_digest}; verification page {export.verify_url}"
    )


@jobs_cli.command("work")
def jobs_work() -> None:
    """Work the background job queue until stopped (as many as you like, on any machine)."""
    jobs = current_app.extensions["petitions.jobs"]
    if current_app.config["JOBS_IMMEDIATE"]:
        raise click.ClickException("JOBS_IMMEDIATE is set: jobs run where they are queued.")
    click.echo("Working background jobs; stop with Ctrl-C.")
    # Huey's own consumer: it handles SIGINT/SIGTERM (finish the job at hand, then stop).
    jobs.huey.create_consumer(workers=1, worker_type="thread").run()
