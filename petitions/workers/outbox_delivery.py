"""Sending the outbox: claim due rows, send them, record what happened; and the worker thread.

This is a runner, like the command line: it owns its transactions. Many may run at once, in
threads, processes and machines:
- a claim marks rows "sending" with a per-round token (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
  a conditional UPDATE everywhere), and only the holder of that token may record the outcome;
- a claim is short (``OUTBOX_CLAIM_SECONDS``) and a heartbeat renews it while its round runs, so
  the rows of a worker that dies (killed, its machine or database connection gone) go out from
  another worker within that time, not after the whole batch's worst case;
- each email's outcome is written as soon as it is known, in its own short transaction: a round
  that ends abruptly sends again at most the one email it was sending (delivery is at least
  once; twice only after such a crash);
- a round asked to stop (SIGTERM, a web process exiting) stops after the current email and
  hands back the rows it has not tried, due at once for any other worker;
- a server that cannot be reached, or refuses our login, ends the round and puts the rest of the
  batch back with backoff: the queue waits for the server instead of failing email by email;
- a 5xx for one message or recipient fails that email for good, for staff to see.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import ColumnElement, and_, event, or_, select, update
from sqlalchemy.orm import Session

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import rowcount, unit_of_work
from petitions.models.outbox import OutboxEmail, OutboxStatus
from petitions.services.mail_transport import (
    ConnectionFailure,
    PermanentFailure,
    Transport,
    transport_from_url,
)
from petitions.services.outbox import PENDING_KEY, build_message, sender_address
from petitions.workers.letter_closing import close_expired
from petitions.workers.mail_rate import wait_for_slot

log = logging.getLogger(__name__)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxEmail.status == OutboxStatus.QUEUED, OutboxEmail.next_attempt_at <= now),
        and_(OutboxEmail.status == OutboxStatus.SENDING, OutboxEmail.claimed_until < now),
    )


@dataclass(frozen=True)
class Claim:
    token: str
    emails: list[OutboxEmail]

    @property
    def ids(self) -> list[int]:
        return [email.id for email in self.emails]


def _hold() -> timedelta:
    """How long a claim lasts without news from its round (renewed by the heartbeat)."""
    return timedelta(seconds=float(current_app.config["OUTBOX_CLAIM_SECONDS"]))


def claim_due(limit: int) -> Claim:
    """Claim up to ``limit`` due emails for this round and read them, in one short transaction."""
    now = utcnow()
    token = secrets.token_hex(8)
    with unit_of_work():
        query = (
            select(OutboxEmail.id)
            .where(_due(now))
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
            .limit(limit)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        candidates = db.session.scalars(query).all()
        emails: list[OutboxEmail] = []
        if candidates:
            # Re-checking "due" makes the claim safe where SKIP LOCKED does not exist.
            db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id.in_(candidates), _due(now))
                .values(
                    status=OutboxStatus.SENDING,
                    claimed_until=now + _hold(),
                    claim_token=token,
                    attempts=OutboxEmail.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            emails = list(
                db.session.scalars(
                    select(OutboxEmail)
                    .where(OutboxEmail.claim_token == token)
                    .order_by(OutboxEmail.id)
                    .execution_options(populate_existing=True)
                )
            )
            for email in emails:
                db.session.expunge(email)  # keep what was read; the commit would expire it
    return Claim(token, emails)


def retry_delay(attempts: int) -> timedelta:
    base = current_app.config["OUTBOX_RETRY_BASE_SECONDS"]
    ceiling = current_app.config["OUTBOX_RETRY_MAX_SECONDS"]
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


# What a sent or abandoned email keeps: not its bodies, whose links (confirmation, withdrawal,
# staff invitation) would otherwise stay usable by anyone reading a copy of the database.
FORGET_BODIES = {"text_body": "", "html_body": ""}


def _still_ours(claim: Claim, email_ids: list[int]) -> ColumnElement[bool]:
    """The guard of every write a round makes: rows it claimed and nobody has taken over since."""
    return and_(
        OutboxEmail.id.in_(email_ids),
        OutboxEmail.status == OutboxStatus.SENDING,
        OutboxEmail.claim_token == claim.token,
    )


def _write(claim: Claim, email_ids: list[int], **values: object) -> int:
    """Apply ``values`` to the rows this round still holds, in a transaction of its own."""
    if not email_ids:
        return 0
    with unit_of_work():
        return rowcount(
            db.session.execute(
                update(OutboxEmail)
                .where(_still_ours(claim, email_ids))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        )


def _record(claim: Claim, email_ids: list[int], **values: object) -> int:
    """Write an outcome, only for rows this round still holds; return how many it held."""
    if values.get("status") in (OutboxStatus.SENT, OutboxStatus.FAILED):
        values = {**values, **FORGET_BODIES}
    return _write(claim, email_ids, claimed_until=None, claim_token=None, **values)


def renew(claim: Claim) -> int:
    """Extend the claim on the round's unfinished rows (the heartbeat); return how many."""
    return _write(claim, claim.ids, claimed_until=utcnow() + _hold())


def release(claim: Claim, email_ids: list[int]) -> int:
    """Hand back rows the round did not try: due at once, and their claim's attempt undone."""
    return _write(
        claim,
        email_ids,
        status=OutboxStatus.QUEUED,
        claimed_until=None,
        claim_token=None,
        attempts=OutboxEmail.attempts - 1,
    )


def _retry_later(claim: Claim, emails: list[OutboxEmail], error: Exception) -> int:
    """Put rows back with backoff, each by its own count of attempts; return how many it held."""
    limit = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    held = 0
    for email in emails:
        held += _record(
            claim,
            [email.id],
            status=OutboxStatus.FAILED if email.attempts >= limit else OutboxStatus.QUEUED,
            next_attempt_at=utcnow() + retry_delay(email.attempts),
            last_error=str(error)[:500],
        )
    return held


class Heartbeat:
    """Renews a round's claim every third of ``OUTBOX_CLAIM_SECONDS`` while the round runs.

    A thread, so that one slow message (an SMTP exchange may wait out several timeouts) does not
    let the claim lapse; it dies with its process, and then the claim runs out.
    """

    def __init__(self, app: Flask, claim: Claim) -> None:
        self.app = app
        self.claim = claim
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="outbox-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _beat(self) -> None:
        interval = float(self.app.config["OUTBOX_CLAIM_SECONDS"]) / 3
        while not self.done.wait(interval):
            try:
                with self.app.app_context():
                    if renew(self.claim) == 0:
                        return  # nothing left to hold
            except Exception as error:  # the database is away: try again at the next beat
                log.warning("outbox heartbeat failed: %s", type(error).__name__)


@dataclass(frozen=True)
class DeliveryRound:
    claimed: int
    sent: int


def deliver_due(
    transport: Transport | None = None, limit: int = 20, stop: threading.Event | None = None
) -> DeliveryRound:
    """Claim and send what is due now, over ``transport`` (else a connection of its own).

    Each email's outcome is recorded once known. When ``stop`` is set, the round ends after the
    current email and releases the rest; so it does when it finds its claim taken over.
    """
    if transport is None:
        own = configured_transport()
        try:
            return deliver_due(own, limit, stop)
        finally:
            own.close()
    claim = claim_due(limit)
    if not claim.emails:
        return DeliveryRound(claimed=0, sent=0)
    sender = sender_address(current_app.config)
    untried = list(claim.emails)
    sent = 0
    try:
        with Heartbeat(current_app._get_current_object(), claim):  # type: ignore[attr-defined]
            while untried and not (stop is not None and stop.is_set()):
                wait_for_slot(stop)
                if stop is not None and stop.is_set():
                    break
                row = untried.pop(0)
                try:
                    transport.send(build_message(row, sender))
                except ConnectionFailure as error:
                    log.warning("SMTP server unavailable (%s); retrying the batch later", error)
                    rest, untried = [row, *untried], []
                    _retry_later(claim, rest, error)
                    break
                except PermanentFailure as error:
                    log.warning("email %s failed permanently: %s", row.id, error)
                    held = _record(
                        claim, [row.id], status=OutboxStatus.FAILED, last_error=str(error)[:500]
                    )
                except Exception as error:  # temporary, or a fault of ours: this email only
                    log.info("email %s not sent yet (attempt %s): %s", row.id, row.attempts, error)
                    held = _retry_later(claim, [row], error)
                else:
                    sent += 1
                    held = _record(claim, [row.id], status=OutboxStatus.SENT, sent_at=utcnow())
                if not held:
                    # Our claim lapsed and another round took the row: it holds the rest too.
                    log.warning("outbox round lost its claim to another worker; stopping it")
                    break
    finally:
        if untried:
            with contextlib.suppress(Exception):  # the database is away: the claim runs out
                release(claim, [row.id for row in untried])
    return DeliveryRound(claimed=len(claim.ids), sent=sent)


def configured_transport() -> Transport:
    return transport_from_url(current_app.config["MAIL_URL"], current_app.config["SMTP_TIMEOUT"])


def deliver_all_due(limit: int = 20, stop: threading.Event | None = None) -> int:
    """Deliver until nothing is due now (or ``stop`` is set), over one connection; return how
    many were sent."""
    transport = configured_transport()
    total = 0
    try:
        while stop is None or not stop.is_set():
            result = deliver_due(transport, limit, stop)
            total += result.sent
            if result.claimed < limit:
                break
        return total
    finally:
        transport.close()


# How long a web process's exit waits for the email being sent (gunicorn allows 30 s).
STOP_WAIT_SECONDS = 10.0


class OutboxWorker:
    """A background thread in a web process that delivers the outbox after each commit.

    It wakes when a transaction that queued email commits, and every ``OUTBOX_POLL_SECONDS`` to
    pick up retries and other processes' rows. The same loop runs ``flask outbox work``.
    When its process exits normally (a gunicorn worker stopped or reloaded, the interpreter
    shutting down) an ``atexit`` hook stops it after the email it is sending, releasing the rest.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._exit_hook = False

    def start(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        with self._starting:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self.run_forever, name="outbox-worker", daemon=True
                )
                self.thread.start()
                if not self._exit_hook:
                    # A daemon thread is not waited for; without this the process would end
                    # mid-round and leave its rows claimed until the claim runs out.
                    atexit.register(self.stop, STOP_WAIT_SECONDS)
                    self._exit_hook = True

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop after the current email; return whether the thread ended within ``timeout``."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
            return not self.thread.is_alive()
        return True

    def run_forever(self) -> None:
        poll = self.app.config["OUTBOX_POLL_SECONDS"]
        gather = self.app.config["OUTBOX_GATHER_SECONDS"]
        next_deadline_check = 0.0
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    if time.monotonic() >= next_deadline_check:
                        close_expired()
                        next_deadline_check = time.monotonic() + poll
                    deliver_all_due(stop=self.stopping)
            except Exception:
                log.exception("outbox delivery round failed; retrying")
            if self.wake.wait(poll) and not self.stopping.is_set():
                # Let the emails of simultaneous requests arrive, to send them in one round.
                time.sleep(gather)
            self.wake.clear()


def _wake_worker(session: Session) -> None:
    if session.info.pop(PENDING_KEY, False) and has_app_context():
        worker = current_app.extensions.get("petitions.outbox")
        if worker is not None:
            worker.wake.set()


def _forget_pending(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def init_outbox(app: Flask) -> None:
    """Wake this process's worker after commits that queued email; start it in thread mode."""
    worker = OutboxWorker(app)
    app.extensions["petitions.outbox"] = worker
    if not event.contains(db.session, "after_commit", _wake_worker):
        event.listen(db.session, "after_commit", _wake_worker)
        event.listen(db.session, "after_rollback", _forget_pending)
    if app.config["OUTBOX_WORKER"] == "thread":
        # Started by the first request, so commands (`flask db upgrade`…) never start it, and a
        # server that forks after loading the app starts one in each worker process.
        app.before_request(worker.start)
