"""The staff home page: the letters this person works on, with their counts."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.services.access import Permission, letters_for

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    letters = db.session.scalars(
        letters_for(current_user, Permission.VIEW_LETTER).order_by(Letter.created_at.desc())
    ).all()
    return render_template("staff/home.html", letters=letters)
