"""The audit trail: what it records, how the viewer filters and pages it, that it cannot change."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, csrf_token, login, path_of, sign
from sqlalchemy import delete, event, select, update
from sqlalchemy.exc import DBAPIError
from test_staff_admin import INVITE_LINK, invite, staff_id, submit

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.letters import Letter
from petitions.services import audit
from petitions.web.client_address import hash_ip

EVENT_ROW = re.compile(r'<tr id="event-(\d+)">')
OLDER_LINK = re.compile(r'<a href="([^"]+)" rel="next">')


def shown_ids(page: str) -> list[int]:
    return [int(found) for found in EVENT_ROW.findall(page)]


def row_of(page: str, event_id: int) -> str:
    return page.split(f'<tr id="event-{event_id}">', 1)[1].split("</tr>", 1)[0]


def last_event(app: Any, action: str) -> AuditEvent:
    with app.app_context():
        found = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())
        )
        assert found is not None, action
        db.session.expunge(found)
        return found


# --- what the viewer shows ----------------------------------------------------------------------


def test_the_trail_shows_who_did_what_from_where(app, make_staff):
    admin_email = make_staff("admin")
    admin = app.test_client()
    login(admin, admin_email)
    target = make_staff("moderator")
    login(app.test_client(), "nobody@staff.example.org", "some wrong password")
    submit(admin, "/staff/accounts", f"/staff/accounts/{staff_id(app, target)}/disable")
    invite(admin, "invited@example.org", role="moderator")
    with app.app_context():
        g20 = db.session.scalar(select(Letter.id).where(Letter.slug == G20))
        audit.record("letter.edited", letter_id=g20, details={"fields": ["goal", "closes_at"]})
        db.session.commit()
        expected_hash = hash_ip("127.0.0.1")

    page = admin.get("/staff/audit").get_data(as_text=True)
    disabled = last_event(app, "staff.disabled")
    assert disabled.actor_email == admin_email
    assert disabled.ip_hash == expected_hash
    row = row_of(page, disabled.id)
    assert admin_email in row
    assert "Account disabled" in row
    assert f"Staff account #{staff_id(app, target)}" in row
    assert expected_hash[:8] in row and expected_hash[:9] not in row

    invited = row_of(page, last_event(app, "staff.invited").id)
    assert "Invitation sent" in invited
    assert "<dt>role</dt><dd>moderator</dd>" in invited
    assert "invited@example.org" not in invited

    failed = row_of(page, last_event(app, "login.failed").id)
    assert "Sign-in failed" in failed
    assert "<dt>reason</dt><dd>credentials</dd>" in failed
    # No actor, but a request from somewhere; the sentence says what happened.
    assert "A sign-in failed: unknown email or wrong password." in failed
    assert "<dt>Done by</dt><dd>—</dd>" in failed

    system = row_of(page, last_event(app, "letter.edited").id)
    assert re.search(r"The system edited “[^”]+” \(goal, closes_at\)\.", system)
    assert "letter.edited" in system  # the raw record keeps the action as recorded
    assert f"<dt>Letter</dt><dd>{G20}</dd>" in system

    ids = shown_ids(page)
    assert ids == sorted(ids, reverse=True)


@pytest.fixture
def seeded(app: Any, make_staff: Any) -> dict[str, Any]:
    """Events at known times, by known people, on known letters."""
    ana, ben = make_staff("admin"), make_staff("moderator")
    with app.app_context():
        letters = {slug: db.session.scalar(select(Letter.id).where(Letter.slug == slug))
                   for slug in (G20, INCLUSIVE)}  # fmt: skip
        ana_id, ben_id = staff_id(app, ana), staff_id(app, ben)

        def add(
            name: str, day: int, hour: int, action: str, actor: int | None, **extra: Any
        ) -> None:
            row = AuditEvent(
                at=datetime(2020, 1, day, hour, 0, tzinfo=UTC),
                actor_id=actor,
                actor_email={ana_id: ana, ben_id: ben}.get(actor, ""),
                action=action,
                **extra,
            )
            db.session.add(row)
            db.session.flush()
            ids[name] = row.id

        ids: dict[str, int] = {}
        add("login", 10, 9, "login.ok", ana_id)
        add("logout", 10, 17, "logout", ana_id)
        add("disable", 11, 12, "staff.disabled", ben_id)
        add("edit", 12, 0, "letter.edited", ana_id, letter_id=letters[G20])
        add("approve", 13, 8, "signature.approved", None, letter_id=letters[INCLUSIVE])
        add("reason", 13, 23, "reason.created", ben_id)
        add("export", 14, 0, "export.csv", ben_id, letter_id=letters[G20])
        db.session.commit()
    return {"ids": ids, "ana": ana_id, "ben": ben_id, "letters": letters}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=login", {"login", "signin"}),
        ("action=staff", {"disable"}),
        ("action=signature", {"approve"}),
        ("text=staff.dis", {"disable"}),
        ("text=log", {"login", "logout", "signin"}),
        ("actor=ana", {"login", "logout", "edit"}),
        ("actor=ben&action=reason", {"reason"}),
        ("letter=g20", {"edit", "export"}),
        ("letter=inclusive", {"approve"}),
        ("date_from=2020-01-12&date_to=2020-01-13", {"edit", "approve", "reason"}),
        ("date_from=2020-01-13", {"approve", "reason", "export", "signin"}),
        ("date_to=2020-01-10", {"login", "logout"}),
        ("actor=ana&date_from=2020-01-11&letter=g20", {"edit"}),
    ],
)
def test_each_filter_selects_the_right_events(app, staff_client, seeded, query, expected):
    admin = staff_client("admin")
    names = {"ana": str(seeded["ana"]), "ben": str(seeded["ben"]),
             "g20": str(seeded["letters"][G20]),
             "inclusive": str(seeded["letters"][INCLUSIVE])}  # fmt: skip
    for word, value in names.items():
        query = query.replace(f"={word}", f"={value}")
    answer = admin.get(f"/staff/audit?{query}")
    assert answer.status_code == 200
    shown = set(shown_ids(answer.get_data(as_text=True)))
    # "signin": the admin's own sign-in, today.
    known = {**seeded["ids"], "signin": last_event(app, "login.ok").id}
    assert shown == {known[name] for name in expected}


def test_a_bad_filter_is_explained(staff_client):
    admin = staff_client("admin")
    answer = admin.get("/staff/audit?date_from=2020-01-12&date_to=2020-01-11")
    assert answer.status_code == 400
    assert "This date is before the first one." in answer.get_data(as_text=True)
    assert admin.get("/staff/audit?actor=999999").status_code == 400


def test_pages_join_without_duplicates_and_keep_the_filters(make_app, make_staff):
    app = make_app(AUDIT_PAGE_SIZE=4)
    admin = app.test_client()
    login(admin, make_staff("admin"))
    with app.app_context():
        for n in range(11):
            audit.record("reason.created", details={"text": f"reason {n}"})
            audit.record("letter.edited", details={"n": n})
        db.session.commit()
        wanted = list(
            db.session.scalars(
                select(AuditEvent.id)
                .where(AuditEvent.action.startswith("reason."))
                .order_by(AuditEvent.id.desc())
            )
        )
    statements: list[tuple[str, Any]] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))

    seen: list[int] = []
    url: str | None = "/staff/audit?action=reason"
    pages = 0
    while url:
        page = admin.get(url).get_data(as_text=True)
        ids = shown_ids(page)
        assert 0 < len(ids) <= 4
        seen += ids
        pages += 1
        older = OLDER_LINK.search(page)
        url = html.unescape(older.group(1)) if older else None
        if url:
            assert "action=reason" in url and f"before={ids[-1]}" in url
    assert pages == 3
    assert seen == wanted
    assert len(set(seen)) == len(seen)
    # Keyset, not OFFSET: older pages ask for ids below the last one shown. (SQLite's dialect
    # writes "LIMIT ? OFFSET ?" for any limit; the offset it sends must then be 0.)
    pages_sql = [(sql, args) for sql, args in statements if "FROM audit_events" in sql]
    assert len(pages_sql) == 3
    assert sum("audit_events.id <" in sql for sql, _ in pages_sql) == 2
    for sql, args in pages_sql:
        if "OFFSET" in sql.upper():
            assert engine.dialect.name == "sqlite" and list(args)[-1] == 0


def test_the_newest_page_link_appears_on_older_pages(make_app, make_staff):
    app = make_app(AUDIT_PAGE_SIZE=2)
    admin = app.test_client()
    login(admin, make_staff("admin"))
    with app.app_context():
        for n in range(3):
            audit.record("reason.created", details={"text": f"reason {n}"})
        db.session.commit()
    first = admin.get("/staff/audit").get_data(as_text=True)
    assert "Newest events" not in first
    older = html.unescape(OLDER_LINK.search(first).group(1))
    assert "Newest events" in admin.get(older).get_data(as_text=True)


# --- what the trail holds, and that it cannot change --------------------------------------------


def test_the_trail_is_append_only_in_the_database(app, staff_client):
    staff_client("admin")  # its sign-in is an event
    with app.app_context():
        first = db.session.scalar(select(AuditEvent.id))
        assert first is not None
        for statement in (
            update(AuditEvent).where(AuditEvent.id == first).values(action="tampered"),
            delete(AuditEvent).where(AuditEvent.id == first),
            delete(AuditEvent),
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(statement)
            db.session.rollback()
        row = db.session.get(AuditEvent, first)
        row.details = {"changed": True}
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        kept = db.session.get(AuditEvent, first)
        assert kept.action == "login.ok"
        assert kept.details == {}


def test_the_trail_refuses_secret_keys():
    for key in ("password", "token", "email"):
        with pytest.raises(ValueError, match=key):
            audit.record("staff.created", details={key: "x"})


def test_no_event_holds_a_password_a_token_or_a_signers_email(app, client, staff_client):
    signer = "signer.private@example.org"
    assert sign(client, G20, email=signer).status_code == 303
    admin = staff_client("admin")
    link = INVITE_LINK.findall(invite(admin, "helper@example.org").get_data(as_text=True))[0]
    token = link.rsplit("/", 1)[1]
    visitor = app.test_client()
    form = visitor.get(path_of(link)).get_data(as_text=True)
    password = "a password nobody should see"
    visitor.post(
        path_of(link),
        data={"csrf_token": csrf_token(form), "password": password, "password_again": password},
    )
    login(app.test_client(), "helper@example.org", "a wrong password that is secret")
    submit(admin, "/staff/reasons", "/staff/reasons/new", text="Not a real person")
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent)))
        assert {"staff.invited", "staff.invitation_accepted", "login.failed", "reason.created"} <= {
            e.action for e in events
        }
        stored = repr([(e.action, e.object_type, e.details, e.actor_email) for e in events])
    for secret in (signer, token, password, "a wrong password that is secret"):
        assert secret not in stored


def test_every_recorded_action_has_a_readable_label():
    """Admins read labels, not codes: each action the code records has one."""
    import re
    from pathlib import Path

    from petitions.services.audit import ACTION_LABELS
    from petitions.services.moderation import ModerationAction

    package = Path(__file__).resolve().parent.parent / "petitions"
    source = "\n".join(p.read_text() for p in package.rglob("*.py"))
    literal = set(re.findall(r'audit\.record\(\s*"([a-z_.]+)"', source))
    assert {"login.ok", "letter.created", "staff.invited"} <= literal
    recorded = literal | {f"signature.{a.value}" for a in ModerationAction}
    recorded |= {"signature.verified", "signature.unverified"}
    assert recorded - set(ACTION_LABELS) == set()


def test_addresses_typed_into_free_text_never_reach_the_trail(app, staff_client):
    """A reason or a search is free text: an address typed there is redacted on the way in."""
    from conftest import csrf_token

    moderator = staff_client("moderator")
    page = moderator.get("/staff/moderation").get_data(as_text=True)
    moderator.post(
        "/staff/signatures/moderate",
        data={"csrf_token": csrf_token(page), "action": "hide", "signature": "1",
              "reason": "asked by ana.hoxha@example.org"},
    )  # fmt: skip
    with app.app_context():
        from petitions.services import audit

        audit.record("reason.created", details={"text": "x", "nested": ["b@example.org"]})
        db.session.commit()
        stored = " ".join(repr(e.details) for e in db.session.scalars(select(AuditEvent)))
    assert "example.org" not in stored
    assert "[email]" in stored
