"""Staff passwords: argon2id hashes, and the one rule that matters, length over composition.

NIST SP 800-63B: at least 12 characters, no composition rules, refuse known common passwords.
The list ships with the package (Django's list of 20,000 common passwords, BSD licence).
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

from petitions.services.errors import DomainError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work one request can ask for
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"

_hasher = PasswordHasher()


class PasswordRejected(DomainError, ValueError):
    """The password breaks a rule; the message says which, for the person choosing it."""


@functools.cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def check_new_password(password: str, email: str = "") -> None:
    """Raise :class:`PasswordRejected` unless ``password`` may be chosen."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(_l("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(_l("Use at most %(n)d characters.", n=MAX_LENGTH))
    folded = password.strip().lower()
    if folded in common_passwords() or (email and folded == email.strip().lower()):
        raise PasswordRejected(_l("This password is too common; choose another one."))
    if len(set(password)) < 4:
        raise PasswordRejected(_l("This password is too easy to guess; choose another one."))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_password_hash(password: str, email: str = "") -> str:
    """Check a chosen password against the rules, then hash it.

    Hashing is argon2's work (a tenth of a second of CPU): callers do it before their write
    transaction begins, since on SQLite that transaction holds back every other writer.
    """
    check_new_password(password, email)
    return hash_password(password)


def is_password_hash(value: str) -> bool:
    """A stored hash, not a password passed where a hash belongs."""
    return value.startswith("$argon2")


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone's")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; without a hash, spend the same time, so timing shows no account."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
