"""A forged Host or X-Forwarded-Host never reaches a signer's email; unknown hosts get 400.

An attacker signs with a victim's address and a forged host: the genuine email the victim gets
must still link to this site. Each case signs through the test client and reads the email the
real SMTP server received.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import G20, csrf_token, links_in, outbox_rows, text_part, valid_fields
from flask import Flask

from petitions import create_app
from petitions.config import load_settings
from petitions.workers.outbox_delivery import deliver_all_due

EVIL = "evil.example"


def sign_with_headers(app: Flask, headers: dict[str, str], **fields: Any) -> Any:
    """GET the letter and POST the signing form, every request carrying ``headers``."""
    client = app.test_client()
    page = client.get(f"/letters/{G20}", headers=headers)
    assert page.status_code == 200, page.status_code
    data = valid_fields(csrf_token=csrf_token(page.get_data(as_text=True)), **fields)
    return client.post(f"/letters/{G20}/sign", data=data, headers=headers)


def emailed_links(app: Flask, smtp: Any) -> list[str]:
    with app.app_context():
        assert deliver_all_due() == 1
    message = smtp.messages[-1]
    html = message.get_body(preferencelist=("html",)).get_content()
    text = text_part(message)
    found = [url for body in (text, html) for urls in links_in(body).values() for url in urls]
    assert len(found) == 4  # confirm and withdraw, in the text and the HTML part
    assert EVIL not in text and EVIL not in html
    return found


FORGED = [
    pytest.param({"Host": EVIL}, id="host"),
    pytest.param({"Host": "localhost", "X-Forwarded-Host": EVIL}, id="x-forwarded-host"),
    pytest.param({"Host": EVIL, "X-Forwarded-Host": EVIL}, id="both"),
    pytest.param({"Host": "localhost", "X-Forwarded-Proto": "javascript"}, id="scheme"),
]


@pytest.mark.parametrize("headers", FORGED)
@pytest.mark.parametrize("proxies", [0, 1])
def test_without_settings_a_forged_host_gets_a_safe_base(make_app, smtp, headers, proxies):
    app = make_app(MAIL_URL=smtp.url, PUBLIC_URL=None, TRUSTED_PROXIES=proxies)
    assert sign_with_headers(app, headers).status_code == 303
    bases = {url.split("/confirm/")[0].split("/withdraw/")[0] for url in emailed_links(app, smtp)}
    # Only a loopback Host (the newcomer's own machine) is used as it is; anything else falls
    # back to the development server's address.
    assert bases <= {"http://localhost", "http://127.0.0.1:5000"}, bases


@pytest.mark.parametrize("headers", FORGED)
def test_with_public_url_links_ignore_every_request_host(make_app, smtp, headers):
    app = make_app(MAIL_URL=smtp.url, PUBLIC_URL="https://letters.example.org", TRUSTED_PROXIES=1)
    assert sign_with_headers(app, headers).status_code == 303
    for url in emailed_links(app, smtp):
        assert url.startswith("https://letters.example.org/"), url


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("localhost:8000", "http://localhost:8000"),
        ("[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_without_any_setting_a_loopback_host_is_kept(make_app, smtp, host, base):
    """A newcomer on their own machine follows the link on whatever port they run."""
    app = make_app(MAIL_URL=smtp.url, PUBLIC_URL=None)
    assert sign_with_headers(app, {"Host": host}).status_code == 303
    for url in emailed_links(app, smtp):
        assert url.startswith(base + "/"), url


def test_with_allowed_hosts_links_use_the_checked_host(make_app, smtp):
    app = make_app(
        MAIL_URL=smtp.url,
        PUBLIC_URL=None,
        ALLOWED_HOSTS="letters.example.org, other.example.org",
        TRUSTED_PROXIES=1,
    )
    headers = {"Host": "127.0.0.1:8000", "X-Forwarded-Host": "other.example.org"}
    assert sign_with_headers(app, headers).status_code == 303
    for url in emailed_links(app, smtp):
        assert url.startswith("http://other.example.org/"), url


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": EVIL},
        {"Host": "letters.example.org.evil.example"},
        {"Host": "letters.example.org", "X-Forwarded-Host": EVIL},
    ],
)
def test_a_host_not_in_allowed_hosts_gets_400_and_signs_nothing(make_app, headers):
    app = make_app(ALLOWED_HOSTS="letters.example.org", TRUSTED_PROXIES=1)
    client = app.test_client()
    good = {"Host": "letters.example.org"}
    page = client.get(f"/letters/{G20}", headers=good)
    assert page.status_code == 200
    token = csrf_token(page.get_data(as_text=True))
    for answer in (
        client.get("/", headers=headers),
        client.get(f"/letters/{G20}", headers=headers),
        client.get("/staff/login", headers=headers),
        client.post(f"/letters/{G20}/sign", data=valid_fields(csrf_token=token), headers=headers),
    ):
        assert answer.status_code == 400
        assert "does not answer to the address" in answer.get_data(as_text=True)
        assert EVIL not in answer.get_data(as_text=True)
    assert api_answer(client, headers).status_code == 400
    assert outbox_rows(app) == []
    assert client.get("/", headers={"Host": "letters.example.org:8443"}).status_code == 200


def api_answer(client: Any, headers: dict[str, str]) -> Any:
    return client.get("/api/v1/letters", headers=headers)


def test_a_leading_dot_allows_subdomains(make_app):
    app = make_app(ALLOWED_HOSTS=".example.org")
    client = app.test_client()
    assert client.get("/", headers={"Host": "example.org"}).status_code == 200
    assert client.get("/", headers={"Host": "www.example.org"}).status_code == 200
    assert client.get("/", headers={"Host": "example.org.evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "evilexample.org"}).status_code == 400


def test_the_unknown_host_page_speaks_albanian(make_app):
    app = make_app(ALLOWED_HOSTS="letters.example.org")
    answer = app.test_client().get("/?lang=sq", headers={"Host": EVIL})
    assert answer.status_code == 400
    assert '<html lang="sq">' in answer.get_data(as_text=True)
    assert "does not answer" not in answer.get_data(as_text=True)


def test_production_refuses_to_start_without_public_url(tmp_path, monkeypatch):
    monkeypatch.setenv("PETITIONS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret")
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:25")
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.setenv("PETITIONS_INSTANCE", str(tmp_path))
    with pytest.raises(RuntimeError, match="PUBLIC_URL must be set in production"):
        load_settings(tmp_path)
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    monkeypatch.setenv("PUBLIC_URL", "https://letters.example.org/")
    assert load_settings(tmp_path)["PUBLIC_URL"] == "https://letters.example.org"
