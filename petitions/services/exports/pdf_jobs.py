"""Delivery PDFs as jobs: asked for once, built once, kept, served in slices.

``request_pdf`` is called by a view (it flushes); :mod:`petitions.workers.pdf_builder` builds the
file in a background job or, for short lists, right in the request after its commit.

A second click while a job is queued or running finds that job (a partial unique index makes this
hold across workers and machines). A job whose heartbeat stopped (its worker was killed) is
marked failed when someone asks again, and a new one starts.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import rowcount
from petitions.models.exports import ExportStatus, PdfExport, PdfExportChunk
from petitions.models.letters import Letter
from petitions.models.staff import StaffUser
from petitions.services import audit
from petitions.services.exports.delivery_document import PdfOptions
from petitions.services.exports.signatory_rows import count_signatures

log = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed by hand


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def _stale_before() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config["EXPORT_STALE_SECONDS"])


def active_export(letter: Letter, key: str) -> PdfExport | None:
    return db.session.scalar(
        select(PdfExport).where(
            PdfExport.letter_id == letter.id,
            PdfExport.options_key == key,
            PdfExport.status.in_([ExportStatus.QUEUED, ExportStatus.RUNNING]),
        )
    )


def request_pdf(
    letter: Letter,
    options: PdfOptions,
    requested_by: StaffUser | None,
    verify_url_for: Callable[[str], str],
    *,
    notify_language: str = "",
    notify_base_url: str = "",
) -> tuple[PdfExport, bool]:
    """Find the job already making this PDF, or queue a new one. Returns (export, is_new).

    ``notify_language`` and ``notify_base_url``: the language and site address (``scheme://host``)
    of the "ready" email to ``requested_by``, kept with the job that sends it later.
    """
    key = options.key()
    existing = active_export(letter, key)
    if existing is not None and not _stalled(existing):
        return existing, False
    if existing is not None:
        # Conditional: the silent worker may have finished (or beaten its heart) meanwhile.
        replaced = rowcount(
            db.session.execute(
                update(PdfExport)
                .where(
                    PdfExport.id == existing.id,
                    PdfExport.status == ExportStatus.RUNNING,
                    PdfExport.heartbeat_at < _stale_before(),
                )
                .values(status=ExportStatus.FAILED, error="interrupted", finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        )
        db.session.expire(existing)
        if not replaced:
            return existing, False
    code = new_code()
    organisations, individuals = count_signatures(letter.id, options.rows)
    export = PdfExport(
        code=code,
        letter_id=letter.id,
        requested_by_id=requested_by.id if requested_by is not None else None,
        options=options.to_json(),
        options_key=key,
        verify_url=verify_url_for(code),
        status=ExportStatus.QUEUED,
        progress_total=organisations + individuals,
        notify_language=notify_language,
        notify_base_url=notify_base_url,
    )
    try:
        with db.session.begin_nested():
            db.session.add(export)
    except IntegrityError:
        # Another click won the race between our look and our write.
        found = active_export(letter, key)
        if found is None:
            raise
        return found, False
    audit.record(
        "export.pdf_requested",
        obj=export,
        letter_id=letter.id,
        actor=requested_by,
        details={**options.to_json(), "rows": export.progress_total},
    )
    return export, True


def _stalled(export: PdfExport) -> bool:
    beat = export.heartbeat_at or export.created_at
    return export.status == ExportStatus.RUNNING and beat < _stale_before()


def pdf_bytes(export: PdfExport) -> Iterator[bytes]:
    """The stored file, one slice at a time, each read in a transaction of its own: a slow
    download holds no transaction (nor, on PostgreSQL, a pooled connection) while it waits."""
    export_id = export.id
    seq = 0
    while True:
        block = db.session.scalar(
            select(PdfExportChunk.data).where(
                PdfExportChunk.export_id == export_id, PdfExportChunk.seq == seq
            )
        )
        db.session.rollback()
        if block is None:
            return
        yield bytes(block)
        seq += 1


def letter_exports(letter: Letter, *, ready_only: bool = False, limit: int = 20) -> list[PdfExport]:
    """The letter's newest PDF exports (only the finished ones: those a delivery can point at)."""
    query = select(PdfExport).where(PdfExport.letter_id == letter.id)
    if ready_only:
        query = query.where(PdfExport.status == ExportStatus.READY)
    return list(db.session.scalars(query.order_by(PdfExport.id.desc()).limit(limit)))
