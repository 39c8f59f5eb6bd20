"""A request is one unit of work: committed once when the view has answered, else rolled back.

Views and services never commit. When the view returns, :func:`_finish` commits what the request
wrote if the answer is a success (below 400), and rolls it back otherwise: a refusal shown on a
form (400, 409 …) leaves nothing half-done; so does one that redirects with a flashed refusal and
says so with :func:`refused`. A view whose refusal must still leave a trace (a
failed login in the audit trail) says so with :func:`keep_writes_on_refusal`. An exception rolls
back (the error handlers do, and the teardown makes sure). Indico's request handler works so.

Only a request that wrote is committed or rolled back here; a read leaves its transaction to the
session's teardown, so a streamed download keeps reading in the snapshot it began with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from petitions.extensions import db
from petitions.models.database import read_phase

WROTE = "petitions.wrote"


@contextlib.contextmanager
def reading_first() -> Iterator[None]:
    """Read and check in this block, then write after it, in a transaction of its own.

    On SQLite a request that writes begins ``BEGIN IMMEDIATE``, which holds back every other
    writer; reads inside this block begin a plain transaction instead, and it ends with the block,
    so the write lock is taken only by the writes that follow. PostgreSQL is unaffected.
    """
    with read_phase():
        try:
            yield
        finally:
            db.session.rollback()


def refused() -> None:
    """This request was refused although it answers with a redirect (a flashed message):
    undo what it wrote."""
    g.refused = True


def keep_writes_on_refusal() -> None:
    """Commit this request's writes even though it answers with a refusal (4xx)."""
    g.keep_writes_on_refusal = True


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


def _note_flush(session: Session, _context: Any) -> None:
    session.info[WROTE] = True


def _forget(session: Session) -> None:
    session.info.pop(WROTE, None)


def _finish(response: Response) -> Response:
    session = db.session()
    if not (session.info.get(WROTE) or session.new or session.dirty or session.deleted):
        return response
    success = response.status_code < 400 and not g.get("refused")
    if success or g.get("keep_writes_on_refusal"):
        db.session.commit()
    else:
        db.session.rollback()
    return response


def _roll_back_on_error(error: BaseException | None) -> None:
    if error is not None:
        db.session.rollback()


def init_unit_of_work(app: Flask) -> None:
    if not event.contains(db.session, "do_orm_execute", _note_statement):
        event.listen(db.session, "do_orm_execute", _note_statement)
        event.listen(db.session, "after_flush", _note_flush)
        event.listen(db.session, "after_commit", _forget)
        event.listen(db.session, "after_rollback", _forget)
    app.after_request(_finish)
    app.teardown_request(_roll_back_on_error)
