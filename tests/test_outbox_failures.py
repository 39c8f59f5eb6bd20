"""The outbox when the SMTP server misbehaves: refuses us, hangs, or a round loses its claim."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import timedelta

from conftest import G20, SMTPSink, free_port, outbox_rows, sign
from sqlalchemy import update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.outbox import OutboxEmail
from petitions.services.mail_transport import TemporaryFailure
from petitions.workers.outbox_delivery import (
    _record,
    _retry_later,
    claim_due,
    deliver_all_due,
    deliver_due,
    renew,
)


class SilentServer:
    """A TCP server that accepts connections and then says nothing, or one fixed line."""

    def __init__(self, greeting: bytes | None = None) -> None:
        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.clients.append(client)
            if self.greeting:
                client.sendall(self.greeting)

    def close(self) -> None:
        self.sock.close()
        for client in self.clients:
            client.close()


def queue_three(app):
    client = app.test_client()
    for index in range(3):
        assert sign(client, G20, email=f"w{index}@example.org").status_code == 303
    assert len(outbox_rows(app)) == 3


def states(app):
    return sorted((row.status, row.attempts) for row in outbox_rows(app))


def test_a_refusing_greeting_keeps_every_email_queued(make_app):
    server = SilentServer(b"554 5.3.2 not accepting mail now\r\n")
    try:
        app = make_app(MAIL_URL=f"smtp://127.0.0.1:{server.port}", SMTP_TIMEOUT=2)
        queue_three(app)
        with app.app_context():
            assert deliver_all_due() == 0
        assert states(app) == [("queued", 1)] * 3  # not failed: the server, not the emails
        assert server.connections == 1  # the round stopped at the first refusal
        assert all("refused" in row.last_error for row in outbox_rows(app))
    finally:
        server.close()


def test_a_hanging_server_ends_the_round_after_one_timeout(make_app):
    server = SilentServer()
    try:
        app = make_app(MAIL_URL=f"smtp://127.0.0.1:{server.port}", SMTP_TIMEOUT=0.3)
        queue_three(app)
        with app.app_context():
            assert deliver_all_due() == 0
        assert states(app) == [("queued", 1)] * 3
        assert server.connections == 1
    finally:
        server.close()


def test_a_refused_sender_is_retried_not_failed(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    queue_three(app)

    async def refuse_sender(server, session, envelope, address, options):
        return "553 5.7.1 sender not allowed"

    smtp.handle_MAIL = refuse_sender  # aiosmtpd asks the handler for MAIL FROM
    with app.app_context():
        assert deliver_all_due() == 0
    assert states(app) == [("queued", 1)] * 3
    del smtp.handle_MAIL
    with app.app_context():
        db.session.execute(update(OutboxEmail).values(next_attempt_at=utcnow()))
        db.session.commit()
        assert deliver_all_due() == 3
    assert sorted(m["To"] for m in smtp.messages) == [f"w{i}@example.org" for i in range(3)]


def test_a_round_that_lost_its_claim_cannot_overwrite_the_outcome(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    queue_three(app)
    with app.app_context():
        slow_round = claim_due(limit=1)
        assert len(slow_round.ids) == 1
        # Its claim runs out (the worker hung); another round takes the row and sends it.
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == slow_round.ids[0])
            .values(claimed_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert deliver_all_due() == 3
        # The slow round comes back and tries to record a failure: nothing changes.
        _record(slow_round, slow_round.ids, status="failed", last_error="late")
    row = next(r for r in outbox_rows(app) if r.id == slow_round.ids[0])
    assert (row.status, row.last_error) == ("sent", "")
    assert len(smtp.messages) == 3


class GatedSink(SMTPSink):
    """Holds each message until ``gate`` opens, so a round can be caught in the middle of a send."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.arrived = threading.Event()
        self.gate = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.arrived.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


def test_a_slow_round_cannot_undo_the_round_that_took_over_its_claim(make_app):
    """Round A hangs past its claim; round B takes the row over and is sending it when A comes
    back with a temporary failure (and a heartbeat). Only the claim token tells A's writes from
    B's: the row is still "sending" either way. Without that guard A would put the row back in
    the queue, B's "sent" would then find no row of its own, and the signer would get it twice."""
    sink = GatedSink(free_port())
    controller = _controller(sink, smtputf8=False)
    controller.start()
    try:
        app = make_app(MAIL_URL=sink.url)
        assert sign(app.test_client(), G20, email="once@example.org").status_code == 303
        with app.app_context():
            slow_round = claim_due(limit=1)
            assert len(slow_round.ids) == 1
            db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id == slow_round.ids[0])
                .values(claimed_until=utcnow() - timedelta(seconds=1))
            )
            db.session.commit()

        results = []

        def newer_round() -> None:
            with app.app_context():
                results.append(deliver_due(limit=1))

        thread = threading.Thread(target=newer_round)
        thread.start()
        try:
            assert sink.arrived.wait(10)  # B holds the row and is in the middle of sending it
            with app.app_context():
                late_writes = [
                    renew(slow_round),
                    _retry_later(slow_round, slow_round.emails, TemporaryFailure("451")),
                ]
        finally:
            sink.gate.set()
            thread.join(10)
        assert [(r.claimed, r.sent) for r in results] == [(1, 1)]
        (row,) = outbox_rows(app)
        assert (row.status, row.claim_token, row.last_error) == ("sent", None, "")
        time.sleep(0.25)  # past any backoff A could have set
        with app.app_context():
            assert deliver_all_due() == 0
        assert [str(m["To"]) for m in sink.messages] == ["once@example.org"]
        assert late_writes == [0, 0]  # neither A's heartbeat nor its outcome touched the row
    finally:
        controller.stop()


def _controller(sink, smtputf8):
    from aiosmtpd.controller import Controller

    return Controller(sink, hostname="127.0.0.1", port=sink.port, enable_SMTPUTF8=smtputf8)


def test_internationalised_addresses(make_app):
    """ë in the domain goes out as IDNA; ë in the local part needs SMTPUTF8, and without it
    only that email fails: the others in its round are sent."""
    from conftest import SMTPSink, free_port

    sink = SMTPSink(free_port())
    controller = _controller(sink, smtputf8=False)
    controller.start()
    try:
        app = make_app(MAIL_URL=sink.url)
        client = app.test_client()
        for email in ("ana@shqipëri.example", "arbër@example.org", "plain@example.org"):
            assert sign(client, G20, email=email).status_code == 303
        with app.app_context():
            assert deliver_all_due() == 2
        received = sorted(str(m["To"]) for m in sink.messages)
        assert received == ["ana@xn--shqipri-vya.example", "plain@example.org"]
        rows = {row.recipient: row for row in outbox_rows(app)}
        assert rows["arbër@example.org"].status == "failed"
        assert "cannot deliver" in rows["arbër@example.org"].last_error
    finally:
        controller.stop()

    sink = SMTPSink(free_port())
    controller = _controller(sink, smtputf8=True)
    controller.start()
    try:
        app = make_app(MAIL_URL=sink.url)
        with app.app_context():
            db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.recipient == "arbër@example.org")
                .values(status="queued", next_attempt_at=utcnow())
            )
            db.session.commit()
            assert deliver_all_due() == 1
        assert [str(m["To"]) for m in sink.messages] == ["arbër@example.org"]
    finally:
        controller.stop()


def test_an_outage_fails_only_the_emails_that_used_up_their_attempts(make_app):
    server = SilentServer(b"421 4.3.2 shutting down\r\n")
    try:
        app = make_app(MAIL_URL=f"smtp://127.0.0.1:{server.port}", OUTBOX_MAX_ATTEMPTS=3)
        queue_three(app)
        with app.app_context():
            oldest = min(row.id for row in outbox_rows(app))
            db.session.execute(
                update(OutboxEmail).where(OutboxEmail.id == oldest).values(attempts=2)
            )
            db.session.commit()
            assert deliver_all_due() == 0
        by_id = {row.id: (row.status, row.attempts) for row in outbox_rows(app)}
        assert by_id.pop(oldest) == ("failed", 3)  # its third attempt, the last allowed
        assert set(by_id.values()) == {("queued", 1)}  # the others wait for the server
    finally:
        server.close()
