"""Referral codes (``ref``) from the page to the signature and the exports; partners' counts;
the API and the badge that partners' pages read (CORS, ETag, 304)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, csrf_token, sign
from sqlalchemy import select, update
from test_exports_tabular import read_csv, read_xlsx
from test_moderation import add_signatures, signature_row

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.referrals import Partner
from petitions.models.signatures import Signature

REF_FIELD = re.compile(r'name="ref" type="hidden" value="([^"]*)"')


def source_of(app: Any, email: str) -> str:
    with app.app_context():
        return str(db.session.scalar(select(Signature.source).where(Signature.email == email)))


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("?ref=amnesty-al", "amnesty-al"),
        ("?ref=a" + "b" * 39, "a" + "b" * 39),
        ("?ref=" + "b" * 41, ""),  # too long
        ("?ref=Amnesty", ""),  # upper case
        ("?ref=%22%3E%3Cscript%3E", ""),  # markup
        ("", ""),
    ],
)
@pytest.mark.parametrize("page", ["", "/embed"])
def test_the_page_carries_a_well_formed_ref_into_the_form(client, page, query, kept):
    html = client.get(f"/letters/{G20}{page}{query}").get_data(as_text=True)
    assert REF_FIELD.findall(html) == [kept]
    assert "<script>" not in html


def test_a_cached_letter_page_carries_each_visitors_ref(client):
    client.get(f"/letters/{G20}")  # fills the page cache
    first = client.get(f"/letters/{G20}?ref=first").get_data(as_text=True)
    second = client.get(f"/letters/{G20}?ref=second").get_data(as_text=True)
    plain = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert REF_FIELD.findall(first) == ["first"]
    assert REF_FIELD.findall(second) == ["second"]
    assert REF_FIELD.findall(plain) == [""]


def test_the_signature_stores_the_ref_it_came_with(app, client):
    assert sign(client, email="a@example.org", ref="amnesty-al").status_code == 303
    assert sign(client, email="b@example.org", ref="Not A Code!").status_code == 303
    assert sign(client, email="c@example.org").status_code == 303
    assert source_of(app, "a@example.org") == "amnesty-al"
    assert source_of(app, "b@example.org") == ""
    assert source_of(app, "c@example.org") == ""


def test_signing_through_an_embed_stores_its_ref(app):
    client = app.test_client(use_cookies=False)
    html = client.get(f"/letters/{G20}/embed?ref=teachers-union").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', html)
    assert token
    from conftest import valid_fields

    data = {**valid_fields(email="e@example.org"), "form_token": token.group(1)}
    data["ref"] = REF_FIELD.findall(html)[0]
    assert client.post(f"/letters/{G20}/embed/sign", data=data).status_code == 303
    assert source_of(app, "e@example.org") == "teachers-union"


def fill_sources(app: Any) -> None:
    rows = [
        signature_row(app, G20, source="amnesty-al"),
        signature_row(app, G20, source="amnesty-al"),
        signature_row(app, G20, source="amnesty-al", status="pending"),
        signature_row(app, G20, source="amnesty-al", status="withdrawn"),
        signature_row(app, G20, source="made-up", status="pending"),
        signature_row(app, G20, source=""),
        signature_row(app, INCLUSIVE, source="amnesty-al"),  # another letter
    ]
    add_signatures(app, rows)


def test_exports_have_a_source_column(app, staff_client):
    fill_sources(app)
    client = staff_client("admin")
    header, *rows = read_csv(client.get(f"/staff/letters/{G20}/export.csv?status=all").get_data())
    sources = sorted(row[header.index("source")] for row in rows)
    assert sources == ["", "amnesty-al", "amnesty-al", "amnesty-al", "amnesty-al", "made-up"]
    sheet, _ = read_xlsx(client.get(f"/staff/letters/{G20}/export.xlsx?status=all").get_data())
    assert sheet[0][-1] == "source"
    assert sorted(str(row[-1] or "") for row in sheet[1:]) == sources


def test_organisers_register_partners_and_see_their_counts(app, staff_client):
    fill_sources(app)
    organiser = staff_client("organiser", letters=(G20,))
    page = organiser.get(f"/staff/letters/{G20}/partners")
    assert page.status_code == 200
    answer = organiser.post(
        f"/staff/letters/{G20}/partners",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "name": "Amnesty Albania",
            "code": "amnesty-al",
            "website": "https://amnesty.example.org",
        },
    )
    assert answer.status_code == 303
    again = organiser.post(
        f"/staff/letters/{G20}/partners",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "name": "X",
            "code": "amnesty-al",
        },
    )
    assert again.status_code == 400
    assert "Another partner of this letter has this code." in again.get_data(as_text=True)
    bad = organiser.post(
        f"/staff/letters/{G20}/partners",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "name": "X",
            "code": "Bad Code",
        },
    )
    assert bad.status_code == 400
    html = organiser.get(f"/staff/letters/{G20}").get_data(as_text=True)
    rows = {
        code: (name, counted, pending)
        for name, code, counted, pending in re.findall(
            r'<tr>\s*<th scope="row">(.*?)</th>\s*<td><code>([a-z0-9-]+)</code></td>\s*'
            r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>',
            html,
        )
    }
    assert set(rows) == {"amnesty-al", "made-up"}
    assert "Amnesty Albania" in rows["amnesty-al"][0]
    assert rows["amnesty-al"][1:] == ("2", "1")  # counted, pending (withdrawn left out)
    assert "unregistered code" in rows["made-up"][0]
    assert rows["made-up"][1:] == ("0", "1")


def test_partners_of_another_organisers_letter_are_out_of_reach(app, staff_client):
    organiser = staff_client("organiser", letters=(INCLUSIVE,))
    assert organiser.get(f"/staff/letters/{G20}/partners").status_code == 403
    moderator = staff_client("moderator")
    page = moderator.get(f"/staff/letters/{G20}/partners")
    assert page.status_code == 200 and "Register a partner" not in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Partner.id)) is None


def test_the_dashboard_gives_the_embed_badge_and_json_snippets(app, staff_client):
    html = (
        staff_client("organiser", letters=(G20,))
        .get(f"/staff/letters/{G20}")
        .get_data(as_text=True)
    )
    iframe = re.search(r"&lt;iframe (.*?)&gt;&lt;/iframe&gt;", html)
    assert iframe, "no embed code"
    code = iframe.group(1)
    assert f'src="http://localhost/letters/{G20}/embed"' in code
    for part in ('title="', 'width="', 'height="', 'loading="lazy"'):
        assert part in code
    assert f"/letters/{G20}/badge.svg" in html
    assert f"/api/v1/letters/{G20}" in html


# --- what partners' pages read ---------------------------------------------------------------


def test_api_answers_any_origin_with_etag_and_304(app, client):
    first = client.get(f"/api/v1/letters/{G20}", headers={"Origin": "https://partner.example"})
    assert first.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in first.headers
    assert "max-age=" in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    again = client.get(f"/api/v1/letters/{G20}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    listing = client.get("/api/v1/letters")
    assert listing.headers["Access-Control-Allow-Origin"] == "*" and listing.headers["ETag"]
    assert client.get("/api/v1/letters/nope").headers["Access-Control-Allow-Origin"] == "*"
    # A new count is a new ETag: the old one no longer answers 304.
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == G20).values(count_individuals=7))
        db.session.commit()
    changed = client.get(f"/api/v1/letters/{G20}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json["signatures"]["individuals"] == 7


def test_the_badge_shows_the_count_formatted_for_the_language(app, client):
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == G20).values(count_individuals=18053))
        db.session.commit()
    english = client.get(f"/letters/{G20}/badge.svg?lang=en")
    assert english.status_code == 200 and english.mimetype == "image/svg+xml"
    assert "18,053 signatures" in english.get_data(as_text=True)
    assert english.headers["ETag"] and "max-age=" in english.headers["Cache-Control"]
    assert (
        client.get(
            f"/letters/{G20}/badge.svg?lang=en", headers={"If-None-Match": english.headers["ETag"]}
        ).status_code
        == 304
    )
    albanian = client.get(f"/letters/{G20}/badge.svg?lang=sq").get_data(as_text=True)
    assert "18,053" not in albanian and re.search(r"18.053 nënshkrime", albanian)


def test_api_answers_are_kept_a_moment_per_process_with_their_headers(make_app):
    app = make_app(API_MEMO_SECONDS=60)
    client = app.test_client()
    first = client.get(f"/api/v1/letters/{G20}")
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == G20).values(count_individuals=9))
        db.session.commit()
    kept = client.get(f"/api/v1/letters/{G20}")
    assert kept.get_data() == first.get_data()  # served again without the database
    assert kept.headers["ETag"] == first.headers["ETag"]
    for name in ("Access-Control-Allow-Origin", "Cache-Control", "X-Content-Type-Options"):
        assert kept.headers[name] == first.headers[name]
    not_modified = client.get(
        f"/api/v1/letters/{G20}", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert not_modified.status_code == 304 and not_modified.get_data() == b""
    assert not_modified.headers["Access-Control-Allow-Origin"] == "*"
    # With a query string the app answers: the new count.
    fresh = client.get(f"/api/v1/letters/{G20}?now=1")
    assert fresh.json["signatures"]["individuals"] == 9
    assert client.get("/api/v1/letters/nope").status_code == 404
    assert client.get("/api/v1/letters/nope").status_code == 404


def test_albanian_staff_pages_of_partners(app, staff_client):
    from test_i18n_coverage import _assert_albanian

    fill_sources(app)
    admin = staff_client("admin")
    admin.get("/staff/?lang=sq")
    _assert_albanian(admin.get(f"/staff/letters/{G20}/partners").get_data(as_text=True))
    _assert_albanian(admin.get(f"/staff/letters/{G20}").get_data(as_text=True))


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("ngo.example.org", "https://ngo.example.org"),
        ("http://ngo.example.org/x", "http://ngo.example.org/x"),
    ],
)
def test_a_partners_website_is_a_web_address(app, staff_client, given, stored):
    admin = staff_client("admin")
    page = admin.get(f"/staff/letters/{G20}/partners").get_data(as_text=True)
    answer = admin.post(
        f"/staff/letters/{G20}/partners",
        data={"csrf_token": csrf_token(page), "name": "NGO", "code": "ngo", "website": given},
    )
    assert answer.status_code == (303 if stored else 400)
    with app.app_context():
        assert db.session.scalar(select(Partner.website)) == stored
