"""The gates of the staff area: a live session for all of it, a permission for each area.

:func:`require_session` guards the parent blueprint, so it covers every staff page, including
pages added later; :func:`require` gives each child blueprint the permission its whole area needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Response, abort, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from petitions.extensions import db
from petitions.models.staff import StaffUser
from petitions.services.access import Permission, may

# Endpoints a visitor without a session may open.
OPEN_ENDPOINTS = frozenset({"staff.auth.login", "staff.auth.accept_invitation"})
SEEN_KEY = "staff_seen"


def _to_login() -> ResponseReturnValue:
    """The login page, then back here; after a form post, back to the page that held the form
    (a POST-only address cannot be reopened with GET)."""
    if request.method == "GET":
        back = request.full_path.rstrip("?")
    else:
        referrer = urlsplit(request.referrer or "")
        same_site = referrer.netloc == request.host
        back = referrer.path + (f"?{referrer.query}" if referrer.query else "") if same_site else ""
    return redirect(url_for("staff.auth.login", next=back or None))


def require_session() -> ResponseReturnValue | None:
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return _to_login()
    now = int(time.time())
    seen = session.get(SEEN_KEY, 0)
    if now - seen > current_app.config["STAFF_IDLE_TIMEOUT"]:
        logout_user()
        session.pop(SEEN_KEY, None)
        flash(_l("You were signed out after a while without activity. Please sign in again."))
        return _to_login()
    session[SEEN_KEY] = now
    return None


def no_store(response: Response) -> Response:
    # Staff pages hold personal data: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def require(permission: Permission) -> Callable[[], None]:
    """A child blueprint's gate: the whole area needs ``permission`` (on some letter)."""

    def area_gate() -> None:
        if request.endpoint in OPEN_ENDPOINTS:
            return
        if not may(current_user, permission):
            abort(403)

    return area_gate


def current_staff() -> StaffUser:
    """The signed-in staff member, as the model (not Flask-Login's proxy), for services."""
    user = current_user._get_current_object()
    if not isinstance(user, StaffUser):
        raise RuntimeError("no staff member is signed in")
    return user


def load_staff_user(user_id: str) -> StaffUser | None:
    """Flask-Login's loader: the cookie's id is "<account id>:<session version>"."""
    account, _, version = user_id.partition(":")
    if not account.isdigit() or not version.isdigit():
        return None
    user = db.session.get(StaffUser, int(account))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user
