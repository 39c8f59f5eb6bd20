"""The outbox when its workers die or are stopped: real processes, a real slow SMTP server.

``flask --app petitions outbox work`` and gunicorn run as subprocesses on the test's database
(SQLite file or PostgreSQL) and send to an aiosmtpd server that takes 50 ms per message. They are
killed (SIGKILL), stopped (SIGTERM) or reloaded (SIGHUP) in the middle of a backlog; what the
server received is compared with what the database recorded. Every process is killed in
``finally``. Each test prints its figures (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from conftest import G20, SMTPSink, csrf_token, free_port, valid_fields
from flask import Flask
from sqlalchemy import func, select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.outbox import OutboxEmail, OutboxStatus

SMTP_DELAY = 0.05  # seconds per message, as in the fault-injection run
ALL_DELIVERED_WITHIN = 120.0  # seconds after a kill
HTTP_TIMEOUT = 60.0  # generous: a loaded machine serves slowly, which is not what is tested


class SlowSink(SMTPSink):
    """An SMTP server that takes ``SMTP_DELAY`` before it accepts each message."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(SMTP_DELAY)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp() -> Iterator[SlowSink]:
    sink = SlowSink(free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def received(sink: SlowSink) -> Counter[str]:
    with sink.lock:
        return Counter(str(m["To"]) for m in sink.messages)


def queue_backlog(app: Flask, count: int) -> list[str]:
    """``count`` queued emails (bodies do not matter here), written straight to the outbox."""
    addresses = [f"backlog{i:04d}@example.org" for i in range(count)]
    with app.app_context():
        db.session.add_all(
            OutboxEmail(
                recipient=address,
                purpose="test",
                subject="Backlog",
                text_body="text",
                html_body="<p>html</p>",
            )
            for address in addresses
        )
        db.session.commit()
    return addresses


def by_status(app: Flask) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)
        ).all()
        db.session.rollback()
    return {str(status): int(count) for status, count in rows}


def sent_at_of(app: Flask, status: str) -> dict[int, Any]:
    """The rows in ``status``: id -> sent_at."""
    with app.app_context():
        rows = db.session.execute(
            select(OutboxEmail.id, OutboxEmail.sent_at).where(OutboxEmail.status == status)
        ).all()
        db.session.rollback()
    return {row_id: sent_at for row_id, sent_at in rows}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait until ``condition()``; return how long it took."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - start


def settings_for(app: Flask, sink: SlowSink, **extra: Any) -> dict[str, Any]:
    """Settings for a subprocess on the test's database and SMTP server."""
    return {
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_URL": sink.url,
        "PUBLIC_URL": "http://petitions.test",
        "RATELIMIT_ENABLED": False,
        "OUTBOX_WORKER": "external",
        "OUTBOX_POLL_SECONDS": 0.2,
        "OUTBOX_GATHER_SECONDS": 0.0,
        "SMTP_TIMEOUT": 5.0,
        **extra,
    }


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started into the list are killed (with their process group) on the way out."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        for process in started:
            process.wait(10)


def start_worker(
    started: list[subprocess.Popen[bytes]], settings: dict[str, Any], log: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        f"petitions:create_app({settings!r})",
        "outbox",
        "work",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    started.append(process)
    return process


def duplicates(counts: Counter[str]) -> int:
    return sum(count - 1 for count in counts.values())


def assert_no_address_in(log: Path) -> None:
    assert "@example.org" not in log.read_text(errors="replace"), "an address reached the log"


def test_a_killed_worker_delays_its_batch_by_one_claim_at_most(make_app, slow_smtp, tmp_path):
    """SIGKILL in the middle of a round: what it sent is recorded; what it held goes out from
    another worker once its short claim runs out; at most the email in flight goes twice."""
    app = make_app(MAIL_URL=slow_smtp.url)
    addresses = queue_backlog(app, 60)
    settings = settings_for(app, slow_smtp, OUTBOX_CLAIM_SECONDS=1.0)
    log = tmp_path / "workers.log"
    with processes() as started:
        doomed = start_worker(started, settings, log)
        wait_for(lambda: len(slow_smtp.messages) >= 5, 30, "the first worker sends")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        killed_at = utcnow()
        at_kill = by_status(app)
        held = sent_at_of(app, OutboxStatus.SENDING)
        received_at_kill = sum(received(slow_smtp).values())
        start_worker(started, settings, log)
        took = wait_for(
            lambda: by_status(app).get(OutboxStatus.SENT, 0) == len(addresses),
            ALL_DELIVERED_WITHIN,
            "every email sent after the kill",
        )
    counts = received(slow_smtp)
    after_kill = [at for at in sent_at_of(app, OutboxStatus.SENT).values() if at > killed_at]
    held_sent = [sent_at_of(app, OutboxStatus.SENT)[row_id] for row_id in held]
    print(
        f"\nkill: received {received_at_kill}, recorded sent {at_kill.get('sent', 0)}, "
        f"held by the killed round {len(held)}; the next worker's first email "
        f"{(min(after_kill) - killed_at).total_seconds():.1f} s after the kill, the last held "
        f"one {(max(held_sent) - killed_at).total_seconds():.1f} s, all {len(addresses)} "
        f"{took:.1f} s; duplicates {duplicates(counts)}"
    )
    # Only the email in flight at the kill may be sent but not recorded.
    assert received_at_kill - at_kill.get(OutboxStatus.SENT, 0) <= 1
    assert held  # the kill did catch a round
    assert set(counts) == set(addresses)
    assert duplicates(counts) <= 1
    assert by_status(app) == {OutboxStatus.SENT: len(addresses)}
    assert_no_address_in(log)


def test_several_workers_with_claims_shorter_than_a_round_send_each_email_once(
    make_app, slow_smtp, tmp_path
):
    """A round of 20 emails takes over a second; the claim lasts half a second: only the
    heartbeat keeps the other workers off the rows of a live round."""
    app = make_app(MAIL_URL=slow_smtp.url)
    addresses = queue_backlog(app, 90)
    settings = settings_for(app, slow_smtp, OUTBOX_CLAIM_SECONDS=0.5)
    log = tmp_path / "workers.log"
    with processes() as started:
        for _ in range(3):
            start_worker(started, settings, log)
        took = wait_for(
            lambda: by_status(app).get(OutboxStatus.SENT, 0) == len(addresses),
            ALL_DELIVERED_WITHIN,
            "every email sent",
        )
        time.sleep(1.0)  # a worker that wrongly took a live round's rows would send them now
    counts = received(slow_smtp)
    print(
        f"\nthree workers: {len(addresses)} sent in {took:.1f} s, duplicates {duplicates(counts)}"
    )
    assert counts == Counter(addresses)


def test_sigterm_stops_outbox_work_after_the_current_email(make_app, slow_smtp, tmp_path):
    """With a backlog of 30 seconds' worth, SIGTERM ends the command at once: what it sent is
    recorded, what it held goes back to the queue, due now and without a spent attempt."""
    app = make_app(MAIL_URL=slow_smtp.url)
    addresses = queue_backlog(app, 600)
    settings = settings_for(app, slow_smtp, OUTBOX_CLAIM_SECONDS=60.0)
    log = tmp_path / "worker.log"
    with processes() as started:
        worker = start_worker(started, settings, log)
        wait_for(lambda: len(slow_smtp.messages) >= 5, 30, "the worker sends")
        asked = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(ALL_DELIVERED_WITHIN)
        finally:
            stopped_in = time.monotonic() - asked
    counts = received(slow_smtp)
    statuses = by_status(app)
    print(
        f"\nSIGTERM: exited {stopped_in:.2f} s after the signal with {sum(counts.values())} sent "
        f"of {len(addresses)}; rows {statuses}"
    )
    assert worker.returncode == 0
    assert stopped_in < 10.0  # generous (a loaded machine); the backlog alone takes 30 s
    assert duplicates(counts) == 0
    assert statuses.get(OutboxStatus.SENT, 0) == sum(counts.values())  # each sent one recorded
    assert OutboxStatus.SENDING not in statuses  # nothing left claimed
    with app.app_context():
        waiting = db.session.scalars(
            select(OutboxEmail).where(OutboxEmail.status == OutboxStatus.QUEUED)
        ).all()
        assert len(waiting) == len(addresses) - sum(counts.values())
        assert {row.attempts for row in waiting} == {0}
        assert all(row.next_attempt_at <= utcnow() for row in waiting)
    assert "Stopped." in log.read_text()
    assert_no_address_in(log)


# --- gunicorn -----------------------------------------------------------------------------------


def sign_over_http(base: str, emails: list[str]) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    letter = f"{base}/letters/{G20}"
    for email in emails:
        with opener.open(letter, timeout=HTTP_TIMEOUT) as answer:
            page = answer.read().decode()
        fields = valid_fields(email=email, csrf_token=csrf_token(page))
        data = urllib.parse.urlencode(fields).encode()
        with opener.open(f"{letter}/sign", data=data, timeout=HTTP_TIMEOUT) as answer:
            assert answer.status == 200  # "check your email", after the 303


def serving(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/", timeout=HTTP_TIMEOUT) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def no_control_socket() -> list[str]:
    """Newer gunicorns open a control socket at a per-user path that any other gunicorn on the
    machine shares; the test's server needs none."""
    from gunicorn.config import KNOWN_SETTINGS

    flags = [flag for setting in KNOWN_SETTINGS for flag in (setting.cli or [])]
    return ["--no-control-socket"] if "--no-control-socket" in flags else []


def test_gunicorn_reloads_and_stops_leave_no_email_claimed(make_app, slow_smtp, tmp_path):
    """The worker thread of each gunicorn worker stops with its process (SIGHUP replaces the
    workers, SIGTERM stops the server): every email it sent is recorded, every other one it
    held is back in the queue, none was sent twice."""
    app = make_app(MAIL_URL=slow_smtp.url)
    backlog = queue_backlog(app, 300)
    settings = settings_for(app, slow_smtp, OUTBOX_WORKER="thread", OUTBOX_CLAIM_SECONDS=60.0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "20",
        *no_control_socket(),
        f"petitions:create_app({settings!r})",
    ]
    signers: list[str] = []

    def sign_some(count: int) -> None:
        emails = [f"http{len(signers) + i:03d}@example.org" for i in range(count)]
        sign_over_http(base, emails)  # the first requests start each worker's outbox thread
        signers.extend(emails)

    with processes() as started, log.open("ab") as output:
        master = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        started.append(master)
        wait_for(lambda: serving(base), 30, "gunicorn serves")
        for reload in range(2):
            sign_some(8)
            before = len(slow_smtp.messages)
            wait_for(lambda: len(slow_smtp.messages) >= before + 5, 30, "the workers send")
            master.send_signal(signal.SIGHUP)
            time.sleep(1.0)  # new workers boot; the old ones are stopped
        sign_some(8)
        before = len(slow_smtp.messages)
        wait_for(lambda: len(slow_smtp.messages) >= before + 5, 30, "the new workers send")
        master.send_signal(signal.SIGTERM)
        master.wait(60)
    counts = received(slow_smtp)
    statuses = by_status(app)
    print(
        f"\ngunicorn: {sum(counts.values())} sent of {len(backlog) + len(signers)} through two "
        f"reloads and a stop; rows {statuses}; duplicates {duplicates(counts)}"
    )
    assert OutboxStatus.SENDING not in statuses
    assert statuses.get(OutboxStatus.SENT, 0) == sum(counts.values())
    assert duplicates(counts) == 0
    assert_no_address_in(log)
