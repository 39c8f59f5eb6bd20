"""Letters: create, edit texts and settings, change status; each letter's dashboard.

The area needs VIEW_LETTER (the blueprint's gate); each view checks its own permission on the
letter it touches, so an organiser reaches only their own letters.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from petitions.models.letters import Letter, LetterStatus
from petitions.services import letter_editing, letter_stats, letter_status, referrals
from petitions.services.access import Permission, may
from petitions.services.letter_editing import LetterEditError
from petitions.services.letter_status import StatusAction
from petitions.services.svg_chart import Series, line_chart
from petitions.staff import audit_sentences
from petitions.staff.gate import current_staff, require
from petitions.staff.letter_forms import LetterForm, StatusForm, letter_form, letter_form_data
from petitions.staff.letter_languages import adding_language, form_languages
from petitions.web.unit_of_work import refused

bp = Blueprint("letters", __name__, url_prefix="/letters")
bp.before_request(require(Permission.VIEW_LETTER))

STATUS_DONE = {
    LetterStatus.OPEN: _l("The letter is open for signatures."),
    LetterStatus.CLOSED: _l("The letter is closed."),
}


def _letter(slug: str, permission: Permission) -> Letter:
    """The letter named in the URL (404 if none), if the staff member holds ``permission`` on it."""
    letter = letter_editing.staff_letter(slug)
    if letter is None:
        abort(404)
    if not may(current_user, permission, letter):
        abort(403)
    return letter


def _languages(letter: Letter | None = None) -> list[str]:
    return form_languages(current_app.config["LANGUAGES"], letter)


def _render_form(
    form: LetterForm, letter: Letter | None, preview: bool = False, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "staff/letters/form.html",
        form=form,
        letter=letter,
        preview=form.to_preview() if preview else None,
        slug_locked=letter is not None and letter_editing.has_signatures(letter),
    ), status


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    if not may(current_user, Permission.CREATE_LETTER):
        abort(403)
    form = letter_form(_languages())
    if request.method == "GET":
        form.main_language.data = _languages()[0]
    if adding_language(form):  # one more language's fieldset; nothing is checked or saved
        return _render_form(form, None)
    valid = form.validate_on_submit()
    if form.preview.data and not form.csrf_token.errors:
        return _render_form(form, None, preview=True)
    if valid:
        try:
            letter_editing.create_letter(form.to_input(), by=current_staff())
        except LetterEditError as error:
            form.show_error(error)
        else:
            flash(_l("The letter is saved as a draft."))
            return redirect(url_for(".dashboard", slug=form.slug.data), 303)
    return _render_form(form, None, status=400 if request.method == "POST" else 200)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str) -> ResponseReturnValue:
    letter = _letter(slug, Permission.EDIT_LETTER)
    chooses_organisers = current_user.is_admin
    organisers = letter_editing.active_organisers() if chooses_organisers else None
    if request.method == "GET":
        data = letter_form_data(letter, letter_editing.organiser_ids(letter))
        form = letter_form(_languages(letter), organisers, data=data)
    else:
        form = letter_form(_languages(letter), organisers)
    if adding_language(form):
        return _render_form(form, letter)
    valid = form.validate_on_submit()
    if form.preview.data and not form.csrf_token.errors:
        return _render_form(form, letter, preview=True)
    if valid:
        try:
            changed = letter_editing.edit_letter(
                letter,
                form.to_input(),
                organisers=form.organisers.data if chooses_organisers else None,
            )
        except LetterEditError as error:
            form.show_error(error)
        else:
            flash(_l("Your changes are saved.") if changed else _l("Nothing was changed."))
            return redirect(url_for(".dashboard", slug=form.slug.data), 303)
    return _render_form(form, letter, status=400 if request.method == "POST" else 200)


@bp.get("/<slug>/status")
def confirm_status(slug: str) -> ResponseReturnValue:
    """Say what publishing, closing or reopening will do; its one button posts the change."""
    letter = _letter(slug, Permission.EDIT_LETTER)
    try:
        action = StatusAction(request.args.get("action", ""))
    except ValueError:
        abort(404)
    start, _end, refusal = letter_status.TRANSITIONS[action]
    if letter.status != start:
        flash(str(refusal), "error")
        return redirect(url_for(".dashboard", slug=slug), 303)
    return render_template("staff/letters/confirm_status.html", letter=letter, action=action.value)


@bp.post("/<slug>/status")
def status(slug: str) -> ResponseReturnValue:
    letter = _letter(slug, Permission.EDIT_LETTER)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    if form.confirmed.data != "1":
        # Not from the confirmation page: nothing changes until someone has read what will.
        return redirect(url_for(".confirm_status", slug=slug, action=form.action.data), 303)
    try:
        new_status = letter_status.change_status(letter, StatusAction(form.action.data))
    except LetterEditError as error:
        refused()
        flash(str(error), "error")
    else:
        flash(STATUS_DONE[new_status])
    return redirect(url_for(".dashboard", slug=slug), 303)


@bp.get("/<slug>")
def dashboard(slug: str) -> ResponseReturnValue:
    letter = _letter(slug, Permission.VIEW_LETTER)
    figures = letter_stats.letter_dashboard(letter)
    return render_template(
        "staff/letters/dashboard.html",
        letter=letter,
        figures=figures,
        sentences=audit_sentences.sentences(figures.events),
        chart=_chart(figures.daily),
        sources=referrals.source_figures(letter),
    )


def _chart(daily: letter_stats.DailySeries) -> Markup:
    """The per-day chart with a description that says what it shows in words."""
    created, confirmed = sum(daily.created), sum(daily.confirmed)
    description = _(
        "From %(start)s to %(end)s: %(created)s signatures submitted and %(confirmed)s "
        "confirmed by email. The table below the chart gives the figure of each day.",
        start=format_date(daily.days[0], "long"),
        end=format_date(daily.days[-1], "long"),
        created=format_decimal(created),
        confirmed=format_decimal(confirmed),
    )
    return line_chart(
        chart_id="per-day",
        title=_("Signatures per day"),
        description=description,
        x_labels=[format_date(day, "d MMM") for day in daily.days],
        series=[
            Series(_("Submitted"), daily.created),
            Series(_("Confirmed by email"), daily.confirmed),
        ],
    )
