"""A letter's dashboard: its figures equal a real count, its chart is there and accessible.

Signatures are made through the public form and the emailed links; the states only staff can
give (rejected, spam, hidden, awaiting approval) are set with the services' own status function.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, links_in, outbox_rows, press_button, sign
from markupsafe import Markup
from sqlalchemy import func, select, update

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services import letter_stats
from petitions.services.counters import set_status
from petitions.services.svg_chart import Series, line_chart, nice_ticks

STATUS_LABELS = {
    "pending": "Pending (email not confirmed)",
    "awaiting_approval": "Awaiting approval",
    "confirmed": "Confirmed (counted)",
    "withdrawn": "Withdrawn",
    "rejected": "Rejected",
    "spam": "Spam",
}


def signed(app: Any, email: str, confirm: bool = True, **fields: Any) -> dict[str, list[str]]:
    """Sign G20 through the form; press the confirmation button unless told not to."""
    signer = app.test_client()
    assert sign(signer, G20, email=email, **fields).status_code == 303
    links = links_in(outbox_rows(app)[-1].text_body)
    if confirm:
        assert press_button(signer, links["confirm"][0]).status_code == 200
    links["client"] = signer  # type: ignore[assignment]
    return links


def set_by_staff(app: Any, email: str, status: SignatureStatus | None = None, hide: bool = False):
    with app.app_context():
        signature = db.session.scalar(select(Signature).where(Signature.email == email))
        if status is not None:
            set_status(signature, status)
        if hide:
            signature.is_hidden = True
        db.session.commit()


def row_figures(html: str, label: str) -> list[int]:
    """The three numbers (individuals, organisations, total) of one row of the counts table."""
    found = re.search(
        rf'<th scope="row">{re.escape(label)}</th>\s*'
        r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>',
        html,
    )
    assert found, label
    return [int(x) for x in found.groups()]


def test_the_dashboard_figures_equal_a_real_count(app, staff_client):
    signed(app, "one@example.org", country="AL")
    signed(app, "two@example.org", country="XK")
    signed(app, "three@example.org", country="AL")
    org = dict(kind="organisation", organisation="Teachers' Union", website="https://tu.example")
    signed(app, "org@example.org", country="AL", **org)
    signed(app, "spam@example.org", country="DE")
    signed(app, "waiting@example.org", country="DE")
    gone = signed(app, "gone@example.org", country="DE")
    signed(app, "later@example.org", confirm=False, country="FR")
    press_button(gone["client"], gone["withdraw"][0])
    set_by_staff(app, "spam@example.org", SignatureStatus.SPAM)
    set_by_staff(app, "waiting@example.org", SignatureStatus.AWAITING_APPROVAL)
    set_by_staff(app, "three@example.org", SignatureStatus.REJECTED)
    set_by_staff(app, "two@example.org", hide=True)

    staff = staff_client("organiser", letters=(G20,))
    html = staff.get(f"/staff/letters/{G20}").get_data(as_text=True)

    with app.app_context():
        real = dict(
            db.session.execute(
                select(Signature.status, func.count())
                .where(
                    Signature.letter_id
                    == select(Letter.id).where(Letter.slug == G20).scalar_subquery()
                )
                .group_by(Signature.status)
            ).all()
        )
    assert real == {
        "confirmed": 3,
        "pending": 1,
        "withdrawn": 1,
        "spam": 1,
        "awaiting_approval": 1,
        "rejected": 1,
    }
    for status, label in STATUS_LABELS.items():
        individuals, organisations, total = row_figures(html, label)
        assert total == real.get(status, 0) == individuals + organisations
    assert row_figures(html, "Confirmed (counted)") == [2, 1, 3]
    assert row_figures(html, "All signatures") == [7, 1, 8]
    assert row_figures(html, "Hidden from public lists (any status)") == [1, 0, 1]

    # Countries of counted signatures, most first: Albania 2 (one and the union), Kosovo 1.
    countries = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td></tr>', html)
    assert ("Albania", "2") in countries and ("Kosovo", "1") in countries
    assert not any(name == "Germany" for name, _ in countries)

    # The chart: an accessible SVG, and the same figures in a table.
    assert re.search(r'<svg [^>]*role="img"[^>]*aria-labelledby="per-day-title per-day-desc"', html)
    assert '<title id="per-day-title">Signatures per day</title>' in html
    assert "8 signatures submitted and 7 confirmed by email" in html
    today = re.search(r'<td class="num">(\d+)</td><td class="num">(\d+)</td></tr>\s*</tbody>', html)
    assert today and today.groups() == ("8", "7")

    # Recent activity: staff see the signers' emails and statuses.
    assert "later@example.org" in html and "Teachers&#39; Union" in html
    assert html.index("later@example.org") < html.index("one@example.org")  # newest first
    assert f'href="/staff/moderation?letter={G20}"' in html
    assert f'href="/letters/{G20}"' in html
    assert f'href="/staff/letters/{G20}/edit"' in html


def test_staff_actions_show_in_the_recent_activity(app, staff_client):
    staff = staff_client("admin")
    page = staff.get(f"/staff/letters/{G20}").get_data(as_text=True)
    assert "No staff actions yet." in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    closing = {"csrf_token": token, "action": "close", "confirmed": "1"}
    staff.post(f"/staff/letters/{G20}/status", data=closing)
    page = staff.get(f"/staff/letters/{G20}").get_data(as_text=True)
    assert re.search(r"Administrator admin\d+@staff\.example\.org closed “[^”]+”\.", page)


def test_moderators_see_every_dashboard(staff_client):
    staff = staff_client("moderator")
    for slug in (G20, INCLUSIVE):
        assert staff.get(f"/staff/letters/{slug}").status_code == 200


def test_signatures_per_day_are_grouped_by_the_sites_day(app):
    """Signatures spread over days (written straight into the rows) land on their own day, as
    the site's time zone counts days (Europe/Tirane: UTC+1 in March)."""
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    stamps = {
        # 00:01 UTC on 8 Mar: 01:01 in Tirana.
        "a@example.org": (now - timedelta(days=2, hours=11, minutes=59), None),
        # 23:00 UTC on 8 Mar: midnight, 9 Mar, in Tirana.
        "b@example.org": (now - timedelta(days=2, hours=-11), now - timedelta(days=1)),
        "c@example.org": (now - timedelta(hours=1), now),
        "d@example.org": (now - timedelta(days=150), now - timedelta(days=150)),  # before 90 days
    }
    for email in stamps:
        signed(app, email, confirm=False)
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        letter.created_at = now - timedelta(days=200)
        letter.opens_at = now - timedelta(days=200)
        letter.closes_at = now + timedelta(days=30)
        for email, (created, confirmed) in stamps.items():
            db.session.execute(
                update(Signature)
                .where(Signature.email == email)
                .values(created_at=created, confirmed_at=confirmed)
            )
        db.session.commit()
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        daily = letter_stats.daily_series(letter, now)
    assert len(daily.days) == 90
    assert daily.days[-1] == now.date()
    by_day = {day: (c, k) for day, c, k in zip(daily.days, daily.created, daily.confirmed)}
    assert by_day[now.date() - timedelta(days=2)] == (1, 0)
    assert by_day[now.date() - timedelta(days=1)] == (1, 1)
    assert by_day[now.date()] == (1, 1)
    assert sum(daily.created) == 3 and sum(daily.confirmed) == 2


def test_a_closed_letter_charts_its_own_period(app):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        letter.created_at = now - timedelta(days=40)
        letter.opens_at = now - timedelta(days=30)
        letter.closes_at = now - timedelta(days=5)
        assert letter_stats.chart_period(letter, now) == (
            (now - timedelta(days=40)).date(),
            (now - timedelta(days=5)).date(),
        )
        db.session.rollback()


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [(0, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (130, [0, 50, 100, 150])],
)
def test_gridlines_are_round_numbers(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_the_chart_escapes_its_text_and_names_itself():
    svg = line_chart(
        chart_id="c",
        title="<b>Title</b>",
        description="A & B",
        x_labels=["1 Mar", "2 Mar"],
        series=[Series("<i>one</i>", [1, 2]), Series("two", [0, 1])],
    )
    assert isinstance(svg, Markup)
    assert "<b>" not in svg and "&lt;b&gt;Title&lt;/b&gt;" in svg
    assert "&lt;i&gt;one&lt;/i&gt;" in svg and "A &amp; B" in svg
    assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert svg.count("<polyline") == 2 and 'stroke-dasharray="7 4"' in svg
    assert 'font-size="14"' in svg
