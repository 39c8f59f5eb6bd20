"""The staff area under ``/staff``: one parent blueprint whose gate covers every page in it.

The gate lets no request through without a live staff session, except the login and invitation
pages. Each area is a child blueprint with its own gate naming the permission the whole area
needs; views that touch one letter check it for that letter too (see :mod:`petitions.staff.gate`).
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_login import current_user

from petitions.extensions import login_manager
from petitions.services.access import Permission, may
from petitions.services.audit import action_label
from petitions.staff import admin, auth, exports, home, letters, moderation, partners, updates
from petitions.staff.gate import load_staff_user, no_store, require_session

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.before_request(require_session)
bp.after_request(no_store)
for _area in (
    auth.bp,
    home.bp,
    letters.bp,
    partners.bp,
    exports.bp,
    moderation.bp,
    admin.bp,
    updates.bp,
):
    bp.register_blueprint(_area)


def init_staff(app: Flask) -> None:
    # Flask-Login's own context processor loads the user for every page rendered, public ones
    # too; the proxy below loads it only where a template asks (the staff pages).
    login_manager.init_app(app, add_context_processor=False)
    login_manager.user_loader(load_staff_user)
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)

    @app.context_processor
    def staff_context() -> dict[str, object]:
        return {
            "current_user": current_user,
            "may": may,
            "Permission": Permission,
            "action_label": action_label,
        }
