"""NUL and other control characters: 404 in a path, 400 in a query or a form, never a 500.

PostgreSQL refuses a NUL in any text value, so these matter most there (run the suite with
TEST_DATABASE_URL); on SQLite they prove the same answers.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import G20, csrf_token, login, outbox_rows, sign
from sqlalchemy import func, select

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.letters import Letter
from petitions.models.signatures import Signature
from petitions.models.staff import ModerationReason

MESSAGE = "This contains invisible control characters; remove them."


def count(app: Any, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    "path",
    [
        "/letters/%00",
        "/letters/g20%00",
        "/letters/%1b[31m",
        f"/letters/{G20}%00/signatories",
        "/letters/%00/check-email",
        "/v/%00abc",
        "/v/abc%7f",
        "/confirm/%00",
        "/withdraw/abc.def%00.ghi",
        "/api/v1/letters/%00",
        "/staff/invitations/%00",
    ],
)
def test_a_control_character_in_a_path_is_404(client, path):
    answer = client.get(path)
    assert answer.status_code == 404, answer.status_code


def test_a_control_character_in_a_path_is_404_on_posts_and_staff_pages(app, staff_client):
    admin = staff_client("admin")
    token = csrf_token(admin.get("/staff/").get_data(as_text=True))
    assert admin.get("/staff/letters/%00").status_code == 404
    assert admin.get(f"/staff/letters/{G20}%00/edit").status_code == 404
    assert admin.post("/staff/letters/%00/status", data={"csrf_token": token}).status_code == 404
    assert admin.post("/v/%00abc/listed", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/?lang=%00",
        f"/letters/{G20}?lang=sq%1b",
        f"/letters/{G20}/signatories?kind=individual&after=%00",
        f"/letters/{G20}/signatories?kind=%00",
        "/staff/login?next=/staff/%00",
        "/api/v1/letters?x%00=1",
    ],
)
def test_a_control_character_in_a_public_query_is_400(client, path):
    assert client.get(path).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "q=ana%00%40example.org",
        "q=ip:%00",
        "q=%40exa%1bmple.org",
        "status=%00",
        "country=A%00",
        "cursor=%00",
        "letter=g20%00",
        "since=2024-01-01%00",
        "q=ok&q=%00",  # the second value of a repeated name
    ],
)
def test_a_control_character_in_a_staff_query_is_400(app, staff_client, query):
    admin = staff_client("admin")
    for page in ("/staff/moderation", "/staff/moderation/bulk", "/staff/audit"):
        answer = admin.get(f"{page}?{query}")
        assert answer.status_code == 400, (page, answer.status_code)
    assert admin.get(f"/staff/audit?before=%00&{query}").status_code == 400
    assert admin.get(f"/staff/letters/{G20}/export?{query}").status_code == 400
    assert admin.get(f"/staff/letters/{G20}/export.csv?{query}").status_code == 400


@pytest.mark.parametrize("char", ["\x00", "\x1b"])
@pytest.mark.parametrize(
    "field",
    [
        "name",
        "email",
        "organisation",
        "title",
        "city",
        "website",
        "comment",
        "country",
        "kind",
        "public",
        "consent",
        "leave_empty",
    ],
)
def test_the_signing_form_answers_400_with_its_errors_and_stores_nothing(app, client, field, char):
    values = {
        "name": "Ana Hoxha",
        "email": "ana@example.org",
        "organisation": "Teachers' Union",
        "title": "Teacher",
        "city": "Tiranë",
        "website": "https://example.org",
        "comment": "Yes.",
        "country": "AL",
        "kind": "organisation",
        "public": "y",
        "consent": "y",
        "leave_empty": "",
    }
    where = 0 if field == "email" else len(values[field])  # a NUL inside the address
    values[field] = values[field][:where] + char + values[field][where:]
    answer = sign(client, **values)
    assert answer.status_code == 400, answer.status_code
    page = answer.get_data(as_text=True)
    if field != "leave_empty":  # the field people never see: nobody to tell
        assert MESSAGE in page.replace("&#39;", "'")
    assert 'name="name"' in page  # the form again, with what was typed
    assert count(app, Signature) == 0
    assert outbox_rows(app) == []


def test_line_breaks_and_tabs_pass_in_a_comment_not_in_a_name(app, client):
    answer = sign(client, name="Ana\tHoxha")
    assert answer.status_code == 400
    assert MESSAGE in answer.get_data(as_text=True).replace("&#39;", "'")
    assert count(app, Signature) == 0
    assert sign(client, comment="First line\r\nSecond\tline").status_code == 303
    assert count(app, Signature) == 1


@pytest.mark.parametrize("email", ["admin1@staff.example.org\x00", "\x00", "ad\x1bmin@x.org"])
def test_a_login_with_a_control_character_says_so(app, make_staff, email):
    make_staff("admin")
    client = app.test_client()
    answer = login(client, email)
    assert answer.status_code == 400
    assert MESSAGE in answer.get_data(as_text=True).replace("&#39;", "'")
    assert login(client, "admin1@staff.example.org", password="pass\x00word").status_code == 400
    assert login(client, "admin1@staff.example.org").status_code == 303


def test_a_staff_form_that_does_not_name_the_field_answers_with_the_400_page(app, staff_client):
    admin = staff_client("admin")
    page = admin.get("/staff/reasons").get_data(as_text=True)
    reasons, events = count(app, ModerationReason), count(app, AuditEvent)
    answer = admin.post(
        "/staff/reasons/new",
        data={"csrf_token": csrf_token(page), "text": "Spam\x00"},
    )
    assert answer.status_code == 400
    assert "The request could not be understood. Nothing was changed." in answer.get_data(
        as_text=True
    )
    assert count(app, ModerationReason) == reasons
    assert count(app, AuditEvent) == events
    moderated = admin.post(
        "/staff/signatures/moderate",
        data={"csrf_token": csrf_token(page), "action": "hide", "signature": "1",
              "reason": "other", "reason_other": "because\x00"},
    )  # fmt: skip
    assert moderated.status_code == 400


def test_the_letter_form_names_the_field_and_keeps_the_text(app, staff_client):
    admin = staff_client("admin")
    page = admin.get("/staff/letters/new").get_data(as_text=True)
    answer = admin.post(
        "/staff/letters/new",
        data={"csrf_token": csrf_token(page), "slug": "new-letter", "main_language": "en",
              "text_en-title": "Meals\x00", "text_en-body": "Dear Minister,\x0c\n\nPlease act.",
              "text_en-publisher": "Coalition", "text_en-addressees": "Minister | Ministry",
              "goal": "100", "moderation": "none", "save": "y"},
    )  # fmt: skip
    assert answer.status_code == 400
    html = answer.get_data(as_text=True).replace("&#39;", "'")
    assert html.count(MESSAGE) == 2  # the title and the body (a form feed is not a line break)
    assert "Please act." in html
    with app.app_context():
        assert db.session.scalar(select(Letter).where(Letter.slug == "new-letter")) is None


@pytest.mark.parametrize("field", ["slug", "text_en-addressees", "goal", "opens_at"])
def test_a_nul_in_any_letter_field_is_refused_before_the_database(app, staff_client, field):
    """The form's own checks (a slug already taken, dates) run first: none may pass a NUL on."""
    admin = staff_client("admin")
    values = {"slug": "new-letter", "text_en-addressees": "Minister | Ministry", "goal": "100",
              "opens_at": "2030-05-01T10:00"}  # fmt: skip
    values[field] = values[field][:3] + "\x00" + values[field][3:]
    page = admin.get("/staff/letters/new").get_data(as_text=True)
    answer = admin.post(
        "/staff/letters/new",
        data={"csrf_token": csrf_token(page), "main_language": "en", "text_en-title": "Meals",
              "text_en-body": "Dear Minister", "text_en-publisher": "Coalition",
              "moderation": "none", "save": "y", **values},
    )  # fmt: skip
    assert answer.status_code == 400
    assert MESSAGE in answer.get_data(as_text=True).replace("&#39;", "'")
    assert count(app, Letter) == 2  # the two demo letters
