"""A review of exports, PDF jobs, deliveries and the verification page, on the real thing: access,
abuse of the public page (rate limit, uploads, SQLite's write lock), races (clicks, workers,
deliveries), the digest, the audit trail, and odd input that must answer 4xx, never 500."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, csrf_token, login, outbox_rows
from sqlalchemy import event, func, select, update
from test_exports_delivery import _make_pdf, _record, audit_actions, fill

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.exports import Delivery, ExportStatus, ListedEntry, PdfExport, PdfExportChunk
from petitions.models.letters import Letter
from petitions.models.signatures import Signature
from petitions.models.staff import StaffUser
from petitions.public.verification import MAX_UPLOAD_BYTES
from petitions.services.exports import pdf_jobs
from petitions.services.exports.delivery_document import PdfOptions
from petitions.services.exports.digest import list_digest
from petitions.services.exports.pdf_model import Signatory
from petitions.workers import pdf_builder

VERIFY_URL = "http://petitions.test/v/{}".format


def _letter(slug: str = G20) -> Letter:
    return db.session.scalars(select(Letter).where(Letter.slug == slug)).one()


def _queue_pdf(app: Any, language: str = "en", asker: str = "") -> int:
    with app.app_context():
        staff = db.session.scalar(select(StaffUser).where(StaffUser.email == asker))
        export, _ = pdf_jobs.request_pdf(_letter(), PdfOptions((language,)), staff, VERIFY_URL)
        db.session.commit()
        return export.id


def _export_row(app: Any, export_id: int) -> PdfExport:
    with app.app_context():
        export = db.session.get(PdfExport, export_id)
        db.session.expunge(export)
        return export


def _stored_sha(app: Any, export_id: int) -> str:
    """SHA-256 of the file's bytes as stored, slice after slice."""
    with app.app_context():
        chunks = select(PdfExportChunk.data).where(PdfExportChunk.export_id == export_id)
        stored = b"".join(db.session.scalars(chunks.order_by(PdfExportChunk.seq)))
        return hashlib.sha256(stored).hexdigest()


NOTHING = hashlib.sha256(b"").hexdigest()


@contextmanager
def another_writer(app: Any, marker: str, busy_ms: int = 30_000) -> Iterator[list[str]]:
    """When a request first runs a statement holding ``marker``, another connection writes (as
    a signature committed meanwhile would): a real write, at a chosen moment. Yields its fate."""
    outcome: list[str] = []
    with app.app_context():
        engine = db.engine

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if outcome or marker not in statement:
            return
        other = engine.raw_connection()
        try:
            cursor = other.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("UPDATE letters SET goal = goal + 1")  # a real change (WAL frames)
            other.commit()
            outcome.append("written")
        except Exception as error:  # sqlite3.OperationalError: database is locked
            outcome.append(f"refused: {error}")
        finally:
            other.close()

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield outcome
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def _in_threads(count: int, work: Any) -> list[Any]:
    """``work(i)`` in ``count`` threads released at once; each one's result or exception."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(run, i) for i in range(count)]
    return [future.exception() or future.result() for future in futures]


# --- Access --------------------------------------------------------------------------------


def test_export_ids_of_another_letter_or_unfinished_lead_nowhere(app, client, staff_client):
    fill(app)
    export, _pdf = _make_pdf(app, staff_client("admin"))
    other = staff_client("organiser", letters=(INCLUSIVE,))
    for path in (f"exports/{export.id}", f"exports/{export.id}/file.pdf"):
        assert other.get(f"/staff/letters/{INCLUSIVE}/{path}").status_code == 404
        assert other.get(f"/staff/letters/{G20}/{path}").status_code == 403
        assert staff_client("moderator").get(f"/staff/letters/{G20}/{path}").status_code == 403
        assert client.get(f"/staff/letters/{G20}/{path}").status_code in (302, 303)
    queued = _queue_pdf(app, "sq")
    admin = staff_client("admin")
    unfinished = admin.get(f"/staff/letters/{G20}/exports/{queued}/file.pdf")
    assert unfinished.status_code == 303 and unfinished.headers["Location"].endswith(f"/{queued}")
    # Deliveries with another letter's PDF, or an unfinished one: refused, nothing written.
    for slug, export_id in ((INCLUSIVE, export.id), (G20, queued)):
        page = admin.get(f"/staff/letters/{slug}/deliveries").get_data(as_text=True)
        fields = {"recipient": "Someone", "delivered_on": "2026-11-20", "method": "post"}
        data = {"csrf_token": csrf_token(page), "export": export_id, **fields}
        assert admin.post(f"/staff/letters/{slug}/deliveries", data=data).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert [e.action for e in audit_actions(app)].count("export.pdf_downloaded") == 1


def test_a_disabled_or_removed_organiser_downloads_nothing_more(app, staff_client):
    fill(app)
    organiser = staff_client("organiser", letters=(G20,))
    export, _pdf = _make_pdf(app, organiser)
    url = f"/staff/letters/{G20}/exports/{export.id}/file.pdf"
    assert organiser.get(url).status_code == 200
    removed = staff_client("organiser", letters=(G20,))
    with app.app_context():
        for user in db.session.scalars(select(StaffUser).where(StaffUser.role == "organiser")):
            if user.id == export.requested_by_id:
                user.is_active = False
            else:
                user.letters = []
        db.session.commit()
    disabled = organiser.get(url)
    assert disabled.status_code in (302, 303) and "/staff/login" in disabled.headers["Location"]
    assert removed.get(url).status_code == 403


# --- The verification page -----------------------------------------------------------------


def _listed_check(client: Any, code: str, **environ: Any) -> int:
    token = csrf_token(client.get(f"/v/{code}", environ_base=environ).get_data(as_text=True))
    data = {"csrf_token": token, "name": "Ana Hoxha", "email": "p0@example.org"}
    return client.post(f"/v/{code}/listed", data=data, environ_base=environ).status_code


def test_the_name_and_email_check_is_rate_limited_per_address(make_app, make_staff):
    app = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="5 per minute")
    fill(app)
    staff = app.test_client()
    login(staff, make_staff("admin"))
    first = _make_pdf(app, staff)[0].code
    with app.app_context():
        pdf_builder.build_pdf(_queue_pdf(app, "sq"))
        other = db.session.scalars(select(PdfExport.code).where(PdfExport.code != first)).one()
    visitor = app.test_client()
    assert [_listed_check(visitor, first) for _ in range(5)] == [200] * 5
    assert _listed_check(visitor, first) == 429
    assert _listed_check(visitor, other) == 429  # another document does not reset the count
    assert _listed_check(visitor, first, HTTP_X_FORWARDED_FOR="203.0.113.9") == 429  # no proxy
    assert _listed_check(app.test_client(), first, REMOTE_ADDR="198.51.100.7") == 200


def test_checks_need_the_csrf_token_and_unfinished_exports_have_no_page(app, client, staff_client):
    fill(app)
    export, _pdf = _make_pdf(app, staff_client("admin"))
    data = {"name": "Ana Hoxha", "email": "p0@example.org"}
    answer = client.post(f"/v/{export.code}/listed", data=data)
    assert answer.status_code == 400 and "Yes:" not in answer.get_data(as_text=True)
    code = _export_row(app, _queue_pdf(app, "sq")).code
    token = csrf_token(client.get(f"/v/{export.code}").get_data(as_text=True))
    assert client.get(f"/v/{code}").status_code == 404
    assert client.post(f"/v/{code}/listed", data={"csrf_token": token, **data}).status_code == 404
    assert client.get(f"/v/{export.code.upper()}").status_code == 200
    assert client.get("/v/" + "a" * 2000).status_code == 404


UPLOAD_HEAD = b'--b\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\n'


def test_an_oversized_upload_is_refused_before_it_is_read(app, client, staff_client):
    fill(app)
    export, _pdf = _make_pdf(app, staff_client("admin"))
    token = csrf_token(client.get(f"/v/{export.code}").get_data(as_text=True))
    body = io.BytesIO(UPLOAD_HEAD + b"%PDF-" + b"0123456789abcde\n" * 65536 + b"\r\n--b--\r\n")
    answer = client.post(
        f"/v/{export.code}/file?csrf_token={token}",
        environ_overrides={
            "wsgi.input": body,
            "wsgi.input_terminated": True,  # as a chunked upload: read until it ends
            "CONTENT_TYPE": "multipart/form-data; boundary=b",
            "CONTENT_LENGTH": str(MAX_UPLOAD_BYTES + 1),
        },
    )
    assert body.tell() == 0, f"{body.tell()} bytes read before answering"
    assert answer.status_code == 413


def test_the_checks_do_not_hold_sqlites_write_lock(app, client, staff_client):
    """A check only reads: signers must not queue behind someone hashing a 25 MB upload."""
    fill(app)
    export, pdf = _make_pdf(app, staff_client("admin"))
    token = csrf_token(client.get(f"/v/{export.code}").get_data(as_text=True))
    with another_writer(app, "FROM pdf_exports", busy_ms=200) as outcome:
        answer = client.post(
            f"/v/{export.code}/file",
            query_string={"csrf_token": token},
            data={"document": (io.BytesIO(pdf), "list.pdf")},
        )
    assert answer.status_code == 200
    assert outcome == ["written"]


# --- Concurrency ---------------------------------------------------------------------------


@pytest.mark.race
def test_simultaneous_clicks_make_one_pdf_job(make_app, make_staff):
    """Six clicks at once: one export row, one audit entry, every click led to its page."""
    app = make_app(EXPORT_INLINE_ROWS=0, JOBS_IMMEDIATE=False, JOBS_WORKER="external")
    fill(app)
    email = make_staff("admin")
    clients = [app.test_client() for _ in range(6)]
    for staff in clients:
        assert login(staff, email).status_code == 303

    def click(i: int) -> tuple[int, str]:
        answer = clients[i].get(f"/staff/letters/{G20}/export.pdf")
        return answer.status_code, answer.headers.get("Location", "")

    results = _in_threads(len(clients), click)
    assert [status for status, _ in results] == [303] * len(clients), results
    assert len({location for _, location in results}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PdfExport)) == 1
    assert [e.action for e in audit_actions(app)].count("export.pdf_requested") == 1


def test_a_silent_worker_and_a_second_run_store_the_pdf_once(make_app, make_staff):
    """Worker A claims the job, then goes silent; the job runs again (B); then A carries on.

    Whoever finishes, a file once ready is never replaced (it may have been downloaded or
    delivered), and the organiser is told once. ``EXPORT_STALE_SECONDS=0``: A is silent at once.
    """
    app = make_app(EXPORT_STALE_SECONDS=0)
    fill(app)
    export_id = _queue_pdf(app, asker=make_staff("admin"))
    with app.app_context():
        assert pdf_builder._claim(export_id)  # worker A
        pdf_builder.build_pdf(export_id, notify=True)  # worker B
    after_b = (_export_row(app, export_id).status, _stored_sha(app, export_id))
    with app.app_context(), suppress(Exception):  # A may stop with an error; not overwrite
        pdf_builder._build(export_id, True)  # worker A wakes up
    final, stored = _export_row(app, export_id), _stored_sha(app, export_id)
    assert (final.status, final.file_sha256) == (ExportStatus.READY, stored)
    assert after_b in ((ExportStatus.RUNNING, NOTHING), (ExportStatus.READY, stored))
    assert [m.purpose for m in outbox_rows(app)].count("pdf_ready") == 1


def test_a_replaced_job_stays_failed_when_its_worker_finishes_late(make_app):
    """A click replaced a silent job; its worker, alive after all, must not revive it."""
    app = make_app(EXPORT_STALE_SECONDS=0)
    fill(app)
    old_id = _queue_pdf(app)
    with app.app_context():
        assert pdf_builder._claim(old_id)  # its worker starts, then goes silent
    assert _queue_pdf(app) != old_id  # a click: the job is replaced
    assert _export_row(app, old_id).status == ExportStatus.FAILED
    with app.app_context(), suppress(Exception):  # it may stop with an error; not write
        pdf_builder._build(old_id, False)  # the silent worker finishes after all
    assert _export_row(app, old_id).status == ExportStatus.FAILED
    assert _stored_sha(app, old_id) == NOTHING


@pytest.mark.race
def test_two_deliveries_recorded_at_once_are_both_kept(app, staff_client):
    fill(app)
    organisers = [staff_client("organiser", letters=(G20,)) for _ in range(2)]
    export, _pdf = _make_pdf(app, organisers[0])
    with app.app_context():
        version = _letter().public_version
    results = _in_threads(2, lambda i: _record(organisers[i], export.id, recipient=f"Office {i}"))
    assert [getattr(r, "status_code", r) for r in results] == [303, 303]
    with app.app_context():
        letter = _letter()
        assert (letter.status, letter.public_version) == ("delivered", version + 2)
        assert set(db.session.scalars(select(Delivery.recipient))) == {"Office 0", "Office 1"}
    assert [e.action for e in audit_actions(app)].count("delivery.recorded") == 2


# --- Data integrity, the audit trail, SQLite's write lock in GET requests -------------------


@pytest.mark.parametrize("path", ["export.csv", "export.xlsx", "export.pdf"])
def test_downloads_survive_a_signature_committed_meanwhile(app, staff_client, path):
    """A download reads, then writes its audit row; a signature committed in between (every
    second, on a busy letter) must not turn it into "database is locked"."""
    fill(app)
    client = staff_client("organiser", letters=(G20,))
    with another_writer(app, "FROM letter_organisers") as outcome:
        answer = client.get(f"/staff/letters/{G20}/{path}")
        answer.get_data()
    assert outcome == ["written"]
    assert answer.status_code == 200
    assert audit_actions(app)[-1].action.startswith("export.")


def test_the_pdf_has_all_its_bytes_and_no_email_reaches_trail_or_log(
    app, client, staff_client, caplog
):
    fill(app)
    organiser = staff_client("organiser", letters=(G20,))
    for path in ("export.csv", "export.xlsx"):
        assert organiser.get(f"/staff/letters/{G20}/{path}").get_data()
    export, pdf = _make_pdf(app, organiser)
    assert _stored_sha(app, export.id) == hashlib.sha256(pdf).hexdigest() == export.file_sha256
    assert len(pdf) == export.file_size
    with app.app_context():
        count = select(func.count()).where(ListedEntry.export_id == export.id)
        assert db.session.scalar(count) == export.count_total + 1  # an organisation: 2 names
    assert _record(organiser, export.id).status_code == 303
    token = csrf_token(client.get(f"/v/{export.code}").get_data(as_text=True))
    data = {"csrf_token": token, "name": "Ana Hoxha", "email": "p0@example.org"}
    assert "Yes:" in client.post(f"/v/{export.code}/listed", data=data).get_data(as_text=True)
    trail = [e for e in audit_actions(app) if e.action.split(".")[0] in ("export", "delivery")]
    assert len(trail) == 5
    for event_ in trail:
        assert "@" not in json.dumps(event_.details), event_.action
    assert "example.org" not in caplog.text


# --- The digest ----------------------------------------------------------------------------


def test_the_digest_covers_every_printed_field():
    """The PDF prints comments when asked: a document whose comments differ is another list."""
    base = {"kind": "individual", "name": "Ana", "organisation": "", "title": "", "city": ""}
    person = {**base, "country": "Albania", "country_code": "AL"}
    said, silent = Signatory(**person, comment="Për arsimin"), Signatory(**person, comment="")
    assert list_digest([said]) != list_digest([silent])


def test_the_same_list_gives_the_same_digest_and_a_verification_another(app, staff_client):
    ids = fill(app)
    admin = staff_client("admin")
    other_form = "status=counted&include_non_public=y&language=sq&layout=side_by_side"
    for query in ("", f"?{other_form}&group_by_country=y"):
        answer = admin.get(f"/staff/letters/{G20}/export.pdf{query}")
        assert answer.status_code == 200 and answer.get_data().startswith(b"%PDF")
    with app.app_context():
        verify = update(Signature).where(Signature.id == ids[4]).values(verified_at=utcnow())
        db.session.execute(verify)
        db.session.commit()
    again = admin.get(f"/staff/letters/{G20}/export.pdf")
    assert again.status_code == 200 and again.get_data().startswith(b"%PDF")
    with app.app_context():
        digests = list(db.session.scalars(select(PdfExport.list_digest).order_by(PdfExport.id)))
    assert digests[0] == digests[1] != digests[2]


# --- Odd input answers 4xx, never 500 ------------------------------------------------------

ODD_QUERIES = [
    "status=counted&since=yesterday",
    "status=counted&language=xx",
    "status=counted&second_language=" + "x" * 20000,
    "status=everything",
    "status=counted&layout=diagonal",
    "status=counted&since=9999-12-31",
    "status=counted&until=9999-12-31",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
@pytest.mark.parametrize("path", ["export.csv", "export.pdf"])
def test_odd_export_queries_answer_without_a_500(app, staff_client, path, query):
    answer = staff_client("admin").get(f"/staff/letters/{G20}/{path}?{query}")
    answer.get_data()
    assert answer.status_code < 500


@pytest.mark.parametrize("export_id", ["999999", "2147483648", "99999999999999999999"])
def test_unknown_export_ids_are_404(app, staff_client, export_id):
    admin = staff_client("admin")
    for path in (f"exports/{export_id}", f"exports/{export_id}/file.pdf"):
        assert admin.get(f"/staff/letters/{G20}/{path}").status_code == 404
