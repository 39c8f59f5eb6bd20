"""Staff pages that protect their users: confirmation steps, the queue's order, what waits on the
home page, rejecting one row with its reason, the audit trail as sentences, the "PDF ready" email.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, STAFF_PASSWORD, login, outbox_rows
from flask import Flask
from sqlalchemy import func, select, update
from test_moderation import REASONS, add_reasons, add_signature, state
from test_staff_admin import form_fields

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.columns import utcnow
from petitions.models.letters import Letter
from petitions.models.staff import StaffUser

QUESTION = re.compile(r"<h1>(.*?)</h1>", re.S)


def letter_status(app: Flask, slug: str = G20) -> str:
    with app.app_context():
        return str(db.session.scalar(select(Letter.status).where(Letter.slug == slug)))


def events(app: Flask, action: str) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


def title_of(app: Flask, slug: str = G20) -> str:
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == slug)).one()
        return letter.text_in("en").title


# --- publish, close, reopen -----------------------------------------------------------------


def test_closing_says_what_will_happen_and_needs_its_confirmation(app, staff_client):
    staff = staff_client("admin")
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == G20).values(count_individuals=1234))
        db.session.commit()
    dashboard = staff.get(f"/staff/letters/{G20}").get_data(as_text=True)
    # The dashboard has no one-click close: a link to the confirmation step, not the filled button.
    assert f'action="/staff/letters/{G20}/status"' not in dashboard
    assert f'href="/staff/letters/{G20}/status?action=close"' in dashboard
    assert re.search(r'class="button secondary danger"[^>]*>Close…', dashboard)

    page = staff.get(f"/staff/letters/{G20}/status?action=close").get_data(as_text=True)
    title = html_lib.escape(title_of(app), quote=False)
    assert QUESTION.search(page).group(1) == f"Close “{title}”?"
    assert "1,234 counted signatures stay; nobody can sign after this." in page
    fields = form_fields(page, f"/staff/letters/{G20}/status")
    assert fields["action"] == "close" and fields["confirmed"] == "1"

    # Posting without the confirmation changes nothing and leads to the confirmation page.
    unconfirmed = {k: v for k, v in fields.items() if k != "confirmed"}
    answer = staff.post(f"/staff/letters/{G20}/status", data=unconfirmed)
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/staff/letters/{G20}/status?action=close"
    assert letter_status(app) == "open" and events(app, "letter.status_changed") == 0

    answer = staff.post(f"/staff/letters/{G20}/status", data=fields, follow_redirects=True)
    assert "The letter is closed." in answer.get_data(as_text=True)
    assert letter_status(app) == "closed" and events(app, "letter.status_changed") == 1

    page = staff.get(f"/staff/letters/{G20}/status?action=reopen").get_data(as_text=True)
    assert "The letter takes signatures again; its 1,234 counted signatures stay." in page
    staff.post(
        f"/staff/letters/{G20}/status", data=form_fields(page, f"/staff/letters/{G20}/status")
    )
    assert letter_status(app) == "open" and events(app, "letter.status_changed") == 2


def test_publishing_asks_first(app, staff_client):
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == INCLUSIVE).values(status="draft"))
        db.session.commit()
    staff = staff_client("admin")
    page = staff.get(f"/staff/letters/{INCLUSIVE}/status?action=publish").get_data(as_text=True)
    assert "The letter becomes public at its address and anyone can sign it." in page
    # Publishing is not destructive: its button is the page's main one.
    assert '<button type="submit">Publish the letter</button>' in page
    action = f"/staff/letters/{INCLUSIVE}/status"
    staff.post(action, data=form_fields(page, action))
    assert letter_status(app, INCLUSIVE) == "open"


def test_a_confirmation_for_a_change_that_no_longer_fits_goes_back(app, staff_client):
    staff = staff_client("admin")
    answer = staff.get(f"/staff/letters/{G20}/status?action=reopen", follow_redirects=True)
    assert "Only a closed letter can be reopened." in answer.get_data(as_text=True)
    assert staff.get(f"/staff/letters/{G20}/status?action=delete").status_code == 404


def test_destructive_buttons_never_look_like_the_main_one(app):
    css = (Path(app.static_folder) / "staff.css").read_text()
    rule = re.search(r"button\.danger, a\.button\.danger \{([^}]*)\}", css)
    assert rule is not None
    assert "background: #fff" in rule.group(1) and "border: 2px solid" in rule.group(1)


# --- several signatures at once -------------------------------------------------------------


def test_acting_on_selected_signatures_goes_through_a_confirmation(app, staff_client):
    add_reasons(app)
    first = add_signature(app, name="Besa Krasniqi")
    second = add_signature(app, name="Dritan Gjoka")
    staff = staff_client("moderator")
    queue = staff.get("/staff/moderation").get_data(as_text=True)
    # The queue's selection form asks (GET) rather than acts.
    assert 'method="get" action="/staff/moderation/selected" id="bulk-selected"' in queue

    answer = staff.get(
        "/staff/moderation/selected",
        query_string={"signature": [first, second], "action": "reject", "reason": REASONS[1],
                      "next": "/staff/moderation"},
    )  # fmt: skip
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert QUESTION.search(page).group(1) == "Reject 2 signatures?"
    assert "Besa Krasniqi" in page and "Dritan Gjoka" in page
    assert f"Reason: {REASONS[1]}" in page
    fields = form_fields(page, "/staff/signatures/moderate")
    assert fields["confirmed"] == "1" and sorted(map(int, fields["signature"])) == [first, second]

    # Straight to the endpoint without the confirmation: nothing changes, the question is asked.
    unconfirmed = {k: v for k, v in fields.items() if k != "confirmed"}
    answer = staff.post("/staff/signatures/moderate", data=unconfirmed)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/staff/moderation/selected?")
    assert state(app, first).status == state(app, second).status == "confirmed"

    staff.post("/staff/signatures/moderate", data=fields)
    assert state(app, first).status == state(app, second).status == "rejected"
    assert state(app, first).moderation_reason == REASONS[1]


def test_a_rejection_without_a_reason_is_stopped_before_the_confirmation(app, staff_client):
    ids = [add_signature(app), add_signature(app)]
    staff = staff_client("moderator")
    answer = staff.get(
        "/staff/moderation/selected",
        query_string={"signature": ids, "action": "reject"},
        follow_redirects=True,
    )
    assert "Choose a reason" in answer.get_data(as_text=True)


# --- the queue and the home page ------------------------------------------------------------


def queue_order(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="select-(\d+)"', html)]


def test_the_queue_opens_on_what_awaits_approval_then_newest(app, staff_client):
    now = utcnow()
    old_waiting = add_signature(app, status="awaiting_approval", created_at=now - timedelta(days=3))
    old = add_signature(app, created_at=now - timedelta(days=2))
    new_waiting = add_signature(app, status="awaiting_approval", created_at=now - timedelta(days=1))
    newest = add_signature(app, created_at=now)
    staff = staff_client("moderator")
    page = staff.get(f"/staff/moderation?letter={G20}").get_data(as_text=True)
    assert queue_order(page) == [new_waiting, old_waiting, newest, old]
    assert '<option selected value="decision">' in page


def test_the_decision_order_pages_without_gap_or_duplicate(app, make_staff):
    from petitions.services.moderation_queue import QueueFilter, queue_page

    now = utcnow()
    expected = []
    for day in range(7):
        status = "awaiting_approval" if day % 3 == 0 else "confirmed"
        ident = add_signature(app, status=status, created_at=now - timedelta(hours=day))
        expected.append((status != "awaiting_approval", day, ident))
    expected_ids = [ident for *_, ident in sorted(expected)]
    email = make_staff("moderator")
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        letter = db.session.scalar(select(Letter.id).where(Letter.slug == G20))
        seen: list[int] = []
        cursor = None
        while True:
            page = queue_page(user, QueueFilter(letter_id=letter), cursor, size=2)
            seen.extend(s.id for s in page.signatures)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == expected_ids


def test_the_home_page_shows_how_many_wait_per_letter(app, staff_client):
    for _ in range(3):
        add_signature(app, status="awaiting_approval")
    add_signature(app, INCLUSIVE, status="awaiting_approval")
    add_signature(app)
    page = staff_client("moderator").get("/staff/").get_data(as_text=True)
    assert "4 signatures await your decision" in page
    g20 = re.search(
        rf'href="/staff/moderation\?letter={G20}&amp;status=awaiting_approval"><strong>(\d+)</strong>',
        page,
    )
    inclusive = re.search(
        rf'href="/staff/moderation\?letter={INCLUSIVE}&amp;status=awaiting_approval"><strong>(\d+)<',
        page,
    )
    assert g20 and g20.group(1) == "3"
    assert inclusive and inclusive.group(1) == "1"


def test_one_row_is_rejected_with_its_reason_from_the_row(app, staff_client):
    add_reasons(app)
    ident = add_signature(app, name="Besa Krasniqi")
    other = add_signature(app)
    staff = staff_client("moderator")
    page = staff.get("/staff/moderation").get_data(as_text=True)
    row = page[page.index(f'id="select-{ident}"') :]
    row = row[: row.index("</tr>")]
    assert f'<select id="reason-{ident}" name="reason">' in row
    assert all(f'<option value="{reason}">' in row for reason in REASONS)
    assert "An old reason" not in row  # deactivated reasons are not offered
    forms = re.findall(
        r'<form method="post" action="/staff/signatures/moderate">(.*?)</form>', row, re.S
    )
    reject = next(form for form in forms if 'name="action" value="reject"' in form)
    data = {
        name: value for name, value in re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', reject)
    }
    data |= {"reason": REASONS[1]}
    answer = staff.post("/staff/signatures/moderate", data=data)
    assert answer.status_code == 303  # one signature: no confirmation step
    assert state(app, ident).status == "rejected"
    assert state(app, ident).moderation_reason == REASONS[1]
    assert state(app, other).status == "confirmed"


# --- the audit trail ------------------------------------------------------------------------


def test_every_recorded_action_has_a_sentence():
    from petitions.services.audit import ACTION_LABELS
    from petitions.staff.audit_sentences import SENTENCES

    assert set(ACTION_LABELS) - set(SENTENCES) == set()


@pytest.mark.parametrize("language", ["en", "sq"])
def test_every_sentence_renders_without_a_raw_record(app, language):
    from petitions.services.audit import ACTION_LABELS
    from petitions.staff.audit_sentences import sentences

    details: dict[str, Any] = {
        "from": "open", "to": "closed", "role": "moderator", "reason": "duplicate",
        "fields": ["goal"], "language": "sq", "rows": 18053, "count": 1234, "action": "reject",
        "text": "Duplicate", "delivered_on": "2026-12-01", "filters": {"status": "pending"},
    }  # fmt: skip
    with app.test_request_context(f"/?lang={language}"):
        from flask_babel import refresh

        refresh()
        found = [
            AuditEvent(id=n, action=action, details=details, ip_hash="", object_type="",
                       actor_email="", at=utcnow())
            for n, action in enumerate(sorted(ACTION_LABELS), start=1)
        ]  # fmt: skip
        said = sentences(found)
    for event in found:
        sentence = said[event.id]
        assert sentence.endswith("."), (event.action, sentence)
        assert "{" not in sentence and "%(" not in sentence, (event.action, sentence)
        assert ": " + ACTION_LABELS[event.action] not in sentence  # not the fallback
    if language == "en":
        assert said[found[[e.action for e in found].index("export.csv")].id] == (
            "The system exported 18,053 signatories of a letter as CSV."
        )


def test_the_audit_trail_reads_as_sentences_with_the_record_one_click_away(app, staff_client):
    add_reasons(app)
    ident = add_signature(app, name="Besa Krasniqi")
    staff = staff_client("admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', staff.get("/staff/moderation").text)
    staff.post(
        "/staff/signatures/moderate",
        data={"csrf_token": token.group(1), "signature": ident, "action": "reject",
              "reason": REASONS[1]},
    )  # fmt: skip
    title = html_lib.escape(title_of(app), quote=False)
    page = staff.get("/staff/audit").get_data(as_text=True)
    assert re.search(
        rf"Administrator admin\d+@staff\.example\.org rejected the signature of Besa Krasniqi "
        rf"on “{re.escape(title)}” \(reason: {REASONS[1]}\)\.",
        page,
    )
    assert "<summary>The record" in page and "signature.reject" in page
    assert "{'" not in page and "': " not in page and "&#39;: " not in page
    # Times in the site's zone (Europe/Tirane by default): the UTC hour is not what is shown.
    with app.app_context():
        at = db.session.scalar(select(AuditEvent.at).where(AuditEvent.action == "signature.reject"))
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo("Europe/Tirane"))
    assert local.strftime("%-I:%M") in page

    staff.get("/staff/?lang=sq")
    page = staff.get("/staff/audit").get_data(as_text=True)
    assert re.search(
        r"Administrator admin\d+@staff\.example\.org refuzoi nënshkrimin e Besa Krasniqi", page
    )
    assert "rejected the signature" not in page


# --- the "PDF ready" email ------------------------------------------------------------------


@pytest.mark.parametrize("public_url", [None, "https://letters.example.org"])
def test_the_pdf_ready_email_speaks_the_askers_language_and_links_to_their_host(
    make_app, make_staff, public_url
):
    from petitions.models.exports import PdfExport
    from petitions.workers.pdf_builder import build_pdf

    settings: dict[str, Any] = {"EXPORT_INLINE_ROWS": -1, "JOBS_IMMEDIATE": False,
                                "JOBS_WORKER": "external"}  # fmt: skip
    settings["PUBLIC_URL"] = public_url  # None: links follow the request's (allowed) host
    app = make_app(**settings)
    add_signature(app)
    staff = app.test_client()
    login(staff, make_staff("admin"), STAFF_PASSWORD)
    staff.get("/staff/?lang=sq")  # the staff member reads Albanian; the PDF is in English
    answer = staff.get(f"/staff/letters/{G20}/export.pdf?status=counted&language=en")
    assert answer.status_code == 303
    job_path = answer.headers["Location"]
    with app.app_context():
        export = db.session.scalars(select(PdfExport)).one()
        assert export.notify_language == "sq"
        build_pdf(export.id, notify=True)
    (ready,) = [row for row in outbox_rows(app) if row.purpose == "pdf_ready"]
    assert ready.subject.startswith("PDF-ja e dorëzimit është gati")
    assert "Shkarko PDF-në" in ready.text_body and "Shkarko PDF-në" in ready.html_body
    assert "Download the PDF" not in ready.text_body and "is ready" not in ready.subject
    # The test client's host is localhost: the link follows it (a worker alone would not know).
    expected = (public_url or "http://localhost") + job_path
    assert expected in ready.text_body and f'href="{expected}"' in ready.html_body


def test_the_new_staff_pages_speak_albanian(app, staff_client):
    from test_i18n_coverage import _assert_albanian

    from petitions.models.staff import ModerationReason

    with app.app_context():  # reasons are the staff's own words: Albanian ones here
        db.session.add(ModerationReason(text="Nënshkrim i dyfishtë", position=0))
        db.session.commit()
    ids = [add_signature(app, status="awaiting_approval"), add_signature(app)]
    staff = staff_client("admin")
    staff.get("/staff/?lang=sq")
    token = re.search(r'name="csrf_token" value="([^"]+)"', staff.get("/staff/moderation").text)
    staff.post(
        "/staff/signatures/moderate",
        data={"csrf_token": token.group(1), "signature": ids[1], "action": "reject",
              "reason": "Nënshkrim i dyfishtë"},
    )  # fmt: skip
    for path in (
        "/staff/",
        f"/staff/letters/{G20}",
        f"/staff/letters/{G20}/status?action=close",
        "/staff/moderation",
        f"/staff/moderation/selected?signature={ids[0]}&signature={ids[1]}&action=hide",
        "/staff/audit",
    ):
        answer = staff.get(path)
        assert answer.status_code == 200, path
        # The raw record is stored data (codes such as "rejected"), shown as it is, not prose.
        page = re.sub(r'<details class="raw-record">.*?</details>', "", answer.text, flags=re.S)
        _assert_albanian(page)
