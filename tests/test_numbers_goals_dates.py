"""Numbers as the page's language writes them, goals that say they are reached and show the
next milestone, dates in the site's time zone (TIME_ZONE) both ways."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
from babel.numbers import format_decimal
from conftest import G20, login
from sqlalchemy import select
from test_staff_letters import load, post_edit

from petitions.extensions import db
from petitions.models.exports import PdfExport
from petitions.models.letters import Letter
from petitions.models.outbox import OutboxEmail
from petitions.services.data_generator import generate
from petitions.services.letter_goals import next_round_number
from petitions.workers.pdf_builder import build_pdf

SQ_18053 = "18\xa0053"  # Albanian groups thousands with a (no-break) space


def set_letter(app: Any, slug: str = G20, **values: Any) -> None:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        for name, value in values.items():
            setattr(letter, name, value)
        letter.public_version += 1
        db.session.commit()


def plain(html: str) -> str:
    """The page's text with runs of ASCII white space as one space (no-break spaces kept)."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- numbers ---------------------------------------------------------------------------------


def test_the_letter_page_writes_counts_for_its_language(app, client):
    set_letter(app, count_individuals=18_000, count_organisations=53)
    english = client.get(f"/letters/{G20}?lang=en").get_data(as_text=True)
    assert "<strong>18,053</strong>" in english
    assert "18,053 signatures so far" in plain(english)
    assert "18053" not in plain(english)  # attributes keep bare numbers
    albanian = client.get(f"/letters/{G20}?lang=sq").get_data(as_text=True)
    assert f"<strong>{SQ_18053}</strong>" in albanian
    assert "18,053" not in albanian and "18053" not in plain(albanian)
    assert "18\xa0000" in albanian  # the individuals in the split line


def test_the_staff_dashboard_and_home_write_counts_for_their_language(app, staff_client):
    set_letter(app, count_individuals=18_000, count_organisations=53)
    staff = staff_client("admin")
    english = staff.get(f"/staff/letters/{G20}?lang=en").get_data(as_text=True)
    assert "<strong>18,053</strong> / 1,000" in english
    assert 'data-label="Individuals">18,000</td>' in staff.get("/staff/").get_data(as_text=True)
    albanian = staff.get(f"/staff/letters/{G20}?lang=sq").get_data(as_text=True)
    assert f"<strong>{SQ_18053}</strong> / 1\xa0000" in albanian


def pdftotext(data: bytes, tmp_path: Any) -> str:
    path = tmp_path / "list.pdf"
    path.write_bytes(data)
    found = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return found.replace("\xa0", " ").replace("\u202f", " ")


def test_the_pdf_and_its_email_write_counts_for_their_language(make_app, make_staff, tmp_path):
    """A letter of more than a thousand signatories (``generate``, as the benchmarks use it)."""
    app = make_app(EXPORT_INLINE_ROWS=0)
    with app.app_context():
        generate(2_600, "numbers-in-print", seed=3)
        db.session.commit()
    client = app.test_client()
    login(client, make_staff("admin"))
    client.get("/staff/?lang=en")
    answer = client.get("/staff/letters/numbers-in-print/export.pdf?status=counted&language=en")
    assert answer.status_code == 303
    with app.app_context():
        export_id = db.session.scalar(select(PdfExport.id))
        if db.session.get(PdfExport, export_id).status != "ready":  # type: ignore[union-attr]
            build_pdf(export_id, notify=True)
        export = db.session.get(PdfExport, export_id)
        assert export is not None and export.status == "ready"
        email = db.session.scalars(
            select(OutboxEmail).where(OutboxEmail.purpose == "pdf_ready")
        ).one()
        rows, individuals = export.count_total, export.count_individuals
    assert individuals >= 1_000
    with client.get(f"/staff/letters/numbers-in-print/exports/{export_id}/file.pdf") as download:
        assert download.status_code == 200
        english_pdf = pdftotext(download.get_data(), tmp_path)
    assert f"{format_decimal(individuals, locale='en')} individuals" in english_pdf
    assert f"{format_decimal(rows, locale='en')} signatories" in email.text_body
    assert "," in format_decimal(rows, locale="en")

    runner = app.test_cli_runner()
    path = tmp_path / "sq.pdf"
    result = runner.invoke(
        args=["export", "numbers-in-print", "--format", "pdf", "-o", str(path), "--language", "sq"]
    )
    assert result.exit_code == 0, result.output
    albanian_pdf = pdftotext(path.read_bytes(), tmp_path)
    # The command line's list holds every counted signatory (not only the public ones).
    assert re.search(r"\b\d{1,3} \d{3} individë", albanian_pdf)
    assert not re.search(r"\b\d{1,3},\d{3} individ", albanian_pdf)


# --- goals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, 10), (9, 10), (10, 20), (999, 1_000), (1_000, 2_000), (18_053, 20_000), (20_000, 30_000)],
)
def test_the_next_round_number(count, expected):
    assert next_round_number(count) == expected


def test_a_reached_goal_says_so_and_shows_the_next_round_milestone(app, client):
    set_letter(app, count_individuals=18_000, count_organisations=53, goal=1_000)
    page = client.get(f"/letters/{G20}?lang=en").get_data(as_text=True)
    text = plain(page)
    assert "Goal of 1,000 reached — 18,053 signatures" in text
    assert "Next milestone: 20,000 signatures (90% there)" in text
    assert '<progress max="20000" value="18053"' in page
    assert "100%" not in text
    albanian = plain(client.get(f"/letters/{G20}?lang=sq").get_data(as_text=True))
    assert "1\xa0000" in albanian and "20\xa0000" in albanian


def test_a_stretch_goal_is_the_next_milestone_while_it_is_ahead(app, client):
    set_letter(app, count_individuals=1_500, count_organisations=0, goal=1_000, stretch_goal=5_000)
    text = plain(client.get(f"/letters/{G20}?lang=en").get_data(as_text=True))
    assert "Goal of 1,000 reached — 1,500 signatures" in text
    assert "Next goal: 5,000 signatures (30% there)" in text
    set_letter(app, count_individuals=6_100)
    text = plain(client.get(f"/letters/{G20}?lang=en").get_data(as_text=True))
    assert "Next milestone: 7,000 signatures" in text  # past the stretch goal too


def test_a_goal_not_reached_shows_its_share(app, client):
    set_letter(app, count_individuals=150, count_organisations=0, goal=1_000)
    text = plain(client.get(f"/letters/{G20}?lang=en").get_data(as_text=True))
    assert "15% of the goal of 1,000" in text and "reached" not in text


def test_the_organiser_sets_a_stretch_goal_larger_than_the_goal(app, staff_client):
    staff = staff_client("admin")
    refused = post_edit(staff, G20, goal="1000", stretch_goal="800")
    assert refused.status_code == 400
    assert "The stretch goal must be larger than the goal." in refused.get_data(as_text=True)
    assert post_edit(staff, G20, goal="1000", stretch_goal="5000").status_code == 303
    assert load(app, G20).stretch_goal == 5_000
    form = staff.get(f"/staff/letters/{G20}/edit").get_data(as_text=True)
    assert re.search(r'name="stretch_goal"[^>]*value="5000"', form)


# --- dates -----------------------------------------------------------------------------------


def test_public_pages_show_dates_in_the_sites_zone(app, client):
    # 23:30 UTC on New Year's Eve is half past midnight on 1 January in Tirana (UTC+1).
    set_letter(app, closes_at=datetime(2030, 12, 31, 23, 30, tzinfo=UTC))
    text = plain(client.get(f"/letters/{G20}?lang=en").get_data(as_text=True))
    assert "Open until January 1, 2031" in text
    assert "December 31, 2030" not in text
    albanian = plain(client.get(f"/letters/{G20}?lang=sq").get_data(as_text=True))
    assert "1 janar 2031" in albanian


def test_a_site_in_utc_shows_the_utc_day(make_app):
    app = make_app(TIME_ZONE="UTC")
    set_letter(app, closes_at=datetime(2030, 12, 31, 23, 30, tzinfo=UTC))
    text = plain(app.test_client().get(f"/letters/{G20}?lang=en").get_data(as_text=True))
    assert "Open until December 31, 2030" in text


def test_staff_enter_dates_in_the_sites_zone_and_they_are_stored_in_utc(app, staff_client):
    staff = staff_client("admin")
    answer = post_edit(staff, G20, opens_at="", closes_at="2031-01-01T00:30")
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    assert load(app, G20).closes_at == datetime(2030, 12, 31, 23, 30, tzinfo=UTC)
    # Summer time: +02:00.
    assert post_edit(staff, G20, closes_at="2031-07-01T12:00").status_code == 303
    assert load(app, G20).closes_at == datetime(2031, 7, 1, 10, 0, tzinfo=UTC)
    form = staff.get(f"/staff/letters/{G20}/edit").get_data(as_text=True)
    assert 'value="2031-07-01T12:00"' in form  # shown back as typed
    assert "Europe/Tirane" in form
    dashboard = plain(staff.get(f"/staff/letters/{G20}?lang=en").get_data(as_text=True))
    assert "Jul 1, 2031, 12:00:00" in dashboard and "UTC" not in dashboard


# --- phones ----------------------------------------------------------------------------------


def test_the_count_progress_and_sign_button_come_before_the_letters_text(app, client):
    set_letter(app, count_individuals=18_000, count_organisations=53, goal=1_000)
    page = client.get(f"/letters/{G20}?lang=en").get_data(as_text=True)
    top = page.index('<div class="letter-top"')
    text = page.index('id="letter-text"')
    form = page.index('<section aria-labelledby="sign-heading" class="sign-form" id="sign">')
    block = page[top:text]
    assert top < text < form
    assert "18,053 signatures so far" in plain(block)
    assert '<progress class="top-progress" max="20000" value="18053"' in block
    assert '<a class="button sign-button" href="#sign">Sign this letter</a>' in block
    set_letter(app, status="closed")
    closed = client.get(f"/letters/{G20}?lang=en").get_data(as_text=True)
    assert 'class="letter-top"' not in closed and 'href="#sign"' not in closed
