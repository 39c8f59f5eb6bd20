"""Organisers' updates: written once per language, mailed once to each signature that asked.

Who receives an update is decided in one place, :func:`update_recipients`. Queueing is done in
batches (:func:`queue_batch`), each in its own transaction: first the batch's rows in
``update_deliveries`` (``INSERT … ON CONFLICT DO NOTHING`` against the unique (update,
signature)), then an outbox email for exactly the rows that insert made. A batch that is killed
is rolled back whole; a batch run twice (a resumed job, a second worker) finds the rows there and
mails nobody again. Each email is rendered once per language, then only its links differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import Select, Table, func, select, true
from sqlalchemy.exc import IntegrityError

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import dialect_insert
from petitions.models.follow_up import LetterUpdate, UpdateDelivery, UpdateKind
from petitions.models.letters import Letter
from petitions.models.outbox import OutboxEmail, OutboxStatus
from petitions.models.signatures import Signature, SignatureStatus
from petitions.models.staff import StaffUser
from petitions.services import audit
from petitions.services.errors import DomainError
from petitions.services.letter_markdown import render_body
from petitions.services.outbox import PENDING_KEY
from petitions.services.subscriptions import list_headers
from petitions.services.tokens import Purpose, token_factory
from petitions.web.links import external_url

BATCH_SIZE = 1000
# Stand-ins for each recipient's own links in an email rendered once per language.
UNSUBSCRIBE_SLOT = "https://unsubscribe.invalid/SLOT"
WITHDRAW_SLOT = "https://withdraw.invalid/SLOT"
TOKEN_SLOT = "TOKEN-SLOT"  # noqa: S105  (a stand-in, not a secret)


class UpdateError(DomainError):
    pass


class UpdateEmpty(UpdateError):
    """No language has both a subject and a body."""


def update_recipients(letter_id: int) -> Select[int, str, str, str]:
    """The signatures an update goes to: counted, and asked to hear. The only place that says so.

    Rows: (id, language, email, withdraw_nonce), in id order.
    """
    return (
        select(Signature.id, Signature.language, Signature.email, Signature.withdraw_nonce)
        .where(
            Signature.letter_id == letter_id,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.updates == true(),  # "= true": an index condition on PostgreSQL too
            Signature.anonymised_at.is_(None),  # an erased person gets nothing (also updates=false)
        )
        .order_by(Signature.id)
    )


def count_recipients(letter: Letter) -> int:
    query = update_recipients(letter.id).order_by(None).subquery()
    return int(db.session.scalar(select(func.count()).select_from(query)) or 0)


@dataclass(frozen=True)
class UpdateInput:
    subjects: dict[str, str]
    bodies: dict[str, str]
    is_public: bool = False
    kind: UpdateKind = UpdateKind.UPDATE
    request_key: str | None = None
    mail: bool = True  # False: a response only published on the letter's page
    responder: str = ""
    responded_on: date | None = None


def update_texts(letter: Letter, data: UpdateInput) -> tuple[dict[str, str], dict[str, str]]:
    subjects: dict[str, str] = {}
    bodies: dict[str, str] = {}
    for language in letter.languages:
        subject = (data.subjects.get(language) or "").strip()
        body = (data.bodies.get(language) or "").strip()
        if subject and body:
            subjects[language], bodies[language] = subject, body
    if not subjects:
        raise UpdateEmpty("empty")
    return subjects, bodies


def create_update(letter: Letter, data: UpdateInput, by: StaffUser | None) -> LetterUpdate:
    """Record an update to be sent (audited with its number of recipients). Flushes only.

    The same ``request_key`` twice (a double click) returns the update the first one made.
    """
    if data.request_key:
        existing = db.session.scalar(
            select(LetterUpdate).where(LetterUpdate.request_key == data.request_key)
        )
        if existing is not None:
            return existing
    subjects, bodies = update_texts(letter, data)
    item = LetterUpdate(
        letter_id=letter.id,
        kind=data.kind,
        subjects=subjects,
        bodies=bodies,
        bodies_html={language: render_body(body) for language, body in bodies.items()},
        is_public=data.is_public,
        created_by_id=by.id if by is not None else None,
        recipients=count_recipients(letter) if data.mail else 0,
        request_key=data.request_key,
        responder=data.responder.strip(),
        responded_on=data.responded_on,
        queued_at=None if data.mail else utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(item)
            db.session.flush()
    except IntegrityError:
        found = db.session.scalar(
            select(LetterUpdate).where(LetterUpdate.request_key == data.request_key)
        )
        if found is None:
            raise
        return found
    if item.is_public:
        letter.public_version += 1  # the letter page lists it
    audit.record(
        "letter.update_sent" if data.mail else "letter.update_published",
        obj=item,
        letter_id=letter.id,
        actor=by,
        details={
            "recipients": item.recipients,
            "languages": sorted(subjects),
            "kind": item.kind.value,
            "public": item.is_public,
        },
    )
    return item


def choose_language(item: LetterUpdate, language: str, main_language: str) -> str:
    if language in item.subjects:
        return language
    if main_language in item.subjects:
        return main_language
    return next(iter(item.subjects))


def render_email(
    item: LetterUpdate, letter: Letter, language: str, unsubscribe: str, withdraw: str
) -> tuple[str, str, str]:
    """(subject, text, html) of an update in ``language``, with the given links."""
    text = letter.text_in(language)
    context = {
        "language": language,
        "responder": item.responder,
        "responded_on": item.responded_on,
        "subject": item.subjects[language],
        "body_text": item.bodies[language],
        "body_html": item.bodies_html[language],
        "kind": item.kind.value,
        "letter_title": text.title,
        "letter_url": external_url("public.letter", slug=letter.slug, lang=language),
        "unsubscribe_url": unsubscribe,
        "withdraw_url": withdraw,
    }
    with force_locale(language):
        text_body = render_template("email/update.txt", **context)
        html_body = render_template("email/update.html", **context)
    return item.subjects[language], text_body, html_body


def queue_test(item: LetterUpdate, letter: Letter, language: str, recipient: str) -> None:
    """A copy to the staff member, links shown but not usable."""
    subject, text_body, html_body = render_email(
        item, letter, language, UNSUBSCRIBE_SLOT, WITHDRAW_SLOT
    )
    db.session.add(
        OutboxEmail(
            recipient=recipient,
            purpose="update-test",
            subject=f"[TEST] {subject}",
            text_body=text_body,
            html_body=html_body,
        )
    )
    db.session.info[PENDING_KEY] = True


def queue_batch(item: LetterUpdate, letter: Letter, after_id: int, size: int = BATCH_SIZE) -> int:
    """Queue the next ``size`` recipients after signature ``after_id``; return the last id seen
    (0 when none was left). Flushes only: the caller commits each batch."""
    rows = db.session.execute(
        update_recipients(letter.id).where(Signature.id > after_id).limit(size)
    ).all()
    if not rows:
        return 0
    now = utcnow()
    languages = {row.id: choose_language(item, row.language, letter.main_language) for row in rows}
    claimed = set(
        db.session.scalars(
            dialect_insert(UpdateDelivery.__table__)
            .on_conflict_do_nothing(index_elements=["update_id", "signature_id"])
            .returning(UpdateDelivery.__table__.c.signature_id),
            [
                {
                    "update_id": item.id,
                    "signature_id": row.id,
                    "language": languages[row.id],
                    "created_at": now,
                }
                for row in rows
            ],
        )
    )
    fresh = [row for row in rows if row.id in claimed]
    if fresh:
        _queue_emails(item, letter, fresh, languages, now)
    return int(rows[-1].id)


def _queue_emails(
    item: LetterUpdate, letter: Letter, rows: list[Any], languages: dict[int, str], now: Any
) -> None:
    templates = {
        language: render_email(item, letter, language, UNSUBSCRIBE_SLOT, WITHDRAW_SLOT)
        for language in set(languages[row.id] for row in rows)
    }
    outbox = cast(Table, OutboxEmail.__table__)
    unsubscribe_token = token_factory(Purpose.UNSUBSCRIBE)
    withdraw_token = token_factory(Purpose.WITHDRAW)
    # Each link built once per language with a stand-in token, then only the token differs.
    bases = {
        language: (
            external_url("follow_up.unsubscribe", token=TOKEN_SLOT, lang=language),
            external_url("public.withdraw", token=TOKEN_SLOT, lang=language),
        )
        for language in templates
    }
    values = []
    for row in rows:
        language = languages[row.id]
        subject, text_body, html_body = templates[language]
        unsubscribe_base, withdraw_base = bases[language]
        unsubscribe = unsubscribe_base.replace(
            TOKEN_SLOT, unsubscribe_token(row.id, row.withdraw_nonce)
        )
        withdraw = withdraw_base.replace(TOKEN_SLOT, withdraw_token(row.id, row.withdraw_nonce))
        values.append(
            {
                "recipient": row.email,
                "purpose": item.kind.value,
                "subject": subject,
                "text_body": _links(text_body, unsubscribe, withdraw),
                "html_body": _links(html_body, unsubscribe, withdraw),
                "signature_id": row.id,
                "status": OutboxStatus.QUEUED.value,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "last_error": "",
                "headers": list_headers(unsubscribe),
                "update_id": item.id,
            }
        )
    db.session.execute(outbox.insert(), values)
    db.session.info[PENDING_KEY] = True


def _links(body: str, unsubscribe: str, withdraw: str) -> str:
    return body.replace(UNSUBSCRIBE_SLOT, unsubscribe).replace(WITHDRAW_SLOT, withdraw)


@dataclass(frozen=True)
class Progress:
    recipients: int
    queued: int
    sent: int
    failed: int

    @property
    def waiting(self) -> int:
        return self.queued


def progress(item: LetterUpdate) -> Progress:
    rows = db.session.execute(
        select(OutboxEmail.status, func.count())
        .where(OutboxEmail.update_id == item.id)
        .group_by(OutboxEmail.status)
    ).all()
    counts = {str(status): int(n) for status, n in rows}
    return Progress(
        recipients=item.recipients,
        queued=counts.get("queued", 0) + counts.get("sending", 0),
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
    )


def letter_updates(letter: Letter, public_only: bool = False) -> list[LetterUpdate]:
    query = select(LetterUpdate).where(LetterUpdate.letter_id == letter.id)
    if public_only:
        query = query.where(LetterUpdate.is_public.is_(True))
    return list(db.session.scalars(query.order_by(LetterUpdate.created_at.desc())))


def unfinished_updates() -> list[int]:
    """Updates whose queueing has not finished (a job killed or lost): to resume."""
    return list(db.session.scalars(select(LetterUpdate.id).where(LetterUpdate.queued_at.is_(None))))


def batch_size() -> int:
    return int(current_app.config.get("UPDATE_BATCH_SIZE", BATCH_SIZE))


def public_item(item: LetterUpdate, language: str) -> dict[str, object]:
    """A published update or response, for the API."""
    shown = choose_language(item, language, next(iter(item.subjects)))
    return {
        "kind": item.kind.value,
        "published_at": item.created_at.isoformat(),
        "responder": item.responder or None,
        "responded_on": item.responded_on.isoformat() if item.responded_on else None,
        "language": shown,
        "subject": item.subjects[shown],
        "body_html": item.bodies_html[shown],
    }
