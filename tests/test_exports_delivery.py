"""Exports over HTTP (who may, what is audited), PDF jobs, deliveries and the verification page."""

from __future__ import annotations

import subprocess
import time
from typing import Any

from conftest import G20, INCLUSIVE, csrf_token, outbox_rows
from sqlalchemy import func, select, update
from test_moderation import add_signatures, signature_row

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.columns import utcnow
from petitions.models.exports import Delivery, ExportStatus, PdfExport
from petitions.models.letters import Letter
from petitions.services.exports.delivery_document import PdfOptions
from petitions.services.exports.digest import list_digest
from petitions.services.exports.pdf_jobs import request_pdf
from petitions.services.exports.pdf_model import Signatory

NAMES = [
    ("Ana Hoxha", "individual", ""),
    ("Ëngjëll Çela", "individual", ""),
    ("Мария Иванова", "individual", ""),
    ("Γιώργος Παπαδόπουλος", "individual", ""),
    ("أحمد الخطيب", "organisation", "منظمة UNICEF في الرياض"),
    ("王小明", "individual", ""),
    ("राहुल शर्मा", "individual", ""),
]


def fill(app: Any, slug: str = G20) -> list[int]:
    rows = [
        signature_row(app, slug, name=name, kind=kind, organisation=org, email=f"p{i}@example.org")
        for i, (name, kind, org) in enumerate(NAMES)
    ]
    rows.append(signature_row(app, slug, name="Not Counted", status="pending", email="n@x.org"))
    rows.append(signature_row(app, slug, name="Hidden Name", is_public=False, email="h@x.org"))
    return add_signatures(app, rows)


def audit_actions(app: Any) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def pdf_text(data: bytes, tmp_path: Any) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


# --- CSV and XLSX over HTTP ---------------------------------------------------------------


def test_csv_for_the_letters_organiser_is_streamed_with_bom_and_audited(app, staff_client):
    fill(app)
    client = staff_client("organiser", letters=(G20,))
    answer = client.get(f"/staff/letters/{G20}/export.csv")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    assert G20 in answer.headers["Content-Disposition"]
    body = answer.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    header = text.split("\r\n")[0].split(",")
    for column in [
        "id",
        "kind",
        "name",
        "organisation",
        "title",
        "email",
        "country",
        "city",
        "status",
        "public",
        "signed_at",
        "confirmed_at",
    ]:
        assert column in header
    assert "Мария Иванова" in text and "p2@example.org" in text
    assert "Hidden Name" in text  # not public, still delivered (consent covers delivery)
    assert "Not Counted" not in text  # pending: not counted, not exported by default
    event = [e for e in audit_actions(app) if e.action == "export.csv"][-1]
    assert event.details["rows"] == len(NAMES) + 1
    assert event.details["statuses"] == ["confirmed"]
    assert event.actor_email.startswith("organiser")


def test_csv_filters_from_the_query_string(app, staff_client):
    fill(app)
    client = staff_client("admin")
    text = client.get(
        f"/staff/letters/{G20}/export.csv?status=all&language=en&layout=sequential"
    ).get_data(as_text=True)
    assert "Not Counted" in text
    # The form's checkbox unticked: names that are not public are left out.
    text = client.get(f"/staff/letters/{G20}/export.csv?status=counted").get_data(as_text=True)
    assert "Hidden Name" not in text


def test_bad_dates_get_the_form_back_and_export_nothing(app, staff_client):
    fill(app)
    client = staff_client("admin")
    before = len(audit_actions(app))
    answer = client.get(
        f"/staff/letters/{G20}/export.csv?status=counted&since=2026-05-02&until=2026-05-01"
    )
    assert answer.status_code == 400
    assert "The end date is before the start date." in answer.get_data(as_text=True)
    assert len(audit_actions(app)) == before


def test_xlsx_download(app, staff_client):
    fill(app)
    answer = staff_client("admin").get(f"/staff/letters/{G20}/export.xlsx")
    assert answer.status_code == 200
    assert answer.get_data()[:2] == b"PK"
    assert ".xlsx" in answer.headers["Content-Disposition"]
    assert any(e.action == "export.xlsx" for e in audit_actions(app))


def test_exports_refused_to_moderators_strangers_and_other_organisers(app, client, staff_client):
    fill(app)
    for path in ("export.csv", "export.xlsx", "export.pdf", "export", "deliveries"):
        url = f"/staff/letters/{G20}/{path}"
        anonymous = client.get(url)
        assert anonymous.status_code in (302, 303)
        assert anonymous.headers["Location"].startswith("/staff/login")
        assert staff_client("moderator").get(url).status_code == 403
        assert staff_client("organiser", letters=(INCLUSIVE,)).get(url).status_code == 403
    assert not [e for e in audit_actions(app) if e.action.startswith("export.")]


# --- The delivery PDF ---------------------------------------------------------------------


def test_pdf_of_a_short_list_comes_at_once(app, staff_client, tmp_path):
    fill(app)
    client = staff_client("organiser", letters=(G20,))
    answer = client.get(f"/staff/letters/{G20}/export.pdf?status=counted&include_non_public=y")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/pdf"
    text = pdf_text(answer.get_data(), tmp_path)
    assert "Мария Иванова" in text
    with app.app_context():
        export = db.session.scalars(select(PdfExport)).one()
        assert export.status == ExportStatus.READY
        assert export.count_total == len(NAMES) + 1
        assert export.list_digest in text.replace("\n", "").replace(" ", "") or (
            export.list_digest[:32] in text
        )
        assert export.file_size == len(answer.get_data())
    actions = [e.action for e in audit_actions(app)]
    assert "export.pdf_requested" in actions and "export.pdf_downloaded" in actions


def test_pdf_refuses_unconfirmed_signatures(app, staff_client):
    answer = staff_client("admin").get(f"/staff/letters/{G20}/export.pdf?status=all")
    assert answer.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PdfExport)) == 0


def test_long_lists_go_to_a_job_page(make_app, make_staff, tmp_path):
    """Above the inline limit the request queues a job and shows its page (immediate here)."""
    from conftest import login

    app = make_app(EXPORT_INLINE_ROWS=2)
    fill(app)
    client = app.test_client()
    login(client, make_staff("admin"))
    answer = client.get(f"/staff/letters/{G20}/export.pdf")
    assert answer.status_code == 303
    job_page = client.get(answer.headers["Location"])
    assert "The PDF is ready." in job_page.get_data(as_text=True)
    with app.app_context():
        export = db.session.scalars(select(PdfExport)).one()
    download = client.get(f"/staff/letters/{G20}/exports/{export.id}/file.pdf")
    assert download.status_code == 200 and download.get_data().startswith(b"%PDF")


def test_a_real_background_worker_builds_the_pdf(make_app, make_staff):
    """Huey with its SQLite queue and the consumer thread a web process starts."""
    from conftest import login

    app = make_app(EXPORT_INLINE_ROWS=0, JOBS_IMMEDIATE=False, JOBS_WORKER="thread")
    fill(app)
    client = app.test_client()
    login(client, make_staff("admin"))
    try:
        answer = client.get(f"/staff/letters/{G20}/export.pdf")
        assert answer.status_code == 303
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            page = client.get(answer.headers["Location"]).get_data(as_text=True)
            if "The PDF is ready." in page:
                break
            time.sleep(0.2)
        assert "The PDF is ready." in page
    finally:
        app.extensions["petitions.jobs"].stop_consumer()
    # The organiser may have left the page: an email says the PDF is ready, with its page's link.
    notices = [row for row in outbox_rows(app) if row.purpose == "pdf_ready"]
    assert len(notices) == 1
    assert notices[0].recipient.startswith("admin")
    assert answer.headers["Location"] in notices[0].text_body


def test_a_second_click_finds_the_first_job(app):
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        options = PdfOptions(languages=("en",))
        first, new_first = request_pdf(letter, options, None, lambda code: f"http://x/v/{code}")
        db.session.commit()
        second, new_second = request_pdf(letter, options, None, lambda code: f"http://x/v/{code}")
        db.session.commit()
        assert (new_first, new_second) == (True, False)
        assert second.id == first.id
        other, new_other = request_pdf(
            letter, PdfOptions(languages=("sq",)), None, lambda code: f"http://x/v/{code}"
        )
        assert new_other and other.id != first.id


def test_a_job_whose_worker_died_is_replaced(app):
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        options = PdfOptions(languages=("en",))
        first, _ = request_pdf(letter, options, None, lambda code: f"http://x/v/{code}")
        first.status = ExportStatus.RUNNING
        first.heartbeat_at = utcnow().replace(year=2020)
        db.session.commit()
        second, is_new = request_pdf(letter, options, None, lambda code: f"http://x/v/{code}")
        db.session.commit()
        assert is_new and second.id != first.id
        assert db.session.get(PdfExport, first.id).status == ExportStatus.FAILED


def test_a_list_that_changes_during_the_render_is_not_printed_with_a_stale_digest(app):
    """The plan digests the list; the render reads the rows again and must print the same."""
    from petitions.models.signatures import Signature
    from petitions.services.exports.delivery_document import plan_list

    ids = fill(app)
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        plan = plan_list(letter, PdfOptions(languages=("en",)), "key")
        printed: list[bytes] = []
        list(plan.rows(plan.organisation_ids, printed))
        list(plan.rows(plan.individual_ids, printed))
        assert plan.matches(printed)
        # A signer withdraws and signs again under another name between the two reads.
        db.session.execute(update(Signature).where(Signature.id == ids[1]).values(name="Other"))
        printed = []
        list(plan.rows(plan.organisation_ids, printed))
        list(plan.rows(plan.individual_ids, printed))
        assert not plan.matches(printed)


# --- Digest -------------------------------------------------------------------------------


def _signatory(name: str, **fields: Any) -> Signatory:
    base = {"kind": "individual", "organisation": "", "title": "", "city": "", "country": ""}
    return Signatory(**{**base, "country_code": "AL", **fields, "name": name})


def test_digest_is_stable_and_changes_with_any_field():
    people = [_signatory("Ana"), _signatory("Бора"), _signatory("أحمد")]
    digest = list_digest(people)
    assert digest == list_digest(list(reversed(people)))  # order of printing does not matter
    assert len(digest) == 64
    assert digest != list_digest(people[:2])
    assert digest != list_digest([*people, _signatory("Ana")])
    for change in (
        {"name": "Ana "},
        {"city": "Tirana"},
        {"title": "Dr"},
        {"verified": True},
        {"country_code": "XK"},
        {"kind": "organisation"},
        {"organisation": "UNICEF"},
    ):
        changed = [_signatory("Ana", **{k: v for k, v in change.items() if k != "name"})]
        if "name" in change:
            changed = [_signatory(change["name"])]
        assert list_digest([*changed, *people[1:]]) != digest, change
    # Unicode normalisation: the same name typed composed or decomposed is the same list.
    assert list_digest([_signatory("Çela")]) == list_digest([_signatory("C\u0327ela")])


# --- Deliveries and the verification page -------------------------------------------------


def _make_pdf(app: Any, client: Any) -> PdfExport:
    answer = client.get(f"/staff/letters/{G20}/export.pdf")
    assert answer.status_code == 200
    with app.app_context():
        export = db.session.scalars(select(PdfExport).order_by(PdfExport.id.desc())).first()
        db.session.expunge(export)
    return export, answer.get_data()


def _record(client: Any, export_id: int, **fields: Any) -> Any:
    page = client.get(f"/staff/letters/{G20}/deliveries")
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "export": export_id,
        "recipient": "Ministry of Education and Sport",
        "delivered_on": "2026-11-20",
        "method": "in_person",
        "note": "Handed to the minister's office.",
    }
    data.update(fields)
    return client.post(f"/staff/letters/{G20}/deliveries", data=data)


def test_a_recorded_delivery_closes_the_letter_and_shows_publicly(app, client, staff_client):
    fill(app)
    organiser = staff_client("organiser", letters=(G20,))
    export, _pdf = _make_pdf(app, organiser)
    answer = _record(organiser, export.id)
    assert answer.status_code == 303
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        assert letter.status == "delivered"
        delivery = db.session.scalars(select(Delivery)).one()
        assert delivery.export_id == export.id and delivery.method == "in_person"
        assert delivery.signatures_at_delivery == letter.count_total
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert "Delivered to Ministry of Education and Sport on November 20, 2026" in page
    assert f"/v/{export.code}" in page
    assert "no longer takes signatures" in page
    event = [e for e in audit_actions(app) if e.action == "delivery.recorded"][-1]
    assert event.details["digest"] == export.list_digest
    assert event.details["rows"] == len(NAMES) + 1

    api = client.get(f"/api/v1/letters/{G20}").get_json()
    assert api["status"] == "delivered"
    assert api["deliveries"] == [
        {
            "recipient": "Ministry of Education and Sport",
            "delivered_on": "2026-11-20",
            "signatories": len(NAMES) + 1,
            "digest": export.list_digest,
            "verification_url": f"http://petitions.test/v/{export.code}",
        }
    ]

    verify = client.get(f"/v/{export.code}").get_data(as_text=True)
    assert export.list_digest in verify and "Ministry of Education and Sport" in verify
    assert "Мария" not in verify and "p2@example.org" not in verify  # no names on the page


def test_collection_may_continue_after_a_delivery(app, staff_client):
    fill(app)
    organiser = staff_client("organiser", letters=(G20,))
    export, _pdf = _make_pdf(app, organiser)
    assert _record(organiser, export.id, collection_continues="y").status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Letter.status).where(Letter.slug == G20)).one() == "open"


def test_a_double_submit_records_one_delivery(app, staff_client):
    fill(app)
    organiser = staff_client("organiser", letters=(G20,))
    export, _pdf = _make_pdf(app, organiser)
    assert _record(organiser, export.id, collection_continues="y").status_code == 303
    again = _record(organiser, export.id, collection_continues="y")
    assert again.status_code == 400
    assert "already recorded" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_bad_deliveries_are_refused_and_change_nothing(app, staff_client):
    fill(app)
    organiser = staff_client("organiser", letters=(G20,))
    export, _pdf = _make_pdf(app, organiser)
    future = _record(organiser, export.id, delivered_on="2099-01-01")
    assert future.status_code == 400
    assert "cannot be dated in the future" in future.get_data(as_text=True)
    assert _record(organiser, export.id, recipient="").status_code == 400
    assert _record(organiser, 99999).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert db.session.scalars(select(Letter.status).where(Letter.slug == G20)).one() == "open"


def _verify_token(client: Any, code: str) -> str:
    return csrf_token(client.get(f"/v/{code}").get_data(as_text=True))


def test_verification_checks_digest_file_and_names(app, client, staff_client):
    fill(app)
    export, pdf = _make_pdf(app, staff_client("admin"))
    code = export.code
    token = _verify_token(client, code)

    def post(path: str, **data: Any) -> str:
        answer = client.post(f"/v/{code}/{path}", data={"csrf_token": token, **data})
        assert answer.status_code == 200, answer.status_code
        return answer.get_data(as_text=True)

    spaced = " ".join(export.list_digest[i : i + 8] for i in range(0, 64, 8)).upper()
    assert "This is the digest recorded for this document" in post("digest", digest=spaced)
    wrong = ("0" if export.list_digest[0] != "0" else "1") + export.list_digest[1:]
    assert "does not match" in post("digest", digest=wrong)

    from io import BytesIO

    def upload(document: bytes) -> str:
        # The upload's token travels in the URL (the server checks it before reading the body).
        answer = client.post(
            f"/v/{code}/file",
            query_string={"csrf_token": token},
            data={"document": (BytesIO(document), "list.pdf")},
        )
        assert answer.status_code == 200, answer.status_code
        return answer.get_data(as_text=True)

    assert "is the original, unchanged" in upload(pdf)
    tampered = pdf.replace(b"%PDF-", b"%PDF-", 1) + b"\n% appended\n"
    assert "is not the original" in upload(tampered)

    yes = post("listed", name="  мария иванова ", email="P2@Example.org")
    assert "Yes: a signatory with this name" in yes
    assert "P2@Example.org" not in yes  # the address is not echoed back
    assert "No signatory with this name" in post("listed", name="Мария", email="p2@example.org")
    assert "No signatory with this name" in post("listed", name="Not Counted", email="n@x.org")
    # An organisation's signer is found by the organisation's name too.
    assert "Yes:" in post("listed", name="منظمة UNICEF في الرياض", email="p4@example.org")


def test_verification_page_of_unknown_or_unfinished_exports_is_404(app, client):
    assert client.get("/v/nosuchcode").status_code == 404
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        export, _ = request_pdf(
            letter, PdfOptions(languages=("en",)), None, lambda code: f"http://x/v/{code}"
        )
        db.session.commit()
        code = export.code
    assert client.get(f"/v/{code}").status_code == 404


def test_verification_of_a_draft_letter_names_no_letter(app, client, staff_client):
    fill(app)
    export, _pdf = _make_pdf(app, staff_client("admin"))
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == G20).values(status="draft"))
        db.session.commit()
    page = client.get(f"/v/{export.code}").get_data(as_text=True)
    assert "not published yet" in page
    assert export.list_digest not in page


# --- Command line ---------------------------------------------------------------------------


def test_cli_exports_csv_and_pdf(app, runner, tmp_path):
    fill(app)
    csv_path = tmp_path / "list.csv"
    result = runner.invoke(args=["export", G20, "--format", "csv", "-o", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "王小明" in csv_path.read_text("utf-8-sig")
    pdf_path = tmp_path / "list.pdf"
    result = runner.invoke(
        args=["export", G20, "--format", "pdf", "-o", str(pdf_path), "--language", "sq"]
    )
    assert result.exit_code == 0, result.output
    assert "Digest" in result.output
    assert pdf_path.read_bytes().startswith(b"%PDF")
    actions = [(e.action, e.actor_id) for e in audit_actions(app)]
    assert ("export.csv", None) in actions and ("export.pdf_downloaded", None) in actions
    bad = runner.invoke(args=["export", "no-such-letter", "--format", "csv", "-o", str(csv_path)])
    assert bad.exit_code != 0 and "No letter" in bad.output
