"""Sending the outbox: claim due rows, send them, record what happened; and the worker thread.

This is a runner, like the command line: it owns its transactions. Many may run at once, in
threads, processes and machines:
- a claim marks rows "sending" with a per-round token (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
  a conditional UPDATE everywhere), and only the holder of that token may record the outcome;
- a claim expires, so rows of a worker killed mid-send go out from another worker (delivery is
  at least once; twice only after such a crash);
- a server that cannot be reached, or refuses our login, ends the round and puts the rest of the
  batch back with backoff: the queue waits for the server instead of failing email by email;
- a 5xx for one message or recipient fails that email for good, for staff to see.
"""

from __future__ import annotations

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
from petitions.models.database import write_intent
from petitions.models.outbox import OutboxEmail, OutboxStatus
from petitions.services.mail_transport import (
    ConnectionFailure,
    PermanentFailure,
    Transport,
    transport_from_url,
)
from petitions.services.outbox import PENDING_KEY, build_message
from petitions.workers.letter_closing import close_expired

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


def claim_due(limit: int) -> Claim:
    """Claim up to ``limit`` due emails for this round and read them, in one short transaction."""
    now = utcnow()
    config = current_app.config
    # Long enough for a whole batch against a slow server, so no one else sends them meanwhile.
    # An SMTP exchange has several steps, each of which may wait out the timeout.
    hold = max(config["OUTBOX_CLAIM_SECONDS"], limit * config["SMTP_TIMEOUT"] * 6)
    token = secrets.token_hex(8)
    with write_intent():
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
                    claimed_until=now + timedelta(seconds=hold),
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
        db.session.commit()
    return Claim(token, emails)


def retry_delay(attempts: int) -> timedelta:
    base = current_app.config["OUTBOX_RETRY_BASE_SECONDS"]
    ceiling = current_app.config["OUTBOX_RETRY_MAX_SECONDS"]
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


# What a sent or abandoned email keeps: not its bodies, whose links (confirmation, withdrawal,
# staff invitation) would otherwise stay usable by anyone reading a copy of the database.
FORGET_BODIES = {"text_body": "", "html_body": ""}


def _record(claim: Claim, email_ids: list[int], **values: object) -> None:
    """Write an outcome, only for rows this round still holds."""
    if not email_ids:
        return
    if values.get("status") in (OutboxStatus.SENT, OutboxStatus.FAILED):
        values = {**values, **FORGET_BODIES}
    with write_intent():
        db.session.execute(
            update(OutboxEmail)
            .where(
                OutboxEmail.id.in_(email_ids),
                OutboxEmail.status == OutboxStatus.SENDING,
                OutboxEmail.claim_token == claim.token,
            )
            .values(claimed_until=None, claim_token=None, **values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _retry_later(claim: Claim, emails: list[tuple[int, int]], error: Exception) -> None:
    """Put (id, attempts) rows back with backoff, each by its own count of attempts."""
    limit = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    for email_id, attempts in emails:
        _record(
            claim,
            [email_id],
            status=OutboxStatus.FAILED if attempts >= limit else OutboxStatus.QUEUED,
            next_attempt_at=utcnow() + retry_delay(attempts),
            last_error=str(error)[:500],
        )


@dataclass(frozen=True)
class DeliveryRound:
    claimed: int
    sent: int


def deliver_due(transport: Transport | None = None, limit: int = 20) -> DeliveryRound:
    """Claim and send what is due now, over ``transport`` (else a connection of its own).

    The round's sent emails are recorded together at its end: one write instead of one per
    email. A process killed mid-round sends those again once the claim expires.
    """
    if transport is None:
        own = configured_transport()
        try:
            return deliver_due(own, limit)
        finally:
            own.close()
    claim = claim_due(limit)
    sender = current_app.config["MAIL_FROM"]
    waiting = [(row.id, row.attempts) for row in claim.emails]
    sent: list[int] = []
    try:
        for position, row in enumerate(claim.emails):
            try:
                transport.send(build_message(row, sender))
            except ConnectionFailure as error:
                log.warning("SMTP server unavailable (%s); retrying the batch later", error)
                _retry_later(claim, waiting[position:], error)
                break
            except PermanentFailure as error:
                log.warning("email %s failed permanently: %s", row.id, error)
                _record(claim, [row.id], status=OutboxStatus.FAILED, last_error=str(error)[:500])
            except Exception as error:  # temporary, or a fault of ours: this email only
                log.info("email %s not sent yet (attempt %s): %s", row.id, row.attempts, error)
                _retry_later(claim, [waiting[position]], error)
            else:
                sent.append(row.id)
    finally:
        _record(claim, sent, status=OutboxStatus.SENT, sent_at=utcnow())
    return DeliveryRound(claimed=len(claim.ids), sent=len(sent))


def configured_transport() -> Transport:
    return transport_from_url(current_app.config["MAIL_URL"], current_app.config["SMTP_TIMEOUT"])


def deliver_all_due(limit: int = 20) -> int:
    """Deliver until nothing is due now, over one connection; return how many were sent."""
    transport = configured_transport()
    total = 0
    try:
        while True:
            result = deliver_due(transport, limit)
            total += result.sent
            if result.claimed < limit:
                return total
    finally:
        transport.close()


class OutboxWorker:
    """A background thread in a web process that delivers the outbox after each commit.

    It wakes when a transaction that queued email commits, and every ``OUTBOX_POLL_SECONDS`` to
    pick up retries and other processes' rows. The same loop runs ``flask outbox work``.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def start(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        with self._starting:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self.run_forever, name="outbox-worker", daemon=True
                )
                self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)

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
                    deliver_all_due()
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
