"""The durable email outbox: one transaction with the signature, delivery after the commit.

Everything goes through the real aiosmtpd server of conftest (or the console transport), the
real database and the real delivery code; only the clock of the retry backoff is shortened.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from http.cookiejar import CookieJar
from typing import Any

import pytest
from conftest import (
    G20,
    SMTPServer,
    csrf_token,
    links_in,
    outbox_rows,
    path_of,
    press_button,
    sign,
    text_part,
    valid_fields,
)
from flask import Flask
from sqlalchemy import func, select, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Letter
from petitions.models.outbox import OutboxEmail, OutboxStatus
from petitions.models.signatures import Signature, SignatureKind
from petitions.services.mail_transport import (
    ConsoleTransport,
    SMTPTransport,
    transport_from_url,
)
from petitions.services.signing import SignatureInput, sign_letter
from petitions.web.log_redaction import redact
from petitions.workers.outbox_delivery import deliver_all_due, deliver_due

PUBLIC_URL = "http://petitions.test"
MAIL_FROM = "letters@petitions.test"
# The tests' backoff is 0.05 s doubling up to 0.2 s (conftest); waiting this long makes every
# queued row due again.
PAST_BACKOFF = 0.25


def deliver(app: Flask) -> int:
    with app.app_context():
        return deliver_all_due()


def deliver_until(app: Flask, done: Callable[[], bool], timeout: float = 10.0) -> int:
    """Run delivery rounds until ``done()`` (retries become due after the backoff)."""
    deadline = time.monotonic() + timeout
    sent = 0
    while not done():
        assert time.monotonic() < deadline, f"not done after {timeout} s ({sent} sent)"
        sent += deliver(app)
        if not done():
            time.sleep(0.02)
    return sent


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not met within {timeout} s"
        time.sleep(0.02)


def sign_many(app: Flask, emails: list[str]) -> None:
    client = app.test_client()
    for email in emails:
        assert sign(client, G20, email=email).status_code == 303


def recipients(messages: list[Any]) -> Counter[str]:
    return Counter(str(m["To"]) for m in messages)


def letter_by_slug(slug: str) -> Letter:
    letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
    assert letter is not None
    return letter


def html_part(message: Any) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


# --- what the signer receives --------------------------------------------------------------------


def _english_lines(app: Flask, smtp: Any) -> set[str]:
    """The lines of the same email in English (links and blank lines left out)."""
    client = app.test_client()
    answer = sign(
        client, G20, lang="en", name="Drita Krasniqi", email="english.reference@example.org"
    )
    assert answer.status_code == 303
    assert deliver(app) == 1
    english = smtp.messages.pop()
    assert str(english["To"]) == "english.reference@example.org"
    assert str(english["Subject"]).startswith("Please confirm your signature")
    return {
        line.strip()
        for line in text_part(english).splitlines()
        if line.strip() and "://" not in line
    }


def test_signature_email_arrives_in_albanian_with_two_absolute_links(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url, MAIL_FROM=MAIL_FROM)
    english_lines = _english_lines(app, smtp)
    client = app.test_client()
    answer = sign(client, G20, lang="sq", name="Drita Krasniqi", email="drita@example.org")
    assert answer.status_code == 303

    assert deliver(app) == 1
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"].addresses[0].addr_spec == MAIL_FROM  # named after the site
    assert str(message["To"]) == "drita@example.org"

    with app.app_context():
        sq_title = letter_by_slug(G20).text_in("sq").title
        en_title = letter_by_slug(G20).text_in("en").title
    assert sq_title != en_title
    subject = str(message["Subject"])
    assert "Please confirm your signature" not in subject
    assert sq_title in subject

    text = text_part(message)
    html = html_part(message)
    assert "Drita Krasniqi" in text
    assert sq_title in text
    assert "Please confirm your signature" not in text
    # Every sentence of the English email is translated (an incomplete catalog fails here).
    untranslated = sorted(line for line in english_lines if line in text)
    assert untranslated == []
    assert '<html lang="sq">' in html
    assert sq_title in html

    text_links = links_in(text)
    html_links = links_in(html)
    for links in (text_links, html_links):
        assert len(links["confirm"]) == 1
        assert len(links["withdraw"]) == 1
    assert text_links == html_links
    for url in (text_links["confirm"][0], text_links["withdraw"][0]):
        assert url.startswith(PUBLIC_URL + "/")
    assert path_of(text_links["confirm"][0]).startswith("/confirm/")
    assert path_of(text_links["withdraw"][0]).startswith("/withdraw/")
    # The link works: it confirms this signature.
    assert press_button(client, text_links["confirm"][0]).status_code == 200
    assert client.get(f"/api/v1/letters/{G20}").json["signatures"]["individuals"] == 1


def test_sender_with_a_display_name_gives_a_well_formed_message(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url, MAIL_FROM=f"Open Letters <{MAIL_FROM}>")
    assert sign(app.test_client(), G20).status_code == 303
    assert deliver(app) == 1
    message = smtp.messages[0]
    assert message["From"].addresses[0].addr_spec == MAIL_FROM
    assert message["From"].addresses[0].display_name == "Open Letters"
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(message["Message-ID"]))


# --- one transaction -----------------------------------------------------------------------------


def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _service_input(email: str) -> SignatureInput:
    return SignatureInput(
        kind=SignatureKind.INDIVIDUAL, name="Arben Leka", email=email, country="AL", language="en"
    )


def test_signature_and_its_email_are_one_transaction(app):
    with app.test_request_context(), app.app_context():
        sign_letter(letter_by_slug(G20), _service_input("arben@example.org"), "ip-hash")
        db.session.flush()
        # Both rows are there inside the transaction...
        assert _count(Signature) == 1
        assert _count(OutboxEmail) == 1
        # ...and the view's transaction fails afterwards: neither survives.
        db.session.rollback()
        assert _count(Signature) == 0
        assert _count(OutboxEmail) == 0
    assert outbox_rows(app) == []

    with app.test_request_context(), app.app_context():
        sign_letter(letter_by_slug(G20), _service_input("arben@example.org"), "ip-hash")
        db.session.commit()
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        email = db.session.scalars(select(OutboxEmail)).one()
        assert email.signature_id == signature.id
        assert email.recipient == "arben@example.org"
        assert email.status == OutboxStatus.QUEUED


# --- SMTP failures -------------------------------------------------------------------------------


def test_smtp_down_then_up_delivers_every_email_exactly_once(make_app, smtp_server: SMTPServer):
    app = make_app(MAIL_URL=smtp_server.sink.url)  # the server is not started: nothing listens
    emails = [f"down{i}@example.org" for i in range(5)]
    sign_many(app, emails)

    assert deliver(app) == 0
    rows = outbox_rows(app)
    assert len(rows) == 5
    assert sorted(r.recipient for r in rows) == emails
    for row in rows:
        assert row.status == OutboxStatus.QUEUED
        assert row.attempts == 1
        assert row.last_error
        assert row.sent_at is None

    sink = smtp_server.start()  # the same port, back up
    sent = deliver_until(app, lambda: len(sink.messages) >= 5)
    assert sent == 5
    assert recipients(sink.messages) == Counter(emails)
    assert {r.status for r in outbox_rows(app)} == {OutboxStatus.SENT}

    # Later rounds, past every backoff, send nothing more.
    time.sleep(PAST_BACKOFF)
    assert deliver(app) == 0
    assert deliver(app) == 0
    assert len(sink.messages) == 5


def test_temporary_smtp_refusal_is_retried(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    sign_many(app, ["later@example.org"])
    smtp.reply = "451 4.3.0 try again"
    assert deliver(app) == 0
    (row,) = outbox_rows(app)
    assert row.status == OutboxStatus.QUEUED
    assert row.attempts == 1
    assert "451" in row.last_error
    assert smtp.messages == []

    smtp.reply = None
    assert deliver_until(app, lambda: len(smtp.messages) >= 1) == 1
    (row,) = outbox_rows(app)
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 2
    assert recipients(smtp.messages) == Counter(["later@example.org"])


def test_permanent_smtp_refusal_fails_the_email_for_good(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    sign_many(app, ["nobody@example.org"])
    smtp.reply = "550 5.1.1 no such user"
    assert deliver(app) == 0
    (row,) = outbox_rows(app)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 1
    assert "550" in row.last_error
    assert (row.text_body, row.html_body) == ("", "")  # its links die with it

    smtp.reply = None  # even once the server would take it, it is never retried
    time.sleep(PAST_BACKOFF)
    assert deliver(app) == 0
    assert smtp.messages == []
    (row,) = outbox_rows(app)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 1


# --- several workers, crashed workers ------------------------------------------------------------


@pytest.mark.race
@pytest.mark.parametrize("workers", [2, 3])
def test_concurrent_workers_deliver_each_email_once(make_app, smtp, workers):
    app = make_app(MAIL_URL=smtp.url)
    emails = [f"reader{i:02d}@example.org" for i in range(30)]
    sign_many(app, emails)
    start = threading.Barrier(workers)
    sent_by: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                start.wait(10)
                total = 0
                while True:  # small batches, so the workers interleave
                    result = deliver_due(limit=3)
                    total += result.sent
                    if result.claimed == 0:
                        break
                sent_by.append(total)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(sent_by) == workers
    assert sum(sent_by) == 30
    assert recipients(smtp.messages) == Counter(emails)  # each exactly once
    rows = outbox_rows(app)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert {r.attempts for r in rows} == {1}


def test_claim_of_a_killed_worker_expires(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    sign_many(app, ["orphan@example.org", "busy@example.org"])
    now = utcnow()
    with app.app_context():
        for recipient, claimed_until in (
            ("orphan@example.org", now - timedelta(seconds=1)),
            ("busy@example.org", now + timedelta(hours=1)),
        ):
            db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.recipient == recipient)
                .values(status=OutboxStatus.SENDING, claimed_until=claimed_until, attempts=1)
            )
        db.session.commit()

    assert deliver(app) == 1
    assert recipients(smtp.messages) == Counter(["orphan@example.org"])
    rows = {r.recipient: r for r in outbox_rows(app)}
    assert rows["orphan@example.org"].status == OutboxStatus.SENT
    assert rows["orphan@example.org"].attempts == 2
    assert rows["busy@example.org"].status == OutboxStatus.SENDING
    assert rows["busy@example.org"].attempts == 1
    assert deliver(app) == 0
    assert len(smtp.messages) == 1


# --- ways to run delivery ------------------------------------------------------------------------


def test_worker_thread_delivers_without_being_asked(make_app, smtp):
    app = make_app(OUTBOX_WORKER="thread", MAIL_URL=smtp.url, OUTBOX_POLL_SECONDS=0.2)
    worker = app.extensions["petitions.outbox"]
    assert worker.thread is None  # building the app starts nothing
    client = app.test_client()
    assert sign(client, G20, email="threaded@example.org").status_code == 303
    assert worker.thread is not None and worker.thread.is_alive()
    wait_for(lambda: len(smtp.messages) >= 1)
    assert recipients(smtp.messages) == Counter(["threaded@example.org"])
    wait_for(lambda: outbox_rows(app)[0].status == OutboxStatus.SENT)


def test_outbox_work_once_command_delivers(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    sign_many(app, ["cli1@example.org", "cli2@example.org"])
    result = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "Sent 2 email(s)." in result.output
    assert recipients(smtp.messages) == Counter(["cli1@example.org", "cli2@example.org"])
    assert {r.status for r in outbox_rows(app)} == {OutboxStatus.SENT}
    again = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert again.exit_code == 0, again.output
    assert "Sent 0 email(s)." in again.output
    assert len(smtp.messages) == 2


def test_console_transport_prints_the_email_and_marks_it_sent(make_app, capsys):
    app = make_app(MAIL_URL="console:")
    assert sign(app.test_client(), G20, email="console@example.org").status_code == 303
    capsys.readouterr()
    assert deliver(app) == 1
    printed = capsys.readouterr().err
    assert "To: console@example.org" in printed
    assert "Subject: Please confirm your signature" in printed
    links = links_in(printed)
    assert len(links["confirm"]) == 1
    assert len(links["withdraw"]) == 1
    (row,) = outbox_rows(app)
    assert row.status == OutboxStatus.SENT
    assert row.sent_at is not None
    # Once sent, the row keeps no body: no copy of the database holds a working link.
    assert links["confirm"][0] not in row.text_body
    assert (row.text_body, row.html_body) == ("", "")


# --- no address or token in the logs -------------------------------------------------------------


class Browser:
    """urllib with cookies, against the live server."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=10) as answer:
            return answer.status, answer.read().decode()

    def post(self, path: str, fields: dict[str, Any]) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as answer:
            return answer.status, answer.read().decode()


def _all_loggers_at_debug(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every logger on, at DEBUG (restored after the test).

    Loggers may have been switched off earlier in the session: the migrations' ``fileConfig``
    (run by conftest on PostgreSQL) disables every logger that existed before it.
    """
    caplog.set_level(logging.DEBUG)
    names = {*logging.root.manager.loggerDict, "werkzeug", "petitions", "sqlalchemy"}
    for name in sorted(names):
        caplog.set_level(logging.DEBUG, logger=name)
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)


def test_no_address_or_token_in_the_logs(app, live_server, smtp, caplog, monkeypatch):
    app.config["MAIL_URL"] = smtp.url
    _all_loggers_at_debug(caplog, monkeypatch)
    email = "secret.signer@example.org"
    browser = Browser(live_server)

    status, page = browser.get(f"/letters/{G20}")
    assert status == 200
    fields = valid_fields(email=email, csrf_token=csrf_token(page))
    status, _ = browser.post(f"/letters/{G20}/sign", fields)
    assert status == 200  # the "check your email" page, after the 303
    assert deliver(app) == 1
    links = links_in(text_part(smtp.messages[0]))
    confirm_path = path_of(links["confirm"][0])
    withdraw_path = path_of(links["withdraw"][0])
    status, page = browser.get(confirm_path)
    assert status == 200
    status, _ = browser.post(confirm_path, {"csrf_token": csrf_token(page)})
    assert status == 200
    status, _ = browser.get(withdraw_path)
    assert status == 200
    with app.app_context():
        assert letter_by_slug(G20).count_total == 1  # the flow really ran

    tokens = [confirm_path.split("/")[2], withdraw_path.split("/")[2]]
    messages = [record.getMessage() for record in caplog.records]
    access = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(access) >= 5  # the request log was on and captured
    assert any("/confirm/[token]" in line for line in access)
    leaks = [m for m in messages if email in m or any(token in m for token in tokens)]
    assert leaks == [], "a signer's address or link token reached the log"


def test_every_logger_redacts_even_to_handlers_added_later(app):
    """A module's own logger (a child of "petitions"), a library's, and a handler added after
    the app was built: none of them sees an address or a token."""
    import logging

    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    handler = Keep()
    for name in ("petitions.services.exports.pdf_jobs", "huey.consumer"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            logger.info("mail to %s via /confirm/abc.def.ghi", "ana@example.org")
            try:
                raise ValueError("bad address ana@example.org")
            except ValueError:
                logger.exception("failed")
        finally:
            logger.removeHandler(handler)
    assert len(seen) == 4
    joined = "\n".join(seen)
    assert "ana@example.org" not in joined and "abc.def.ghi" not in joined
    assert "[email]" in joined and "/confirm/[token]" in joined


def test_redact_hides_tokens_in_paths_and_addresses():
    assert redact("/confirm/abc.def.ghi") == "/confirm/[token]"
    assert redact('"GET /withdraw/abc.def.ghi?lang=sq HTTP/1.1" 200 -') == (
        '"GET /withdraw/[token]?lang=sq HTTP/1.1" 200 -'
    )
    assert redact("POST /confirm/abc.def.ghi/renew") == "POST /confirm/[token]/renew"
    assert redact("sent to Ana.Hoxha+petitions@example.org today") == "sent to [email] today"
    assert redact("GET /letters/g20-protect-education 200") == (
        "GET /letters/g20-protect-education 200"
    )


# --- MAIL_URL ------------------------------------------------------------------------------------


def test_transport_from_url_reads_every_form():
    assert isinstance(transport_from_url("console:"), ConsoleTransport)

    plain = transport_from_url("smtp://user:pass@mail.example.org:2525", timeout=7)
    assert isinstance(plain, SMTPTransport)
    assert plain.settings.host == "mail.example.org"
    assert plain.settings.port == 2525
    assert plain.settings.username == "user"
    assert plain.settings.password == "pass"
    assert plain.settings.security == "plain"
    assert plain.settings.timeout == 7

    quoted = transport_from_url("smtp://user%40example.org:p%40ss%2Fword@mail.example.org")
    assert isinstance(quoted, SMTPTransport)
    assert quoted.settings.username == "user@example.org"
    assert quoted.settings.password == "p@ss/word"

    for url, security, port in (
        ("smtp://mail.example.org", "plain", 25),
        ("smtp+starttls://mail.example.org", "starttls", 587),
        ("smtps://mail.example.org", "tls", 465),
    ):
        transport = transport_from_url(url)
        assert isinstance(transport, SMTPTransport)
        assert transport.settings.security == security
        assert transport.settings.port == port
        assert transport.settings.username is None
        assert transport.settings.password is None


@pytest.mark.parametrize(
    "url", ["http://mail.example.org", "sendgrid://key@api", "smtp://", "mail.example.org"]
)
def test_transport_from_url_refuses_what_it_cannot_use(url):
    with pytest.raises(ValueError, match="MAIL_URL"):
        transport_from_url(url)
