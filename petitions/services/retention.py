"""Retention: signers' personal data goes a fixed time after a letter is closed or delivered.

A letter's data is kept until ``RETENTION_DAYS`` (or the letter's own ``retention_days``, at
most ``RETENTION_MAX_DAYS``) after the later of its closing and its last delivery. Then
:func:`run_retention` anonymises its signatures (services/anonymisation.py) in id windows,
each its own transaction sized to take about ``TARGET_SECONDS``, so signing on other letters
waits at most about one window; deletes its stored delivery PDFs and their name checks (the
digests, counts and the verification page stay, which then says when the list was deleted);
and marks the letter done.

Kill it at any moment and run it again: every window only touches rows not yet anonymised, and
a letter is marked done only after its last window, so the second run finishes the job. A run
that finds nothing to do writes nothing. Also expired here: sent or failed emails older than the
retention period, and offers of other details whose link has expired. Rate-limit counters expire
by themselves (memory or Redis, per window), and sessions are signed cookies: nothing is stored
for them on the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time

from flask import current_app
from sqlalchemy import delete, func, select, text, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import rowcount, unit_of_work
from petitions.models.exports import Delivery, ListedEntry, PdfExport, PdfExportChunk
from petitions.models.letters import Letter, LetterStatus
from petitions.models.outbox import OutboxEmail, OutboxStatus
from petitions.models.privacy import PrivacyRequest
from petitions.models.signature_changes import SignatureChange
from petitions.models.signatures import Signature
from petitions.services import audit
from petitions.services.anonymisation import anonymise_where
from petitions.services.counters import bump_public_version

# Ids per transaction to begin with; then each window is sized to take about TARGET_SECONDS,
# so that signing on other letters (SQLite: every other writer) waits at most about that long.
BATCH = 5000
MIN_BATCH = 1000
MAX_BATCH = 50_000
TARGET_SECONDS = 0.3
SQLITE_GAP_SECONDS = 0.1
SQLITE_CACHE_KIB = 256 * 1024  # for the run's connection, while it works
REQUESTS_KEPT = timedelta(days=1)


@dataclass
class LetterRetention:
    slug: str
    letter_id: int
    ended_at: datetime
    due_at: datetime
    signatures: int = 0  # anonymised (or, in a dry run, to be anonymised)
    pdfs: int = 0  # stored delivery PDFs deleted (or to be)


@dataclass
class RetentionReport:
    dry_run: bool
    letters: list[LetterRetention] = field(default_factory=list)
    emails: int = 0
    offers: int = 0
    seconds: float = 0.0

    @property
    def signatures(self) -> int:
        return sum(letter.signatures for letter in self.letters)


def retention_days(letter: Letter) -> int:
    """The letter's own period if set (capped by the site's maximum), else the site's."""
    maximum = int(current_app.config["RETENTION_MAX_DAYS"])
    if letter.retention_days is not None:
        return min(letter.retention_days, maximum)
    return min(int(current_app.config["RETENTION_DAYS"]), maximum)


def ended_at(letter: Letter, now: datetime) -> datetime | None:
    """When the letter stopped collecting for good: the later of its closing and its last
    delivery; None while it is open, a draft, or still collecting after a delivery."""
    if letter.effective_status(now) not in (LetterStatus.CLOSED, LetterStatus.DELIVERED):
        return None
    moments = [letter.closed_at]
    if letter.auto_close and letter.closes_at is not None and letter.closes_at <= now:
        moments.append(letter.closes_at)
    last_delivery = db.session.scalar(
        select(func.max(Delivery.delivered_on)).where(Delivery.letter_id == letter.id)
    )
    if last_delivery is not None:  # the end of that day, UTC
        moments.append(datetime.combine(last_delivery, day_time.max, tzinfo=UTC))
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def retention_date(letter: Letter, now: datetime | None = None) -> datetime | None:
    """When the letter's signers' data goes (None while it is still collecting)."""
    ended = ended_at(letter, now or utcnow())
    return ended + timedelta(days=retention_days(letter)) if ended is not None else None


def due_letters(now: datetime) -> list[LetterRetention]:
    found = []
    for letter in db.session.scalars(select(Letter).order_by(Letter.id)):
        ended = ended_at(letter, now)
        if ended is None:
            continue
        due = ended + timedelta(days=retention_days(letter))
        if due > now or (letter.anonymised_at is not None and letter.anonymised_at >= ended):
            continue
        found.append(LetterRetention(letter.slug, letter.id, ended, due))
    return found


def run_retention(dry_run: bool = False, now: datetime | None = None) -> RetentionReport:
    """Anonymise what is past its retention date; with ``dry_run``, only say what would go.

    Runs in an app context and commits its own transactions (call it outside a request's).
    """
    started = time.perf_counter()
    now = now or utcnow()
    report = RetentionReport(dry_run=dry_run)
    with unit_of_work():
        report.letters = due_letters(now)
    for due in report.letters:
        if dry_run:
            with unit_of_work():
                due.signatures = _remaining(due.letter_id)
                due.pdfs = len(_stored_pdfs(due.letter_id))
        else:
            _anonymise_letter(due, now)
    _expire_rows(report, now)
    report.seconds = time.perf_counter() - started
    return report


def _next_window(window: int, seconds: float) -> int:
    """Halve a window that took too long, grow one that was quick (within bounds)."""
    if seconds > TARGET_SECONDS:
        return max(MIN_BATCH, window // 2)
    if seconds < TARGET_SECONDS / 2:
        return min(MAX_BATCH, window * 2)
    return window


def _remaining(letter_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Signature)
            .where(Signature.letter_id == letter_id, Signature.anonymised_at.is_(None))
        )
        or 0
    )


def _stored_pdfs(letter_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(PdfExport.id).where(
                PdfExport.letter_id == letter_id, PdfExport.list_deleted_at.is_(None)
            )
        )
    )


def _anonymise_letter(due: LetterRetention, now: datetime) -> None:
    with unit_of_work():
        low, high = db.session.execute(
            select(func.min(Signature.id), func.max(Signature.id)).where(
                Signature.letter_id == due.letter_id
            )
        ).one()
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    window, start = BATCH, low
    while start is not None and start <= high:
        with unit_of_work():
            # The transaction begins here (SQLite: waits for the write lock), then the clock
            # runs for the work alone.
            db.session.execute(select(Letter.id).where(Letter.id == due.letter_id))
            if sqlite:  # the indexes' pages stay in memory: about a fifth less work per row
                db.session.execute(text(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"))
            began = time.perf_counter()
            done = anonymise_where(
                # "+ 0": the letter is checked row by row; the id range picks the rows by the
                # primary key (else SQLite walks the letter's whole index for every window).
                Signature.letter_id + 0 == due.letter_id,
                Signature.id >= start,
                Signature.id < start + window,
            )
            if done:  # cached pages of the letter show the shorter list at once
                bump_public_version([due.letter_id])
            took = time.perf_counter() - began
        due.signatures += done
        start += window
        window = _next_window(window, took)
        if sqlite:
            # SQLite has one writer: a signer waiting for the lock polls every 100 ms at most,
            # so leave it a gap between windows.
            time.sleep(SQLITE_GAP_SECONDS)
    with unit_of_work():
        if sqlite:
            db.session.execute(text("PRAGMA cache_size=-2000"))  # SQLite's default again
        # Rows written since the windows were chosen (a letter reopened meanwhile): caught up
        # here; the letter is marked done in the same transaction.
        due.signatures += anonymise_where(
            Signature.letter_id == due.letter_id, Signature.id > (high or 0)
        )
        exports = _stored_pdfs(due.letter_id)
        if exports:
            db.session.execute(delete(PdfExportChunk).where(PdfExportChunk.export_id.in_(exports)))
            db.session.execute(delete(ListedEntry).where(ListedEntry.export_id.in_(exports)))
            db.session.execute(
                update(PdfExport).where(PdfExport.id.in_(exports)).values(list_deleted_at=now)
            )
        due.pdfs = len(exports)
        db.session.execute(
            update(Letter)
            .where(Letter.id == due.letter_id)
            .values(anonymised_at=now, public_version=Letter.public_version + 1)
        )
        audit.record(
            "retention.anonymised",
            letter_id=due.letter_id,
            details={
                "signatures": due.signatures,
                "pdfs_deleted": due.pdfs,
                "ended_at": due.ended_at.isoformat(),
                "retention_days": (due.due_at - due.ended_at).days,
            },
        )


def _expire_rows(report: RetentionReport, now: datetime) -> None:
    """Emails sent (or given up) longer ago than the retention period, and expired offers."""
    emails_before = now - timedelta(days=int(current_app.config["RETENTION_DAYS"]))
    offers_before = now - timedelta(seconds=int(current_app.config["CONFIRM_MAX_AGE"]))
    old_emails = (
        OutboxEmail.status.in_([OutboxStatus.SENT, OutboxStatus.FAILED]),
        OutboxEmail.created_at < emails_before,
    )
    old_offers = (SignatureChange.mailed_at < offers_before,)
    with unit_of_work():
        if report.dry_run:
            count = select(func.count())
            report.emails = (
                db.session.scalar(count.select_from(OutboxEmail).where(*old_emails)) or 0
            )
            report.offers = (
                db.session.scalar(count.select_from(SignatureChange).where(*old_offers)) or 0
            )
            return
        report.offers = rowcount(db.session.execute(delete(SignatureChange).where(*old_offers)))
        # Erasure and access requests (keyed hashes, for the quiet period): a day is plenty.
        db.session.execute(delete(PrivacyRequest).where(PrivacyRequest.at < now - REQUESTS_KEPT))
    while True:  # in batches: a year of emails must not hold SQLite's write lock for long
        with unit_of_work():
            batch = select(OutboxEmail.id).where(*old_emails).limit(BATCH).scalar_subquery()
            deleted = rowcount(
                db.session.execute(delete(OutboxEmail).where(OutboxEmail.id.in_(batch)))
            )
        report.emails += deleted
        if deleted < BATCH:
            break
    with unit_of_work():
        if report.emails or report.offers:
            audit.record(
                "retention.expired",
                details={"emails": report.emails, "offers": report.offers},
            )
