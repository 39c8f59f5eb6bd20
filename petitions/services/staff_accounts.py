"""Staff accounts: creation, login, sessions, disabling, and emailed invitations.

Sessions are signed cookies; what makes them revocable is the account's ``session_version``,
which is part of the user id in every cookie. Raising it (logout, disabling, a new password)
ends every session of the account on every device, at the next request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Letter
from petitions.models.staff import Role, StaffInvitation, StaffUser
from petitions.services import audit
from petitions.services.errors import DomainError
from petitions.services.outbox import queue_email
from petitions.services.passwords import is_password_hash, new_password_hash, verify_password
from petitions.web.links import external_url

INVITATION_LIFETIME = timedelta(days=7)


class StaffError(DomainError, ValueError):
    """A request about staff accounts that cannot be done; the message says why."""


class WrongCurrentPassword(StaffError):
    """A password change whose current password is not right."""


def normalise_staff_email(email: str) -> str:
    try:
        valid = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise StaffError(_l("This does not look like a valid email address.")) from None
    return valid.normalized.lower()


def staff_by_email(email: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))


def create_staff(
    email: str, role: Role, password_hash: str, letters: Iterable[Letter] = ()
) -> StaffUser:
    """A new active account (the command line and accepted invitations come here).

    The password comes hashed (:func:`~petitions.services.passwords.new_password_hash`, with the
    address :func:`normalise_staff_email` gives), made before the write transaction began.
    """
    if not is_password_hash(password_hash):
        raise ValueError("create_staff takes a password hash")
    address = normalise_staff_email(email)
    if staff_by_email(address) is not None:
        raise StaffError(_l("There is already an account with this email address."))
    user = StaffUser(email=address, role=role, password_hash=password_hash, session_version=1)
    user.letters = list(letters)
    db.session.add(user)
    db.session.flush()
    audit.record("staff.created", obj=user, details={"role": str(role)})
    return user


def all_staff() -> list[StaffUser]:
    """Every account, by email, with its letters loaded (the accounts page lists them all)."""
    return list(
        db.session.scalars(
            select(StaffUser).options(selectinload(StaffUser.letters)).order_by(StaffUser.email)
        )
    )


def locked_staff(user_id: int) -> StaffUser | None:
    """The account, its row locked until the commit, so concurrent changes queue up."""
    return db.session.scalar(
        select(StaffUser)
        .where(StaffUser.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def end_sessions(user: StaffUser) -> None:
    """Make every session cookie of ``user`` worthless from its next request on."""
    user.session_version += 1


def logout(user: StaffUser) -> None:
    end_sessions(user)
    audit.record("logout", obj=user, actor=user)


def set_active(user: StaffUser, active: bool, by: StaffUser) -> bool:
    """Disable (which signs the account out everywhere) or enable; False if nothing changed."""
    if user.id == by.id and not active:
        raise StaffError(_l("You cannot disable your own account."))
    if user.is_active == active:
        return False
    user.is_active = active
    end_sessions(user)
    audit.record("staff.enabled" if active else "staff.disabled", obj=user)
    return True


def set_role(user: StaffUser, role: Role, by: StaffUser) -> bool:
    """A new role signs the account out everywhere (its pages change); False if unchanged."""
    if user.id == by.id and role is not Role.ADMIN:
        raise StaffError(_l("You cannot take away your own administrator role."))
    if user.role == role:
        return False
    audit.record("staff.role_changed", obj=user, details={"from": user.role, "to": str(role)})
    if user.role == Role.ORGANISER:
        # Letters given to an organiser do not wait, unseen, for the role to come back.
        set_letters(user, [])
    user.role = role
    end_sessions(user)
    return True


def set_letters(user: StaffUser, letters: list[Letter]) -> bool:
    """Which letters an organiser works on; False if they are the same as before."""
    before = sorted(letter.id for letter in user.letters)
    after = sorted(letter.id for letter in letters)
    if before == after:
        return False
    user.letters = letters
    audit.record("staff.letters_changed", obj=user, details={"from": before, "to": after})
    return True


def set_organiser_letters(user: StaffUser, letters: list[Letter]) -> bool:
    """The admin pages' way to :func:`set_letters`: only organisers own letters."""
    if user.role != Role.ORGANISER:
        raise StaffError(_l("Only organisers are given letters; the other roles see them all."))
    return set_letters(user, letters)


def hash_password_change(password_hash: str, email: str, password: str, current: str) -> str:
    """Check the current password and the new one, and hash the new one: all the argon2 work of
    a change, from plain values and without the database, so views run it outside any
    transaction. Raises :class:`WrongCurrentPassword` or ``PasswordRejected``."""
    if not verify_password(password_hash, current):
        raise WrongCurrentPassword(_l("Your current password is not right."))
    return new_password_hash(password, email)


def refuse_password_change(user: StaffUser) -> None:
    audit.record("staff.password_change_refused", obj=user)


def change_password(user: StaffUser, new_hash: str, checked_hash: str) -> None:
    """Store the new hash (see :func:`hash_password_change`); every other session ends.

    ``checked_hash`` is the hash the current password was checked against: if it changed
    meanwhile (another change won the race), this one is refused.
    """
    locked = locked_staff(user.id)
    if locked is None or locked.password_hash != checked_hash:
        raise StaffError(_l("Your password was changed meanwhile. Please try again."))
    locked.password_hash = new_hash
    end_sessions(locked)
    audit.record("staff.password_changed", obj=locked)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(email: str, role: Role, letters: list[Letter], by: StaffUser, language: str) -> str:
    """Queue an invitation email; returns the link (shown once to the admin who invited).

    Only organisers are given letters (the others work on all of them). A new invitation
    revokes the address's earlier pending ones, so one live link per person is ever out there.
    """
    address = normalise_staff_email(email)
    if staff_by_email(address) is not None:
        raise StaffError(_l("There is already an account with this email address."))
    if role is not Role.ORGANISER:
        letters = []
    for earlier in pending_invitations(address):
        revoke_invitation(earlier)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = StaffInvitation(
        email=address,
        role=role,
        token_hash=_token_hash(token),
        invited_by_id=by.id,
        letter_ids=[letter.id for letter in letters],
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    link = external_url("staff.auth.accept_invitation", token=token)
    with force_locale(language):  # the subject speaks the email's language, like its body
        site = current_app.config["SITE_NAME"]
        subject = str(_l("You are invited to work on %(site)s", site=site))
    queue_email(
        recipient=address,
        purpose="staff_invitation",
        template="staff_invitation",
        subject=subject,
        language=language,
        context={"link": link, "role": str(role), "expires_at": invitation.expires_at},
    )
    audit.record(
        "staff.invited",
        obj=invitation,
        details={"role": str(role), "letters": invitation.letter_ids},
    )
    return link


def open_invitation(token: str) -> StaffInvitation | None:
    """The invitation this token opens, if it is unused, unrevoked and not expired."""
    invitation = db.session.scalar(
        select(StaffInvitation).where(StaffInvitation.token_hash == _token_hash(token))
    )
    if invitation is None or invitation.used_at or invitation.revoked_at:
        return None
    if invitation.expires_at <= utcnow():
        return None
    # An invitation speaks for the admin who sent it: it dies with their account or their role,
    # so a hijacked admin session cannot leave a way back in once the admin is disabled.
    inviter = db.session.get(StaffUser, invitation.invited_by_id or 0)
    if inviter is None or not inviter.is_active or inviter.role != Role.ADMIN:
        return None
    return invitation


def accept_invitation(token: str, password_hash: str) -> StaffUser:
    """The invited account, with the password hashed before the write transaction began."""
    invitation = db.session.scalar(
        select(StaffInvitation)
        .where(StaffInvitation.token_hash == _token_hash(token))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if invitation is None or open_invitation(token) is None:
        raise StaffError(_l("This invitation link is not valid any more."))
    letters = list(
        db.session.scalars(select(Letter).where(Letter.id.in_(invitation.letter_ids or [])))
    )
    user = create_staff(invitation.email, invitation.role, password_hash, letters)
    invitation.used_at = utcnow()
    audit.record("staff.invitation_accepted", obj=invitation, actor=user)
    return user


def pending_invitations(email: str | None = None) -> list[StaffInvitation]:
    """Invitations that still open: not used, not revoked, not expired (newest first)."""
    statement = (
        select(StaffInvitation)
        .where(
            StaffInvitation.used_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
            StaffInvitation.expires_at > utcnow(),
        )
        .order_by(StaffInvitation.id.desc())
    )
    if email is not None:
        statement = statement.where(StaffInvitation.email == email)
    return list(db.session.scalars(statement))


def locked_invitation(invitation_id: int) -> StaffInvitation | None:
    """The invitation, its row locked until the commit (two admins may revoke at once)."""
    return db.session.scalar(
        select(StaffInvitation)
        .where(StaffInvitation.id == invitation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def revoke_invitation(invitation: StaffInvitation) -> bool:
    """Close the invitation's link; False if it was used or revoked already."""
    if invitation.used_at is not None or invitation.revoked_at is not None:
        return False
    invitation.revoked_at = utcnow()
    audit.record("staff.invitation_revoked", obj=invitation)
    return True
