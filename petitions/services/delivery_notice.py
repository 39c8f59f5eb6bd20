"""The text offered to the organiser once a delivery is recorded: "tell the signers who asked to
hear", prepared so that telling them takes one look and one click.

It says to whom the list was handed, on which day, how many signatures it held, and where anyone
can check it (the export's public verification page). It is only a proposal: the organiser edits
it in the updates composer and sends it the usual way, so who receives it, and that each receives
it once, is decided by :mod:`petitions.services.updates` as for any update.

Each of the letter's languages gets its own text when the interface has a catalogue for it;
another language gets the main language's text (what a signer in that language would get anyway).
"""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.exports import Delivery
from petitions.models.letters import Letter
from petitions.web.templating import LocalNumber, local_date

SUBJECT_MAX = 200  # the composer's limit
# Characters that would make Markdown of a name or a title (emphasis, links, raw HTML, headings).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def letter_delivery(letter: Letter, delivery_id: int) -> Delivery | None:
    """The letter's delivery with that id (None for another letter's or none)."""
    return db.session.scalar(
        select(Delivery).where(Delivery.id == delivery_id, Delivery.letter_id == letter.id)
    )


def prepared_update(delivery: Delivery) -> dict[str, tuple[str, str]]:
    """{language: (subject, Markdown body)} for each of the letter's languages."""
    letter = delivery.letter
    spoken: list[str] = current_app.config["LANGUAGES"]
    fallback = letter.main_language if letter.main_language in spoken else spoken[0]
    written: dict[str, tuple[str, str]] = {}
    for language in letter.languages:
        wording = language if language in spoken else fallback
        if wording not in written:
            written[wording] = _texts(delivery, letter, wording)
    return {
        language: written[language if language in spoken else fallback]
        for language in letter.languages
    }


def _texts(delivery: Delivery, letter: Letter, language: str) -> tuple[str, str]:
    title = letter.text_in(language).title
    with force_locale(language):
        subject = gettext("The letter was delivered to %(recipient)s", recipient=delivery.recipient)
        paragraphs = [
            ngettext(
                "On %(date)s we delivered the letter “%(title)s” to %(recipient)s, "
                "with %(num)s signature.",
                "On %(date)s we delivered the letter “%(title)s” to %(recipient)s, "
                "with %(num)s signatures.",
                LocalNumber(delivery.export.count_total),
                date=local_date(delivery.delivered_on, "long"),
                title=_escape(title),
                recipient=_escape(delivery.recipient),
            ),
            gettext(
                "Anyone can check the list that was handed over, without seeing a single name, "
                "on its verification page: %(url)s",
                url=f"<{delivery.export.verify_url}>",
            ),
        ]
        if delivery.collection_continues:
            paragraphs.append(gettext("The letter still takes signatures: please pass it on."))
        paragraphs.append(gettext("Thank you for signing."))
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    return subject, "\n\n".join(paragraphs)


def _escape(text: str) -> str:
    """Plain text safe inside Markdown: shown as typed, never as emphasis, a link or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
