"""Every page type of the site, in one list: the accessibility and HTML checks visit each of them
in English and in Albanian.

To check a new page, add a ``Page`` to ``PAGES``. ``path`` may hold ``{placeholders}`` that
``prepare_site`` fills from the state it creates (links from real emails, a delivery PDF, an
invitation); ``fill`` and ``press`` check the answer to a form instead of the page itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conftest import G20, INCLUSIVE, csrf_token, login, sign
from flask import Flask
from sqlalchemy import select

from browser.conftest import WIDTHS, link_in, mail_to, staff_account
from petitions.extensions import db
from petitions.models.exports import PdfExport
from petitions.models.staff import Role, StaffUser
from petitions.services import staff_accounts

STAFF_EMAIL = "admin@staff.example.org"
STAFF_PASSWORD = "a long password for the browser checks"
SUBMIT = "main form button[type=submit]"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    staff: bool = False  # visited signed in as an administrator
    fill: dict[str, str] = field(default_factory=dict)  # selector → value, before ``press``
    press: str | None = None  # a button to press; the page checked is the answer


PAGES = [
    # public
    Page("home", "/"),
    Page("letter (English)", f"/letters/{G20}"),
    Page("letter (Albanian)", f"/letters/{INCLUSIVE}"),
    Page("signing refused", f"/letters/{G20}", press="form[action*='/sign'] button[type=submit]"),
    Page("check your email", f"/letters/{G20}/check-email"),
    Page("signatories", f"/letters/{G20}/signatories"),
    Page("signatories: organisations", f"/letters/{G20}/signatories?kind=organisation"),
    Page("use these details", "/change/{change}"),
    Page("confirm", "/confirm/{confirm}"),
    Page("confirmed", "/confirm/{confirm}", press=SUBMIT),
    Page("withdraw", "/withdraw/{withdraw}"),
    Page("withdrawn", "/withdraw/{withdraw}", press=SUBMIT),
    Page("link not valid", "/confirm/not-a-token"),
    Page("verification", "/v/{code}"),
    Page("not found", "/letters/no-such-letter"),
    Page("signatories: search", f"/letters/{G20}/signatories?q=Drita"),
    Page("embed", f"/letters/{G20}/embed?ref=partner-ngo"),
    Page("sign again", f"/letters/{G20}/sign-again"),
    Page("unsubscribe link not valid", "/unsubscribe/not-a-token"),
    Page("privacy notice", "/privacy"),
    Page("erasure request", "/privacy/erase"),
    Page("access request", "/privacy/access"),
    Page(
        "privacy request sent",
        "/privacy/access",
        fill={"main form input[name=email]": "someone@example.org"},
        press=SUBMIT,
    ),
    # staff
    Page("staff login", "/staff/login"),
    Page(
        "staff login refused",
        "/staff/login",
        fill={"#email": STAFF_EMAIL, "#password": "not the password"},
        press=SUBMIT,
    ),
    Page("invitation", "/staff/invitations/{invitation}"),
    Page("invitation not valid", "/staff/invitations/not-a-token"),
    Page("staff home", "/staff/", staff=True),
    Page("new letter", "/staff/letters/new", staff=True),
    Page("new letter refused", "/staff/letters/new", staff=True, press=".letter-form [name=save]"),
    Page("letter dashboard", f"/staff/letters/{G20}", staff=True),
    Page("edit letter", f"/staff/letters/{G20}/edit", staff=True),
    Page("close letter: confirmation", f"/staff/letters/{G20}/status?action=close", staff=True),
    Page("updates", f"/staff/letters/{G20}/updates", staff=True),
    Page("partners", f"/staff/letters/{G20}/partners", staff=True),
    Page("moderation queue", "/staff/moderation", staff=True),
    Page("moderation queue of a letter", f"/staff/moderation?letter={G20}", staff=True),
    Page("bulk moderation", f"/staff/moderation/bulk?letter={G20}&action=hide", staff=True),
    Page("export", f"/staff/letters/{G20}/export", staff=True),
    Page("delivery PDF", f"/staff/letters/{G20}/exports/{{export}}", staff=True),
    Page("deliveries", f"/staff/letters/{G20}/deliveries", staff=True),
    Page("accounts", "/staff/accounts", staff=True),
    Page(
        "invitation sent",
        "/staff/accounts",
        staff=True,
        fill={"form[action$='/invite'] input[name=email]": "new.person@staff.example.org"},
        press="form[action$='/invite'] button[type=submit]",
    ),
    Page("rejection reasons", "/staff/reasons", staff=True),
    Page("audit trail", "/staff/audit", staff=True),
    Page("change password", "/staff/account/password", staff=True),
]
LANGUAGES = ("en", "sq")


def with_language(path: str, language: str) -> str:
    return path + ("&" if "?" in path else "?") + f"lang={language}"


def prepare_site(app: Flask, smtp: Any) -> dict[str, dict[str, str]]:
    """Create what the pages show; returns, per language and width (``"en-1280"``), the values
    of the placeholders.

    A supporter per language signs, then signs again with other details (the "use these details"
    email); one confirmed signature goes into a delivery PDF; an invitation waits.
    """
    staff_account(app, STAFF_EMAIL, STAFF_PASSWORD)
    client = app.test_client()
    values: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        for width in WIDTHS:  # a link pressed at one width is spent: each width has its own
            email = f"supporter.{language}.{width}@example.org"
            assert sign(client, G20, lang=language, email=email).status_code == 303
            again = sign(client, G20, lang=language, email=email, name="Other Name")
            assert again.status_code == 303
            first, second = mail_to(smtp, email, 1), mail_to(smtp, email, 2)
            values[f"{language}-{width}"] = {
                "confirm": _token(link_in(first, "confirm")),
                "withdraw": _token(link_in(first, "withdraw")),
                "change": _token(link_in(second, "change")),
            }
    counted = "counted.supporter@example.org"
    assert sign(client, G20, email=counted, name="Drita Counted").status_code == 303
    _press(client, link_in(mail_to(smtp, counted), "confirm"))

    staff = app.test_client()
    assert login(staff, STAFF_EMAIL, STAFF_PASSWORD).status_code == 303
    assert staff.get(f"/staff/letters/{G20}/export.pdf").status_code == 200
    with app.app_context():
        export = db.session.scalars(select(PdfExport).order_by(PdfExport.id.desc())).one()
        admin = db.session.scalars(select(StaffUser).where(StaffUser.email == STAFF_EMAIL)).one()
        invited = "invited@staff.example.org"
        invitation = staff_accounts.invite(invited, Role.MODERATOR, [], admin, "en")
        db.session.commit()
        shared = {"code": export.code, "export": str(export.id)}
    shared["invitation"] = invitation.rsplit("/", 1)[1]
    return {key: {**shared, **found} for key, found in values.items()}


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _press(client: Any, url: str) -> None:
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    token = csrf_token(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token}).status_code == 200
