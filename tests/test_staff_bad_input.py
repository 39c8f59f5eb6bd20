"""Odd input on the staff pages (and a few public ones) answers 4xx with a message, never 500.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL, where more goes wrong: it refuses NUL
in text, and a cursor's name reaches it as a parameter. Dates at the ends of the calendar, numbers
no column holds, digits of other scripts ("²", "١٢"), negative ids, NUL.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from conftest import G20, csrf_token
from test_exports_delivery import fill

BAD_VALUES = (
    "9999-12-31",
    "0001-01-01",
    "-1",
    "0",
    "99999999999999999999",
    "-99999999999999999999",
    "²",
    "١٢",
    "1e9",
    " ",
    "\x00",
    "x" * 5000,
)


def _cursor(value: Any, ident: Any = 1) -> str:
    raw = json.dumps([value, ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _url(path: str, **args: str) -> str:
    return path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in args.items())


@pytest.fixture
def admin(app, staff_client):
    fill(app)
    client = staff_client("admin")
    client.get("/staff/moderation")  # a page view or two in the audit trail, for its pages
    return client


def _walk(client: Any, urls: list[str]) -> list[tuple[str, int]]:
    """Every URL's status; the answer to each 400 must say something (not an empty page)."""
    failures = []
    for url in urls:
        answer = client.get(url)
        if answer.status_code >= 500:
            failures.append((url.encode("unicode_escape").decode()[:120], answer.status_code))
        elif answer.status_code == 400:
            body = answer.get_data(as_text=True)
            assert 'class="error' in body or "could not be understood" in body, url
        answer.close()
    return failures


# --- what the issue names ------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/staff/moderation", "/staff/moderation/bulk?action=hide"])
def test_the_last_day_there_is_filters_the_queue_and_the_bulk_page(admin, page):
    joiner = "&" if "?" in page else "?"
    for field in ("created_to", "created_from"):
        for day in ("9999-12-31", "0001-01-01"):
            answer = admin.get(f"{page}{joiner}{field}={day}")
            assert answer.status_code == 200, (field, day, answer.status_code)
    # "Until the last day there is" matches every signature, as no bound would.
    assert admin.get("/staff/moderation?created_to=9999-12-31").get_data(as_text=True).count(
        "Ana Hoxha"
    ) == admin.get("/staff/moderation").get_data(as_text=True).count("Ana Hoxha")


def test_the_audit_trail_takes_the_last_day_and_refuses_impossible_pages(admin):
    assert admin.get("/staff/audit?date_to=9999-12-31").status_code == 200
    assert admin.get("/staff/audit?date_from=0001-01-01&date_to=9999-12-31").status_code == 200
    for before in ("99999999999999999999", "-99999999999999999999", "-1", "0", "²", "١٢", "1.5"):
        answer = admin.get(_url("/staff/audit", before=before))
        assert answer.status_code == 400, (before, answer.status_code)
        assert "This link to older events is not valid." in answer.get_data(as_text=True)
    assert admin.get("/staff/audit?before=2147483647").status_code == 200


@pytest.mark.parametrize("sort", ["name", "newest", "oldest"])
def test_a_malformed_cursor_means_the_first_page_in_every_order(admin, sort):
    first = admin.get(f"/staff/moderation?sort={sort}").get_data(as_text=True).count("Ana Hoxha")
    values = [
        "\x00",
        "Ana\x00",
        "\ud800",  # a lone surrogate: valid JSON, no UTF-8 for it
        "0001-01-01T00:00:00+14:00",  # leaves the calendar once moved to UTC
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59+00:00",
        "x" * 600,
    ]
    for value in values:
        answer = admin.get(_url("/staff/moderation", sort=sort, cursor=_cursor(value)))
        assert answer.status_code == 200, (value.encode("unicode_escape"), answer.status_code)
        assert answer.get_data(as_text=True).count("Ana Hoxha") in (0, first)
    for ident in (0, -1, 2**31, 2**63, 10**30, "1", None):
        answer = admin.get(_url("/staff/moderation", sort=sort, cursor=_cursor("x", ident)))
        assert answer.status_code == 200, ident


# --- and a walk of our own -----------------------------------------------------------------


def test_odd_values_in_every_staff_filter_answer_without_a_500(admin):
    urls = []
    for page in ("/staff/moderation", "/staff/moderation/bulk?action=hide"):
        for field in ("created_from", "created_to", "country", "q", "letter", "status", "kind"):
            for value in BAD_VALUES:
                path, _, query = page.partition("?")
                extra = dict([query.split("=")]) if query else {}
                urls.append(_url(path, **extra, **{field: value}))
        for field in ("hidden", "verified", "sort", "cursor"):
            for value in BAD_VALUES:
                urls.append(_url(page.partition("?")[0], **{field: value}))
    for field in ("date_from", "date_to", "before", "actor", "letter", "action", "text"):
        for value in BAD_VALUES:
            urls.append(_url("/staff/audit", **{field: value}))
    for field in ("since", "until", "language", "second_language", "status", "layout"):
        for value in BAD_VALUES:
            for export in ("export", "export.csv", "export.xlsx"):
                args = {"status": "counted", field: value}
                urls.append(_url(f"/staff/letters/{G20}/{export}", **args))
    assert _walk(admin, urls) == []


def test_odd_ids_and_slugs_in_staff_addresses_answer_without_a_500(admin):
    urls = []
    for value in ("-1", "0", "99999999999999999999", "²", "١٢", "%00", "a%00b", "%C0%80"):
        urls += [
            f"/staff/letters/{value}",
            f"/staff/letters/{value}/edit",
            f"/staff/letters/{value}/export",
            f"/staff/letters/{value}/export.csv",
            f"/staff/letters/{value}/deliveries",
            f"/staff/letters/{G20}/exports/{value}",
            f"/staff/letters/{G20}/exports/{value}/file.pdf",
            f"/staff/invitations/{value}",
            _url("/staff/login", next=value),
            _url("/staff/", lang=value),
        ]
    assert _walk(admin, urls) == []


def test_a_nul_anywhere_in_a_request_is_refused(app, client, staff_client):
    """PostgreSQL cannot hold NUL: each of these was a 500 there (and 404 or 200 on SQLite).
    In a path it names no page (404); in a query or a form it is a bad request (400)."""
    for url in ("/letters/a%00b", "/v/a%00b"):
        assert client.get(url).status_code == 404, url
    for url in ("/staff/moderation?q=a%00b", "/?lang=%00"):
        assert client.get(url).status_code in (400, 302, 303), url  # staff pages: login first
    api = client.get("/api/v1/letters/a%00b")
    assert api.status_code == 404 and api.is_json
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    answer = client.post(
        "/staff/login", data={"csrf_token": token, "email": "a\x00@b.org", "password": "x"}
    )
    assert answer.status_code == 400
    admin = staff_client("admin")
    assert admin.get("/staff/moderation?q=a%00b").status_code == 400
    assert admin.get(f"/staff/letters/{G20}%00/edit").status_code == 404
    token = csrf_token(admin.get("/staff/moderation/bulk?action=hide").get_data(as_text=True))
    bulk = {"csrf_token": token, "action": "hide", "q": "a\x00", "expected": "0"}
    assert admin.post("/staff/moderation/bulk", data=bulk).status_code == 400
