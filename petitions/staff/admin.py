"""Administration: staff accounts and invitations, the list of reasons, the audit trail.

Admins only: the blueprint's gate asks for MANAGE_STAFF on every request, and the reasons and
the trail check their own permission too, so the table in :mod:`petitions.services.access`
stays the whole policy. Every change goes through a service that audits it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.staff import Role, StaffUser
from petitions.services import audit as audit_trail
from petitions.services import moderation_reasons, staff_accounts
from petitions.services.access import Permission, may
from petitions.services.moderation_reasons import Direction, ReasonError
from petitions.services.staff_accounts import StaffError
from petitions.staff import audit_sentences
from petitions.staff.admin_forms import (
    ROLE_LABELS,
    ActionForm,
    AuditFilterForm,
    InviteForm,
    LettersForm,
    MoveForm,
    ReasonForm,
    RoleForm,
)
from petitions.staff.gate import current_staff, require
from petitions.web.i18n import LANGUAGE_NAMES, current_language
from petitions.web.unit_of_work import refused

bp = Blueprint("admin", __name__)
bp.before_request(require(Permission.MANAGE_STAFF))

AUDIT_PAGE_SIZE = 50


def needs(permission: Permission) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view's own permission, on top of the area's (reasons and the trail have theirs)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not may(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return checked

    return decorate


def _all_letters() -> list[Letter]:
    return list(db.session.scalars(select(Letter).order_by(Letter.slug)))


def _letter_choices(letters: list[Letter]) -> list[SelectChoice]:
    return [SelectChoice(letter.id, letter.slug) for letter in letters]


def _apply(change: Callable[[], object], done: str, back: str) -> ResponseReturnValue:
    """Run one service call and say what it did (services answer False when nothing needed
    doing), or say why it was refused (and undo it); 303 to ``back``."""
    try:
        changed = change()
    except (StaffError, ReasonError) as error:
        refused()
        flash(str(error), "error")
    else:
        flash(done if changed is not False else _("Nothing changed."))
    return redirect(back, code=303)


def _refused(form: Any, back: str) -> ResponseReturnValue:
    flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
    return redirect(back, code=303)


# --- accounts and invitations --------------------------------------------------------------


def _row_prefix(form: str, user_id: int) -> str:
    # Each row's forms get their own field names and ids, so ids stay unique on the page.
    return f"{form}-{user_id}"


def _invite_form(letters: list[Letter]) -> InviteForm:
    form = InviteForm(language=current_language())
    form.letters.choices = _letter_choices(letters)
    form.language.choices = [
        SelectChoice(code, LANGUAGE_NAMES.get(code, code))
        for code in current_app.config["LANGUAGES"]
    ]
    return form


def _accounts_page(
    invite_form: InviteForm, letters: list[Letter], status: int = 200
) -> ResponseReturnValue:
    rows = []
    for user in staff_accounts.all_staff():
        role_form = RoleForm(formdata=None, prefix=_row_prefix("role", user.id), role=user.role)
        letters_form = LettersForm(
            formdata=None,
            prefix=_row_prefix("letters", user.id),
            letters=[letter.id for letter in user.letters],
        )
        letters_form.letters.choices = invite_form.letters.choices
        rows.append((user, role_form, letters_form))
    page = render_template(
        "staff/admin/accounts.html",
        rows=rows,
        invite_form=invite_form,
        invitations=staff_accounts.pending_invitations(),
        letter_slugs={letter.id: letter.slug for letter in letters},
        role_labels=ROLE_LABELS,
    )
    return page, status


@bp.get("/accounts")
def staff_list() -> ResponseReturnValue:
    letters = _all_letters()
    return _accounts_page(_invite_form(letters), letters)


@bp.post("/accounts/invite")
def invite() -> ResponseReturnValue:
    letters = _all_letters()
    form = _invite_form(letters)
    if form.validate_on_submit():
        chosen = [letter for letter in letters if letter.id in (form.letters.data or [])]
        try:
            link = staff_accounts.invite(
                form.email.data or "",
                Role(form.role.data),
                chosen,
                current_staff(),
                form.language.data,
            )
        except StaffError as error:
            form.email.errors = [str(error)]
        else:
            # The link is shown here once (the answer is never cached), never flashed or logged.
            return render_template(
                "staff/admin/invitation_sent.html",
                link=link,
                email=form.email.data,
                role=ROLE_LABELS[form.role.data],
                days=staff_accounts.INVITATION_LIFETIME.days,
            )
    return _accounts_page(form, letters, 400)


def _staff_or_404(user_id: int) -> StaffUser:
    return staff_accounts.locked_staff(user_id) or abort(404)


@bp.post("/accounts/<int:user_id>/<any(disable, enable):change>")
def set_active(user_id: int, change: str) -> ResponseReturnValue:
    back = url_for(".staff_list")
    form = ActionForm()
    if not form.validate_on_submit():
        return _refused(form, back)
    user = _staff_or_404(user_id)
    active = change == "enable"
    done = (
        _("The account %(email)s is enabled.", email=user.email)
        if active
        else _("The account %(email)s is disabled and signed out.", email=user.email)
    )
    return _apply(lambda: staff_accounts.set_active(user, active, current_staff()), done, back)


@bp.post("/accounts/<int:user_id>/role")
def change_role(user_id: int) -> ResponseReturnValue:
    back = url_for(".staff_list")
    form = RoleForm(prefix=_row_prefix("role", user_id))
    if not form.validate_on_submit():
        return _refused(form, back)
    user = _staff_or_404(user_id)
    role = Role(form.role.data)
    done = _(
        "%(email)s is now: %(role)s. Their sessions are signed out.",
        email=user.email,
        role=ROLE_LABELS[role.value],
    )
    return _apply(lambda: staff_accounts.set_role(user, role, current_staff()), done, back)


@bp.post("/accounts/<int:user_id>/letters")
def change_letters(user_id: int) -> ResponseReturnValue:
    back = url_for(".staff_list")
    letters = _all_letters()
    form = LettersForm(prefix=_row_prefix("letters", user_id))
    form.letters.choices = _letter_choices(letters)
    if not form.validate_on_submit():
        return _refused(form, back)
    user = _staff_or_404(user_id)
    chosen = [letter for letter in letters if letter.id in (form.letters.data or [])]
    done = _("The letters of %(email)s are saved.", email=user.email)
    return _apply(lambda: staff_accounts.set_organiser_letters(user, chosen), done, back)


@bp.post("/accounts/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id: int) -> ResponseReturnValue:
    back = url_for(".staff_list")
    form = ActionForm()
    if not form.validate_on_submit():
        return _refused(form, back)
    invitation = staff_accounts.locked_invitation(invitation_id) or abort(404)
    done = _("The invitation for %(email)s is revoked.", email=invitation.email)
    return _apply(lambda: staff_accounts.revoke_invitation(invitation), done, back)


# --- rejection reasons ---------------------------------------------------------------------


def _reasons_page(add_form: ReasonForm, status: int = 200) -> ResponseReturnValue:
    reasons = moderation_reasons.all_reasons()
    edit_forms = {
        reason.id: ReasonForm(formdata=None, prefix=f"reason-{reason.id}", text=reason.text)
        for reason in reasons
    }
    page = render_template(
        "staff/admin/reasons.html", reasons=reasons, add_form=add_form, edit_forms=edit_forms
    )
    return page, status


def _reason_or_404(reason_id: int) -> Any:
    return moderation_reasons.locked_reason(reason_id) or abort(404)


@bp.get("/reasons")
@needs(Permission.MANAGE_REASONS)
def reasons() -> ResponseReturnValue:
    return _reasons_page(ReasonForm(formdata=None))


@bp.post("/reasons/new")
@needs(Permission.MANAGE_REASONS)
def add_reason() -> ResponseReturnValue:
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            moderation_reasons.add_reason(form.text.data or "")
        except ReasonError as error:
            form.text.errors = [str(error)]
        else:
            flash(_("The reason is added."))
            return redirect(url_for(".reasons"), code=303)
    return _reasons_page(form, 400)


@bp.post("/reasons/<int:reason_id>/edit")
@needs(Permission.MANAGE_REASONS)
def edit_reason(reason_id: int) -> ResponseReturnValue:
    back = url_for(".reasons")
    form = ReasonForm(prefix=f"reason-{reason_id}")
    if not form.validate_on_submit():
        return _refused(form, back)
    reason = _reason_or_404(reason_id)
    text = form.text.data or ""
    return _apply(
        lambda: moderation_reasons.edit_reason(reason, text), _("The reason is saved."), back
    )


@bp.post("/reasons/<int:reason_id>/move")
@needs(Permission.MANAGE_REASONS)
def move_reason(reason_id: int) -> ResponseReturnValue:
    back = url_for(".reasons")
    form = MoveForm()
    if not form.validate_on_submit():
        return _refused(form, back)
    reason = _reason_or_404(reason_id)
    direction = Direction(form.direction.data)
    return _apply(
        lambda: moderation_reasons.move_reason(reason, direction), _("The order is saved."), back
    )


@bp.post("/reasons/<int:reason_id>/<any(activate, deactivate):change>")
@needs(Permission.MANAGE_REASONS)
def set_reason_active(reason_id: int, change: str) -> ResponseReturnValue:
    back = url_for(".reasons")
    form = ActionForm()
    if not form.validate_on_submit():
        return _refused(form, back)
    reason = _reason_or_404(reason_id)
    active = change == "activate"
    done = (
        _("The reason is offered to moderators again.")
        if active
        else _("The reason is no longer offered to moderators.")
    )
    return _apply(lambda: moderation_reasons.set_reason_active(reason, active), done, back)


# --- the audit trail -----------------------------------------------------------------------


@bp.get("/audit")
@needs(Permission.VIEW_AUDIT)
def audit() -> ResponseReturnValue:
    letters = _all_letters()
    form = AuditFilterForm(formdata=request.args)
    form.actor.choices = [SelectChoice("", _("Anyone"))] + [
        SelectChoice(str(user.id), user.email) for user in staff_accounts.all_staff()
    ]
    form.letter.choices = [SelectChoice("", _("All letters"))] + [
        SelectChoice(str(letter.id), letter.slug) for letter in letters
    ]
    events: list[Any] = []
    older = None
    before = None
    if form.validate():
        before = form.before.data
        size = int(current_app.config.get("AUDIT_PAGE_SIZE", AUDIT_PAGE_SIZE))
        found = audit_trail.audit_events(form.audit_filter(before), limit=size + 1)
        events = found[:size]
        if len(found) > size:
            older = url_for(".audit", before=events[-1].id, **form.query_args())
    page = render_template(
        "staff/admin/audit.html",
        form=form,
        events=events,
        older=older,
        newest=url_for(".audit", **form.query_args()) if before else None,
        letter_slugs={letter.id: letter.slug for letter in letters},
        sentences=audit_sentences.sentences(events),
        action_label=audit_trail.action_label,
        object_label=audit_trail.object_label,
    )
    return page, 200 if not form.errors else 400
