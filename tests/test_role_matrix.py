"""Every staff route, walked with every role and with no login; and CSRF on every staff form.

The table below must name every ``/staff`` endpoint: a new route fails here until someone says
who may use it. "allowed" means the request passed every gate (whatever the page then answered:
200, a redirect back, 400 for an empty form, 404 for an unknown id); "forbidden" is 403;
"login" is a redirect to the login page.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import G20, INCLUSIVE, csrf_token
from sqlalchemy import func, select

from petitions.extensions import db
from petitions.models.audit import AuditEvent

ANONYMOUS, ADMIN, MODERATOR, OWNER, OTHER_ORGANISER = (
    "anonymous",
    "admin",
    "moderator",
    "organiser of the letter",
    "organiser of another letter",
)
SUBJECTS = (ANONYMOUS, ADMIN, MODERATOR, OWNER, OTHER_ORGANISER)
STAFF = frozenset(SUBJECTS) - {ANONYMOUS}
OPEN = frozenset(SUBJECTS)
ADMINS = frozenset({ADMIN})
MODERATORS = frozenset({ADMIN, MODERATOR})
LETTER_READERS = frozenset({ADMIN, MODERATOR, OWNER})
LETTER_EDITORS = frozenset({ADMIN, OWNER})
ORGANISERS = frozenset({ADMIN, OWNER, OTHER_ORGANISER})
SIGNATURE_READERS = frozenset({ADMIN, MODERATOR, OWNER, OTHER_ORGANISER})

# (endpoint, method): who gets through. URL values: the letter is G20, ids do not exist.
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    ("staff.auth.login", "GET"): OPEN,
    ("staff.auth.login", "POST"): OPEN,
    ("staff.auth.accept_invitation", "GET"): OPEN,
    ("staff.auth.accept_invitation", "POST"): OPEN,
    ("staff.auth.logout", "POST"): STAFF,
    ("staff.auth.change_password", "GET"): STAFF,
    ("staff.auth.change_password", "POST"): STAFF,
    ("staff.home.index", "GET"): STAFF,
    ("staff.letters.create", "GET"): ORGANISERS,
    ("staff.letters.create", "POST"): ORGANISERS,
    ("staff.letters.dashboard", "GET"): LETTER_READERS,
    ("staff.letters.edit", "GET"): LETTER_EDITORS,
    ("staff.letters.edit", "POST"): LETTER_EDITORS,
    ("staff.letters.status", "POST"): LETTER_EDITORS,
    ("staff.letters.confirm_status", "GET"): LETTER_EDITORS,
    ("staff.partners.partners", "GET"): LETTER_READERS,
    ("staff.partners.add", "POST"): LETTER_EDITORS,
    ("staff.partners.remove", "POST"): LETTER_EDITORS,
    ("staff.exports.form", "GET"): LETTER_EDITORS,
    ("staff.exports.csv_file", "GET"): LETTER_EDITORS,
    ("staff.exports.csv_file", "POST"): LETTER_EDITORS,
    ("staff.exports.xlsx_file", "GET"): LETTER_EDITORS,
    ("staff.exports.xlsx_file", "POST"): LETTER_EDITORS,
    ("staff.exports.pdf_file", "GET"): LETTER_EDITORS,
    ("staff.exports.pdf_file", "POST"): LETTER_EDITORS,
    ("staff.exports.job", "GET"): LETTER_EDITORS,
    ("staff.exports.pdf_download", "GET"): LETTER_EDITORS,
    ("staff.exports.pdf_download", "POST"): LETTER_EDITORS,
    ("staff.exports.deliveries_page", "GET"): LETTER_EDITORS,
    ("staff.exports.deliveries_page", "POST"): LETTER_EDITORS,
    ("staff.updates.compose", "GET"): LETTER_EDITORS,
    ("staff.updates.compose", "POST"): LETTER_EDITORS,
    ("staff.updates.resume", "POST"): LETTER_EDITORS,
    ("staff.moderation.queue", "GET"): SIGNATURE_READERS,
    ("staff.moderation.moderate", "POST"): MODERATORS,
    ("staff.moderation.verify", "POST"): MODERATORS,
    ("staff.moderation.bulk_preview", "GET"): MODERATORS,
    ("staff.moderation.confirm_selected", "GET"): MODERATORS,
    ("staff.moderation.bulk_apply", "POST"): MODERATORS,
    ("staff.admin.staff_list", "GET"): ADMINS,
    ("staff.admin.invite", "POST"): ADMINS,
    ("staff.admin.set_active", "POST"): ADMINS,
    ("staff.admin.change_role", "POST"): ADMINS,
    ("staff.admin.change_letters", "POST"): ADMINS,
    ("staff.admin.revoke_invitation", "POST"): ADMINS,
    ("staff.admin.reasons", "GET"): ADMINS,
    ("staff.admin.add_reason", "POST"): ADMINS,
    ("staff.admin.edit_reason", "POST"): ADMINS,
    ("staff.admin.move_reason", "POST"): ADMINS,
    ("staff.admin.set_reason_active", "POST"): ADMINS,
    ("staff.admin.audit", "GET"): ADMINS,
}
URL_VALUES = {
    "slug": G20,
    "token": "no-such-invitation",
    "user_id": 99999,
    "invitation_id": 99999,
    "reason_id": 99999,
    "export_id": 99999,
    "update_id": 99999,
    "partner_id": 99999,
    "change": None,  # the first value the converter allows
}


def staff_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every route under /staff."""
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/staff"):
                continue
            values = {}
            for name in rule.arguments:
                value = URL_VALUES[name]
                if value is None:  # an any(...) converter: take its first word
                    value = rule._converters[name].regex.split("|")[0].strip("()?:")
                values[name] = value
            path = rule.build(values)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((rule.endpoint, method, path))
    return routes


def test_the_matrix_names_every_staff_route(app):
    found = {(endpoint, method) for endpoint, method, _ in staff_routes(app)}
    assert found == set(MATRIX)


def _client_for(subject: str, app, make_staff) -> Any:
    from conftest import login

    client = app.test_client()
    if subject == ANONYMOUS:
        return client
    role, letters = {
        ADMIN: ("admin", ()),
        MODERATOR: ("moderator", ()),
        OWNER: ("organiser", (G20,)),
        OTHER_ORGANISER: ("organiser", (INCLUSIVE,)),
    }[subject]
    assert login(client, make_staff(role, letters=letters)).status_code == 303
    return client


def _outcome(answer: Any) -> str:
    if answer.status_code == 403:
        return "forbidden"
    if answer.status_code in (301, 302, 303) and answer.headers["Location"].startswith(
        "/staff/login"
    ):
        return "login"
    return "allowed"


@pytest.mark.parametrize("subject", SUBJECTS)
def test_every_route_with_every_role(app, make_staff, subject):
    client = _client_for(subject, app, make_staff)
    # A token valid for this session, so that CSRF passes and the gates decide.
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    wrong = []
    for endpoint, method, path in staff_routes(app):
        if endpoint == "staff.auth.logout":
            continue  # walked last: it ends the session the others need
        answer = client.open(path, method=method, data={"csrf_token": token})
        answer.close()  # a streamed download (CSV, PDF) ends here, as a server would end it
        expected = "allowed" if subject in MATRIX[(endpoint, method)] else (
            "login" if subject == ANONYMOUS else "forbidden"
        )  # fmt: skip
        if _outcome(answer) != expected:
            wrong.append((method, path, answer.status_code, expected))
        assert answer.status_code < 500, (method, path, answer.status_code)
    logout = client.post("/staff/logout", data={"csrf_token": token})
    expected_logout = "login" if subject == ANONYMOUS else "allowed"
    if subject != ANONYMOUS:
        # Signing out answers with the login page too; what matters is that it was let through.
        assert logout.status_code == 303
    else:
        assert _outcome(logout) == expected_logout
    assert wrong == []


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_cross_site_get_meets_the_same_gates(app, make_staff, subject):
    """A link from another site (the exports then ask to confirm) opens nothing more."""
    client = _client_for(subject, app, make_staff)
    wrong = []
    for endpoint, method, path in staff_routes(app):
        if method != "GET":
            continue
        answer = client.get(path, headers={"Sec-Fetch-Site": "cross-site"})
        answer.close()
        expected = "allowed" if subject in MATRIX[(endpoint, method)] else (
            "login" if subject == ANONYMOUS else "forbidden"
        )  # fmt: skip
        if _outcome(answer) != expected:
            wrong.append((path, answer.status_code, expected))
        assert answer.status_code < 500, (path, answer.status_code)
    assert wrong == []


def _audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_every_staff_form_needs_a_csrf_token(app, make_staff):
    """An admin (who may post everywhere) without a token: 400 everywhere, nothing written."""
    client = _client_for(ADMIN, app, make_staff)
    before = _audit_count(app)
    posts = [(e, p) for e, m, p in staff_routes(app) if m == "POST"]
    assert len(posts) >= 15
    refused = {endpoint: client.post(path, data={}).status_code for endpoint, path in posts}
    assert set(refused.values()) == {400}, refused
    assert _audit_count(app) == before
    assert client.get("/staff/").status_code == 200  # still signed in: logout was refused too


def test_a_token_from_another_session_is_refused(app, make_staff):
    client = _client_for(ADMIN, app, make_staff)
    stranger = app.test_client()
    foreign = csrf_token(stranger.get("/staff/login").get_data(as_text=True))
    answer = client.post(
        "/staff/signatures/moderate", data={"csrf_token": foreign, "action": "hide", "signature": 1}
    )
    assert answer.status_code == 400
