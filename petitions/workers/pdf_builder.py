"""Builds a delivery PDF asked for through :mod:`petitions.services.exports.pdf_jobs`.

It runs in a background job or, for short lists, right in the request after its commit, and
owns its transactions (like the outbox's runner) because it reports progress while it works.
A worker claims a queued export once; a replaced export's late worker writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from typing import IO

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import rowcount, write_intent
from petitions.models.exports import ExportStatus, ListedEntry, PdfExport, PdfExportChunk
from petitions.models.staff import StaffUser
from petitions.services.exports.delivery_document import PdfOptions, front_matter, plan_list
from petitions.services.exports.digest import LIST_FILE_DESCRIPTION, LIST_FILE_MIME, LIST_FILE_NAME
from petitions.services.exports.pdf_jobs import CHUNK_BYTES
from petitions.services.exports.pdf_model import Attachment
from petitions.services.outbox import queue_email
from petitions.web.links import link_base, url_on

log = logging.getLogger(__name__)


def _claim(export_id: int) -> bool:
    """Move a queued export to running; only one worker ever wins it.

    A stalled export is never claimed again: its worker may be slow rather than dead, and two
    workers on one export would overwrite each other's file. ``request_pdf`` replaces it by a
    new export instead, and :func:`_still_mine` stops the old worker from writing.
    """
    with write_intent():
        claimed = rowcount(
            db.session.execute(
                update(PdfExport)
                .where(PdfExport.id == export_id, PdfExport.status == ExportStatus.QUEUED)
                .values(status=ExportStatus.RUNNING, heartbeat_at=utcnow(), progress_done=0)
                .execution_options(synchronize_session=False)
            )
        )
        db.session.commit()
    return bool(claimed)


class ClaimLost(Exception):
    """The export was replaced while this worker was silent: stop, write nothing."""


def _still_mine(export_id: int, **values: object) -> None:
    """Write ``values`` (at least a heartbeat) to a running export, or raise ClaimLost.

    The caller's transaction stays open: in :func:`_store` the row is then locked (PostgreSQL)
    or the database is (SQLite) until the file is in, so no replacement slips in between.
    """
    changed = rowcount(
        db.session.execute(
            update(PdfExport)
            .where(PdfExport.id == export_id, PdfExport.status == ExportStatus.RUNNING)
            .values(heartbeat_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
    )
    if not changed:
        raise ClaimLost(export_id)


def _progress(export_id: int, done: int, total: int) -> None:
    # The render reads rows between two reports: end that reading transaction first. On SQLite a
    # reader that then writes fails at once if another writer (the outbox) committed meanwhile.
    db.session.commit()
    with write_intent():
        _still_mine(export_id, progress_done=done, progress_total=total)
        db.session.commit()


def build_pdf(export_id: int, *, notify: bool = False) -> None:
    """Build one export's PDF and store it; harmless to call again for the same export.

    ``notify``: email the staff member who asked once it is ready (a background job: they may
    have left the page).
    """
    if not _claim(export_id):
        return
    try:
        _build(export_id, notify)
    except ClaimLost:
        db.session.rollback()
        log.warning("delivery PDF %s was replaced while its worker was silent", export_id)
    except Exception as error:
        reason = "list_changed" if isinstance(error, ListChanged) else "failed"
        log.exception("building delivery PDF %s failed (%s)", export_id, reason)
        db.session.rollback()
        with write_intent():
            db.session.execute(
                update(PdfExport)
                .where(PdfExport.id == export_id, PdfExport.status == ExportStatus.RUNNING)
                .values(status=ExportStatus.FAILED, error=reason, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            db.session.commit()


def _build(export_id: int, notify: bool) -> None:
    # Typst, pikepdf and segno load here, in the process that renders, not in every web process.
    from petitions.services.exports.pdf_typst import release_memory, render_delivery_pdf

    export = db.session.get(PdfExport, export_id)
    assert export is not None
    letter = export.letter
    options = PdfOptions.from_json(export.options)
    requester = export.requested_by_id if notify else None
    slug = letter.slug
    language = export.notify_language or current_app.config["BABEL_DEFAULT_LOCALE"]
    base_url = export.notify_base_url
    # The digested list goes to a temporary file (gone when closed, even after a crash), not
    # memory: the PDF carries it as ``signatories.jsonl`` for anyone to recompute the digest.
    with tempfile.TemporaryFile() as listing, tempfile.TemporaryFile() as spool:
        plan = plan_list(letter, options, current_app.config["SECRET_KEY"], listing)
        front = front_matter(letter, plan, export.verify_url)
        db.session.commit()  # end the reading transaction before the long render
        _store_entries(export_id, plan.entries)
        plan.entries.clear()  # in the database now; not held through the render
        release_memory()

        printed: list[bytes] = []
        pages = render_delivery_pdf(
            front,
            plan.rows(plan.organisation_ids, printed),
            plan.rows(plan.individual_ids, printed),
            spool,
            total_rows=plan.total,
            progress=lambda done, total: _progress(export_id, done, total),
            list_file=Attachment(LIST_FILE_NAME, LIST_FILE_MIME, LIST_FILE_DESCRIPTION, listing),
        )
        if not plan.matches(printed):
            raise ListChanged(export_id)
        _store(
            export_id,
            spool,
            _ReadyNotice(
                requester,
                slug,
                front.title,
                language,
                base_url,
                pages,
                plan.total,
            ),
            status=ExportStatus.READY,
            finished_at=utcnow(),
            count_organisations=len(plan.organisation_ids),
            count_individuals=len(plan.individual_ids),
            progress_done=plan.total,
            progress_total=plan.total,
            list_digest=plan.digest,
            page_count=pages,
        )


class ListChanged(Exception):
    """A signatory's printed details changed between the digest and the render: ask again."""


def _store_entries(export_id: int, entries: set[str]) -> None:
    """The keyed (name, email) hashes, written before the render (an export only answers "was I
    listed?" once it is ready, so rows of one that then fails are never read)."""
    ordered = sorted(entries)
    with write_intent():
        _still_mine(export_id)
        db.session.execute(delete(ListedEntry).where(ListedEntry.export_id == export_id))
        for start in range(0, len(ordered), 5000):
            db.session.execute(
                insert(ListedEntry),
                [{"export_id": export_id, "entry_hash": h} for h in ordered[start : start + 5000]],
            )
        db.session.commit()


@dataclass(frozen=True)
class _ReadyNotice:
    staff_id: int | None
    slug: str
    title: str
    language: str  # the asker's, not the letter's
    base_url: str  # the site as the asker reached it; empty: PUBLIC_URL or the default
    pages: int
    rows: int


def _notify(export_id: int, notice: _ReadyNotice) -> None:
    """Queue "your PDF is ready" to the staff member who asked (in the same transaction)."""
    staff = db.session.get(StaffUser, notice.staff_id) if notice.staff_id else None
    if staff is None or not staff.is_active:
        return
    with force_locale(notice.language):
        subject = str(_l("The delivery PDF is ready: %(title)s", title=notice.title))
    queue_email(
        recipient=staff.email,
        purpose="pdf_ready",
        template="pdf_ready",
        subject=subject,
        language=notice.language,
        context={
            "title": notice.title,
            "pages": notice.pages,
            "rows": notice.rows,
            "link": url_on(
                notice.base_url or link_base(),
                "staff.exports.job",
                slug=notice.slug,
                export_id=export_id,
            ),
        },
    )


def _store(export_id: int, spool: IO[bytes], notice: _ReadyNotice, **final: object) -> None:
    """Copy the file into the database in slices, with its hash.

    One transaction: the export turns "ready" with all of its bytes or not at all, and the
    email saying so goes out only if it does.
    """
    sha = hashlib.sha256()
    size = 0
    spool.seek(0)
    with write_intent():
        _still_mine(export_id)  # first: holds the row until the file is in
        db.session.execute(delete(PdfExportChunk).where(PdfExportChunk.export_id == export_id))
        seq = 0
        while block := spool.read(CHUNK_BYTES):
            sha.update(block)
            size += len(block)
            db.session.execute(
                insert(PdfExportChunk).values(export_id=export_id, seq=seq, data=block)
            )
            seq += 1
        db.session.execute(
            update(PdfExport)
            .where(PdfExport.id == export_id, PdfExport.status == ExportStatus.RUNNING)
            .values(file_sha256=sha.hexdigest(), file_size=size, **final)
            .execution_options(synchronize_session=False)
        )
        _notify(export_id, notice)
        db.session.commit()
