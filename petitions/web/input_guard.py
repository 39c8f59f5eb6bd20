"""Control characters never reach a query: 404 in a path, 400 in a query string or a form.

PostgreSQL refuses a NUL in any text value, so ``/letters/%00``, a login with ``\\x00`` in the
address or ``?q=%00`` on a staff page used to end in 500; other control characters (escape,
backspace…) have no business in a slug, a name or a search either. One check before every view:

- a path parameter with any control character: 404 (no such page);
- a query parameter (name or value) with one: 400;
- a form field with one other than tab, line feed and carriage return: 400, except on the
  endpoints in :data:`FORMS_SAY_IT`, whose views validate a :class:`TranslatedForm` before they
  read anything. Those forms refuse control characters field by field (tab and line breaks only
  in multi-line fields), with the message next to the field and what was typed kept.

"Control character" is Unicode's category Cc: U+0000-U+001F and U+007F-U+009F.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

# Any control character (paths, query strings, single-line fields).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Any but tab, line feed and carriage return (multi-line text).
CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Views that validate a TranslatedForm (form_messages.py) before reading their form data: the
# form names the field and keeps the input. Every other form post gets the plain 400 page.
FORMS_SAY_IT = frozenset(
    {
        "public.sign",
        "verification.check_digest",
        "verification.check_listed",
        "staff.auth.login",
        "staff.auth.accept_invitation",
        "staff.auth.change_password",
        "staff.letters.create",
        "staff.letters.edit",
        "staff.exports.deliveries_page",
    }
)


def _any(pattern: re.Pattern[str], texts: Iterable[object]) -> bool:
    return any(isinstance(text, str) and pattern.search(text) for text in texts)


def _refused(fields: MultiDict[str, str], in_values: re.Pattern[str]) -> bool:
    """A name with any control character, or a value (every value of a repeated name) with one
    that ``in_values`` finds."""
    return _any(CONTROL, fields.keys()) or _any(
        in_values, (value for _, value in fields.items(multi=True))
    )


# Views that must not have their body read before their own checks (a 25 MB upload, read only
# after its rate limit, code and token); an upload holds no text field anyway.
BODY_READ_BY_VIEW = frozenset({"verification.check_file"})


def refuse_control_characters() -> None:
    if request.view_args and _any(CONTROL, request.view_args.values()):
        abort(404)
    if _refused(request.args, CONTROL):
        abort(400)
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in FORMS_SAY_IT:
        return
    if request.endpoint in BODY_READ_BY_VIEW:
        return
    if _refused(request.form, CONTROL_BUT_LINE_BREAKS):
        abort(400)


def init_input_guard(app: Flask) -> None:
    """Register the check (after the request-size limit, before anything reads the form)."""
    app.before_request(refuse_control_characters)
