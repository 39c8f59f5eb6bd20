"""Loading the demo letters (``flask demo``): idempotent, marked as demo content."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from petitions.demo_content import DEMO_LETTERS
from petitions.extensions import db
from petitions.models import Addressee, Letter, LetterStatus, LetterText, Moderation, utcnow
from petitions.services.letters import text_hash


def load_demo_letters() -> list[str]:
    """Create the demo letters that do not exist yet; return the slugs created."""
    created = []
    now = utcnow()
    for spec in DEMO_LETTERS:
        if db.session.scalar(select(Letter.id).where(Letter.slug == spec["slug"])):
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
            letter.texts.append(
                LetterText(
                    language=language,
                    title=text["title"],
                    summary=text["summary"],
                    publisher=text["publisher"],
                    body=text["body"],
                    text_hash=text_hash(text["title"], text["body"]),
                )
            )
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
