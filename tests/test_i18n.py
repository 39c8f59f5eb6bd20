"""Albanian is complete: every UI string is translated, compiled, and served."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from conftest import G20, INCLUSIVE, sign
from sqlalchemy import select
from test_i18n_coverage import english_in

from petitions.extensions import db

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "petitions" / "translations" / "sq" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
METHODS = [
    ("**.py", "python"),
    ("**.html", "jinja2"),
    ("**.txt", "jinja2"),
]


def sq_catalog():
    with open(CATALOG / "messages.po", "rb") as handle:
        return read_po(handle, locale="sq")


def source_msgids() -> set[str]:
    found: set[str] = set()
    for folder in ("petitions", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=METHODS, keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_sq_message_is_translated_and_not_fuzzy():
    catalog = sq_catalog()
    missing = [
        m.id
        for m in catalog
        if m.id and (m.fuzzy or not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert missing == []


def test_every_string_in_the_source_is_in_the_sq_catalog():
    catalog = sq_catalog()
    known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}
    assert source_msgids() - known == set()


def _hashable(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def test_compiled_catalog_matches_the_po_file():
    catalog = sq_catalog()
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    fresh = {_hashable(m.id): _hashable(m.string) for m in read_mo(compiled) if m.id}
    with open(CATALOG / "messages.mo", "rb") as handle:
        shipped = {_hashable(m.id): _hashable(m.string) for m in read_mo(handle) if m.id}
    assert shipped == fresh, "run: pybabel compile -d petitions/translations"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        f"/letters/{G20}",
        f"/letters/{INCLUSIVE}",
        f"/letters/{G20}/signatories?kind=individual",
        f"/letters/{G20}/signatories?kind=organisation&q=zzz",
    ],
)
def test_albanian_pages_hold_no_english_ui_text(client, path):
    page = client.get(path, headers={"Accept-Language": "sq"}).get_data(as_text=True)
    assert '<html lang="sq">' in page
    assert english_in(page) == []


def test_the_verification_page_and_a_delivery_pdf_speak_albanian(
    app, client, staff_client, tmp_path
):
    """A PDF made in Albanian, its verification page and the delivered letter's page."""
    import subprocess

    staff = staff_client("admin")
    pdf = staff.get(f"/staff/letters/{G20}/export.pdf?status=counted&language=sq").get_data()
    (tmp_path / "list.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "list.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    catalog = sq_catalog()
    for label in ("To", "Digest of the list (SHA-256)", "Check this list at", "Signatories"):
        assert catalog[label].string.upper() in text.upper(), label
    assert "Faqja 1 nga" in text
    from petitions.models.exports import PdfExport

    with app.app_context():
        code = db.session.scalars(select(PdfExport.code)).one()
    page = client.get(f"/v/{code}", headers={"Accept-Language": "sq"}).get_data(as_text=True)
    assert '<html lang="sq">' in page
    assert english_in(page) == []


def test_albanian_form_errors(client):
    answer = sign(client, lang="sq", email="not-an-email", consent=None)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "This does not look like a valid email address." not in page
    catalog = sq_catalog()
    assert catalog["This does not look like a valid email address."].string in page


@pytest.mark.parametrize(
    "path",
    [
        "/staff/",
        "/staff/moderation",
        f"/staff/moderation?letter={G20}",
        "/staff/accounts",
        "/staff/reasons",
        "/staff/audit",
        "/staff/letters/new",
        f"/staff/letters/{G20}",
        "/staff/account/password",
        f"/staff/letters/{G20}/export",
        f"/staff/letters/{G20}/deliveries",
    ],
)
def test_albanian_staff_pages_hold_no_english_ui_text(staff_client, path):
    staff = staff_client("admin")
    staff.get("/staff/?lang=sq")
    page = staff.get(path).get_data(as_text=True)
    assert '<html lang="sq">' in page
    assert english_in(page) == []


def test_form_errors_from_wtforms_speak_albanian(client):
    from conftest import csrf_token

    page = client.get("/staff/login?lang=sq").get_data(as_text=True)
    answer = client.post("/staff/login", data={"csrf_token": csrf_token(page)})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "Kjo fushë është e detyrueshme." in html
    assert "This field is required." not in html
