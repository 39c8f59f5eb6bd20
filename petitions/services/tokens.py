"""Signed links: one salt per purpose, an expiry, and a payload bound to what they unlock.

A token names a signature and the nonce stored with it. Replacing the nonce (a fresh confirmation
email) makes every older link of that purpose worthless, without keeping a list of used tokens.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from petitions.services.errors import DomainError


class Purpose(enum.StrEnum):
    CONFIRM = "confirm"
    WITHDRAW = "withdraw"


MAX_AGE_SETTING = {Purpose.CONFIRM: "CONFIRM_MAX_AGE", Purpose.WITHDRAW: "WITHDRAW_MAX_AGE"}


class TokenInvalid(DomainError):
    """The link was altered, belongs to another purpose, or was never issued here."""


class TokenExpired(DomainError):
    """The link was genuine but is too old; it still names its signature, to offer a new one."""

    def __init__(self, claim: Claim) -> None:
        super().__init__("expired")
        self.claim = claim


@dataclass(frozen=True)
class Claim:
    signature_id: int
    nonce: str


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"], purpose)


@functools.lru_cache(maxsize=8)
def _serializer_for(secret_key: str, purpose: Purpose) -> URLSafeTimedSerializer:
    """Serializers are immutable; building one per link derived its keys again each time."""
    return URLSafeTimedSerializer(secret_key, salt=f"petitions.{purpose}")


def make_token(purpose: Purpose, signature_id: int, nonce: str) -> str:
    return str(_serializer(purpose).dumps([signature_id, nonce]))


def read_token(purpose: Purpose, token: str) -> Claim:
    """Verify a token; raise :class:`TokenInvalid` or :class:`TokenExpired`."""
    max_age = current_app.config[MAX_AGE_SETTING[purpose]]
    serializer = _serializer(purpose)
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired as expired:
        # The signature was verified; only the age failed. The payload is still encoded.
        encoded = expired.payload if isinstance(expired.payload, bytes) else b""
        raise TokenExpired(_claim(serializer.load_payload(encoded))) from None
    except BadSignature:
        raise TokenInvalid() from None
    return _claim(payload)


def _claim(payload: object) -> Claim:
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or not isinstance(payload[1], str)
    ):
        raise TokenInvalid()
    return Claim(signature_id=payload[0], nonce=payload[1])
