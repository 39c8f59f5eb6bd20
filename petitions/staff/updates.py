"""A letter's updates: write one per language, preview it as the email, send a test to
yourself, then send it to every signer who asked to hear (the number shown first); progress and
the past updates below. Admins and the letter's organisers (EDIT_LETTER on that letter).

Sending commits the update first, then hands its emails to the jobs queue, which owns its
transactions (:mod:`petitions.workers.update_sender`); a double click makes one update (the
form's one-time key).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from petitions.extensions import db
from petitions.models.database import end_reading, unit_of_work
from petitions.models.exports import Delivery
from petitions.models.follow_up import LetterUpdate, UpdateKind
from petitions.models.letters import Letter
from petitions.services import delivery_notice, letter_editing, reminders, updates
from petitions.services.access import Permission, may
from petitions.services.letter_markdown import NestingTooDeep, render_body
from petitions.staff.gate import current_staff, require
from petitions.web.form_messages import TranslatedForm
from petitions.web.i18n import current_language

bp = Blueprint("updates", __name__, url_prefix="/letters")
bp.before_request(require(Permission.VIEW_LETTER))


class UpdateForm(TranslatedForm):
    kind = RadioField(
        _l("What is it?"),
        choices=[
            SelectChoice(UpdateKind.UPDATE.value, _l("An update from the organisers")),
            SelectChoice(UpdateKind.RESPONSE.value, _l("A response from an addressee")),
        ],
        default=UpdateKind.UPDATE.value,
    )
    responder = StringField(
        _l("Who responded (as it should be shown)"), validators=[Length(max=300)]
    )
    responded_on = DateField(_l("Date of the response"), validators=[Optional()])
    publish_only = BooleanField(_l("Do not mail it: only publish it on the letter's page"))
    is_public = BooleanField(_l("Also publish it on the letter's page"))
    request_key = HiddenField()
    preview = SubmitField(_l("Preview"))
    test = SubmitField(_l("Send a test to myself"))
    send = SubmitField(_l("Send"))


def update_form(languages: list[str], **kwargs: Any) -> UpdateForm:
    class Form(UpdateForm):
        pass

    for language in languages:
        setattr(Form, f"subject_{language}", StringField(
            _l("Subject (%(language)s)", language=language), validators=[Length(max=200)]
        ))  # fmt: skip
        setattr(Form, f"body_{language}", TextAreaField(
            _l("Text (%(language)s, Markdown)", language=language),
            validators=[Length(max=20000)],
        ))  # fmt: skip
    form = Form(**kwargs)
    if not form.request_key.data:
        form.request_key.data = secrets.token_hex(16)
    return form


def _letter(slug: str) -> Letter:
    letter = letter_editing.staff_letter(slug)
    if letter is None:
        abort(404)
    if not may(current_user, Permission.EDIT_LETTER, letter):
        abort(403)
    return letter


def _input(form: UpdateForm, letter: Letter) -> updates.UpdateInput:
    kind = UpdateKind(form.kind.data or UpdateKind.UPDATE.value)
    return updates.UpdateInput(
        subjects={lang: form[f"subject_{lang}"].data or "" for lang in letter.languages},
        bodies={lang: form[f"body_{lang}"].data or "" for lang in letter.languages},
        # A response that is not mailed is there to be read on the letter's page.
        is_public=bool(form.is_public.data or form.publish_only.data),
        kind=kind,
        request_key=form.request_key.data or None,
        mail=not form.publish_only.data,
        responder=form.responder.data or "" if kind is UpdateKind.RESPONSE else "",
        responded_on=form.responded_on.data if kind is UpdateKind.RESPONSE else None,
    )


def _prefill(form: UpdateForm, letter: Letter) -> Delivery | None:
    """``?delivery=<id>``: the prepared text telling signers of that delivery, to edit."""
    wanted = request.args.get("delivery", type=int)
    delivery = delivery_notice.letter_delivery(letter, wanted) if wanted else None
    if delivery is None or form.is_submitted():
        return delivery
    for language, (subject, body) in delivery_notice.prepared_update(delivery).items():
        form[f"subject_{language}"].data = subject
        form[f"body_{language}"].data = body
    return delivery


def _page(
    letter: Letter,
    form: UpdateForm,
    previews: Any = None,
    status: int = 200,
    delivery: Delivery | None = None,
) -> tuple[str, int]:
    past = updates.letter_updates(letter)
    return render_template(
        "staff/letters/updates.html",
        letter=letter,
        form=form,
        previews=previews,
        delivery=delivery,
        recipients=updates.count_recipients(letter),
        past=[(item, updates.progress(item)) for item in past],
        reminder_figures=reminders.reminder_figures(letter),
    ), status


@bp.route("/<slug>/updates", methods=["GET", "POST"])
def compose(slug: str) -> ResponseReturnValue:
    letter = _letter(slug)
    form = update_form(letter.languages)
    if not form.validate_on_submit():
        delivery = _prefill(form, letter)
        return _page(letter, form, status=400 if form.is_submitted() else 200, delivery=delivery)
    draft = _input(form, letter)
    try:
        # A transient update, to render exactly what would be sent.
        subjects, bodies = updates.update_texts(letter, draft)
        item = LetterUpdate(
            letter_id=letter.id,
            kind=draft.kind,
            responder=draft.responder,
            responded_on=draft.responded_on,
            subjects=subjects,
            bodies=bodies,
            bodies_html={lang: render_body(body) for lang, body in bodies.items()},
            is_public=draft.is_public,
        )
    except updates.UpdateEmpty:
        form.send.errors = [_l("Write a subject and a text in at least one language.")]
        return _page(letter, form, status=400)
    except NestingTooDeep as error:
        form.send.errors = [str(error)]
        return _page(letter, form, status=400)
    if form.preview.data:
        previews = []
        for language in subjects:
            subject, _text, html = updates.render_email(
                item, letter, language, updates.UNSUBSCRIBE_SLOT, updates.WITHDRAW_SLOT
            )
            # The email's body, shown in the page (its styles stay out: the page's CSP).
            inner = html.split("<body", 1)[1].split(">", 1)[1].rsplit("</body>", 1)[0]
            previews.append((language, subject, Markup(inner)))  # noqa: S704  (sanitised body)
        return _page(letter, form, previews)
    if form.test.data:
        staff = current_staff()
        updates.queue_test(item, letter, current_language_of(letter), staff.email)
        flash(_l("A test copy is on its way to your address."))
        return _page(letter, form)
    end_reading()
    with unit_of_work():
        letter = _letter(slug)
        created = updates.create_update(letter, draft, current_staff())
        created_id = created.id
        already = created.queued_at is not None
    if not already:
        current_app.extensions["petitions.jobs"].queue_update(created_id)
    flash(_l("The update is being sent.") if draft.mail else _l("It is published."))
    return redirect(url_for(".compose", slug=slug), 303)


@bp.post("/<slug>/updates/<int:update_id>/resume")
def resume(slug: str, update_id: int) -> ResponseReturnValue:
    """Queue again what a killed job left (the unique (update, signature) skips what is done)."""
    letter = _letter(slug)
    form = UpdateForm()
    item = db.session.get(LetterUpdate, update_id)
    if item is None or item.letter_id != letter.id:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    end_reading()
    current_app.extensions["petitions.jobs"].queue_update(update_id)
    flash(_l("The update is being sent."))
    return redirect(url_for(".compose", slug=slug), 303)


def current_language_of(letter: Letter) -> str:
    language = current_language()
    return language if language in letter.languages else letter.main_language
