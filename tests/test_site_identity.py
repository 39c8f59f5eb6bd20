"""Whose site it is: its name in the header, titles and the sender of every email; a logo, an
accent colour checked for contrast, the operator in the footer, a favicon; settings that cannot
work stop the start."""

from __future__ import annotations

import re

import pytest
from conftest import G20, sign
from test_outbox import MAIL_FROM, deliver

from petitions import create_app
from petitions.web.site_identity import contrast_with_white

NAME = "Koalicioni për Arsim"


def title_of(html: str) -> str:
    found = re.search(r"<title>([^<]*)</title>", html)
    assert found is not None
    return found.group(1)


def test_the_site_name_is_in_the_header_the_titles_and_nowhere_petitions(make_app):
    app = make_app(SITE_NAME=NAME, OPERATOR_NAME="Qendra Ligjore")
    client = app.test_client()
    home = client.get("/?lang=en").get_data(as_text=True)
    assert title_of(home) == NAME
    assert f'<span class="brand-name">{NAME}</span>' in home
    letter = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert title_of(letter).endswith(f" · {NAME}") and title_of(letter) != f" · {NAME}"
    assert "Qendra Ligjore" in letter.split('<footer class="site">', 1)[1]
    login = client.get("/staff/login").get_data(as_text=True)
    assert f"{NAME} · staff" in login
    for html in (home, letter, login):
        shown = re.sub(r"<[^>]+>", " ", html)
        assert "petitions" not in shown.replace("petitions.test", "")
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


def test_the_default_name_speaks_the_pages_language_and_no_operator_no_line(client):
    english = client.get("/?lang=en").get_data(as_text=True)
    albanian = client.get("/?lang=sq").get_data(as_text=True)
    assert title_of(english) == "Open letters"
    assert title_of(albanian) != "Open letters" and title_of(albanian)
    assert 'class="operator"' not in english


def test_the_email_sender_is_named_after_the_site(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url, MAIL_FROM=MAIL_FROM, SITE_NAME=NAME)
    assert sign(app.test_client(), G20).status_code == 303
    assert deliver(app) == 1
    sender = smtp.messages[0]["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (NAME, MAIL_FROM)


def test_the_accent_reaches_the_pages_as_a_stylesheet(make_app):
    client = make_app(SITE_ACCENT="#8A2A54").test_client()
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/site.css">' in page
    css = client.get("/site.css")
    assert css.mimetype == "text/css"
    assert "--accent: #8a2a54;" in css.get_data(as_text=True)


@pytest.mark.parametrize("colour", ["#ffcc00", "#77aaff", "#fff"])
def test_an_accent_white_text_cannot_be_read_on_is_refused(tmp_path, monkeypatch, colour):
    monkeypatch.setenv("PETITIONS_INSTANCE", str(tmp_path))
    with pytest.raises(RuntimeError) as refused:
        create_app({"SECRET_KEY": "x", "SITE_ACCENT": colour})
    message = str(refused.value)
    ratio = f"{contrast_with_white(colour):.2f}:1"
    assert "SITE_ACCENT" in message and ratio in message and "4.5:1" in message


def test_an_accent_that_is_no_colour_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PETITIONS_INSTANCE", str(tmp_path))
    with pytest.raises(RuntimeError, match="SITE_ACCENT must be a colour"):
        create_app({"SECRET_KEY": "x", "SITE_ACCENT": "blue"})


def test_contrast_is_computed_as_wcag_says():
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)  # the AA edge


@pytest.mark.parametrize("zone", ["Europe/Tiranë", "Mars/Olympus", "../etc/passwd"])
def test_an_unknown_time_zone_is_refused(tmp_path, monkeypatch, zone):
    monkeypatch.setenv("PETITIONS_INSTANCE", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"TIME_ZONE .* is not a time zone this system knows"):
        create_app({"SECRET_KEY": "x", "TIME_ZONE": zone})


def test_a_logo_from_the_instance_folder_is_shown_and_served(make_app, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    (instance / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    client = make_app(SITE_LOGO="logo.svg").test_client()
    page = client.get("/").get_data(as_text=True)
    assert '<img class="brand-logo" src="/site-logo" alt=""' in page
    with client.get("/site-logo") as logo:
        assert logo.status_code == 200 and b"<svg" in logo.get_data()


def test_a_logo_elsewhere_is_allowed_by_the_content_policy(make_app):
    client = make_app(SITE_LOGO="https://cdn.example.org/logo.png").test_client()
    answer = client.get("/")
    assert 'src="https://cdn.example.org/logo.png"' in answer.get_data(as_text=True)
    assert "img-src 'self' https://cdn.example.org" in answer.headers["Content-Security-Policy"]
    assert client.get("/site-logo").status_code == 404


@pytest.mark.parametrize("logo", ["missing.png", "../secret_key", "logo.exe"])
def test_a_logo_that_cannot_be_served_is_refused(tmp_path, monkeypatch, logo):
    monkeypatch.setenv("PETITIONS_INSTANCE", str(tmp_path))
    with pytest.raises(RuntimeError, match="SITE_LOGO"):
        create_app({"SECRET_KEY": "x", "SITE_LOGO": logo})
