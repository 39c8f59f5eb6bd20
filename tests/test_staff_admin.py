"""The admin area: invitations end to end, accounts, rejection reasons, who may open it.

Forms are submitted as a browser would: read from the page, with the values it shows, then
changed where a person would change them (see :func:`submit`).
"""

from __future__ import annotations

import itertools
import logging
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, csrf_token, login, outbox_rows, path_of
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.columns import utcnow
from petitions.models.letters import Letter
from petitions.models.staff import ModerationReason, StaffInvitation, StaffUser
from petitions.services import moderation_reasons
from petitions.services.passwords import common_passwords

INVITE_LINK = re.compile(r"https?://[^\s\"<>]+/staff/invitations/[A-Za-z0-9_-]+")
COMMON_LONG_PASSWORD = "password123456"
GOOD_PASSWORD = "violet harbour lantern 42"


# --- a small browser: forms as the page shows them -------------------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") not in {"checkbox", "radio"} or "checked" in a:
                self.forms[-1]["fields"].append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1]["fields"].append((self._select, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_fields(html: str, action: str) -> dict[str, Any]:
    """The fields of the page's form posting to ``action``, as a browser would send them."""
    parser = _Forms()
    parser.feed(html)
    matching = [form for form in parser.forms if form["action"] == action]
    assert matching, f"no form posting to {action}"
    data: dict[str, Any] = {}
    for name, value in matching[0]["fields"]:
        data.setdefault(name, []).append(value)
    return {name: values if len(values) > 1 else values[0] for name, values in data.items()}


def submit(client: Any, page: str, action: str, **changes: Any) -> Any:
    """Open ``page``, fill its form for ``action`` (``changes`` by field name), post it."""
    html = client.get(page).get_data(as_text=True)
    data = form_fields(html, action)
    data.update(changes)
    return client.post(action, data=data)


def staff_id(app: Any, email: str) -> int:
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert user is not None
        return user.id


def letter_id(app: Any, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Letter.id).where(Letter.slug == slug))


def actions(app: Any) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def invite(client: Any, email: str, role: str = "organiser", letters: tuple[int, ...] = ()) -> Any:
    return submit(
        client,
        "/staff/accounts",
        "/staff/accounts/invite",
        email=email,
        role=role,
        letters=[str(i) for i in letters],
    )


# --- invitations --------------------------------------------------------------------------------


def test_an_invited_organiser_chooses_a_password_and_works_on_the_letter(app, staff_client, caplog):
    caplog.set_level(logging.DEBUG)
    admin = staff_client("admin")
    g20 = letter_id(app, G20)
    answer = invite(admin, "New.Organiser@Example.org", letters=(g20,))
    assert answer.status_code == 200
    shown = INVITE_LINK.findall(answer.get_data(as_text=True))
    assert len(shown) == 1

    rows = outbox_rows(app)
    assert len(rows) == 1
    assert rows[0].purpose == "staff_invitation"
    assert rows[0].recipient == "new.organiser@example.org"
    assert INVITE_LINK.findall(rows[0].text_body) == shown
    link = path_of(shown[0])
    token = link.rsplit("/", 1)[1]
    # The link lives on the answer page only, never in the flash messages (session cookie).
    with admin.session_transaction() as session:
        assert token not in repr(dict(session))

    visitor = app.test_client()
    form_page = visitor.get(link)
    assert form_page.status_code == 200
    html = form_page.get_data(as_text=True)
    assert 'name="password"' in html and 'name="password_again"' in html
    assert "new.organiser@example.org" in html

    def choose(password: str) -> Any:
        return visitor.post(
            link,
            data={"csrf_token": csrf_token(html), "password": password, "password_again": password},
        )

    short = choose("too short")
    assert short.status_code == 400
    assert "Use at least 12 characters." in short.get_data(as_text=True)
    assert COMMON_LONG_PASSWORD in common_passwords()
    common = choose(COMMON_LONG_PASSWORD)
    assert common.status_code == 400
    assert "This password is too common" in common.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(StaffUser).where(StaffUser.role == "organiser")) is None

    accepted = choose(GOOD_PASSWORD)
    assert accepted.status_code == 303
    home = visitor.get("/staff/")
    assert home.status_code == 200
    assert "new.organiser@example.org" in home.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(
            select(StaffUser).where(StaffUser.email == "new.organiser@example.org")
        )
        assert user.role == "organiser"
        assert [letter.slug for letter in user.letters] == [G20]

    assert visitor.get(link).status_code == 404
    assert app.test_client().get(link).status_code == 404
    assert login(app.test_client(), "new.organiser@example.org", GOOD_PASSWORD).status_code == 303
    assert "staff.invited" in actions(app)
    assert "staff.invitation_accepted" in actions(app)
    with app.app_context():
        trail = repr([(e.details, e.action) for e in db.session.scalars(select(AuditEvent))])
    for secret in (token, GOOD_PASSWORD, COMMON_LONG_PASSWORD):
        assert secret not in trail
        assert secret not in caplog.text


def test_an_expired_invitation_opens_nothing(app, staff_client):
    admin = staff_client("admin")
    link = path_of(INVITE_LINK.findall(invite(admin, "late@example.org").get_data(as_text=True))[0])
    assert app.test_client().get(link).status_code == 200
    with app.app_context():
        invitation = db.session.scalar(select(StaffInvitation))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    visitor = app.test_client()
    assert visitor.get(link).status_code == 404
    page = admin.get("/staff/accounts").get_data(as_text=True)
    assert "late@example.org" not in page  # no longer pending


def test_a_revoked_invitation_opens_nothing(app, staff_client):
    admin = staff_client("admin")
    link = path_of(
        INVITE_LINK.findall(invite(admin, "maybe@example.org").get_data(as_text=True))[0]
    )
    page = admin.get("/staff/accounts").get_data(as_text=True)
    assert "maybe@example.org" in page
    with app.app_context():
        invitation_id = db.session.scalar(select(StaffInvitation.id))
    answer = submit(admin, "/staff/accounts", f"/staff/accounts/invitations/{invitation_id}/revoke")
    assert answer.status_code == 303
    flashed = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The invitation for maybe@example.org is revoked." in flashed
    assert "maybe@example.org" not in admin.get("/staff/accounts").get_data(as_text=True)
    assert app.test_client().get(link).status_code == 404
    assert "staff.invitation_revoked" in actions(app)


def test_a_new_invitation_replaces_the_pending_one(app, staff_client):
    admin = staff_client("admin")
    first = path_of(
        INVITE_LINK.findall(invite(admin, "twice@example.org").get_data(as_text=True))[0]
    )
    second = path_of(
        INVITE_LINK.findall(invite(admin, "twice@example.org").get_data(as_text=True))[0]
    )
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200


def test_inviting_an_existing_account_or_a_bad_address_is_refused(app, staff_client, make_staff):
    admin = staff_client("admin")
    taken = make_staff("moderator")
    again = invite(admin, taken.upper(), role="moderator")
    assert again.status_code == 400
    assert "There is already an account with this email address." in again.get_data(as_text=True)
    bad = invite(admin, "not an address")
    assert bad.status_code == 400
    assert [row for row in outbox_rows(app) if row.purpose == "staff_invitation"] == []
    assert "staff.invited" not in actions(app)


def test_only_organisers_are_invited_with_letters(app, staff_client):
    admin = staff_client("admin")
    answer = invite(admin, "mod@example.org", role="moderator", letters=(letter_id(app, G20),))
    assert answer.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(StaffInvitation.letter_ids)) == []


# --- accounts -----------------------------------------------------------------------------------


def test_the_accounts_page_lists_roles_states_and_letters(app, staff_client, make_staff):
    admin = staff_client("admin")
    organiser = make_staff("organiser", letters=(G20, INCLUSIVE))
    make_staff("moderator")
    page = admin.get("/staff/accounts").get_data(as_text=True)
    row = page.split(organiser, 1)[1].split("</tr>", 1)[0]
    assert "Organiser" in row and "Active" in row and "never" in row
    assert G20 in row and INCLUSIVE in row


def test_disabling_ends_the_sessions_and_enabling_restores_login(app, staff_client, make_staff):
    admin = staff_client("admin")
    email = make_staff("moderator")
    victim = app.test_client()
    login(victim, email)
    assert victim.get("/staff/").status_code == 200
    user = staff_id(app, email)

    answer = submit(admin, "/staff/accounts", f"/staff/accounts/{user}/disable")
    assert answer.status_code == 303
    assert "is disabled" in admin.get("/staff/accounts").get_data(as_text=True)
    next_request = victim.get("/staff/")
    assert next_request.status_code == 302
    assert next_request.headers["Location"].startswith("/staff/login")
    refused = login(app.test_client(), email)
    wrong = login(app.test_client(), email, password="not the right password")
    assert refused.status_code == wrong.status_code == 400
    message = "The email address or the password is not right."
    assert message in refused.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)

    assert submit(admin, "/staff/accounts", f"/staff/accounts/{user}/enable").status_code == 303
    assert login(app.test_client(), email).status_code == 303
    assert actions(app).count("staff.disabled") == 1
    assert actions(app).count("staff.enabled") == 1


def test_a_role_change_ends_the_sessions(app, staff_client, make_staff):
    admin = staff_client("admin")
    email = make_staff("moderator")
    other = app.test_client()
    login(other, email)
    user = staff_id(app, email)
    answer = submit(
        admin,
        "/staff/accounts",
        f"/staff/accounts/{user}/role",
        **{f"role-{user}-role": "organiser"},
    )
    assert answer.status_code == 303
    assert other.get("/staff/").status_code == 302
    with app.app_context():
        assert db.session.get(StaffUser, user).role == "organiser"
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "staff.role_changed")
        )
        assert event.details == {"from": "moderator", "to": "organiser"}
    # Now an organiser, the account gets letters.
    g20 = letter_id(app, G20)
    answer = submit(
        admin,
        "/staff/accounts",
        f"/staff/accounts/{user}/letters",
        **{f"letters-{user}-letters": [str(g20)]},
    )
    assert answer.status_code == 303
    with app.app_context():
        assert [letter.slug for letter in db.session.get(StaffUser, user).letters] == [G20]
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "staff.letters_changed")
        )
        assert event.details == {"from": [], "to": [g20]}


def test_letters_are_only_for_organisers(app, staff_client, make_staff):
    admin = staff_client("admin")
    user = staff_id(app, make_staff("moderator"))
    html = admin.get("/staff/accounts").get_data(as_text=True)
    answer = admin.post(
        f"/staff/accounts/{user}/letters",
        data={
            f"letters-{user}-csrf_token": csrf_token(html),
            f"letters-{user}-letters": [str(letter_id(app, G20))],
        },
    )
    assert answer.status_code == 303
    assert "Only organisers are given letters" in admin.get("/staff/accounts").get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(StaffUser, user).letters == []


def test_an_admin_cannot_disable_or_demote_themselves(app, make_staff):
    email = make_staff("admin")
    admin = app.test_client()
    login(admin, email)
    me = staff_id(app, email)
    token = csrf_token(admin.get("/staff/accounts").get_data(as_text=True))
    disable = admin.post(f"/staff/accounts/{me}/disable", data={"csrf_token": token})
    assert disable.status_code == 303
    page = admin.get("/staff/accounts").get_data(as_text=True)
    assert "You cannot disable your own account." in page
    demote = admin.post(
        f"/staff/accounts/{me}/role",
        data={f"role-{me}-csrf_token": token, f"role-{me}-role": "moderator"},
    )
    assert demote.status_code == 303
    assert "You cannot take away your own administrator role." in admin.get(
        "/staff/accounts"
    ).get_data(as_text=True)
    with app.app_context():
        user = db.session.get(StaffUser, me)
        assert (user.is_active, user.role, user.session_version) == (True, "admin", 1)
    assert not {"staff.disabled", "staff.role_changed"} & set(actions(app))
    assert admin.get("/staff/accounts").status_code == 200


def test_admin_forms_need_the_csrf_token(app, staff_client, make_staff):
    admin = staff_client("admin")
    user = staff_id(app, make_staff("moderator"))
    assert admin.post(f"/staff/accounts/{user}/disable").status_code == 400
    with app.app_context():
        assert db.session.get(StaffUser, user).is_active


# --- rejection reasons --------------------------------------------------------------------------


def add(client: Any, text: str) -> Any:
    return submit(client, "/staff/reasons", "/staff/reasons/new", text=text)


def reason_ids(app: Any) -> dict[str, int]:
    with app.app_context():
        return {r.text: r.id for r in db.session.scalars(select(ModerationReason))}


def active_texts(app: Any) -> list[str]:
    with app.app_context():
        return [reason.text for reason in moderation_reasons.active_reasons()]


def test_reasons_start_empty_then_are_added_edited_reordered_and_retired(app, staff_client):
    admin = staff_client("admin")
    assert "There are no reasons yet." in admin.get("/staff/reasons").get_data(as_text=True)
    for text in ("Fake name", "Duplicate", "  Abusive   comment "):
        assert add(admin, text).status_code == 303
    assert active_texts(app) == ["Fake name", "Duplicate", "Abusive comment"]
    ids = reason_ids(app)

    edited = submit(
        admin,
        "/staff/reasons",
        f"/staff/reasons/{ids['Duplicate']}/edit",
        **{f"reason-{ids['Duplicate']}-text": "Signed twice"},
    )
    assert edited.status_code == 303
    assert active_texts(app) == ["Fake name", "Signed twice", "Abusive comment"]

    up = submit(
        admin, "/staff/reasons", f"/staff/reasons/{ids['Abusive comment']}/move", direction="up"
    )
    assert up.status_code == 303
    assert active_texts(app) == ["Fake name", "Abusive comment", "Signed twice"]
    down = submit(
        admin, "/staff/reasons", f"/staff/reasons/{ids['Fake name']}/move", direction="down"
    )
    assert down.status_code == 303
    assert active_texts(app) == ["Abusive comment", "Fake name", "Signed twice"]
    # The top one cannot go higher: nothing changes.
    submit(admin, "/staff/reasons", f"/staff/reasons/{ids['Abusive comment']}/move", direction="up")
    assert active_texts(app) == ["Abusive comment", "Fake name", "Signed twice"]

    retired = submit(admin, "/staff/reasons", f"/staff/reasons/{ids['Fake name']}/deactivate")
    assert retired.status_code == 303
    assert active_texts(app) == ["Abusive comment", "Signed twice"]
    page = admin.get("/staff/reasons").get_data(as_text=True)
    assert "Fake name" in page and "Inactive" in page
    assert (
        submit(admin, "/staff/reasons", f"/staff/reasons/{ids['Fake name']}/activate").status_code
        == 303
    )
    assert active_texts(app) == ["Abusive comment", "Fake name", "Signed twice"]

    trail = actions(app)
    for action in ("reason.created", "reason.edited", "reason.moved", "reason.deactivated",
                   "reason.activated"):  # fmt: skip
        assert action in trail
    assert trail.count("reason.moved") == 2
    with app.app_context():
        edit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "reason.edited"))
        assert edit.details == {"from": "Duplicate", "to": "Signed twice"}
        assert (edit.object_type, edit.object_id) == ("moderation_reasons", ids["Duplicate"])


def test_active_reasons_follow_position_then_id(app):
    with app.app_context():
        db.session.add_all(
            [
                ModerationReason(text="c", position=2),
                ModerationReason(text="b", position=1),
                ModerationReason(text="a", position=1),
                ModerationReason(text="off", position=0, is_active=False),
            ]
        )
        db.session.commit()
        assert [r.text for r in moderation_reasons.active_reasons()] == ["b", "a", "c"]


def test_duplicate_reasons_are_refused_with_a_message(app, staff_client):
    admin = staff_client("admin")
    add(admin, "Spam")
    add(admin, "Fake")
    again = add(admin, "spam ")
    assert again.status_code == 400
    assert "This reason is in the list already." in again.get_data(as_text=True)
    ids = reason_ids(app)
    clash = submit(
        admin,
        "/staff/reasons",
        f"/staff/reasons/{ids['Fake']}/edit",
        **{f"reason-{ids['Fake']}-text": "Spam"},
    )
    assert clash.status_code == 303
    assert "This reason is in the list already." in admin.get("/staff/reasons").get_data(
        as_text=True
    )
    assert sorted(reason_ids(app)) == ["Fake", "Spam"]
    empty = add(admin, "   ")
    assert empty.status_code == 400
    assert actions(app).count("reason.created") == 2


# --- who may open the admin area ----------------------------------------------------------------


def admin_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, URL) of the admin area: ids set to 1, every value of an ``any()`` part."""
    found = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff.admin."):
            continue
        options = {
            name: sorted(getattr(rule._converters[name], "items", None) or [1])
            for name in rule.arguments
        }
        for combination in itertools.product(*options.values()):
            url = adapter.build(rule.endpoint, dict(zip(options, combination, strict=True)))
            found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_the_admin_area_has_all_the_routes_it_should(app):
    routes = admin_routes(app)
    assert ("GET", "/staff/accounts") in routes
    assert ("GET", "/staff/reasons") in routes
    assert ("GET", "/staff/audit") in routes
    assert ("POST", "/staff/accounts/1/disable") in routes
    assert ("POST", "/staff/reasons/1/deactivate") in routes
    assert len([r for r in routes if r[0] == "POST"]) >= 11


@pytest.mark.parametrize("role", ["moderator", "organiser"])
def test_moderators_and_organisers_are_refused_everywhere(app, staff_client, role):
    other = staff_client(role, letters=(G20,) if role == "organiser" else ())
    token = csrf_token(other.get("/staff/account/password").get_data(as_text=True))
    for method, url in admin_routes(app):
        if method == "GET":
            answer = other.get(url)
        else:
            answer = other.post(url, data={"csrf_token": token, "text": "x", "email": "a@b.org"})
        assert answer.status_code == 403, (method, url, answer.status_code)
    assert not [a for a in actions(app) if a.startswith(("reason.", "staff.invited"))]


def test_visitors_are_sent_to_the_login_page(app, client):
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    for method, url in admin_routes(app):
        if method == "GET":
            answer = client.get(url)
        else:
            answer = client.post(url, data={"csrf_token": token})
        assert answer.status_code == 302, (method, url)
        expected = "/staff/login?next=" if method == "GET" else "/staff/login"
        assert answer.headers["Location"].startswith(expected), (method, url)


def test_admin_pages_are_never_cached(staff_client):
    admin = staff_client("admin")
    for url in ("/staff/accounts", "/staff/reasons", "/staff/audit"):
        assert admin.get(url).headers["Cache-Control"] == "no-store"


def test_an_invitation_dies_with_its_inviters_account(app, staff_client, make_staff):
    """A hijacked admin session cannot leave a way back in: disable the admin, and their
    pending invitations open nothing."""
    admin = staff_client("admin")
    link = path_of(INVITE_LINK.findall(invite(admin, "door@example.org", "admin").get_data(
        as_text=True))[0])  # fmt: skip
    assert app.test_client().get(link).status_code == 200
    with app.app_context():
        inviter = db.session.scalar(select(StaffInvitation)).invited_by_id
        db.session.get(StaffUser, inviter).is_active = False
        db.session.commit()
    assert app.test_client().get(link).status_code == 404


def test_an_organiser_who_changes_role_leaves_their_letters(app, staff_client, make_staff):
    admin = staff_client("admin")
    email = make_staff("organiser", letters=(G20,))
    user = staff_id(app, email)
    for role in ("moderator", "organiser"):
        answer = submit(
            admin, "/staff/accounts", f"/staff/accounts/{user}/role",
            **{f"role-{user}-role": role},
        )  # fmt: skip
        assert answer.status_code == 303
    with app.app_context():
        assert db.session.get(StaffUser, user).letters == []
        changed = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "staff.letters_changed")
        )
        assert changed.details["to"] == []
