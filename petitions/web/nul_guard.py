"""Requests whose address, query string or form holds a NUL character are refused (400).

PostgreSQL cannot hold a NUL in text, and psycopg refuses such a value before sending it: a slug,
a search or an email with ``%00`` in it was a 500 on PostgreSQL (and a plain "not found" on
SQLite). No field of ours has a use for one, so every channel answers 400 up front instead of each
view guarding its own inputs. The upload of the verification page is left alone: its body must
not be read before its own checks (see ``petitions.public.verification``), and holds no text.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

UNREAD_BODIES = frozenset({"verification.check_file"})


def _holds_nul(pairs: MultiDict[str, str]) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs.items(multi=True))


def _form_holds_nul() -> bool:
    return (
        request.method == "POST"
        and request.endpoint not in UNREAD_BODIES
        and _holds_nul(request.form)
    )


def refuse_nul() -> None:
    if "\x00" in request.path or _holds_nul(request.args) or _form_holds_nul():
        abort(400)


def init_nul_guard(app: Flask) -> None:
    app.before_request(refuse_nul)
