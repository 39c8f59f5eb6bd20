"""The moderation queue and the actions on signatures.

Everyone with VIEW_SIGNATURES sees the queue (organisers: their letters only); the actions need
MODERATE. Each action validates a form, calls one service, commits once and redirects back (303)
with the service's summary flashed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from petitions.models.letters import Letter
from petitions.models.staff import StaffUser
from petitions.services import moderation, moderation_bulk
from petitions.services.access import Permission, may
from petitions.services.moderation import ModerationAction, ModerationError
from petitions.services.moderation_queue import (
    active_reasons,
    likely_match,
    queue_page,
    selected_signatures,
    visible_letters,
)
from petitions.services.signals import letter_signals
from petitions.staff.gate import current_staff, require
from petitions.staff.moderation_forms import (
    ACTION_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    BulkForm,
    ModerateForm,
    QueueFilterForm,
    VerifyForm,
    reason_choices,
)
from petitions.staff.safe_redirect import safe_next
from petitions.web.i18n import current_language
from petitions.web.unit_of_work import refused

bp = Blueprint("moderation", __name__)
bp.before_request(require(Permission.VIEW_SIGNATURES))


def _require_moderate() -> StaffUser:
    user = current_staff()
    if not may(user, Permission.MODERATE):
        abort(403)
    return user


def _back(target: str | None) -> str:
    """A safe ``next`` path if the form gave one, else the queue."""
    return safe_next(target) if target else url_for("staff.moderation.queue")


def _filter_form(source: Any, user: StaffUser) -> tuple[QueueFilterForm, list[Letter]]:
    letters = visible_letters(user)
    form = QueueFilterForm(formdata=source)
    form.set_letters(letters, current_language())
    return form, letters


def _first_error(*forms: Any) -> str:
    for form in forms:
        for name, errors in form.errors.items():
            label = form[name].label.text if name in form._fields else name
            return f"{label}: {' '.join(str(e) for e in errors)}"
    return ""


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        "action_labels": ACTION_LABELS,
        "likely_match": likely_match,
    }


@bp.get("/moderation")
def queue() -> ResponseReturnValue:
    user = current_staff()
    form, letters = _filter_form(request.args, user)
    can_moderate = may(user, Permission.MODERATE)
    action_form = ModerateForm(formdata=None)
    action_form.reason.choices = reason_choices(active_reasons() if can_moderate else [])
    if not form.validate():
        return render_template(
            "staff/moderation/queue.html", form=form, page=None, signals=None,
            action_form=action_form, can_moderate=can_moderate, letter=None, **_labels(),
        ), 400  # fmt: skip
    filters = form.to_filter(letters)
    page = queue_page(user, filters, request.args.get("cursor"))
    letter = next((x for x in letters if x.id == filters.letter_id), None)
    signals = letter_signals(letter.id) if letter is not None else None
    return render_template(
        "staff/moderation/queue.html", form=form, page=page, signals=signals,
        action_form=action_form, can_moderate=can_moderate, letter=letter, **_labels(),
    )  # fmt: skip


def _act(form: Any, change: Callable[[], moderation.ModerationSummary]) -> ResponseReturnValue:
    """Validate the form, run one service call, say what it did, and go back (303)."""
    back = _back(form.next.data)
    if not form.validate():
        flash(_first_error(form), "error")
        return redirect(back, 303)
    try:
        summary = change()
    except ModerationError as error:
        refused()
        flash(str(error), "error")
        return redirect(back, 303)
    flash(summary.message())
    return redirect(back, 303)


CONFIRM_ARGS = ("action", "reason", "reason_other", "next")


@bp.get("/moderation/selected")
def confirm_selected() -> ResponseReturnValue:
    """What an action on several selected signatures will do; its one button posts it."""
    user = _require_moderate()
    form = ModerateForm(formdata=request.args, meta={"csrf": False})
    form.reason.choices = reason_choices(active_reasons())
    back = _back(form.next.data)
    if not form.validate():
        flash(_first_error(form), "error")
        return redirect(back, 303)
    action = ModerationAction(form.action.data)
    try:
        reason = moderation.checked_reason(action, form.reason_text())
    except ModerationError as error:
        flash(str(error), "error")
        return redirect(back, 303)
    rows = selected_signatures(user, form.signature.data or [])
    return render_template(
        "staff/moderation/confirm_selected.html", form=form, rows=rows, action=action,
        reason=reason, back=back, letter=None, with_actions=False, **_labels(),
    )  # fmt: skip


@bp.post("/signatures/moderate")
def moderate() -> ResponseReturnValue:
    user = _require_moderate()
    form = ModerateForm()
    ids = form.signature.data or []
    if len(set(ids)) > 1 and form.confirmed.data != "1" and form.validate():
        # Several signatures at once go through the confirmation page first: nothing changes.
        args = {name: form[name].data for name in CONFIRM_ARGS if form[name].data}
        return redirect(url_for(".confirm_selected", signature=ids, **args), 303)
    return _act(
        form,
        lambda: moderation.moderate(
            form.signature.data or [], ModerationAction(form.action.data), form.reason_text(), user
        ),
    )


@bp.post("/signatures/verify")
def verify() -> ResponseReturnValue:
    user = _require_moderate()
    form = VerifyForm()
    return _act(
        form,
        lambda: moderation.set_verified(form.signature.data or [], form.verified.data == "1", user),
    )


def _render_bulk(
    filters_form: QueueFilterForm,
    letters: list[Letter],
    form: BulkForm,
    user: StaffUser,
    status: int = 200,
    problem: str = "",
) -> ResponseReturnValue:
    preview = moderation_bulk.preview_matching(user, filters_form.to_filter(letters))
    form.expected.data = preview.count
    return render_template(
        "staff/moderation/bulk.html", filters_form=filters_form, form=form, preview=preview,
        problem=problem, max_bulk=moderation_bulk.MAX_BULK, **_labels(),
    ), status  # fmt: skip


@bp.get("/moderation/bulk")
def bulk_preview() -> ResponseReturnValue:
    """What "apply to all matching" would do: the count and the first rows, and a confirm form."""
    user = _require_moderate()
    filters_form, letters = _filter_form(request.args, user)
    form = BulkForm(formdata=None, data={k: request.args.get(k, "") for k in ("reason", "action")})
    form.reason_other.data = request.args.get("reason_other", "")
    form.reason.choices = reason_choices(active_reasons())
    if not filters_form.validate() or form.action.data not in ACTION_LABELS:
        abort(400)
    return _render_bulk(filters_form, letters, form, user)


@bp.post("/moderation/bulk")
def bulk_apply() -> ResponseReturnValue:
    user = _require_moderate()
    filters_form, letters = _filter_form(request.form, user)
    form = BulkForm()
    form.reason.choices = reason_choices(active_reasons())
    if not filters_form.validate():
        abort(400)
    if not form.validate():
        return _render_bulk(filters_form, letters, form, user, 400, _first_error(form))
    try:
        summary = moderation_bulk.moderate_matching(
            user,
            filters_form.to_filter(letters),
            ModerationAction(form.action.data),
            form.reason_text(),
            form.expected.data or 0,
        )
    except ModerationError as error:
        status = 409 if isinstance(error, moderation_bulk.MatchingChanged) else 400
        return _render_bulk(filters_form, letters, form, user, status, str(error))
    flash(summary.message())
    return redirect(url_for("staff.moderation.queue", **filters_form.args()), 303)
