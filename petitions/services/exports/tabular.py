"""Signatory lists as CSV (streamed) and XLSX (constant memory), safe to open in a spreadsheet.

Columns (``COLUMNS``): first the contract's twelve, in its order, then ``website``, ``comment``,
``hidden``, ``verified``, ``language`` and ``withdrawn_at`` (what organisers ask for when they
follow up: who is verified, who wrote what, who left), and ``source``: the referral code the
signature came with (``?ref=``, a partner's link or embed). ``signed_at`` is when the form was
submitted, ``confirmed_at`` when the email link was used. Datetimes are ISO 8601 in UTC to the
second (``2026-03-14T09:26:53Z``): sortable as text and the same in every locale. Booleans are
``yes``/``no``: spreadsheets turn TRUE/FALSE into localised booleans (WAHR, VRAI), words stay.

Every cell a signer typed goes through :func:`neutralise` (CSV/formula injection): a cell that
starts with ``= + - @``, a tab, a carriage return, NUL, or their full-width forms (U+FF1D, U+FF0B,
U+FF0D, U+FF20) gets a leading apostrophe, so no spreadsheet runs it as a formula (OWASP ASVS
1.2.10). The XLSX writer also writes every text with ``write_string``, so nothing is read as a
formula, number or URL.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote

from petitions.services.exports.signatory_rows import SignatureRow

# What makes a spreadsheet read a cell as a formula (or a command, via DDE), and the full-width
# forms that some spreadsheets fold into them.
DANGEROUS_STARTS = frozenset("=+-@\t\r\0\uff1d\uff0b\uff0d\uff20")


def neutralise(value: str) -> str:
    """``value`` with a leading apostrophe if it would start a formula; else unchanged."""
    if value and value[0] in DANGEROUS_STARTS:
        return "'" + value
    return value


def _stamp(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat(timespec="seconds")[:19] + "Z"


COLUMNS: tuple[str, ...] = (
    # the contract's columns, in its order
    "id", "kind", "name", "organisation", "title", "email", "country", "city", "status",
    "public", "signed_at", "confirmed_at",
    # ours
    "website", "comment", "hidden", "verified", "language", "withdrawn_at", "source",
)  # fmt: skip


def cells(row: SignatureRow) -> list[Any]:
    """One row's cells in ``COLUMNS`` order: ``id`` an int, the rest str, text neutralised.

    One function rather than a cell maker per column: a million rows call it a million times.
    """
    n = neutralise
    return [
        row.id,
        n(row.kind),
        n(row.name),
        n(row.organisation),
        n(row.title),
        n(row.email),
        n(row.country),
        n(row.city),
        n(row.status),
        "yes" if row.is_public else "no",
        _stamp(row.created_at),
        _stamp(row.confirmed_at),
        n(row.website),
        n(row.comment),
        "yes" if row.is_hidden else "no",
        "no" if row.verified_at is None else "yes",
        n(row.language),
        _stamp(row.withdrawn_at),
        n(row.source),  # a code may start with a hyphen
    ]


# --- CSV ------------------------------------------------------------------------------------

BOM = "\ufeff"
CHUNK_CHARS = 64 * 1024


def csv_chunks(rows: Iterable[SignatureRow], chunk_chars: int = CHUNK_CHARS) -> Iterator[bytes]:
    """The CSV as ~64 KB UTF-8 pieces for a streamed response: BOM, header, rows, CRLF ends.

    RFC 4180: fields with a comma, a quote or a line break are quoted, quotes doubled. The BOM
    makes Excel read UTF-8 (else names in Arabic or Albanian come out garbled).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    buffer.write(BOM)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(cells(row))
        if buffer.tell() >= chunk_chars:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


# --- XLSX -----------------------------------------------------------------------------------

XLSX_MAX_ROWS = 1_048_576  # Excel's limit per sheet, header included
_WIDTHS = {
    "id": 9, "kind": 13, "name": 28, "organisation": 32, "title": 20, "email": 30,
    "country": 8, "city": 16, "status": 18, "public": 7, "signed_at": 21, "confirmed_at": 21,
    "website": 28, "comment": 48, "hidden": 7, "verified": 9, "language": 9, "withdrawn_at": 21,
}  # fmt: skip


def write_xlsx(
    rows: Iterable[SignatureRow],
    path_or_file: str | IO[bytes] | Any,
    *,
    rows_per_sheet: int = XLSX_MAX_ROWS - 1,
) -> int:
    """Write the rows as an .xlsx workbook; return how many were written.

    Constant-memory mode: each row goes to a temporary file as it is written, so memory stays
    flat whatever the number of rows. A list longer than a sheet's limit continues on further
    sheets ("signatories 2", …), each with its header (sheet names are identifiers, like the
    column names). ``path_or_file`` is a path or a seekable binary file (left at its end).
    """
    import xlsxwriter  # loaded where a workbook is written, not in every process

    workbook = xlsxwriter.Workbook(
        path_or_file,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    try:
        header = workbook.add_format({"bold": True, "bg_color": "#E8E8E8", "bottom": 1})
        written, sheet_rows, sheet = 0, 0, None
        for row in rows:
            if sheet is None or sheet_rows == rows_per_sheet:
                if sheet is not None:
                    _finish_sheet(sheet, sheet_rows)
                sheet = _new_sheet(workbook, header, number=written // rows_per_sheet + 1)
                sheet_rows = 0
            sheet_rows += 1
            values = cells(row)
            sheet.write_number(sheet_rows, 0, values[0])
            for column in range(1, len(values)):
                if values[column]:
                    sheet.write_string(sheet_rows, column, values[column])
            written += 1
        if sheet is None:
            sheet = _new_sheet(workbook, header, number=1)
        _finish_sheet(sheet, sheet_rows)
    finally:
        workbook.close()
    return written


def _new_sheet(workbook: Any, header: Any, number: int) -> Any:
    sheet = workbook.add_worksheet("signatories" if number == 1 else f"signatories {number}")
    for column, name in enumerate(COLUMNS):
        sheet.set_column(column, column, _WIDTHS.get(name, 14))
        sheet.write_string(0, column, name, header)
    sheet.freeze_panes(1, 0)
    return sheet


def _finish_sheet(sheet: Any, last_row: int) -> None:
    sheet.autofilter(0, 0, last_row, len(COLUMNS) - 1)


# --- file names -----------------------------------------------------------------------------


def export_filename(slug: str, extension: str, when: datetime) -> str:
    """``<slug>-signatories-<YYYY-MM-DD-HHMM>.<ext>`` (UTC): sorts by date in a downloads folder.

    Characters that are unsafe in a file name (separators, controls) become ``-``.
    """
    safe = "".join(
        "-" if c in '/\\:*?"<>|' or unicodedata.category(c)[0] in "CZ" else c for c in slug
    )
    stamp = when.astimezone(UTC).strftime("%Y-%m-%d-%H%M")
    return f"{safe.strip('.-') or 'letter'}-signatories-{stamp}.{extension}"


def content_disposition(slug: str, extension: str, when: datetime) -> str:
    """The ``Content-Disposition`` of a download of this export (see :func:`attachment`)."""
    return attachment(export_filename(slug, extension, when))


def attachment(filename: str) -> str:
    """``attachment`` with an ASCII ``filename=`` and the exact ``filename*=UTF-8''…``.

    RFC 6266: old clients read the quoted ASCII name (accents dropped, anything else ``_``);
    the rest read the exact name, percent-encoded as RFC 8187 says.
    """
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = (
        "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_" for c in folded).strip()
        or "export"
    )
    exact = quote(filename, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"
