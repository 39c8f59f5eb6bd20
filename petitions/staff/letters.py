"""Letters: create, edit texts and settings, change status; each letter's dashboard."""

from __future__ import annotations

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue

from petitions.services.access import Permission
from petitions.staff.gate import require

bp = Blueprint("letters", __name__, url_prefix="/letters")
bp.before_request(require(Permission.VIEW_LETTER))


@bp.get("/new")
def create() -> ResponseReturnValue:
    abort(501)


@bp.get("/<slug>")
def dashboard(slug: str) -> ResponseReturnValue:
    abort(501)
