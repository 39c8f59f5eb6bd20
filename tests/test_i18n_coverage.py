"""Every page and email a person reads in Albanian holds no English sentence of ours, however short.

The check reads what a person reads (text between tags, and the attributes a browser shows or
speaks: placeholder, title, alt, aria-label, button values) and compares each piece with every
English message of the catalog, of any length, with its placeholders as wildcards. Long English
phrases inside a piece (a sentence with a link in it) are caught as well.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from conftest import G20, INCLUSIVE, csrf_token, links_in, outbox_rows, path_of, sign
from sqlalchemy import select

from petitions.extensions import db

CATALOG = Path(__file__).resolve().parent.parent / "petitions/translations/sq/LC_MESSAGES"
# Words that Albanian writes as English does: the same word is the right translation.
SAME_IN_ALBANIAN = {
    "Moderator",
    "Administrator",
    "Spam",
    "PDF",
    "CSV",
    "XLSX",
    "SHA-256",
    "Linux:",
    "macOS:",
}
SHOWN_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|%%")


def _messages() -> list[tuple[str, str]]:
    """(English msgid, its Albanian) for every singular and plural form."""
    with open(CATALOG / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale="sq")
    pairs = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            pairs.append((msgid, strings[0] if strings else ""))
    return pairs


def _pattern(msgid: str) -> re.Pattern[str] | None:
    """The whole message, placeholders as wildcards; None when it holds no word of its own."""
    literal = PLACEHOLDER.split(msgid)
    if not any(re.search(r"[A-Za-z]{2}", part) for part in literal):
        return None
    body = ".+?".join(re.escape(" ".join(part.split())) for part in literal)
    return re.compile(rf"\s*{body}\s*", re.DOTALL)


MESSAGES = _messages()
WHOLE = [
    (msgid, pattern)
    for msgid, _sq in MESSAGES
    if msgid not in SAME_IN_ALBANIAN and (pattern := _pattern(msgid)) is not None
]
PHRASES = sorted(
    {
        part.strip()
        for msgid, _sq in MESSAGES
        for part in PLACEHOLDER.split(re.sub(r"<[^>]+>", "|", msgid))
        for part in part.split("|")
        if len(part.strip()) >= 12 and " " in part.strip()
    }
)


class _Readable(HTMLParser):
    """The pieces of a page a person reads or hears."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        named = dict(attrs)
        for name in SHOWN_ATTRIBUTES:
            if named.get(name):
                self.pieces.append(str(named[name]))
        if tag == "input" and named.get("type") in ("submit", "button") and named.get("value"):
            self.pieces.append(str(named["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.pieces.append(" ".join(data.split()))


def english_in(text: str, html: bool = True) -> list[str]:
    """English messages found in ``text`` (a page or an email part)."""
    if html:
        reader = _Readable()
        reader.feed(text)
        pieces = reader.pieces
    else:
        pieces = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    found = [msgid for piece in pieces for msgid, pattern in WHOLE if pattern.fullmatch(piece)]
    flat = " ".join(pieces)
    found += [phrase for phrase in PHRASES if phrase in flat]
    return sorted(set(found))


def test_no_albanian_translation_is_the_english_text():
    same = [msgid for msgid, sq in MESSAGES if msgid == sq and msgid not in SAME_IN_ALBANIAN]
    assert same == []


def test_the_check_finds_short_english_words():
    """The check itself: a short English label in an Albanian page is found."""
    assert "Sign" in [m for m, _ in WHOLE] or "Email" in [m for m, _ in WHOLE]
    short = next(m for m, _ in WHOLE if len(m) < 12 and " " not in m)
    assert english_in(f"<p>Tekst shqip</p><button>{short}</button>") == [short]
    assert english_in("<p>Tekst shqip</p>") == []


def _page(client, path: str, **kwargs) -> str:
    answer = client.get(path, headers={"Accept-Language": "sq"}, **kwargs)
    return answer.get_data(as_text=True)


def _assert_albanian(html: str) -> None:
    assert '<html lang="sq">' in html
    assert english_in(html) == []


@pytest.mark.parametrize(
    "path",
    [
        "/",
        f"/letters/{G20}",
        f"/letters/{INCLUSIVE}",
        f"/letters/{G20}/signatories?kind=individual",
        f"/letters/{G20}/signatories?kind=organisation",
        f"/letters/{G20}/embed",
        f"/letters/{G20}/embed/check-email",
        "/no-such-page",
        "/letters/no-such-letter",
        "/confirm/not-a-token",
        "/withdraw/not-a-token",
        "/staff/login",
        "/privacy",
        "/privacy/erase",
        "/privacy/access",
        "/privacy/erase/not-a-token",
    ],
)
def test_albanian_public_pages(client, path):
    _assert_albanian(_page(client, path))


def test_albanian_signing_journey_pages_and_emails(app, client):
    """Check-email, the confirmation and withdrawal pages, done pages, renewal, the emails."""
    client.get("/?lang=sq")
    answer = sign(client, lang="sq", email="drita@example.org")
    assert answer.status_code == 303
    _assert_albanian(client.get(answer.headers["Location"]).get_data(as_text=True))
    (email,) = outbox_rows(app)
    assert english_in(email.text_body, html=False) == []
    assert english_in(email.html_body) == []
    assert english_in(email.subject, html=False) == []
    links = links_in(email.text_body)
    confirm, withdraw = path_of(links["confirm"][0]), path_of(links["withdraw"][0])
    page = client.get(confirm).get_data(as_text=True)
    _assert_albanian(page)
    done = client.post(confirm, data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    _assert_albanian(done.get_data(as_text=True))
    page = client.get(withdraw).get_data(as_text=True)
    _assert_albanian(page)
    done = client.post(withdraw, data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    _assert_albanian(done.get_data(as_text=True))
    # Signing again with the same address: the notice email, in Albanian too.
    sign(client, lang="sq", email="drita@example.org")
    for row in outbox_rows(app)[1:]:
        assert english_in(row.text_body, html=False) == []
        assert english_in(row.html_body) == []


def test_albanian_expired_link_and_its_renewal(make_app):
    app = make_app(CONFIRM_MAX_AGE=-1)
    client = app.test_client()
    client.get("/?lang=sq")
    sign(client, lang="sq", email="besa@example.org")
    (email,) = outbox_rows(app)
    confirm = path_of(links_in(email.text_body)["confirm"][0])
    expired = client.get(confirm)
    assert expired.status_code == 410
    html = expired.get_data(as_text=True)
    _assert_albanian(html)
    renewed = client.post(confirm + "/renew", data={"csrf_token": csrf_token(html)})
    _assert_albanian(renewed.get_data(as_text=True))


def test_albanian_csrf_error_page(client):
    client.get("/?lang=sq")
    answer = client.post(f"/letters/{G20}/sign", data={"name": "x"})
    assert answer.status_code == 400
    _assert_albanian(answer.get_data(as_text=True))


def test_albanian_login_failure_and_invitation(app, client, staff_client):
    client.get("/?lang=sq")
    page = client.get("/staff/login").get_data(as_text=True)
    failed = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(page),
            "email": "x@example.org",
            "password": "wrong-password",
        },
    )
    _assert_albanian(failed.get_data(as_text=True))

    admin = staff_client("admin")
    admin.get("/staff/?lang=sq")
    accounts = admin.get("/staff/accounts").get_data(as_text=True)
    sent = admin.post(
        "/staff/accounts/invite",
        data={"csrf_token": csrf_token(accounts), "email": "new@example.org", "role": "moderator"},
    )
    _assert_albanian(sent.get_data(as_text=True))
    invitation = [row for row in outbox_rows(app) if row.purpose == "staff_invitation"][-1]
    assert english_in(invitation.text_body, html=False) == []
    assert english_in(invitation.html_body) == []
    link = re.search(r"https?://\S+/staff/invitations/[A-Za-z0-9_-]+", invitation.text_body)
    assert link
    guest = app.test_client()
    guest.get("/?lang=sq")
    _assert_albanian(guest.get(path_of(link.group(0))).get_data(as_text=True))
    _assert_albanian(guest.get("/staff/invitations/not-a-real-token").get_data(as_text=True))


def test_albanian_pdf_job_page_and_its_email(make_app, make_staff):
    from conftest import STAFF_PASSWORD, login

    from petitions.models.exports import PdfExport
    from petitions.workers.pdf_builder import build_pdf

    app = make_app(EXPORT_INLINE_ROWS=-1, JOBS_IMMEDIATE=False, JOBS_WORKER="external")
    email = make_staff("admin")
    staff = app.test_client()
    staff.get("/?lang=sq")
    login(staff, email, STAFF_PASSWORD)
    staff.get("/staff/?lang=sq")
    answer = staff.get(f"/staff/letters/{G20}/export.pdf?status=counted&language=sq")
    assert answer.status_code == 303
    job = answer.headers["Location"]
    _assert_albanian(staff.get(job).get_data(as_text=True))  # queued
    with app.app_context():
        build_pdf(db.session.scalar(select(PdfExport.id)), notify=True)
        assert db.session.scalar(select(PdfExport.status)) == "ready"
    _assert_albanian(staff.get(job).get_data(as_text=True))  # ready
    ready = [row for row in outbox_rows(app) if row.purpose == "pdf_ready"]
    assert ready
    assert english_in(ready[-1].subject, html=False) == []
    assert english_in(ready[-1].text_body, html=False) == []
    assert english_in(ready[-1].html_body) == []


def test_albanian_follow_up_pages_and_emails(make_app, make_staff):
    """Check-email help, sign again, "keep me informed", unsubscribe, old links, the staff
    updates page with its preview, and the update and reminder emails."""
    from datetime import timedelta

    from conftest import STAFF_PASSWORD, login
    from sqlalchemy import update

    from petitions.models.columns import utcnow
    from petitions.models.signatures import Signature
    from petitions.services.reminders import send_due_reminders

    app = make_app(REMINDER_AFTER=60.0)
    client = app.test_client()
    client.get("/?lang=sq")
    answer = sign(client, lang="sq", email="drita@example.org")
    check = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "d•••@example.org" in check
    _assert_albanian(check)
    _assert_albanian(client.get(f"/letters/{G20}/sign-again").get_data(as_text=True))
    resent = client.post(
        f"/letters/{G20}/check-email/resend",
        data={"csrf_token": csrf_token(check)},
        follow_redirects=True,
    )
    _assert_albanian(resent.get_data(as_text=True))
    with app.app_context():
        db.session.execute(update(Signature).values(created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        assert send_due_reminders() == 1
    reminder = [row for row in outbox_rows(app) if row.purpose == "reminder"][-1]
    assert english_in(reminder.text_body, html=False) == []
    assert english_in(reminder.html_body) == []
    assert english_in(reminder.subject, html=False) == []
    links = links_in(reminder.text_body)
    confirm, withdraw = path_of(links["confirm"][0]), path_of(links["withdraw"][0])
    page = client.get(confirm).get_data(as_text=True)
    done = client.post(confirm, data={"csrf_token": csrf_token(page)}).get_data(as_text=True)
    _assert_albanian(done)
    assert "/updates/" in done
    action = done.split('action="', 1)[1].split('"', 1)[0]
    opted = client.post(path_of(action), data={"csrf_token": csrf_token(done)})
    _assert_albanian(opted.get_data(as_text=True))
    _assert_albanian(client.get(confirm).get_data(as_text=True))  # already confirmed

    staff = app.test_client()
    staff.get("/?lang=sq")
    login(staff, make_staff("admin"), STAFF_PASSWORD)
    staff.get("/staff/?lang=sq")
    composer = staff.get(f"/staff/letters/{G20}/updates").get_data(as_text=True)
    _assert_albanian(composer)
    fields = {
        "csrf_token": csrf_token(composer),
        "subject_sq": "Lajm i ri",
        "body_sq": "Letra u **dorëzua**.",
    }
    preview = staff.post(f"/staff/letters/{G20}/updates", data={**fields, "preview": "1"})
    assert preview.status_code == 200
    assert "<strong>dorëzua</strong>" in preview.get_data(as_text=True)
    _assert_albanian(preview.get_data(as_text=True))
    sent = staff.post(
        f"/staff/letters/{G20}/updates", data={**fields, "send": "1"}, follow_redirects=True
    )
    _assert_albanian(sent.get_data(as_text=True))
    mailed = [row for row in outbox_rows(app) if row.purpose == "update"]
    assert len(mailed) == 1
    assert english_in(mailed[0].text_body, html=False) == []
    assert english_in(mailed[0].html_body) == []
    unsubscribe = re.search(r"https?://\S+/unsubscribe/\S+", mailed[0].text_body)
    assert unsubscribe
    guest = app.test_client()
    guest.get("/?lang=sq")
    _assert_albanian(guest.get(path_of(unsubscribe.group(0))).get_data(as_text=True))
    _assert_albanian(guest.post(path_of(unsubscribe.group(0))).get_data(as_text=True))
    _assert_albanian(guest.get("/unsubscribe/not-a-token").get_data(as_text=True))
    page = client.get(withdraw).get_data(as_text=True)
    client.post(withdraw, data={"csrf_token": csrf_token(page)})
    _assert_albanian(client.get(withdraw).get_data(as_text=True))  # already used


def test_albanian_privacy_requests_links_and_pages(app, client):
    """Erasure and access in Albanian: the answer, the emails, the link pages, the results."""
    sign(client, lang="sq", email="drita@example.org")
    (confirmation,) = outbox_rows(app)
    confirm = path_of(links_in(confirmation.text_body)["confirm"][0])
    client.post(
        confirm, data={"csrf_token": csrf_token(client.get(confirm).get_data(as_text=True))}
    )
    for purpose in ("access", "erase"):
        page = client.get(f"/privacy/{purpose}?lang=sq").get_data(as_text=True)
        answer = client.post(
            f"/privacy/{purpose}?lang=sq",
            data={"csrf_token": csrf_token(page), "email": "drita@example.org"},
        )
        _assert_albanian(answer.get_data(as_text=True))
        email = outbox_rows(app)[-1]
        assert email.purpose == f"privacy-{purpose}"
        assert english_in(email.text_body, html=False) == []
        assert english_in(email.html_body) == []
        assert english_in(email.subject, html=False) == []
        found = re.search(r"https?://\S+/privacy/" + purpose + r"/\S+", email.text_body)
        assert found is not None
        link = path_of(found[0])
        shown = client.get(link).get_data(as_text=True)
        _assert_albanian(shown)
        done = client.post(link, data={"csrf_token": csrf_token(shown)})
        _assert_albanian(done.get_data(as_text=True))
