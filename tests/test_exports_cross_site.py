"""Exports write (an audit entry in the staff member's name, a PDF job, a public /v/ page): a GET
that the browser says comes from another site only gets a page asking to confirm, whose button
POSTs with a CSRF token. Same-site use and scripts keep the GET addresses as they were."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from conftest import G20, csrf_token
from sqlalchemy import func, select
from test_exports_delivery import _make_pdf, audit_actions, fill

from petitions.extensions import db
from petitions.models.exports import PdfExport

FORMATS = ("csv", "xlsx", "pdf")
EXPORT = f"/staff/letters/{G20}/export.{{}}".format
FILTERS = (
    "status=counted_and_waiting&since=2020-01-02&until=2099-12-30&language=sq&layout=side_by_side"
)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _pdf_count(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PdfExport))


def _exported(answer: Any, fmt: str) -> bool:
    """The answer is the export itself: the file, or (a PDF made in the background) its job."""
    if answer.status_code == 303:
        return fmt == "pdf" and "/exports/" in answer.headers["Location"]
    types = {"csv": "text/csv", "xlsx": "application/vnd.openxml", "pdf": "application/pdf"}
    return answer.status_code == 200 and answer.mimetype.startswith(types[fmt])


def _confirmation(answer: Any) -> tuple[str, dict[str, str]]:
    """The confirmation page's form: its action and its hidden fields."""
    page = answer.get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    assert form, "no confirmation form"
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(form.group(2))}
    return html.unescape(form.group(1)), fields


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("origin", ["cross-site", "same-site"])
def test_a_cross_site_get_writes_nothing_and_asks_to_confirm(app, staff_client, fmt, origin):
    fill(app)
    client = staff_client("organiser", letters=(G20,))
    before = len(audit_actions(app))
    answer = client.get(f"{EXPORT(fmt)}?{FILTERS}", headers={"Sec-Fetch-Site": origin})
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert "Confirm the export" in answer.get_data(as_text=True)
    assert client.head(EXPORT(fmt), headers={"Sec-Fetch-Site": origin}).status_code == 200
    assert len(audit_actions(app)) == before
    assert _pdf_count(app) == 0
    action, fields = _confirmation(answer)
    assert action == EXPORT(fmt)
    assert fields["csrf_token"]
    assert fields["status"] == "counted_and_waiting" and fields["since"] == "2020-01-02"
    assert fields["until"] == "2099-12-30" and fields["language"] == "sq"
    assert "include_non_public" not in fields  # unticked in the link: stays unticked


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_confirmation_button_exports_with_the_links_choices(app, staff_client, fmt):
    fill(app)
    client = staff_client("organiser", letters=(G20,))
    page = client.get(f"{EXPORT(fmt)}?{FILTERS}", headers={"Sec-Fetch-Site": "cross-site"})
    action, fields = _confirmation(page)
    answer = client.post(action, data=fields, headers={"Sec-Fetch-Site": "same-origin"})
    assert _exported(answer, fmt), (answer.status_code, answer.mimetype)
    answer.close()
    events = [e for e in audit_actions(app) if e.action.startswith("export.")]
    assert len(events) == (2 if fmt == "pdf" else 1)  # a short list's PDF: asked, downloaded
    assert all(e.actor_email.startswith("organiser") for e in events)
    if fmt == "pdf":
        with app.app_context():
            export = db.session.scalars(select(PdfExport)).one()
            assert export.options["languages"] == ["sq"]
            assert export.options["layout"] == "side_by_side"
            assert export.status == "ready", export.error
    else:
        assert events[0].details["statuses"] != ["confirmed"]  # as the link asked
        assert events[0].details["since"] == "2020-01-02"


def test_a_post_without_its_token_exports_nothing(app, staff_client):
    fill(app)
    client = staff_client("admin")
    before = len(audit_actions(app))
    for fmt in FORMATS:
        assert client.post(EXPORT(fmt), data={"status": "counted"}).status_code == 400
    assert len(audit_actions(app)) == before and _pdf_count(app) == 0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("origin", [None, "same-origin", "none"])
def test_a_get_from_this_site_or_a_script_still_exports(app, staff_client, fmt, origin):
    """The GET contract: links on our pages, bookmarks, typed addresses and scripts."""
    fill(app)
    client = staff_client("admin")
    headers = {"Sec-Fetch-Site": origin} if origin else {}
    answer = client.get(f"{EXPORT(fmt)}?status=counted", headers=headers)
    assert _exported(answer, fmt), (answer.status_code, answer.mimetype)
    answer.close()
    actions = {e.action for e in audit_actions(app) if e.action.startswith("export.")}
    # A short list's PDF comes at once: asked for, then downloaded.
    expected = (
        {"export.pdf_requested", "export.pdf_downloaded"} if fmt == "pdf" else {f"export.{fmt}"}
    )
    assert actions == expected
    assert _pdf_count(app) == (1 if fmt == "pdf" else 0)


def test_the_export_form_posts_with_its_token(app, staff_client):
    fill(app)
    client = staff_client("admin")
    page = client.get(f"/staff/letters/{G20}/export").get_data(as_text=True)
    form = re.search(r'<form method="(\w+)" action="([^"]+)"[^>]*class="[^"]*export-form', page)
    assert form and form.group(1) == "post" and form.group(2) == EXPORT("pdf")
    token = csrf_token(page)
    assert f'formaction="{EXPORT("csv")}"' in page and f'formaction="{EXPORT("xlsx")}"' in page
    for fmt in FORMATS:
        data = {"csrf_token": token, "status": "counted", "language": "en", "layout": "sequential"}
        answer = client.post(EXPORT(fmt), data=data, headers={"Sec-Fetch-Site": "same-origin"})
        assert _exported(answer, fmt), (fmt, answer.status_code)
        answer.close()
    # Its errors come back on the form, nothing exported.
    before = len(audit_actions(app))
    data = {"csrf_token": token, "status": "counted", "since": "2026-05-02", "until": "2026-05-01"}
    answer = client.post(EXPORT("csv"), data=data)
    assert answer.status_code == 400
    assert "The end date is before the start date." in answer.get_data(as_text=True)
    assert len(audit_actions(app)) == before


def test_a_cross_site_pdf_download_asks_too(app, staff_client):
    fill(app)
    client = staff_client("organiser", letters=(G20,))
    export, pdf = _make_pdf(app, client)
    url = f"/staff/letters/{G20}/exports/{export.id}/file.pdf"

    def downloads() -> list[Any]:
        return [e for e in audit_actions(app) if e.action == "export.pdf_downloaded"]

    before = len(downloads())
    page = client.get(url, headers={"Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 200 and "Confirm the export" in page.get_data(as_text=True)
    assert len(downloads()) == before
    action, fields = _confirmation(page)
    assert action == url
    answer = client.post(action, data=fields)
    assert answer.status_code == 200 and answer.get_data() == pdf
    assert len(downloads()) == before + 1
    assert client.get(url).get_data() == pdf  # the GET contract


def test_the_confirmation_pages_language_links_do_not_export(app, staff_client):
    fill(app)
    client = staff_client("admin")
    page = client.get(EXPORT("csv"), headers={"Sec-Fetch-Site": "cross-site"})
    links = re.findall(r'href="([^"]*lang=sq[^"]*)"', page.get_data(as_text=True))
    assert links and all("/export?" in html.unescape(link) for link in links), links
