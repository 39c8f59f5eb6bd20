"""The moderation queue and the actions on signatures."""

from __future__ import annotations

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue

from petitions.services.access import Permission
from petitions.staff.gate import require

bp = Blueprint("moderation", __name__)
bp.before_request(require(Permission.VIEW_SIGNATURES))


@bp.get("/moderation")
def queue() -> ResponseReturnValue:
    abort(501)


@bp.post("/signatures/moderate")
def moderate() -> ResponseReturnValue:
    abort(501)
