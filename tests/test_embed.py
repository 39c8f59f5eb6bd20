"""The embed: framable by any site (and only it), signing through it with no cookie at all."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import G20, links_in, text_part, valid_fields
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.signatures import Signature
from petitions.workers.outbox_delivery import deliver_all_due

TOKEN_PATTERN = re.compile(r'name="form_token" type="hidden" value="([^"]+)"')


def no_cookie_client(app: Any) -> Any:
    """A client that never keeps a cookie: a browser blocking the frame's third-party cookies."""
    return app.test_client(use_cookies=False)


def form_token(html: str) -> str:
    found = TOKEN_PATTERN.search(html)
    assert found, "no form_token in the embed"
    return found.group(1)


def embed_sign(client: Any, slug: str = G20, query: str = "", **overrides: Any) -> Any:
    page = client.get(f"/letters/{slug}/embed{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    data = valid_fields(**overrides)
    data["form_token"] = form_token(html)
    ref = re.search(r'name="ref" type="hidden" value="([^"]*)"', html)
    assert ref is not None
    data["ref"] = ref.group(1)
    return client.post(f"/letters/{slug}/embed/sign", data=data)


def signature_of(app: Any, email: str) -> Signature | None:
    with app.app_context():
        found = db.session.scalars(select(Signature).where(Signature.email == email)).first()
        db.session.expunge_all()
        return found


def test_only_the_embed_pages_may_be_framed(client):
    embed = client.get(f"/letters/{G20}/embed")
    assert embed.status_code == 200
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    # The rest of the policy stays as strict as elsewhere.
    assert "script-src 'self'" in embed.headers["Content-Security-Policy"]
    for path in (f"/letters/{G20}", "/", f"/letters/{G20}/check-email", "/staff/login"):
        answer = client.get(path)
        assert answer.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], path


def test_the_embed_shows_count_form_and_a_title_that_opens_the_letter(client):
    html = client.get(f"/letters/{G20}/embed?lang=en").get_data(as_text=True)
    assert 'class="counts"' in html
    assert f'action="/letters/{G20}/embed/sign?lang=en' in html
    assert 'name="csrf_token"' not in html  # nothing tied to a session
    title_link = re.search(r'<h1[^>]*><a href="([^"]+)" target="_blank" rel="noopener">', html)
    assert title_link and title_link.group(1).startswith(f"http://petitions.test/letters/{G20}")


def test_signing_through_the_embed_needs_no_cookie(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    client = no_cookie_client(app)
    answer = embed_sign(client, email="frame@example.org")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(f"/letters/{G20}/embed/check-email")
    done = client.get(answer.headers["Location"])
    assert done.status_code == 200
    assert "frame-ancestors *" in done.headers["Content-Security-Policy"]
    assert "Check your email" in done.get_data(as_text=True)
    signature = signature_of(app, "frame@example.org")
    assert signature is not None and signature.status == "pending"
    with app.app_context():
        assert deliver_all_due() == 1
    assert links_in(text_part(smtp.messages[0]))["confirm"]


@pytest.mark.parametrize(
    "token", ["", "forged", "from-another-letter"], ids=["missing", "forged", "other-letter"]
)
def test_the_embed_refuses_a_form_without_its_token(app, token):
    client = no_cookie_client(app)
    if token == "from-another-letter":
        other = client.get("/letters/inclusive-education-albania/embed").get_data(as_text=True)
        token = form_token(other)
    answer = client.post(
        f"/letters/{G20}/embed/sign",
        data={**valid_fields(email="x@example.org"), "form_token": token},
    )
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'value="x@example.org"' in html  # the answers are kept
    assert form_token(html)  # with a fresh token to send them again
    assert signature_of(app, "x@example.org") is None


def test_an_old_form_token_is_refused(make_app):
    app = make_app(EMBED_FORM_MAX_AGE=-1)  # every token is already too old
    answer = embed_sign(no_cookie_client(app), email="late@example.org")
    assert answer.status_code == 400
    assert signature_of(app, "late@example.org") is None


def test_the_embed_honeypot_makes_no_signature(app):
    answer = embed_sign(no_cookie_client(app), email="bot@example.org", leave_empty="spam")
    assert answer.status_code == 303  # the bot is told nothing
    assert signature_of(app, "bot@example.org") is None


def test_signing_through_the_embed_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, SIGN_RATE_LIMIT="2 per minute")
    client = no_cookie_client(app)
    answers = [embed_sign(client, email=f"r{n}@example.org") for n in range(3)]
    assert [answer.status_code for answer in answers] == [303, 303, 429]
    # The refusal shows inside the partner's frame.
    assert "frame-ancestors *" in answers[2].headers["Content-Security-Policy"]
    assert signature_of(app, "r2@example.org") is None


def test_the_embed_sets_no_cookie_even_with_a_language(app):
    client = no_cookie_client(app)
    page = client.get(f"/letters/{G20}/embed?lang=sq")
    assert page.status_code == 200 and '<html lang="sq">' in page.get_data(as_text=True)
    assert 'action="/letters/g20-protect-education/embed/sign?lang=sq' in page.get_data(
        as_text=True
    )
    data = {
        **valid_fields(email="sq@example.org"),
        "form_token": form_token(page.get_data(as_text=True)),
    }
    answer = client.post(f"/letters/{G20}/embed/sign?lang=sq", data=data)
    assert answer.status_code == 303 and "lang=sq" in answer.headers["Location"]
    done = client.get(answer.headers["Location"])
    assert '<html lang="sq">' in done.get_data(as_text=True)
    for response in (page, answer, done):
        assert "Set-Cookie" not in response.headers
    # The letter page itself still remembers the language (and sets its session cookie).
    assert "Set-Cookie" in client.get(f"/letters/{G20}?lang=sq").headers
