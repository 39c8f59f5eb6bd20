"""The languages a letter's texts may be written in: any ISO 639-1 language Babel knows.

The interface speaks only the languages it has catalogues for (``LANGUAGES``); a letter's texts
are not bound to them. Names come from Babel's locale data: in the interface language for
choosing one, and in the language itself (its autonym) for links to a text.
"""

from __future__ import annotations

import functools
import re

from babel import Locale, UnknownLocaleError, localedata

from petitions.services.exports.pdf_text import RTL_LANGUAGES

_CODE = re.compile(r"[a-z]{2}")


@functools.cache
def text_languages() -> frozenset[str]:
    """Every two-letter language code Babel has locale data for (about 160)."""
    return frozenset(code for code in localedata.locale_identifiers() if _CODE.fullmatch(code))


def is_text_language(code: str | None) -> bool:
    return bool(code) and code in text_languages()


def text_direction(code: str) -> str:
    """``rtl`` for Arabic, Persian, Hebrew, Urdu and the other right-to-left languages."""
    return "rtl" if code.split("-", 1)[0].lower() in RTL_LANGUAGES else "ltr"


@functools.cache
def _locale(code: str) -> Locale | None:
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return None


def language_name(code: str, in_language: str) -> str:
    """``code``'s name in ``in_language`` ("French", "frëngjisht"), the code if unknown."""
    locale = _locale(in_language)
    name = locale.languages.get(code) if locale is not None else None
    return name or code


def autonym(code: str) -> str:
    """A language's name in itself ("Français", "العربية"), capitalised as a link label."""
    name = language_name(code, code)
    return name[:1].upper() + name[1:]


def language_choices(in_language: str) -> list[tuple[str, str]]:
    """(code, name) pairs for a select, named and sorted in ``in_language``."""
    named = [(code, language_name(code, in_language)) for code in text_languages()]
    return sorted(named, key=lambda pair: pair[1].casefold())


def language_label(code: str, in_language: str, own_names: dict[str, str]) -> str:
    """A label for ``code``: the interface's own name for its languages (``own_names``),
    else the language's name in ``in_language``, capitalised."""
    name = own_names.get(code) or language_name(code, in_language)
    return name[:1].upper() + name[1:]
