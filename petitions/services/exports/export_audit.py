"""What the audit trail keeps of an export: who (the caller's actor), which filters, how many rows.

One place for the shape of these events, so the staff pages and the command line write the same.
Like every service, it only adds to the session; the caller commits.
"""

from __future__ import annotations

from petitions.models.exports import PdfExport
from petitions.models.letters import Letter
from petitions.services import audit
from petitions.services.exports.signatory_rows import ExportFilter


def _via(via: str | None) -> dict[str, str]:
    return {"via": via} if via else {}


def record_list_export(
    letter: Letter, fmt: str, flt: ExportFilter, rows: int, via: str | None = None
) -> None:
    """A CSV or XLSX download (``fmt``), with its filter and number of rows."""
    audit.record(
        f"export.{fmt}",
        obj=letter,
        letter_id=letter.id,
        details={**flt.audit_details(), "rows": rows, **_via(via)},
    )


def record_pdf_download(export: PdfExport, via: str | None = None) -> None:
    audit.record(
        "export.pdf_downloaded",
        obj=export,
        letter_id=export.letter_id,
        details={
            **export.options,
            "rows": export.count_total,
            "digest": export.list_digest,
            **_via(via),
        },
    )
