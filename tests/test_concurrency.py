"""Races: simultaneous identical submissions, and simultaneous confirmations, on a real server.

Each client is its own HTTP connection to a threaded Werkzeug server in front of the app, so every
request runs in its own thread with its own database connection, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import http.client
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import (
    G20,
    assert_no_other_writer_gets_in,
    csrf_token,
    links_in,
    outbox_rows,
    path_of,
    valid_fields,
)
from sqlalchemy import func, select

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.signatures import Signature

CLIENTS = 20


class Browser:
    """One visitor: one cookie jar, one connection per request."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        conn.close()
        return response.status, response.getheader("Location"), text


@pytest.mark.race
def test_twenty_identical_submissions_make_one_signature(app, live_server):
    browsers = [Browser(live_server) for _ in range(CLIENTS)]
    tokens = [csrf_token(b.request("GET", f"/letters/{G20}")[2]) for b in browsers]
    start = threading.Barrier(CLIENTS)

    def submit(index: int):
        form = valid_fields(email="same.person@example.org", csrf_token=tokens[index])
        start.wait()
        return browsers[index].request("POST", f"/letters/{G20}/sign", form)

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(submit, range(CLIENTS)))

    assert {(status, location) for status, location, _ in answers} == {
        (303, f"/letters/{G20}/check-email")
    }
    with app.app_context():
        rows = db.session.scalars(select(Signature)).all()
        assert len(rows) == 1
        assert rows[0].email_canonical == "same.person@example.org"
    # A double submit within the quiet period sends no second link to invalidate the first.
    assert len(outbox_rows(app)) == 1


@pytest.mark.race
def test_twenty_simultaneous_confirmations_are_all_counted(app, live_server):
    browsers = [Browser(live_server) for _ in range(CLIENTS)]
    for index, browser in enumerate(browsers):
        token = csrf_token(browser.request("GET", f"/letters/{G20}")[2])
        kind = "organisation" if index % 4 == 0 else "individual"
        form = valid_fields(
            email=f"signer{index}@example.org",
            kind=kind,
            organisation=f"Organisation {index}",
            csrf_token=token,
        )
        assert browser.request("POST", f"/letters/{G20}/sign", form)[0] == 303
    confirm_paths = {}
    for row in outbox_rows(app):
        index = int(re.search(r"signer(\d+)@", row.recipient).group(1))
        confirm_paths[index] = path_of(links_in(row.text_body)["confirm"][0])
    forms = {
        index: csrf_token(browsers[index].request("GET", confirm_paths[index])[2])
        for index in range(CLIENTS)
    }
    start = threading.Barrier(CLIENTS)

    def confirm(index: int):
        start.wait()
        return browsers[index].request("POST", confirm_paths[index], {"csrf_token": forms[index]})[
            0
        ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        assert set(pool.map(confirm, range(CLIENTS))) == {200}

    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert (letter.count_organisations, letter.count_individuals) == (5, 15)
        assert (
            db.session.scalar(
                select(func.count()).select_from(Signature).where(Signature.status == "confirmed")
            )
            == CLIENTS
        )


def _press_together(base: str, path: str) -> list[int]:
    """CLIENTS visitors open the same link, then press its button at the same moment."""
    browsers = [Browser(base) for _ in range(CLIENTS)]
    forms = [csrf_token(b.request("GET", path)[2]) for b in browsers]
    start = threading.Barrier(CLIENTS)

    def press(index: int) -> int:
        start.wait()
        return browsers[index].request("POST", path, {"csrf_token": forms[index]})[0]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(press, range(CLIENTS)))


@pytest.mark.race
def test_one_link_pressed_twenty_times_at_once_counts_once(app, live_server):
    signer = Browser(live_server)
    token = csrf_token(signer.request("GET", f"/letters/{G20}")[2])
    form = valid_fields(email="eager@example.org", csrf_token=token)
    assert signer.request("POST", f"/letters/{G20}/sign", form)[0] == 303
    links = links_in(outbox_rows(app)[0].text_body)

    assert set(_press_together(live_server, path_of(links["confirm"][0]))) == {200}
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter.count_individuals == 1

    assert set(_press_together(live_server, path_of(links["withdraw"][0]))) == {200}
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter.count_individuals == 0
        assert db.session.scalar(select(Signature.status)) == "withdrawn"


def test_a_pressed_button_never_acts_on_a_stale_read(app):
    """The race behind "confirming twice is harmless", made deterministic.

    PostgreSQL: this request's session already holds the signature (read as pending) when
    another request confirms it; the locked re-read must see "confirmed" and count nothing.
    SQLite: a POST's transaction begins IMMEDIATE, so no other writer can slip in at all.
    """
    from sqlalchemy import text, update

    from petitions.services.signature_links import confirm_signature, signature_for
    from petitions.services.tokens import Purpose, read_token

    client = app.test_client()
    page = client.get(f"/letters/{G20}")
    client.post(
        f"/letters/{G20}/sign",
        data=valid_fields(csrf_token=csrf_token(page.get_data(as_text=True))),
    )
    link = path_of(links_in(outbox_rows(app)[0].text_body)["confirm"][0])
    token = link.split("?", 1)[0].rsplit("/", 1)[1]
    with app.test_request_context("/", method="POST"):
        claim = read_token(Purpose.CONFIRM, token)
        held = signature_for(claim, Purpose.CONFIRM)  # in the session's identity map now
        assert held.status == "pending"
        if db.engine.dialect.name == "sqlite":
            assert_no_other_writer_gets_in()
        else:
            with db.engine.begin() as other:  # the other request, committed
                other.execute(
                    update(Signature)
                    .where(Signature.id == claim.signature_id)
                    .values(status="confirmed")
                )
                other.execute(text("UPDATE letters SET count_individuals = 1 WHERE id = 1"))
            assert confirm_signature(claim).outcome == "already_confirmed"
            db.session.commit()
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter.count_individuals == (0 if db.engine.dialect.name == "sqlite" else 1)
