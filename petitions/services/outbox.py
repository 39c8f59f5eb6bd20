"""The durable outbox: emails are rows written with what caused them, delivered after the commit.

Delivery claims rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional UPDATE everywhere),
sends them, and records the outcome. Temporary failures come back later with backoff; permanent
ones are marked failed for staff to see. A worker killed mid-send leaves a claim that expires, so
its rows are sent by another worker: delivery is at least once, and twice only after such a crash.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import Flask, current_app, has_app_context, render_template
from flask_babel import force_locale
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session

from petitions.database import write_intent
from petitions.extensions import db
from petitions.models import OutboxEmail, OutboxStatus, utcnow
from petitions.services.mail_transport import (
    PermanentFailure,
    TemporaryFailure,
    Transport,
    transport_from_url,
)

log = logging.getLogger(__name__)
_PENDING_KEY = "petitions.outbox_pending"


def queue_email(
    *,
    recipient: str,
    purpose: str,
    template: str,
    subject: str,
    language: str,
    context: dict[str, object],
    signature_id: int | None = None,
) -> OutboxEmail:
    """Render ``templates/email/<template>.txt|html`` in ``language`` and add it to the outbox.

    The row joins the caller's transaction: it is sent only if that transaction commits.
    """
    with force_locale(language):
        text_body = render_template(f"email/{template}.txt", **context)
        html_body = render_template(f"email/{template}.html", **context)
    email = OutboxEmail(
        recipient=recipient,
        purpose=purpose,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        signature_id=signature_id,
    )
    db.session.add(email)
    db.session.info[_PENDING_KEY] = True
    return email


def build_message(email: OutboxEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text_body)
    message.add_alternative(email.html_body, subtype="html")
    return message


def _due(now: object) -> object:
    return or_(
        and_(OutboxEmail.status == OutboxStatus.QUEUED, OutboxEmail.next_attempt_at <= now),
        and_(OutboxEmail.status == OutboxStatus.SENDING, OutboxEmail.claimed_until < now),
    )


def claim_due(limit: int = 20) -> list[int]:
    """Claim up to ``limit`` due emails for this worker, committing the claim at once."""
    now = utcnow()
    claim_until = now + timedelta(seconds=current_app.config["OUTBOX_CLAIM_SECONDS"])
    with write_intent():
        query = (
            select(OutboxEmail.id)
            .where(_due(now))
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
            .limit(limit)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for email_id in db.session.scalars(query).all():
            result = db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id == email_id, _due(now))
                .values(
                    status=OutboxStatus.SENDING,
                    claimed_until=claim_until,
                    attempts=OutboxEmail.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(email_id)
        db.session.commit()
    return claimed


def retry_delay(attempts: int) -> timedelta:
    base = current_app.config["OUTBOX_RETRY_BASE_SECONDS"]
    ceiling = current_app.config["OUTBOX_RETRY_MAX_SECONDS"]
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


def _record(email_id: int, **values: object) -> None:
    with write_intent():
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == email_id, OutboxEmail.status == OutboxStatus.SENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


@dataclass(frozen=True)
class DeliveryRound:
    claimed: int
    sent: int


def deliver_due(transport: Transport | None = None, limit: int = 20) -> DeliveryRound:
    """Send what is due now. Safe to run in many threads and processes at once."""
    own_transport = transport is None
    transport = transport or configured_transport()
    sent = 0
    claimed = claim_due(limit)
    try:
        for email_id in claimed:
            email = db.session.get(OutboxEmail, email_id)
            if email is None:
                continue
            attempts = email.attempts
            message = build_message(email, current_app.config["MAIL_FROM"])
            db.session.rollback()  # end the read transaction before the slow network part
            try:
                transport.send(message)
            except PermanentFailure as error:
                log.warning("email %s failed permanently: %s", email_id, error)
                _record(email_id, status=OutboxStatus.FAILED, last_error=str(error)[:500])
            except TemporaryFailure as error:
                gave_up = attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
                log.info("email %s not sent yet (attempt %s): %s", email_id, attempts, error)
                _record(
                    email_id,
                    status=OutboxStatus.FAILED if gave_up else OutboxStatus.QUEUED,
                    next_attempt_at=utcnow() + retry_delay(attempts),
                    claimed_until=None,
                    last_error=str(error)[:500],
                )
            else:
                _record(email_id, status=OutboxStatus.SENT, sent_at=utcnow(), claimed_until=None)
                sent += 1
    finally:
        if own_transport:
            transport.close()
    return DeliveryRound(claimed=len(claimed), sent=sent)


def configured_transport() -> Transport:
    return transport_from_url(current_app.config["MAIL_URL"], current_app.config["SMTP_TIMEOUT"])


def deliver_all_due(limit: int = 20) -> int:
    """Deliver until nothing is due now, over one transport; return how many were sent."""
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
    pick up retries and other processes' rows.
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
                self.thread = threading.Thread(target=self._run, name="outbox-worker", daemon=True)
                self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def run_forever(self) -> None:
        """The body of ``flask outbox work``: the same loop in the foreground."""
        self._run()

    def _run(self) -> None:
        from petitions.services.letters import close_expired_letters

        poll = self.app.config["OUTBOX_POLL_SECONDS"]
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    close_expired_letters()
                    deliver_all_due()
            except Exception:
                log.exception("outbox delivery round failed; retrying")
            self.wake.wait(poll)
            self.wake.clear()


def _wake_worker(session: Session) -> None:
    if session.info.pop(_PENDING_KEY, False) and has_app_context():
        worker = current_app.extensions.get("petitions.outbox")
        if worker is not None:
            worker.wake.set()


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


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
