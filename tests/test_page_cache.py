"""The letter page is rendered once and reused, yet every visitor sees exact counts and lists."""

from __future__ import annotations

import re

from conftest import G20, csrf_token, links_in, outbox_rows, press_button, sign
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.letters import Letter


def count_shown(html: str) -> int:
    return int(re.search(r'<p class="total"><strong>(\d+)</strong>', html).group(1))


def without_token(html: str) -> str:
    return html.replace(csrf_token(html), "TOKEN")


def test_each_visitor_gets_their_own_working_token(app):
    first, second = app.test_client(), app.test_client()
    page_a = first.get(f"/letters/{G20}").get_data(as_text=True)
    page_b = second.get(f"/letters/{G20}").get_data(as_text=True)
    assert csrf_token(page_a) != csrf_token(page_b)
    assert without_token(page_a) == without_token(page_b)  # the second came from the cache
    assert len(app.extensions["petitions.page_cache"]._pages) == 1
    # Each token works only in its own session: the page's form really posts.
    assert sign(second, G20, email="second@example.org").status_code == 303


def test_a_confirmation_shows_at_once(app):
    reader, signer = app.test_client(), app.test_client()
    assert count_shown(reader.get(f"/letters/{G20}").get_data(as_text=True)) == 0
    sign(signer, G20, email="one@example.org", name="Blerta Hoxha")
    link = links_in(outbox_rows(app)[-1].text_body)["confirm"][0]
    assert press_button(signer, link).status_code == 200
    page = reader.get(f"/letters/{G20}").get_data(as_text=True)
    assert count_shown(page) == 1
    assert "Blerta Hoxha" in page


def test_the_list_changes_even_when_the_count_does_not(app):
    """One withdraws and another confirms: the total is the same, the names are not."""
    reader, signer = app.test_client(), app.test_client()
    sign(signer, G20, email="first@example.org", name="Arben Leka")
    first = links_in(outbox_rows(app)[-1].text_body)
    press_button(signer, first["confirm"][0])
    sign(signer, G20, email="second@example.org", name="Dafina Gjoka")
    second = links_in(outbox_rows(app)[-1].text_body)
    before = reader.get(f"/letters/{G20}").get_data(as_text=True)
    assert "Arben Leka" in before and count_shown(before) == 1
    press_button(signer, first["withdraw"][0])
    press_button(signer, second["confirm"][0])
    after = reader.get(f"/letters/{G20}").get_data(as_text=True)
    assert count_shown(after) == 1
    assert "Arben Leka" not in after and "Dafina Gjoka" in after


def test_languages_are_cached_apart(app):
    client = app.test_client()
    english = client.get(f"/letters/{G20}?lang=en").get_data(as_text=True)
    albanian = client.get(f"/letters/{G20}?lang=sq").get_data(as_text=True)
    assert '<html lang="en">' in english and '<html lang="sq">' in albanian


def test_a_closed_letter_is_never_served_from_the_open_page(app):
    client = app.test_client()
    assert "<form" in client.get(f"/letters/{G20}").get_data(as_text=True)
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        letter.status = "closed"
        db.session.commit()
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert 'action="/letters/g20-protect-education/sign' not in page
    assert "no longer takes signatures" in page


def test_an_edited_goal_or_addressee_shows_at_once(app):
    from petitions.models.letters import Addressee

    client = app.test_client()
    assert "of the goal of 1,000" in client.get(f"/letters/{G20}").get_data(as_text=True)
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        letter.goal = 2500
        db.session.scalar(
            select(Addressee).where(Addressee.letter_id == letter.id)
        ).name = "Ministers of Finance, G20"
        db.session.commit()
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert "of the goal of 2,500" in page and "Ministers of Finance, G20" in page
