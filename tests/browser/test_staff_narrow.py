"""Every staff page on a 390 px phone: the page itself never scrolls sideways.

Chromium (Debian's, through Playwright's ``executable_path``; no browser download) opens each
staff page, in English and Albanian, with data wide enough to matter (long names, addresses,
comments, reasons); ``document.documentElement.scrollWidth`` must stay within the viewport.
Wide tables turn into stacked rows or scroll inside their own box; the page does not.

``STAFF_SHOTS=<folder>`` also writes a screenshot of each page at 390 and 1280 px there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, STAFF_PASSWORD
from flask import Flask

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PHONE = 390
WIDE = 1280

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM}",
    ),
]


@pytest.fixture
def wide_data(app: Flask, make_staff: Any) -> dict[str, Any]:
    """Signatures, reasons and audit events whose words are long enough to push a layout."""
    from test_moderation import add_reasons, add_signature

    from petitions.extensions import db
    from petitions.models.staff import ModerationReason
    from petitions.services import audit

    add_reasons(app)
    with app.app_context():
        db.session.add(
            ModerationReason(
                text="Organisation could not be reached at the address it gave, twice", position=5
            )
        )
        db.session.commit()
    long_email = "coordination.international.partnerships@very-long-organisation-name.example.org"
    ids = [
        add_signature(
            app,
            kind="organisation",
            status="awaiting_approval",
            name="Shoqata Kombëtare e Mësuesve të Arsimit Parashkollor dhe Fillor",
            organisation="Shoqata Kombëtare e Mësuesve të Arsimit Parashkollor dhe Fillor",
            email=long_email,
            website="https://www.very-long-organisation-name.example.org/about/who-we-are",
            comment="Mbështesim plotësisht këtë letër. " * 8,
            city="Gjirokastër",
        ),
        add_signature(app, name="Besa Krasniqi", comment="Supercalifragilistic" * 5),
        add_signature(app, INCLUSIVE, status="awaiting_approval", name="Dritan Gjoka"),
    ]
    admin = make_staff("admin", email="administrator.of.the.coalition@staff.example.org")
    with app.app_context():
        from sqlalchemy import select

        from petitions.models.letters import Letter
        from petitions.models.staff import StaffUser
        from petitions.services import letter_status, moderation

        user = db.session.scalars(select(StaffUser).where(StaffUser.email == admin)).one()
        inclusive = db.session.scalars(select(Letter).where(Letter.slug == INCLUSIVE)).one()
        audit.record(
            "letter.edited",
            obj=inclusive,
            letter_id=inclusive.id,
            actor=user,
            details={"fields": ["goal", "closes_at", "addressees"]},
        )
        moderation.moderate([ids[1]], moderation.ModerationAction.REJECT, "Duplicate", user)
        letter_status.change_status(inclusive, letter_status.StatusAction.CLOSE)
        db.session.commit()
    return {"ids": ids, "admin": admin}


def staff_pages(ids: list[int]) -> list[str]:
    selected = "&".join(f"signature={i}" for i in ids[:2])
    return [
        "/staff/",
        f"/staff/letters/{G20}",
        f"/staff/letters/{G20}/edit",
        "/staff/letters/new",
        f"/staff/letters/{G20}/status?action=close",
        "/staff/moderation",
        f"/staff/moderation?letter={G20}",
        f"/staff/moderation/selected?{selected}&action=hide&next=/staff/moderation",
        f"/staff/moderation/bulk?letter={G20}&action=hide",
        f"/staff/letters/{G20}/export",
        f"/staff/letters/{G20}/deliveries",
        "/staff/accounts",
        "/staff/reasons",
        "/staff/audit",
        "/staff/account/password",
    ]


# Which elements reach past the viewport (to find what to fix when the test fails).
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 8).map(e => e.tagName + '.' + e.className + ' '
    + Math.round(e.getBoundingClientRect().right) + ' ' + (e.id || e.getAttribute('for') || ''))"""


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("STAFF_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _slug(path: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in path.strip("/").split("?")[0])
    return cleaned.strip("-") or "home"


@pytest.mark.parametrize("language", ["en", "sq"])
def test_every_staff_page_fits_a_phone(browser, live_server, wide_data, language):
    context = browser.new_context(viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/staff/login?lang={language}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    _shot(page, f"{language}-390-login.png")
    page.fill("input[name=email]", wide_data["admin"])
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.locator("form[action*=login] button[type=submit]").click()
    page.wait_for_url("**/staff/**")

    too_wide: dict[str, int] = {}
    for path in staff_pages(wide_data["ids"]):
        answer = page.goto(live_server + path)
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            too_wide[path] = width
            if os.environ.get("STAFF_PROBE"):
                print(path, page.evaluate(WIDEST))
        _shot(page, f"{language}-390-{_slug(path)}.png")
        if os.environ.get("STAFF_SHOTS"):
            page.set_viewport_size({"width": WIDE, "height": 900})
            _shot(page, f"{language}-1280-{_slug(path)}.png")
            page.set_viewport_size({"width": PHONE, "height": 800})
    context.close()
    assert too_wide == {}, f"pages wider than {PHONE} px: {too_wide}"
