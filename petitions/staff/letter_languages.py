"""Which languages the letter form shows: a letter's texts may be in any language.

The form has a fieldset per language: the interface's languages, those the letter already has
and any that staff add with the "add a text in this language" button (which only redraws the
form). A language added earlier in the same editing stays because its fields come back with
each POST (``text_<code>-title``).
"""

from __future__ import annotations

import re

from flask import request

from petitions.models.letters import Letter
from petitions.services.languages import is_text_language
from petitions.staff.letter_forms import LetterForm

_POSTED = re.compile(r"text_([a-z]{2})-title")


def form_languages(interface: list[str], letter: Letter | None) -> list[str]:
    codes = list(interface)
    if letter is not None:
        codes += [t.language for t in letter.texts if t.superseded_at is None]
        codes += [code for a in letter.addressees for code in a.translations or {}]
    if request.method == "POST":
        codes += [m.group(1) for key in request.form if (m := _POSTED.fullmatch(key))]
        if request.form.get("add"):
            codes.append(request.form.get("add_language", ""))
    found: list[str] = []
    for code in codes:
        if code not in found and (code in interface or is_text_language(code)):
            found.append(code)
    return found


def adding_language(form: LetterForm) -> bool:
    """The "add a language" button was pressed: show the form again with that fieldset."""
    if request.method != "POST" or not form.add.data:
        return False
    form.add_language.data = ""
    return True
