"""The embed's form token: what stands for the CSRF check where there is no cookie at all.

A letter framed on a partner's site is a third-party page, and browsers block (or will block)
its cookies: no session, so no session-bound CSRF token. The embed form carries instead a token
signed with the site's secret (itsdangerous, its own salt), naming the letter and stamped with
the time it was issued. The signing endpoint accepts it for that letter only and only while it is
younger than ``EMBED_FORM_MAX_AGE``. It proves the form was fetched from us recently; what a
session token adds (binding to one browser) protects nobody here, since the form acts for no
logged-in person. Floods are the rate limits' job, bots the honeypot's, and an address is only
counted once its owner confirms it by email.
"""

from __future__ import annotations

import functools

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from petitions.services.errors import DomainError

SALT = "petitions.embed-form"


class FormTokenRefused(DomainError):
    """The token is missing, altered, for another letter, or too old."""


@functools.lru_cache(maxsize=4)
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def make_form_token(letter_id: int) -> str:
    return str(_serializer(current_app.config["SECRET_KEY"]).dumps([letter_id]))


def check_form_token(token: str, letter_id: int) -> None:
    """Raise :class:`FormTokenRefused` unless ``token`` was issued for this letter recently."""
    serializer = _serializer(current_app.config["SECRET_KEY"])
    try:
        payload = serializer.loads(token, max_age=current_app.config["EMBED_FORM_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        raise FormTokenRefused() from None
    if payload != [letter_id]:
        raise FormTokenRefused()
