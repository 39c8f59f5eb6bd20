"""The moderation queue page: filters, keyset pages, signals, and bulk actions over a filter."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import G20, INCLUSIVE, csrf_token
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from test_moderation import (
    REASONS,
    add_reasons,
    add_signature,
    add_signatures,
    api_counts,
    events,
    letter_id,
    no_drift,
    signature_row,
    state,
)

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.signatures import Signature
from petitions.services.moderation_bulk import MAX_BULK
from petitions.services.moderation_queue import likely_match, website_host

ROW_ID = re.compile(r'name="signature" value="(\d+)" id="select-')
NEXT_LINK = re.compile(r'<a rel="next"[^>]*href="([^"]+)"')


@pytest.fixture
def moderator(staff_client: Any) -> FlaskClient:
    return staff_client("moderator")


def shown_ids(client: FlaskClient, query: str = "", status: int = 200) -> list[int]:
    answer = client.get("/staff/moderation" + (f"?{query}" if query else ""))
    assert answer.status_code == status, answer.status_code
    return [int(x) for x in ROW_ID.findall(answer.get_data(as_text=True))]


# --- filters --------------------------------------------------------------------------------


def test_every_filter(app, moderator):
    now = utcnow()
    long_ago = now - timedelta(days=10)
    ids = {
        "ana": add_signature(app, name="Ana Hoxha", email="ana@school.al", country="AL"),
        "org": add_signature(
            app,
            kind="organisation",
            name="Contact",
            organisation="Teachers' Union",
            email="info@union.org",
            website="https://www.union.org/about",
            country="XK",
            verified_at=now,
        ),
        "org2": add_signature(
            app,
            kind="organisation",
            name="Second Contact",
            organisation="Parents Forum",
            email="p@forum.net",
        ),
        "pending": add_signature(app, status="pending", name="Pending Person", ip_hash="abc123ff"),
        "hidden": add_signature(app, name="Hidden Person", is_hidden=True, ip_hash="abc999"),
        "old": add_signature(app, name="Old Signer", created_at=long_ago, email="old@SCHOOL.al"),
        "other_letter": add_signature(app, INCLUSIVE, name="Elsewhere"),
    }
    everything = set(ids.values())
    assert set(shown_ids(moderator)) == everything

    def only(query: str) -> set[int]:
        return set(shown_ids(moderator, query))

    assert only(f"letter={G20}") == everything - {ids["other_letter"]}
    assert only(f"letter={INCLUSIVE}") == {ids["other_letter"]}
    assert only("status=pending") == {ids["pending"]}
    assert only("kind=organisation") == {ids["org"], ids["org2"]}
    assert only("country=xk") == {ids["org"]}
    yesterday = (now - timedelta(days=1)).date().isoformat()
    old_day = long_ago.date().isoformat()
    assert only(f"created_from={yesterday}") == everything - {ids["old"]}
    assert only(f"created_to={old_day}") == {ids["old"]}
    assert only(f"created_from={old_day}&created_to={old_day}") == {ids["old"]}
    assert only("hidden=yes") == {ids["hidden"]}
    assert only("hidden=no") == everything - {ids["hidden"]}
    assert only("verified=yes") == {ids["org"]}
    assert only("verified=no") == {ids["org2"]}
    # Text: name, organisation, email; any case, anywhere.
    assert only("q=hoxha") == {ids["ana"]}
    assert only("q=TEACHERS") == {ids["org"]}
    assert only("q=forum.n") == {ids["org2"]}
    assert only("q=100%25") == set()  # "%" is a character, not a wildcard
    # Domains match exactly (the stored domain is lower-case).
    assert only("q=%40school.al") == {ids["ana"], ids["old"]}
    assert only("q=domain:School.al") == {ids["ana"], ids["old"]}
    assert only("q=%40chool.al") == set()
    # Address hashes match by their start.
    assert only("q=ip:abc") == {ids["pending"], ids["hidden"]}
    assert only("q=ip:abc1") == {ids["pending"]}
    # Filters combine.
    assert only(f"letter={G20}&kind=organisation&q=union") == {ids["org"]}


def test_bad_filters_answer_400_and_show_nothing(app, moderator):
    add_signature(app)
    assert shown_ids(moderator, "status=deleted", 400) == []
    assert shown_ids(moderator, "created_from=yesterday", 400) == []
    assert shown_ids(moderator, "country=Albania", 400) == []
    assert shown_ids(moderator, "letter=no-such-letter", 400) == []


def test_rows_show_what_a_moderator_needs(app, moderator):
    add_signature(
        app,
        kind="organisation",
        name="Contact Person",
        organisation="Civic Forum",
        title="Director",
        email="info@civic.al",
        website="www.Civic.al",
        city="Durrës",
        comment="We support this.",
        moderation_reason="Checked by phone",
    )
    add_signature(app, status="pending", name="Not Yet")
    html = moderator.get(f"/staff/moderation?letter={G20}").get_data(as_text=True)
    for text in (
        "Contact Person",
        "Civic Forum",
        "Director",
        "info@civic.al",
        "www.Civic.al",
        "Durrës",
        "We support this.",
        "Checked by phone",
        "likely match",
        "Unconfirmed",
        "email not confirmed yet",
    ):
        assert text in html, text
    assert 'class="visually-hidden">Select the signature of Contact Person</label>' in html


@pytest.mark.parametrize(
    ("domain", "website", "expected"),
    [
        ("union.org", "https://www.union.org/about", True),
        ("union.org", "UNION.ORG", True),
        ("www.union.org", "union.org", True),
        ("mail.union.org", "union.org", False),
        ("union.org", "", False),
        ("gmail.com", "https://union.org", False),
    ],
)
def test_likely_match(domain, website, expected):
    signature = Signature(kind="organisation", email_domain=domain, website=website)
    assert likely_match(signature) is expected
    assert likely_match(Signature(kind="individual", email_domain=domain, website=website)) is (
        False
    )


def test_website_host_ignores_garbage():
    assert website_host("http://[::1") == ""
    assert website_host("  ") == ""


def test_organiser_sees_only_their_letters(app, staff_client):
    mine = add_signature(app, name="Mine")
    theirs = add_signature(app, INCLUSIVE, name="Theirs")
    organiser = staff_client("organiser", letters=(G20,))
    assert shown_ids(organiser) == []  # no checkboxes for organisers
    html = organiser.get("/staff/moderation").get_data(as_text=True)
    assert "Mine" in html and "Theirs" not in html
    assert f'<option value="{INCLUSIVE}"' not in html
    assert organiser.get(f"/staff/moderation?letter={INCLUSIVE}").status_code == 400
    assert organiser.get("/staff/moderation?q=theirs").get_data(as_text=True).count("Theirs") == 0
    assert state(app, mine).status == state(app, theirs).status == "confirmed"


# --- keyset pages ---------------------------------------------------------------------------


def _many(app: Flask, count: int, **fields: Any) -> list[int]:
    start = utcnow() - timedelta(hours=5)
    rows = []
    for index in range(count):
        # Pairs share a timestamp and names repeat, so ties are broken by the id.
        created = start + timedelta(seconds=index // 2)
        rows.append(
            signature_row(app, name=f"Signer {index % 37:02d}", created_at=created, **fields)
        )
    return add_signatures(app, rows)


def _walk(client: FlaskClient, first: str) -> list[list[int]]:
    pages, url = [], first
    while url:
        answer = client.get(url)
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        pages.append([int(x) for x in ROW_ID.findall(html)])
        found = NEXT_LINK.search(html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        assert len(pages) < 10
    return pages


@pytest.mark.parametrize("sort", ["newest", "oldest", "name"])
def test_keyset_pages_join_without_gap_or_duplicate(app, moderator, sort):
    ids = _many(app, 120)
    add_signature(app, INCLUSIVE)  # filtered out
    pages = _walk(moderator, f"/staff/moderation?letter={G20}&sort={sort}")
    assert [len(p) for p in pages] == [50, 50, 20]
    flat = [i for page in pages for i in page]
    assert len(flat) == len(set(flat)) == 120
    assert set(flat) == set(ids)
    with app.app_context():
        rows = {s.id: s for s in db.session.scalars(select(Signature))}
        keys = [(rows[i].name, i) if sort == "name" else (rows[i].created_at, i) for i in flat]
    assert keys == sorted(keys, reverse=(sort == "newest"))


def test_next_page_link_keeps_the_filters(app, moderator):
    _many(app, 60, country="XK")
    html = moderator.get(f"/staff/moderation?letter={G20}&country=XK&sort=oldest").text
    link = NEXT_LINK.search(html).group(1).replace("&amp;", "&")
    args = parse_qs(urlsplit(link).query)
    assert args["letter"] == [G20] and args["country"] == ["XK"] and args["sort"] == ["oldest"]
    assert "cursor" in args and "OFFSET" not in link.upper()


def test_malformed_cursor_means_first_page(app, moderator):
    ids = _many(app, 3)
    for cursor in ("garbage", "e30", "WyJ4IiwgLTFd", "x" * 2000):
        assert set(shown_ids(moderator, f"cursor={cursor}")) == set(ids)


# --- signals --------------------------------------------------------------------------------


def test_signals_of_one_letter_link_to_the_filtered_queue(app, moderator):
    now = utcnow()
    rows = [
        signature_row(app, email=f"bot{i}@spam.example", ip_hash="deadbeefcafe0001", created_at=now)
        for i in range(4)
    ]
    rows.append(signature_row(app, email="real@school.al", ip_hash="0123456789ab", created_at=now))
    rows.append(
        signature_row(
            app, email="old@old.example", ip_hash="ffff0000", created_at=now - timedelta(hours=3)
        )
    )
    add_signatures(app, rows)
    html = moderator.get(f"/staff/moderation?letter={G20}").get_data(as_text=True)
    assert "Signals" in html
    assert "q=domain:spam.example" in html.replace("%3A", ":")
    assert "<code>deadbeef</code>" in html and "deadbeefcafe0001</code>" not in html
    assert "old.example" not in html.split("Top email domains")[1].split("</ul>")[0]
    assert "4 signatures" in html
    hours = re.findall(
        r'<td class="num">(\d+)</td>',
        html.split("Signatures created per hour")[1].split("</table>")[0],
    )
    assert len(hours) == 24 and hours[-1] == "5" and hours[-4] == "1"
    assert "at most 5 in one hour" in html
    # Following a signal leads to exactly those signatures.
    assert len(shown_ids(moderator, f"letter={G20}&q=ip:deadbeefcafe0001")) == 4
    assert "Signals" not in moderator.get("/staff/moderation").get_data(as_text=True)


# --- bulk over a filter ---------------------------------------------------------------------


def _preview(client: FlaskClient, query: str, status: int = 200) -> str:
    answer = client.get(f"/staff/moderation/bulk?{query}")
    assert answer.status_code == status
    return answer.get_data(as_text=True)


def _confirm_fields(html: str) -> dict[str, str]:
    form = html.split('class="bulk-confirm"')[1].split("</form>")[0]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)) | {
        "csrf_token": csrf_token(html)
    }


def test_bulk_preview_then_confirm(app, client, moderator):
    add_reasons(app)
    spam_ids = _many(app, 30, email_domain="spam.example", kind="individual")
    keep = add_signature(app, email="keep@school.al")
    assert api_counts(client) == (31, 0)
    html = moderator.get(f"/staff/moderation?letter={G20}&q=%40spam.example").text
    assert "Apply to all 30 matching signatures" in html

    preview = _preview(moderator, f"letter={G20}&q=%40spam.example&action=reject")
    assert "30 signatures match the filter." in preview
    assert len(re.findall(r'<tr class="confirmed', preview)) == 20
    fields = _confirm_fields(preview)
    assert fields["expected"] == "30" and fields["q"] == "@spam.example"
    assert fields["action"] == "reject"

    # A rejection without a reason is refused, and nothing changes.
    answer = moderator.post("/staff/moderation/bulk", data=fields)
    assert answer.status_code == 400 and "Choose a reason" in answer.get_data(as_text=True)
    assert api_counts(client) == (31, 0)

    answer = moderator.post("/staff/moderation/bulk", data=fields | {"reason": REASONS[0]})
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/staff/moderation?")
    assert api_counts(client) == (1, 0)
    assert {state(app, i).status for i in spam_ids} == {"rejected"}
    assert state(app, keep).status == "confirmed"
    (bulk,) = events(app, "signature.bulk")
    assert bulk.details["count"] == 30 and bulk.details["action"] == "reject"
    assert bulk.details["filters"] == {
        "letter_id": letter_id(app),
        "q": "@spam.example",
        "sort": "decision",
    }
    assert len(events(app, "signature.reject")) == 30
    assert no_drift(app)


def test_bulk_refuses_when_the_matching_set_changed(app, client, moderator):
    _many(app, 5, email_domain="spam.example")
    preview = _preview(moderator, f"letter={G20}&q=domain:spam.example&action=spam")
    fields = _confirm_fields(preview)
    assert fields["expected"] == "5"
    add_signature(app, email="late@spam.example")  # arrives while the moderator reads

    answer = moderator.post("/staff/moderation/bulk", data=fields)
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "changed to 6" in html and "6 signatures match the filter." in html
    assert _confirm_fields(html)["expected"] == "6"
    assert api_counts(client) == (6, 0)
    assert events(app, "signature.bulk") == [] and events(app, "signature.spam") == []

    answer = moderator.post("/staff/moderation/bulk", data=_confirm_fields(html))
    assert answer.status_code == 303
    assert api_counts(client) == (0, 0)


def test_bulk_over_the_limit_is_refused(app, moderator):
    now = utcnow()
    template = signature_row(app, email="x@flood.example", created_at=now)
    rows = []
    for index in range(MAX_BULK + 1):
        row = dict(template)
        row["email"] = row["email_canonical"] = f"f{index}@flood.example"
        rows.append(row)
    with app.app_context():
        db.session.execute(insert(Signature), rows)
        db.session.commit()
    preview = _preview(moderator, f"letter={G20}&q=domain:flood.example&action=spam")
    assert "More than 50,000 signatures match the filter." in preview
    assert "cannot be changed in one go" in preview and "bulk-confirm" not in preview
    fields = {
        "csrf_token": csrf_token(moderator.get("/staff/account/password").text),
        "letter": G20,
        "q": "domain:flood.example",
        "action": "spam",
        "expected": str(MAX_BULK + 1),
    }
    answer = moderator.post("/staff/moderation/bulk", data=fields)
    assert answer.status_code == 400 and "cannot be changed in one go" in answer.text
    with app.app_context():
        spam = select(func.count()).select_from(Signature).where(Signature.status == "spam")
        assert db.session.scalar(spam) == 0


def test_bulk_needs_a_token_and_moderate_permission(app, moderator, staff_client):
    ids = _many(app, 3)
    fields = _confirm_fields(_preview(moderator, f"letter={G20}&action=spam"))
    without = {k: v for k, v in fields.items() if k != "csrf_token"}
    assert moderator.post("/staff/moderation/bulk", data=without).status_code == 400
    organiser = staff_client("organiser", letters=(G20,))
    token = csrf_token(organiser.get("/staff/account/password").text)
    answer = organiser.post("/staff/moderation/bulk", data=without | {"csrf_token": token})
    assert answer.status_code == 403
    assert {state(app, i).status for i in ids} == {"confirmed"}
    assert _preview(moderator, f"letter={G20}&action=delete", 400)


def test_bulk_works_through_several_chunks(app, client, moderator):
    ids = _many(app, 1_100, email_domain="many.example")
    keep = add_signature(app, email="keep@school.al")
    preview = _preview(moderator, f"letter={G20}&q=domain:many.example&action=spam")
    assert "1,100 signatures match the filter." in preview
    answer = moderator.post("/staff/moderation/bulk", data=_confirm_fields(preview))
    assert answer.status_code == 303
    with app.app_context():
        statuses = db.session.execute(
            select(Signature.status, func.count()).group_by(Signature.status)
        ).all()
    assert dict(statuses) == {"spam": 1_100, "confirmed": 1}
    assert state(app, keep).status == "confirmed"
    assert len(events(app, "signature.spam")) == len(ids)
    assert events(app, "signature.bulk")[0].details["changed"] == 1_100
    assert api_counts(client) == (1, 0)
    assert no_drift(app)


def test_the_queue_counts_a_big_letter_only_up_to_a_cap(app, moderator, monkeypatch):
    """A page of a million-signature letter must not count a million rows each time."""
    from petitions.services import moderation_queue

    monkeypatch.setattr(moderation_queue, "COUNT_UP_TO", 5)
    add_signatures(app, [signature_row(app, email=f"c{i}@cap.example") for i in range(7)])
    page = moderator.get(f"/staff/moderation?letter={G20}&q=domain:cap.example").text
    assert "More than 5 matching signatures" in page
    assert "Apply to all matching signatures…" in page
    page = moderator.get(f"/staff/moderation?letter={G20}&q=c1@cap.example").text
    assert "1 matching signature" in page
