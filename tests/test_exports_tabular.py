"""CSV and XLSX exports: neutralised cells, the signatory query they share with the PDF, headers."""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
from conftest import G20, INCLUSIVE
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from test_moderation import add_signatures, letter_id, signature_row
from werkzeug.http import parse_options_header

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.services.exports.signatory_rows import (
    ExportFilter,
    SignatureRow,
    count_signatures,
    iter_signatures,
)
from petitions.services.exports.tabular import (
    COLUMNS,
    content_disposition,
    csv_chunks,
    export_filename,
    neutralise,
    write_xlsx,
)

DANGEROUS = "=+-@\t\r\0\uff1d\uff0b\uff0d\uff20"
CONTRACT = [
    *("id", "kind", "name", "organisation", "title", "email", "country", "city", "status"),
    *("public", "signed_at", "confirmed_at"),
]
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

# Any text, and often text that starts with a character a spreadsheet would run.
cell_text = st.one_of(
    st.text(max_size=30),
    st.builds(lambda first, rest: first + rest, st.sampled_from(DANGEROUS), st.text(max_size=30)),
)
examples = settings(max_examples=150, deadline=None, database=None)


def make_row(ident: int = 1, **fields: Any) -> SignatureRow:
    stamp = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
    values: dict[str, Any] = {
        "id": ident,
        "kind": "individual",
        "name": "Ana Hoxha",
        "organisation": "",
        "title": "",
        "email": "ana@example.org",
        "country": "AL",
        "city": "Tiranë",
        "status": "confirmed",
        "is_public": True,
        "created_at": stamp,
        "confirmed_at": stamp + timedelta(minutes=5),
        "website": "",
        "comment": "",
        "is_hidden": False,
        "verified_at": None,
        "language": "sq",
        "withdrawn_at": None,
    }
    values.update(fields)
    return SignatureRow(**values)


# --- neutralising -------------------------------------------------------------------------


@examples
@given(cell_text)
def test_a_neutralised_cell_never_starts_a_formula_and_keeps_its_value(value):
    cell = neutralise(value)
    assert not cell or cell[0] not in DANGEROUS
    if value and value[0] in DANGEROUS:
        assert cell[0] == "'" and cell[1:] == value
    else:
        assert cell == value


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "+1 from us",
        "-5",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "\0x",
        "\uff1d1",
        "\uff0b1",
        "\uff0d1",
        "\uff20x",
    ],
)
def test_each_dangerous_start_gets_an_apostrophe(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["", "Ana", "'=already quoted", " =1", "1-2", "a=b", "ë@x"])
def test_harmless_cells_are_left_alone(value):
    assert neutralise(value) == value


# --- CSV ------------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))


@examples
@given(st.lists(st.tuples(cell_text, cell_text, cell_text, cell_text), min_size=1, max_size=4))
def test_csv_read_back_gives_the_neutralised_values(values):
    rows = [
        make_row(i + 1, name=a, organisation=b, email=c, comment=d)
        for i, (a, b, c, d) in enumerate(values)
    ]
    # Tiny chunks, so values also straddle chunk borders.
    data = b"".join(csv_chunks(rows, chunk_chars=16))
    header, *read = read_csv(data)
    assert header == list(COLUMNS)
    assert len(read) == len(rows)
    for row, (a, b, c, d) in zip(read, values, strict=True):
        cell = dict(zip(COLUMNS, row, strict=True))
        assert (cell["name"], cell["organisation"]) == (neutralise(a), neutralise(b))
        assert (cell["email"], cell["comment"]) == (neutralise(c), neutralise(d))
        assert all(not v or v[0] not in DANGEROUS for v in row)


def test_csv_has_bom_header_crlf_and_rfc4180_quoting():
    rows = [
        make_row(1),
        make_row(2, comment='She said "yes", then left', is_public=False, verified_at=None),
        make_row(
            3, kind="organisation", organisation="Shoqata, Korçë", verified_at=datetime.now(UTC)
        ),
    ]
    chunks = list(csv_chunks(rows))
    data = b"".join(chunks)
    assert chunks[0].startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n")
    assert (
        data.endswith(b"\r\n")
        and data.count(b"\r\n") == 4
        and b"\n" not in data.replace(b"\r\n", b"")
    )
    assert b'"She said ""yes"", then left"' in data
    header, first, second, third = read_csv(data)
    assert header[: len(CONTRACT)] == CONTRACT
    assert dict(zip(header, first, strict=True)) == {
        "id": "1", "kind": "individual", "name": "Ana Hoxha", "organisation": "", "title": "",
        "email": "ana@example.org", "country": "AL", "city": "Tiranë", "status": "confirmed",
        "public": "yes",
        "signed_at": "2026-03-14T09:26:53Z", "confirmed_at": "2026-03-14T09:31:53Z",
        "website": "", "comment": "", "hidden": "no", "verified": "no", "language": "sq",
        "withdrawn_at": "", "source": "",
    }  # fmt: skip
    assert second[header.index("public")] == "no"
    assert third[header.index("organisation")] == "Shoqata, Korçë"
    assert third[header.index("verified")] == "yes"


def test_csv_streams_in_chunks_of_about_64_kb():
    rows = (make_row(i, comment="x" * 200) for i in range(1, 2001))
    chunks = list(csv_chunks(rows))
    assert len(chunks) > 5
    assert all(64 * 1024 <= len(c) < 70 * 1024 for c in chunks[:-1])
    assert len(read_csv(b"".join(chunks))) == 2001


def test_an_empty_export_is_the_header_alone():
    assert b"".join(csv_chunks([])) == b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n"


# --- XLSX -----------------------------------------------------------------------------------


def _unescape(text: str) -> str:
    """Excel's _xHHHH_ escapes (XlsxWriter writes control characters that way)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    return sum((ord(c) - 64) * 26**i for i, c in enumerate(reversed(letters))) - 1


def read_xlsx(data: bytes, sheet: int = 1) -> tuple[list[list[Any]], ElementTree.Element]:
    """A sheet's cells as rows of values (numbers as floats), read with the standard library."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{sheet}.xml"))
    assert root.find(f".//{MAIN}f") is None, "a cell holds a formula"
    rows = []
    for row in root.iter(f"{MAIN}row"):
        values: list[Any] = [""] * len(COLUMNS)
        for cell in row.iter(f"{MAIN}c"):
            index = _column(cell.get("r"))
            if cell.get("t") == "inlineStr":
                values[index] = _unescape("".join(t.text or "" for t in cell.iter(f"{MAIN}t")))
            else:
                assert cell.get("t") is None, cell.get("t")  # a number: only the id
                values[index] = float(cell.find(f"{MAIN}v").text)
        rows.append(values)
    return rows, root


def xlsx_bytes(rows: list[SignatureRow], **options: Any) -> bytes:
    target = io.BytesIO()
    write_xlsx(rows, target, **options)
    return target.getvalue()


@examples
@given(st.lists(st.tuples(cell_text, cell_text, cell_text), min_size=1, max_size=4))
def test_xlsx_read_back_gives_the_neutralised_values_and_no_formula(values):
    rows = [
        make_row(i + 1, name=a, city=b, website=c, comment=f"={a}")
        for i, (a, b, c) in enumerate(values)
    ]
    (header, *read), _ = read_xlsx(xlsx_bytes(rows))
    assert header == list(COLUMNS)
    for row, (a, b, c) in zip(read, values, strict=True):
        cell = dict(zip(COLUMNS, row, strict=True))
        assert cell["name"] == neutralise(a)
        assert cell["city"] == neutralise(b)
        assert cell["website"] == neutralise(c)
        assert cell["comment"] == "'=" + a


def test_xlsx_has_the_csv_cells_a_frozen_header_and_widths():
    rows = [make_row(1), make_row(2, name='=HYPERLINK("http://x")', website="https://a.example")]
    data = xlsx_bytes(rows)
    read, root = read_xlsx(data)
    assert read[0] == list(COLUMNS)
    first_csv = read_csv(b"".join(csv_chunks(rows)))[1:]
    assert [[str(int(r[0])), *r[1:]] for r in read[1:]] == first_csv
    assert read[2][COLUMNS.index("name")] == '\'=HYPERLINK("http://x")'
    pane = root.find(f".//{MAIN}pane")
    assert pane is not None and pane.get("ySplit") == "1" and pane.get("state") == "frozen"
    widths = [float(c.get("width")) for c in root.iter(f"{MAIN}col")]
    assert widths and min(widths) >= 7 and max(widths) <= 60
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "xl/sharedStrings.xml" not in archive.namelist()  # constant memory: inline strings


def test_xlsx_continues_on_a_new_sheet_past_the_row_limit(tmp_path):
    path = tmp_path / "list.xlsx"
    assert write_xlsx((make_row(i) for i in range(1, 8)), str(path), rows_per_sheet=3) == 7
    data = path.read_bytes()
    ids = []
    for sheet in (1, 2, 3):
        (header, *rows), _ = read_xlsx(data, sheet)
        assert header == list(COLUMNS)
        ids += [int(r[0]) for r in rows]
    assert ids == list(range(1, 8))


# --- file names -----------------------------------------------------------------------------

WHEN = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


def test_content_disposition_for_an_ascii_slug():
    name = "g20-protect-education-signatories-2026-03-14-0926.csv"
    assert export_filename(G20, "csv", WHEN) == name
    assert content_disposition(G20, "csv", WHEN) == (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    )


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        ("letër-për-ju", "letër-për-ju"),
        ('bad"name\\with/slash\nand;semicolon', "bad-name-with-slash-and;semicolon"),
        ("ελληνικά", "ελληνικά"),
    ],
)
def test_content_disposition_is_rfc_6266_for_any_name(slug, expected):
    value = content_disposition(slug, "xlsx", WHEN)
    ascii_name = re.search(r'filename="([^"]*)"', value).group(1)
    assert ascii_name.isascii() and ascii_name.endswith("-signatories-2026-03-14-0926.xlsx")
    assert "\n" not in value and "\\" not in ascii_name
    assert value.isascii()
    exact = f"{expected}-signatories-2026-03-14-0926.xlsx"
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", value).group(1)
    assert unquote(encoded, errors="strict") == exact
    # Werkzeug's parser, like browsers, takes filename* over filename.
    assert parse_options_header(value) == ("attachment", {"filename": exact})


# --- the signatory query ------------------------------------------------------------------


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def letter_rows(app: Flask) -> dict[str, int]:
    """One signature of each sort on G20 (and one elsewhere), at known moments in February."""
    specs = {
        "counted": {"confirmed_at": at(10), "created_at": at(10, 11)},
        "org_private": {
            "kind": "organisation",
            "organisation": "Shoqata",
            "is_public": False,
            "verified_at": at(12),
            "created_at": at(10, 23),
            "confirmed_at": at(11, 0, 0, 1),  # submitted one day, counted the next
        },
        "late_night": {"confirmed_at": at(12, 23, 59, 59), "created_at": at(12, 23)},
        "hidden": {"is_hidden": True, "confirmed_at": at(13), "created_at": at(13, 11)},
        "pending": {"status": "pending", "created_at": at(11)},
        "withdrawn": {"status": "withdrawn", "confirmed_at": at(11), "withdrawn_at": at(12)},
        "spam": {"status": "spam", "confirmed_at": at(11)},
        "awaiting": {"status": "awaiting_approval", "kind": "organisation", "confirmed_at": at(11)},
    }
    rows = [signature_row(app, G20, name=key, **fields) for key, fields in specs.items()]
    rows.append(signature_row(app, INCLUSIVE, name="elsewhere", confirmed_at=at(11)))
    ids = add_signatures(app, rows)
    return dict(zip([*specs, "elsewhere"], ids, strict=True))


def exported(app: Flask, flt: ExportFilter, slug: str = G20) -> list[str]:
    with app.app_context():
        ident = letter_id(app, slug)
        names = [row.name for row in iter_signatures(ident, flt)]
        organisations, individuals = count_signatures(ident, flt)
    assert organisations + individuals == len(names)
    return names


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (ExportFilter(), ["counted", "org_private", "late_night", "hidden"]),
        (ExportFilter(statuses=("pending",)), ["pending"]),
        (ExportFilter(statuses=("withdrawn", "spam")), ["withdrawn", "spam"]),
        (ExportFilter(statuses=("awaiting_approval",), kind="organisation"), ["awaiting"]),
        (ExportFilter(kind="organisation"), ["org_private"]),
        (ExportFilter(kind="individual"), ["counted", "late_night", "hidden"]),
        (ExportFilter(include_non_public=False), ["counted", "late_night", "hidden"]),
        (ExportFilter(include_hidden=False), ["counted", "org_private", "late_night"]),
        # Days are whole and inclusive, on the confirmation (else the submission).
        (
            ExportFilter(since=date(2026, 2, 11), until=date(2026, 2, 12)),
            ["org_private", "late_night"],
        ),
        (ExportFilter(until=date(2026, 2, 10)), ["counted"]),
        (ExportFilter(since=date(2026, 2, 13)), ["hidden"]),
        (
            ExportFilter(
                statuses=("pending", "confirmed"), since=date(2026, 2, 11), until=date(2026, 2, 11)
            ),
            ["org_private", "pending"],
        ),
        (ExportFilter(since=date(2026, 3, 1)), []),
    ],
)
def test_filters_select_what_they_say(app, letter_rows, flt, expected):
    assert sorted(exported(app, flt)) == sorted(expected)


def test_rows_come_in_id_order_with_the_exported_columns(app, letter_rows):
    with app.app_context():
        rows = list(iter_signatures(_g20(), ExportFilter()))
    assert [r.id for r in rows] == sorted(
        letter_rows[k] for k in ("counted", "org_private", "late_night", "hidden")
    )
    org = next(r for r in rows if r.name == "org_private")
    assert (org.kind, org.organisation, org.is_public, org.verified_at) == (
        "organisation",
        "Shoqata",
        False,
        at(12),
    )
    assert org.confirmed_at == at(11, 0, 0, 1) and org.confirmed_at.tzinfo is not None


def _g20() -> int:
    return db.session.scalar(select(Letter.id).where(Letter.slug == G20))


def test_counts_are_organisations_then_individuals(app, letter_rows):
    with app.app_context():
        assert count_signatures(_g20(), ExportFilter()) == (1, 3)
        assert count_signatures(_g20(), ExportFilter(statuses=("awaiting_approval",))) == (1, 0)


def test_many_batches_give_every_row_once_in_id_order(app):
    statuses = ["confirmed", "pending", "confirmed", "spam", "withdrawn", "confirmed", "rejected"]
    rows = [
        signature_row(
            app,
            G20,
            name=f"signer {i}",
            status=statuses[i % len(statuses)],
            kind="organisation" if i % 3 == 0 else "individual",
        )
        for i in range(60)
    ]
    ids = add_signatures(app, rows)
    every = ExportFilter(statuses=("confirmed", "pending", "spam", "withdrawn", "rejected"))
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM signatures" in statement:
            selects.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            got = [row.id for row in iter_signatures(_g20(), every, batch=7)]
            confirmed = [row.id for row in iter_signatures(_g20(), ExportFilter(), batch=4)]
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert got == sorted(ids)
    assert confirmed == [
        i for i, row in zip(ids, rows, strict=True) if row["status"] == "confirmed"
    ]
    assert len(selects) >= math.ceil(60 / 7) + math.ceil(len(confirmed) / 4)
    assert all("LIMIT" in s for s in selects)


def test_filter_details_are_plain_values_and_read_back():
    flt = ExportFilter(
        statuses=("pending", "confirmed", "pending"), since=date(2026, 2, 1), kind="individual"
    )
    details = flt.audit_details()
    assert details == {
        "statuses": ["confirmed", "pending"],
        "since": "2026-02-01",
        "until": None,
        "include_non_public": True,
        "include_hidden": True,
        "kind": "individual",
    }
    assert ExportFilter.from_details(details) == flt
    assert ExportFilter.from_details({}) == ExportFilter()
    with pytest.raises(ValueError):
        ExportFilter(statuses=("deleted",))
    with pytest.raises(ValueError):
        ExportFilter(statuses=())
    with pytest.raises(ValueError):
        ExportFilter(kind="robot")


def test_csv_of_real_signatures_neutralises_what_signers_typed(app):
    add_signatures(
        app,
        [
            signature_row(app, G20, name="=cmd|' /C calc'!A0", comment='+1, "great"\r\nletter'),
            signature_row(app, G20, name="Ëngjëll Çela", city="@Korçë", title="\uff0dx"),
        ],
    )
    with app.app_context():
        data = b"".join(csv_chunks(iter_signatures(_g20(), ExportFilter())))
    header, first, second = read_csv(data)
    cell = dict(zip(header, first, strict=True))
    assert cell["name"] == "'=cmd|' /C calc'!A0"
    assert cell["comment"] == '\'+1, "great"\r\nletter'
    cell = dict(zip(header, second, strict=True))
    assert (cell["name"], cell["city"], cell["title"]) == ("Ëngjëll Çela", "'@Korçë", "'\uff0dx")
