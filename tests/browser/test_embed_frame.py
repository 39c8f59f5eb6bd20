"""Signing inside a partner's frame, in Chromium, with third-party cookies blocked.

The partner's page is served from http://localhost:PORT, the letter's embed from
http://127.0.0.1:PORT2: two sites, so the frame is third-party. Chromium runs with third-party
cookies blocked (``--test-third-party-cookie-phaseout``; the Chromium of this machine blocks them
in this setting anyway). The test first proves the frame really cannot keep a cookie (a probe that
does keep one on the same page opened first-party), then signs in the frame, and finds the email
at the real SMTP sink and the signature, with the partner's referral code, in the database.

Set ``EMBED_SHOTS`` to a folder to keep screenshots of the partner's page at 1280 and 390 px.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from petitions.extensions import db
from petitions.models.signatures import Signature
from petitions.workers.outbox_delivery import deliver_all_due

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
SLUG = "g20-protect-education"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]


def _serve_in_thread(server: Any) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield
    server.shutdown()
    thread.join(5)


@pytest.fixture
def embed_site(make_app: Any, smtp: Any) -> Iterator[tuple[Any, str]]:
    """The letters site on 127.0.0.1, mailing to the SMTP sink."""
    app = make_app(MAIL_URL=smtp.url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    for _ in _serve_in_thread(server):
        yield app, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def partner_site(embed_site: tuple[Any, str]) -> Iterator[str]:
    """A coalition member's page on another site (localhost), framing the embed."""
    embed_url = f"{embed_site[1]}/letters/{SLUG}/embed?ref=partner-ngo&lang=en"
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Partner NGO</title><style>body{font-family:Georgia,serif;margin:0;"
        "background:#f3efe6}header{background:#2e4a2e;color:#fff;padding:1rem 2rem}"
        "main{display:flex;flex-wrap:wrap;gap:2rem;padding:1rem 2rem}article{flex:1 1 20rem}"
        "</style></head><body><header><h1>Partner NGO</h1></header><main><article>"
        "<h2>Our campaign</h2><p>We support this open letter. Sign it here.</p></article>"
        f'<iframe src="{embed_url}" title="Sign the open letter" width="480" height="1400" '
        'loading="lazy" style="border:0;max-width:100%;background:#fff"></iframe>'
        "</main></body></html>"
    ).encode()

    class Partner(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    for _ in _serve_in_thread(server):
        yield f"http://localhost:{server.server_address[1]}/"
    server.server_close()


def test_signing_in_a_cross_site_frame_with_third_party_cookies_blocked(
    embed_site: tuple[Any, str], partner_site: str, smtp: Any
) -> None:
    app, _ = embed_site
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--test-third-party-cookie-phaseout"],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(partner_site)
            frame_element = page.wait_for_selector("iframe")
            frame = frame_element.content_frame()
            assert frame is not None
            frame.wait_for_selector("#sign-heading")
            assert frame.url.startswith("http://127.0.0.1:")
            # The frame is third-party and cannot keep a cookie, even one made for that.
            frame.evaluate("document.cookie = 'probe=1; SameSite=None; Secure; Path=/'")
            assert frame.evaluate("document.cookie") == ""
            _screenshots(page, "form")

            frame.fill("#name", "Drita Krasniqi")
            frame.fill("#email", "drita@example.org")
            frame.select_option("#country", "AL")
            frame.check("#consent")
            frame.click("button[type=submit]")
            frame.wait_for_selector("text=Check your email")
            assert "/embed/check-email" in frame.url
            _screenshots(page, "done")
            assert page.url == partner_site  # the partner's page stayed where it was
            assert frame.evaluate("document.cookie") == ""
            assert [c for c in context.cookies() if c["domain"] == "127.0.0.1"] == []
            # The probe does see cookies where they are allowed: the same page, first-party.
            first_party = context.new_page()
            first_party.goto(frame.url)
            first_party.evaluate("document.cookie = 'probe=1; SameSite=None; Secure; Path=/'")
            assert "probe=1" in first_party.evaluate("document.cookie")
        finally:
            browser.close()

    with app.app_context():
        assert deliver_all_due() == 1
        signature = db.session.scalars(
            select(Signature).where(Signature.email == "drita@example.org")
        ).one()
        assert signature.status == "pending" and signature.source == "partner-ngo"
    assert [m["To"] for m in smtp.messages] == ["drita@example.org"]
    assert "/confirm/" in smtp.messages[0].get_body(preferencelist=("plain",)).get_content()


def _screenshots(page: Any, step: str) -> None:
    folder = os.environ.get("EMBED_SHOTS")
    if not folder:
        return
    for width in (1280, 390):
        # Tall enough for the whole frame: a full-page shot leaves a frame's lower part blank.
        page.set_viewport_size({"width": width, "height": 1700})
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(folder) / f"partner-page-{step}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
