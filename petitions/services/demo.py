"""Loading the demo letters (``flask demo``): idempotent, marked as demo content."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Addressee, Letter, LetterStatus, Moderation
from petitions.services.demo_content import DEMO_LETTERS
from petitions.services.letter_editing import TextInput, new_text

# A demo letter whose deadline is nearer than this gets a new one when `demo` runs again.
REFRESH_BEFORE = timedelta(days=7)


def load_demo_letters() -> list[str]:
    """Create the demo letters that do not exist yet; return the slugs created.

    Demo letters that already exist are left as they are, except that one which has closed (or
    is about to) by its deadline is given a new deadline, so an old demo database still works,
    and texts in languages added to the demo since are added to it.
    """
    created = []
    now = utcnow()
    for spec in DEMO_LETTERS:
        existing = db.session.scalar(select(Letter).where(Letter.slug == spec["slug"]))
        if existing is not None:
            _keep_open(existing, now + timedelta(days=spec["closes_in_days"]), now)
            _add_new_languages(existing, spec)
            continue
        letter = Letter(
            slug=spec["slug"],
            main_language=spec["main_language"],
            status=LetterStatus.OPEN,
            moderation=Moderation.NONE,
            goal=spec["goal"],
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=spec["closes_in_days"]),
            is_demo=True,
        )
        for language, text in spec["texts"].items():
            letter.texts.append(new_text(language, TextInput(**text)))
        for position, person in enumerate(spec["addressees"]):
            letter.addressees.append(
                Addressee(
                    position=position,
                    name=person["name"],
                    title=person["title"],
                    translations=person.get("translations", {}),
                )
            )
        db.session.add(letter)
        created.append(spec["slug"])
    db.session.flush()
    return created


def _keep_open(letter: Letter, new_deadline: datetime, now: datetime) -> None:
    if not letter.is_demo or letter.closes_at is None or letter.closes_at > now + REFRESH_BEFORE:
        return
    letter.closes_at = new_deadline
    if letter.status == LetterStatus.CLOSED:
        letter.status = LetterStatus.OPEN


def _add_new_languages(letter: Letter, spec: dict[str, Any]) -> None:
    if not letter.is_demo:
        return
    have = {text.language for text in letter.texts}
    for language, text in spec["texts"].items():
        if language not in have:
            letter.texts.append(new_text(language, TextInput(**text)))
