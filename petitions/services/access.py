"""Who may do what: one table of permissions per role, plus ownership for organisers.

Staff blueprints check an area's permission for every request (a gate on the blueprint), and
views that touch one letter check it again for that letter through :func:`may`. Nothing else in
the code decides access, so the table below is the whole policy.
"""

from __future__ import annotations

import enum

from sqlalchemy import Select, exists, false, select

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.staff import Role, StaffUser, letter_organisers


class Permission(enum.StrEnum):
    VIEW_LETTER = "view_letter"  # the letter's dashboard: counts, chart, signals
    CREATE_LETTER = "create_letter"
    EDIT_LETTER = "edit_letter"  # texts, translations, settings, status
    VIEW_SIGNATURES = "view_signatures"  # the queue, read-only
    MODERATE = "moderate"  # approve, reject, spam, hide, restore, verify organisations
    EXPORT = "export"  # signatory lists and deliveries
    MANAGE_STAFF = "manage_staff"  # accounts, invitations, who organises which letter
    MANAGE_REASONS = "manage_reasons"  # the list of rejection reasons
    VIEW_AUDIT = "view_audit"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ORGANISER: frozenset(
        {
            Permission.VIEW_LETTER,
            Permission.CREATE_LETTER,
            Permission.EDIT_LETTER,
            Permission.VIEW_SIGNATURES,
            Permission.EXPORT,
        }
    ),
    Role.MODERATOR: frozenset(
        {Permission.VIEW_LETTER, Permission.VIEW_SIGNATURES, Permission.MODERATE}
    ),
}

# Permissions an organiser holds only on the letters they own or were given.
OWNED_ONLY = frozenset(
    {
        Permission.VIEW_LETTER,
        Permission.EDIT_LETTER,
        Permission.VIEW_SIGNATURES,
        Permission.EXPORT,
    }
)


def _role(user: StaffUser) -> Role:
    return user.role


def may(user: StaffUser, permission: Permission, letter: Letter | None = None) -> bool:
    """Whether ``user`` holds ``permission`` (on ``letter``, when one is given)."""
    if not user.is_active or permission not in ROLE_PERMISSIONS[_role(user)]:
        return False
    if letter is None or _role(user) is not Role.ORGANISER or permission not in OWNED_ONLY:
        return True
    return is_organiser_of(user, letter)


def is_organiser_of(user: StaffUser, letter: Letter) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    letter_organisers.c.letter_id == letter.id,
                    letter_organisers.c.staff_id == user.id,
                )
            )
        )
    )


def letters_for(user: StaffUser, permission: Permission) -> Select[Letter]:
    """The letters on which ``user`` holds ``permission``, as a query to refine."""
    statement = select(Letter)
    if permission not in ROLE_PERMISSIONS[_role(user)]:
        return statement.where(false())
    if _role(user) is Role.ORGANISER and permission in OWNED_ONLY:
        statement = statement.where(
            Letter.id.in_(
                select(letter_organisers.c.letter_id).where(letter_organisers.c.staff_id == user.id)
            )
        )
    return statement


def letter_scope(user: StaffUser, permission: Permission) -> Select[int] | None:
    """None if ``user`` holds ``permission`` on every letter; else the ids of those they do.

    Queries over all signatures then need no ``letter_id IN (…)`` for admins and moderators,
    which would keep the database from walking one index in date order.
    """
    role = _role(user)
    if permission in ROLE_PERMISSIONS[role] and not (
        role is Role.ORGANISER and permission in OWNED_ONLY
    ):
        return None
    return letters_for(user, permission).with_only_columns(Letter.id)
