"""Rules for what people type: normalisation, refused characters, names without links, countries.

Forms call these; they hold no Flask state, so they are tested on their own.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import pycountry
from babel import Locale

# Bidirectional embedding/override/isolate controls: invisible, and used to disguise text.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_URL_PATTERN = re.compile(
    r"(://|\bwww\.|\b[\w-]+\.(com|net|org|info|biz|io|ru|xyz|top|link|click|ly)\b)", re.I
)
# Kosovo has no ISO 3166-1 code yet; XK is the user-assigned code in common use (EU, IMF, CLDR).
EXTRA_COUNTRIES = {"XK"}


def normalise(value: str | None) -> str:
    """NFC (so "ë" typed two ways is stored one way) and trimmed; ``None`` becomes ``""``."""
    if value is None:
        return ""
    return unicodedata.normalize("NFC", value).strip()


def refused_characters(value: str, multiline: bool = False) -> list[str]:
    """The control and bidi-override characters in ``value`` (newlines pass in multiline text)."""
    allowed = {"\n", "\r", "\t"} if multiline else set()
    found = []
    for char in value:
        if char in allowed:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Co", "Cn") or char in _BIDI_CONTROLS:
            found.append(char)
    return found


def looks_like_link(value: str) -> bool:
    return bool(_URL_PATTERN.search(value))


def canonical_email(email: str) -> str:
    """The form two spellings of one address share: trimmed and case-folded.

    Local parts are case-sensitive in theory and never in practice; treating them so would let
    one person sign twice by changing a letter's case.
    """
    return normalise(email).lower()


@functools.cache
def country_codes() -> frozenset[str]:
    return frozenset({c.alpha_2 for c in pycountry.countries} | EXTRA_COUNTRIES)


@functools.cache
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(code, name in ``language``) for every country, sorted by the localised name."""
    locale = Locale.parse(language)
    names = locale.territories
    english = Locale.parse("en").territories
    pairs = [(code, names.get(code) or english.get(code) or code) for code in country_codes()]
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


def country_name(code: str, language: str) -> str:
    return dict(country_choices(language)).get(code, code)


def _sort_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
