"""Requests whose address, query string or form holds a NUL character are refused (400).

PostgreSQL cannot hold a NUL in text, and psycopg refuses such a value before sending it: a slug,
a search, a login's email with ``%00`` in it was a 500 on PostgreSQL (and "not found" on SQLite).
No field of ours has a use for one, so one guard answers 400 up front instead of each view
guarding its own inputs. Two kinds of POST are left to their views: forms that already say
"invisible control characters" beside the field (better than a bare 400), and the verification
page's upload, whose body must not be read before its own checks and holds no text.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

FORMS_LEFT_TO_THEIR_VIEWS = frozenset(
    {
        "public.sign",  # petitions.public.forms: control characters refused beside the field
        "staff.letters.create",  # petitions.staff.letter_forms: the same
        "staff.letters.edit",
        "verification.check_file",  # read only after its rate limit, code and token
    }
)


def _holds_nul(pairs: MultiDict[str, str]) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs.items(multi=True))


def _form_holds_nul() -> bool:
    return (
        request.method == "POST"
        and request.endpoint not in FORMS_LEFT_TO_THEIR_VIEWS
        and _holds_nul(request.form)
    )


def refuse_nul() -> None:
    if "\x00" in request.path or _holds_nul(request.args) or _form_holds_nul():
        abort(400)


def init_nul_guard(app: Flask) -> None:
    app.before_request(refuse_nul)
