"""The staff home page: the letters this person works on, their counts, and what waits for a
decision (signatures awaiting approval, each letter's a link to its queue)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.services.access import Permission, letters_for
from petitions.services.moderation_queue import waiting_by_letter

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    letters = db.session.scalars(
        letters_for(current_user, Permission.VIEW_LETTER).order_by(Letter.created_at.desc())
    ).all()
    waiting = waiting_by_letter([letter.id for letter in letters])
    return render_template("staff/home.html", letters=letters, waiting=waiting)
