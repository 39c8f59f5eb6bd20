"""Journeys through the site in Chromium, as people make them, with screenshots of every step.

A supporter (on a phone's width, JavaScript off) signs as a person and for an organisation,
confirms from the email the SMTP server received, sees the count move and withdraws, in English
and in Albanian. A staff member (on a desktop's width) creates and publishes a letter, approves
and rejects in the moderation queue, and downloads a CSV and a delivery PDF.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import G20, csrf_token, sign
from sqlalchemy import select

from browser.conftest import Shots, link_in, log_in, mail_to, staff_account
from petitions.extensions import db
from petitions.models.signatures import Signature

pytestmark = pytest.mark.browser

SIGN_BUTTON = "form[action*='/sign'] button[type=submit]"
STAFF_EMAIL = "organiser@staff.example.org"
STAFF_PASSWORD = "a long password for the staff journey"


def count_on(page: Any) -> int:
    """The letter's count as the page shows it: the number its total starts with, in any
    language's grouping ("18,053", "18 053" and "18.053" are all 18053)."""
    text = page.locator(".counts .total").first.inner_text().strip()
    number = re.match(r"\d[\d\s.,'\u00a0\u202f]*", text)
    assert number, f"no count in {text!r}"
    return int(re.sub(r"\D", "", number.group(0)))


def press(page: Any, selector: str) -> None:
    page.locator(selector).first.click()
    page.wait_for_load_state()


def fill_signing_form(page: Any, kind: str, name: str, email: str, organisation: str = "") -> None:
    page.check(f"input[name=kind][value={kind}]")
    page.fill("#name", name)
    if organisation:
        page.fill("#organisation", organisation)
        page.fill("#website", "https://example.org")
    page.fill("#email", email)
    page.select_option("#country", "AL")
    page.fill("#city", "Tiranë")
    page.check("#public")
    page.check("#consent")


# --- the supporter ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "sq"])
def test_a_supporter_signs_confirms_sees_the_count_move_and_withdraws(
    language, live_server, smtp, open_page
):
    page = open_page("phone", javascript=False)
    shot = Shots(f"supporter-{language}")
    page.goto(f"{live_server}/?lang={language}")
    assert page.get_attribute("html", "lang") == language
    shot(page, "home")
    press(page, f"main a[href*='/letters/{G20}']")
    shot(page, "letter")
    before = count_on(page)

    # As a person: the form works without JavaScript.
    person = f"person.{language}@example.org"
    fill_signing_form(page, "individual", "Ana Hoxha", person)
    shot(page, "form-filled")
    press(page, SIGN_BUTTON)
    assert "/check-email" in page.url, page.url
    shot(page, "check-your-email")
    email = mail_to(smtp, person)
    page.goto(link_in(email, "confirm"))
    assert page.get_attribute("html", "lang") == language
    shot(page, "confirm")
    press(page, "main form button[type=submit]")
    shot(page, "confirmed")
    press(page, f"main a[href*='/letters/{G20}']")
    assert count_on(page) == before + 1

    # For an organisation.
    organisation = f"organisation.{language}@example.org"
    fill_signing_form(page, "organisation", "Besa Krasniqi", organisation, "Shoqata Arsimi")
    press(page, SIGN_BUTTON)
    assert "/check-email" in page.url, page.url
    page.goto(link_in(mail_to(smtp, organisation), "confirm"))
    press(page, "main form button[type=submit]")
    page.goto(f"{live_server}/letters/{G20}")
    assert count_on(page) == before + 2
    shot(page, "count-moved")
    page.goto(f"{live_server}/letters/{G20}/signatories")
    assert page.locator("main", has_text="Shoqata Arsimi").count() == 1
    shot(page, "signatories")

    # The person withdraws with the other link of the same email.
    page.goto(link_in(email, "withdraw"))
    shot(page, "withdraw")
    press(page, "main form button[type=submit]")
    shot(page, "withdrawn")
    page.goto(f"{live_server}/letters/{G20}")
    assert count_on(page) == before + 1


def test_a_refused_signature_keeps_the_answers_and_says_what_to_fix(live_server, open_page):
    page = open_page("phone", javascript=False)
    shot = Shots("supporter-refused")
    page.goto(f"{live_server}/letters/{G20}?lang=sq")
    page.fill("#name", "Ana Hoxha")
    press(page, SIGN_BUTTON)
    assert page.locator(".error-summary").count() == 1
    assert page.input_value("#name") == "Ana Hoxha"
    assert page.get_attribute("#email", "aria-invalid") == "true"
    shot(page, "refused")


# --- the staff member ---------------------------------------------------------------------------


def test_a_staff_member_publishes_moderates_and_exports(
    app, live_server, smtp, open_page, tmp_path
):
    staff_account(app, STAFF_EMAIL, STAFF_PASSWORD)
    page = open_page("desktop")
    shot = Shots("staff")
    log_in(page, live_server, STAFF_EMAIL, STAFF_PASSWORD)
    shot(page, "home")

    # A new letter, moderated before publication of each signature.
    slug = "browser-journey"
    page.goto(f"{live_server}/staff/letters/new")
    page.fill("#slug", slug)
    page.select_option("#main_language", "en")
    page.fill("[id='text_en-title']", "Safe schools for every child")
    page.fill("[id='text_en-body']", "We ask for **safe schools**.\n\nFor every child.")
    page.fill("[id='text_en-addressees']", "Minister of Education | Ministry of Education")
    page.check("input[name=moderation][value=pre]")
    shot(page, "new-letter")
    press(page, "form.letter-form button[name=save]")
    dashboard = f"{live_server}/staff/letters/{slug}"
    assert page.url.split("?")[0] == dashboard, page.url
    shot(page, "draft")

    # Publish, through its confirmation page when there is one.
    press(page, "a[href*='status?action=publish']")
    assert "/status" in page.url, page.url
    shot(page, "publish-confirmation")
    press(page, "main form.confirm-form button[type=submit]")
    assert page.url.split("?")[0].rstrip("/") == dashboard, page.url
    shot(page, "published")
    assert page.request.get(f"{live_server}/letters/{slug}").status == 200

    # Two supporters sign and confirm; their signatures wait for a moderator.
    supporter = app.test_client()
    signers = (("Arta Approved", "arta@example.org"), ("Rron Rejected", "rron@example.org"))
    for name, address in signers:
        assert sign(supporter, slug, name=name, email=address).status_code == 303
        link = link_in(mail_to(smtp, address), "confirm")
        path = "/" + link.split("://", 1)[1].split("/", 1)[1]
        token = csrf_token(supporter.get(path).get_data(as_text=True))
        assert supporter.post(path, data={"csrf_token": token}).status_code == 200

    page.goto(f"{live_server}/staff/moderation?letter={slug}")
    shot(page, "queue")
    press(page, "tr:has-text('Arta Approved') button[value=approve]")
    shot(page, "approved")
    _reject(page, "Rron Rejected")
    shot(page, "rejected")
    with app.app_context():
        statuses = dict(db.session.execute(select(Signature.name, Signature.status)).all())
    assert statuses == {"Arta Approved": "confirmed", "Rron Rejected": "rejected"}

    # Exports: the CSV and the delivery PDF, downloaded.
    page.goto(f"{dashboard}/export")
    shot(page, "export")
    csv = _download(page, "button[formaction$='/export.csv']", tmp_path)
    text = csv.read_text(encoding="utf-8-sig")
    assert "Arta Approved" in text and "Rron Rejected" not in text
    pdf = _download(page, "form.export-form button[type=submit]:not([formaction])", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    page.goto(f"{dashboard}/export")
    shot(page, "exported")


def _reject(page: Any, name: str) -> None:
    """Reject one signature from its row: open "Reject…", pick the first reason, press Reject."""
    row = page.locator(f"tr:has-text('{name}')")
    row.locator("details.row-reject summary").click()
    form = row.locator("details.row-reject form")
    form.locator("select[name=reason]").select_option(index=0)
    form.locator("[name=reason_other]").fill("Duplicate of another signature")  # if "Other"
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def _download(page: Any, button: str, folder: Path) -> Path:
    with page.expect_download() as started:
        page.locator(button).first.click()
    download = started.value
    target = folder / download.suggested_filename
    download.save_as(target)
    return target
