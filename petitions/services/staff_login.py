"""Staff sign-in in three steps, so that no write transaction is open while argon2 works.

On SQLite every POST writes in a ``BEGIN IMMEDIATE`` transaction (see
:mod:`petitions.models.database`), which holds back every other writer, signatures included, until
it ends. A password check costs an argon2 hash (a tenth of a second of CPU, more under load):
done inside that transaction, each failed guess of a password-guesser stalled everyone's signing.
So the view runs:

1. :func:`find_account` in its read phase: the account, as plain values;
2. :func:`check_password` outside any transaction: argon2 (and a rehash, when the parameters
   changed), no database;
3. :func:`record_login` in a short write transaction: the outcome goes to the audit trail, and
   the login goes through only if the account is still active and still has the hash checked.

Every failure (no account, a wrong password, a disabled account) returns the same ``None`` after
the same hashing work, so neither the answer nor its timing tells whether an account exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.staff import StaffUser
from petitions.services import audit
from petitions.services.passwords import hash_password, needs_rehash, verify_password
from petitions.services.staff_accounts import staff_by_email


@dataclass(frozen=True)
class LoginAttempt:
    """What step 2 needs of the account, read in step 1 (no ORM object: it would reload)."""

    user_id: int | None
    password_hash: str | None


@dataclass(frozen=True)
class CheckedLogin:
    attempt: LoginAttempt
    valid: bool
    new_hash: str | None = None  # the same password under the current argon2 parameters


def find_account(email: str) -> LoginAttempt:
    user = staff_by_email(email) if len(email) <= 320 else None
    if user is None:
        return LoginAttempt(None, None)
    return LoginAttempt(user.id, user.password_hash)


def check_password(attempt: LoginAttempt, password: str) -> CheckedLogin:
    """The argon2 work of a login; touches no database, so call it outside any transaction."""
    valid = verify_password(attempt.password_hash, password)
    rehash = valid and attempt.password_hash is not None and needs_rehash(attempt.password_hash)
    return CheckedLogin(attempt, valid, hash_password(password) if rehash else None)


def record_login(checked: CheckedLogin) -> StaffUser | None:
    """The account to sign in, or None; the trail records both outcomes."""
    user_id = checked.attempt.user_id
    user = db.session.get(StaffUser, user_id) if user_id is not None else None
    # A password changed between the check and now: the one checked is no longer the account's.
    checked_hash = checked.attempt.password_hash
    valid = checked.valid and user is not None and user.password_hash == checked_hash
    if user is None or not valid or not user.is_active:
        audit.record(
            "login.failed",
            obj=user,
            details={"reason": "disabled" if user and valid else "credentials"},
        )
        return None
    if checked.new_hash:
        user.password_hash = checked.new_hash
    user.last_login_at = utcnow()
    audit.record("login.ok", obj=user, actor=user)
    return user
