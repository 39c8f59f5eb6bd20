"""Administration: staff accounts and invitations, the list of reasons, the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue

from petitions.services.access import Permission
from petitions.staff.gate import require

bp = Blueprint("admin", __name__)
bp.before_request(require(Permission.MANAGE_STAFF))


@bp.get("/accounts")
def staff_list() -> ResponseReturnValue:
    abort(501)


@bp.get("/reasons")
def reasons() -> ResponseReturnValue:
    abort(501)


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    abort(501)
