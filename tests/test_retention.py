"""Retention: letters past their date are anonymised in batches; every count and digest stays."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import G20, INCLUSIVE, csrf_token
from sqlalchemy import func, select, update
from test_moderation import add_signatures, signature_row

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.columns import utcnow
from petitions.models.exports import ListedEntry, PdfExport, PdfExportChunk
from petitions.models.letters import Letter
from petitions.models.outbox import OutboxEmail
from petitions.models.privacy import PrivacyRequest
from petitions.models.signatures import Signature
from petitions.services.data_generator import generate
from petitions.services.retention import run_retention

PEOPLE = [
    dict(name="Ana Hoxha", email="ana@example.org", city="Durrës", comment="Yes!", country="AL"),
    dict(name="Ilir Meta", email="ilir@example.org", city="Shkodër", country="AL", is_public=False),
    dict(name="Jane Roe", email="jane@example.org", city="Leeds", country="GB", title="Teacher"),
    dict(name="Pending Person", email="pending@example.org", status="pending", country="XK"),
    dict(name="Gone Person", email="gone@example.org", status="withdrawn", country="AL"),
    dict(
        name="Contact Public",
        email="org@example.org",
        kind="organisation",
        organisation="Public Org",
        website="https://org.example",
        country="AL",
    ),
    dict(
        name="Contact Private",
        email="hidden-org@example.org",
        kind="organisation",
        organisation="Private Org",
        is_public=False,
        country="MK",
    ),
]
NAMES = [p["name"] for p in PEOPLE] + ["Durrës", "Shkodër", "Private Org", "ana@example.org"]


def fill(app: Any, slug: str, prefix: str = "") -> None:
    rows = []
    for person in PEOPLE:
        fields = dict(person)
        fields["email"] = prefix + fields["email"]
        rows.append(signature_row(app, slug, **fields))
    add_signatures(app, rows)


def figures(app: Any, slug: str) -> dict[str, Any]:
    """What must never change: the counters, and counts by status, kind and country."""
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == slug)).one()
        grouped = db.session.execute(
            select(Signature.status, Signature.kind, Signature.country, func.count())
            .where(Signature.letter_id == letter.id)
            .group_by(Signature.status, Signature.kind, Signature.country)
        ).all()
        return {
            "counters": (letter.count_individuals, letter.count_organisations),
            "grouped": sorted((str(s), str(k), c, n) for s, k, c, n in grouped),
        }


def rows_of(app: Any, slug: str) -> list[Signature]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(Signature).join(Letter).where(Letter.slug == slug).order_by(Signature.id)
            )
        )
        db.session.expunge_all()
        return rows


def close_ago(app: Any, slug: str, days: int, **values: Any) -> None:
    with app.app_context():
        db.session.execute(
            update(Letter)
            .where(Letter.slug == slug)
            .values(status="closed", closed_at=utcnow() - timedelta(days=days), **values)
        )
        db.session.commit()


def deliver(app: Any, client: Any, slug: str, on: str) -> PdfExport:
    answer = client.get(f"/staff/letters/{slug}/export.pdf")
    assert answer.status_code == 200 and answer.get_data().startswith(b"%PDF")
    with app.app_context():
        export = db.session.scalars(select(PdfExport).order_by(PdfExport.id.desc())).first()
        db.session.expunge(export)
    page = client.get(f"/staff/letters/{slug}/deliveries")
    recorded = client.post(
        f"/staff/letters/{slug}/deliveries",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "export": export.id,
            "recipient": "Ministry of Education and Sport",
            "delivered_on": on,
            "method": "in_person",
        },
    )
    assert recorded.status_code == 303
    return export


def retention(app: Any, dry_run: bool = False) -> Any:
    with app.app_context():
        return run_retention(dry_run=dry_run)


def audit_events(app: Any) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return events


def test_retention_anonymises_exactly_the_letters_past_their_date(make_app, staff_client):
    app = make_app(RETENTION_DAYS=10)
    client = app.test_client()
    fill(app, G20)
    fill(app, INCLUSIVE, prefix="i-")
    organiser = staff_client("organiser", letters=(G20,))
    delivered_on = (utcnow() - timedelta(days=12)).date()
    export = deliver(app, organiser, G20, delivered_on.isoformat())
    close_ago(app, INCLUSIVE, days=5)  # closed, but its ten days are not over
    before = {slug: figures(app, slug) for slug in (G20, INCLUSIVE)}
    inclusive_before = rows_of(app, INCLUSIVE)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PdfExportChunk)) > 0
        assert db.session.scalar(select(func.count()).select_from(ListedEntry)) > 0

    report = retention(app)

    assert [letter.slug for letter in report.letters] == [G20]
    assert report.letters[0].signatures == len(PEOPLE) and report.letters[0].pdfs == 1
    assert {slug: figures(app, slug) for slug in (G20, INCLUSIVE)} == before
    for row in rows_of(app, G20):
        assert row.anonymised_at is not None
        assert (row.name, row.email, row.title, row.city, row.website, row.comment) == ("",) * 6
        assert row.ip_hash == "" and row.confirm_nonce == "" and row.withdraw_nonce == ""
        assert row.email_canonical == f"anonymised:{row.id}"
        assert row.country and row.status and row.created_at and row.language
        public_org = row.kind == "organisation" and row.organisation == "Public Org"
        assert row.organisation == ("Public Org" if public_org else "")
        assert row.is_public is public_org
    # The other letter is untouched.
    assert [(r.name, r.email, r.anonymised_at) for r in rows_of(app, INCLUSIVE)] == [
        (r.name, r.email, None) for r in inclusive_before
    ]
    # The stored PDF and its name checks are gone; its digests and the verification page stay.
    with app.app_context():
        kept = db.session.get(PdfExport, export.id)
        assert kept.list_digest == export.list_digest and kept.file_sha256 == export.file_sha256
        assert kept.count_total == export.count_total and kept.list_deleted_at is not None
        assert db.session.scalar(select(func.count()).select_from(PdfExportChunk)) == 0
        assert db.session.scalar(select(func.count()).select_from(ListedEntry)) == 0
    page = client.get(f"/v/{export.code}").get_data(as_text=True)
    assert export.list_digest in page and "under the retention policy" in page
    assert "Was my signature on this list?" not in page  # its name checks are gone
    download = organiser.get(f"/staff/letters/{G20}/exports/{export.id}/file.pdf")
    assert download.status_code == 410
    listing = client.get(f"/letters/{G20}/signatories?kind=organisation").get_data(as_text=True)
    assert "Public Org" in listing and "Private Org" not in listing
    people = client.get(f"/letters/{G20}/signatories?kind=individual").get_data(as_text=True)
    assert "Ana Hoxha" not in people and "Jane Roe" not in people
    # Audited with the letter and the figures, and no personal data anywhere in the trail.
    events = audit_events(app)
    done = [e for e in events if e.action == "retention.anonymised"]
    assert len(done) == 1 and done[0].details["signatures"] == len(PEOPLE)
    assert done[0].details["pdfs_deleted"] == 1
    trail = json.dumps([[e.actor_email, e.details] for e in events], ensure_ascii=False)
    for name in NAMES:
        assert name not in trail, name

    # Idempotent: a second run finds nothing and writes nothing.
    again = retention(app)
    assert again.letters == [] and again.signatures == 0
    assert len(audit_events(app)) == len(events)


def test_dry_run_prints_what_would_go_and_changes_nothing(make_app):
    app = make_app(RETENTION_DAYS=30)
    fill(app, G20)
    close_ago(app, G20, days=31)
    before = [(r.name, r.email) for r in rows_of(app, G20)]
    result = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"{G20}: would anonymise {len(PEOPLE)} signature(s)" in result.output
    assert [(r.name, r.email) for r in rows_of(app, G20)] == before
    done = app.test_cli_runner().invoke(args=["retention", "run"])
    assert f"{G20}: anonymised {len(PEOPLE)} signature(s)" in done.output
    assert {r.name for r in rows_of(app, G20)} == {""}


def test_letter_override_and_site_maximum(make_app):
    app = make_app(RETENTION_DAYS=15, RETENTION_MAX_DAYS=20)
    fill(app, G20)
    fill(app, INCLUSIVE, prefix="i-")
    close_ago(app, G20, days=8, retention_days=7)  # its own week is over
    close_ago(app, INCLUSIVE, days=25, retention_days=400)  # capped at the site's 20 days
    report = retention(app)
    assert sorted(letter.slug for letter in report.letters) == sorted([G20, INCLUSIVE])


def test_open_and_recently_closed_letters_keep_their_data(make_app):
    app = make_app(RETENTION_DAYS=10)
    fill(app, G20)
    fill(app, INCLUSIVE, prefix="i-")
    close_ago(app, INCLUSIVE, days=9)
    assert retention(app).letters == []
    # A deadline passed long ago closes the letter for retention too (auto-close).
    with app.app_context():
        db.session.execute(
            update(Letter)
            .where(Letter.slug == G20)
            .values(closes_at=utcnow() - timedelta(days=11), auto_close=True)
        )
        db.session.commit()
    assert [letter.slug for letter in retention(app).letters] == [G20]


def test_old_emails_offers_and_requests_expire(make_app):
    app = make_app(RETENTION_DAYS=10)
    with app.app_context():
        old, recent = utcnow() - timedelta(days=11), utcnow() - timedelta(days=1)
        for created, status in ((old, "sent"), (old, "failed"), (old, "queued"), (recent, "sent")):
            db.session.add(
                OutboxEmail(
                    recipient="someone@example.org",
                    subject="s",
                    text_body="t",
                    html_body="h",
                    purpose="confirm",
                    status=status,
                    created_at=created,
                )
            )
        db.session.add(PrivacyRequest(purpose="erase", address_hash="x" * 64, at=old))
        db.session.commit()
    report = retention(app)
    assert report.emails == 2
    with app.app_context():
        left = sorted(str(e.status) for e in db.session.scalars(select(OutboxEmail)))
        assert left == ["queued", "sent"]
        assert db.session.scalar(select(func.count()).select_from(PrivacyRequest)) == 0


CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, os.environ["TESTS_DIR"])
    from conftest import _settings
    from petitions import create_app
    from petitions.services import retention

    app = create_app(_settings(os.environ["CHILD_DATABASE_URL"], RETENTION_DAYS=10))
    retention.BATCH = retention.MIN_BATCH = retention.MAX_BATCH = 100
    real = retention.anonymise_where

    def slow(*conditions):
        done = real(*conditions)
        print("batch", done, flush=True)
        time.sleep(0.05)  # inside the batch's transaction: a kill lands mid-write too
        return done

    retention.anonymise_where = slow
    with app.app_context():
        retention.run_retention()
    print("finished", flush=True)
    """
)


def test_a_run_killed_mid_way_finishes_on_the_next_run(make_app):
    app = make_app(RETENTION_DAYS=10)
    with app.app_context():
        generate(1500, "retention-kill")
        url = str(db.engine.url.render_as_string(hide_password=False))
    close_ago(app, "retention-kill", days=11)
    before = figures(app, "retention-kill")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CHILD_DATABASE_URL": url, "TESTS_DIR": str(Path(__file__).parent)},
    )
    assert child.stdout is not None
    batches = 0
    for line in child.stdout:
        batches += line.startswith("batch")
        if batches == 4:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(30)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    halfway = rows_of(app, "retention-kill")
    done = sum(r.anonymised_at is not None for r in halfway)
    assert 0 < done < len(halfway)  # killed in the middle
    assert not any(r.anonymised_at is None and r.name == "" for r in halfway)
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == "retention-kill")).one()
        assert letter.anonymised_at is None

    report = retention(app)
    assert report.letters[0].signatures == len(halfway) - done
    assert all(r.anonymised_at is not None and r.name == "" for r in rows_of(app, "retention-kill"))
    assert figures(app, "retention-kill") == before
    assert retention(app).letters == []
    assert sum(e.action == "retention.anonymised" for e in audit_events(app)) == 1


def test_letters_close_from_the_command_line(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["letters", "close", G20])
    assert result.exit_code == 0, result.output
    assert f"Closed {G20}." in result.output
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        assert letter.status == "closed" and letter.closed_at is not None
    event = [e for e in audit_events(app) if e.action == "letter.status_changed"][-1]
    assert event.details == {"from": "open", "to": "closed", "via": "cli"}
    assert event.actor_id is None
    again = runner.invoke(args=["letters", "close", G20])
    assert again.exit_code != 0 and "Only an open letter can be closed." in again.output
    missing = runner.invoke(args=["letters", "close", "no-such-letter"])
    assert missing.exit_code != 0


def test_staff_editor_offers_the_override_within_the_maximum(app, staff_client):
    admin = staff_client("admin")
    page = admin.get(f"/staff/letters/{G20}/edit").get_data(as_text=True)
    assert 'name="retention_days"' in page
