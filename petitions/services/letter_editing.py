"""Creating and editing letters: texts and their versions, addressees, settings, organisers.

A signature records the text its signer read (``Signature.text_id``), so once a letter is
published (or has any signature) a changed title or body becomes a new :class:`LetterText` row
and the old one is only marked superseded; a draft's texts are simply edited in place. Every
change here is audited in the same transaction and bumps ``Letter.public_version`` (the public
page cache keys on it). Functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Addressee, Letter, LetterStatus, LetterText, Moderation
from petitions.models.signatures import Signature
from petitions.models.staff import Role, StaffUser, letter_organisers
from petitions.services import audit
from petitions.services.errors import DomainError
from petitions.services.letter_markdown import NestingTooDeep, render_body
from petitions.services.letters import text_hash
from petitions.services.text_input import normalise


class LetterEditError(DomainError, ValueError):
    """A change to a letter that cannot be made; ``field`` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BodyRefused(LetterEditError):
    """A body the Markdown renderer refuses (nested too deeply); ``field`` is its text area."""


@dataclass(frozen=True)
class TextInput:
    title: str
    body: str
    summary: str = ""
    publisher: str = ""


@dataclass(frozen=True)
class AddresseeInput:
    name: str
    title: str = ""
    # {"sq": {"name": ..., "title": ...}}, as stored in Addressee.translations.
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LetterInput:
    """A whole letter as the form gives it. ``texts`` maps each language the form showed to its
    text, or to None for "no translation"; languages not in it are left as they are."""

    slug: str
    main_language: str
    texts: dict[str, TextInput | None]
    addressees: list[AddresseeInput] = field(default_factory=list)
    goal: int | None = None
    stretch_goal: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    auto_close: bool = True
    moderation: Moderation = Moderation.NONE
    organisations_need_approval: bool = False
    # Days the signers' data is kept after closing or delivery; None: the site's RETENTION_DAYS.
    retention_days: int | None = None


SETTINGS = ("main_language", "goal", "stretch_goal", "opens_at", "closes_at", "auto_close",
            "moderation", "organisations_need_approval", "retention_days")  # fmt: skip
TEXT_FIELDS = ("title", "summary", "publisher", "body")
SLUG_TAKEN = _l("Another letter already uses this address.")


# --- reading -------------------------------------------------------------------------------------


def staff_letter(slug: str) -> Letter | None:
    """Any letter, drafts included, with its texts and addressees."""
    return db.session.scalar(
        select(Letter)
        .options(selectinload(Letter.texts), selectinload(Letter.addressees))
        .where(Letter.slug == slug)
    )


def has_signatures(letter: Letter) -> bool:
    """Whether anyone has signed, in any status: from then on texts are versioned."""
    return bool(db.session.scalar(select(exists().where(Signature.letter_id == letter.id))))


def active_organisers() -> list[StaffUser]:
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(StaffUser.role == Role.ORGANISER, StaffUser.is_active.is_(True))
            .order_by(StaffUser.email)
        )
    )


def organiser_ids(letter: Letter) -> list[int]:
    return sorted(
        db.session.scalars(
            select(letter_organisers.c.staff_id).where(letter_organisers.c.letter_id == letter.id)
        )
    )


def lock_letter(letter: Letter) -> Letter:
    """The letter read afresh under a row lock, so two editors' changes do not interleave."""
    return db.session.scalars(
        select(Letter)
        .options(selectinload(Letter.texts), selectinload(Letter.addressees))
        .where(Letter.id == letter.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


# --- checks --------------------------------------------------------------------------------------


def _check(data: LetterInput, letter: Letter | None, signed: bool) -> None:
    if data.texts.get(data.main_language) is None:
        raise LetterEditError(_l("The main language needs a title and a text."), "main_language")
    if data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        raise LetterEditError(_l("The closing date must be after the opening date."), "closes_at")
    if data.stretch_goal and (not data.goal or data.stretch_goal <= data.goal):
        raise LetterEditError(_l("The stretch goal must be larger than the goal."), "stretch_goal")
    if letter is not None and data.slug != letter.slug and signed:
        raise LetterEditError(_l("The address cannot change once it has signatures."), "slug")
    if (
        letter is not None
        and signed
        and data.opens_at is not None
        and data.opens_at > utcnow()
        and not _same(letter.opens_at, data.opens_at)
    ):
        # The page, the API and pending confirmations would vanish until then.
        raise LetterEditError(
            _l("A letter that has signatures cannot be moved to open later."), "opens_at"
        )
    taken = select(Letter.id).where(Letter.slug == data.slug)
    if letter is not None:
        taken = taken.where(Letter.id != letter.id)
    if db.session.scalar(taken) is not None:
        raise LetterEditError(SLUG_TAKEN, field="slug")


def _flush_or_slug_taken() -> None:
    """Flush; a letter created with the same slug a moment ago shows as the form error."""
    try:
        db.session.flush()
    except IntegrityError:
        raise LetterEditError(SLUG_TAKEN, field="slug") from None


# --- creating ------------------------------------------------------------------------------------


def create_letter(data: LetterInput, by: StaffUser) -> Letter:
    """A new draft letter; an organiser who creates it becomes one of its organisers."""
    _check(data, None, signed=False)
    letter = Letter(slug=data.slug, status=LetterStatus.DRAFT, public_version=0)
    _apply_settings(letter, data)
    for language, text in data.texts.items():
        if text is not None:
            letter.texts.append(new_text(language, text))
    _write_addressees(letter, data)
    db.session.add(letter)
    _flush_or_slug_taken()
    organisers = []
    if by.role == Role.ORGANISER:
        db.session.execute(insert(letter_organisers).values(letter_id=letter.id, staff_id=by.id))
        organisers = [by.id]
    audit.record(
        "letter.created",
        obj=letter,
        letter_id=letter.id,
        details={
            "slug": letter.slug,
            "languages": sorted(lang for lang, text in data.texts.items() if text is not None),
            "organisers": organisers,
        },
    )
    return letter


def new_text(language: str, text: TextInput) -> LetterText:
    """A text row, its body rendered to HTML now, once (the page and the PDF show that)."""
    return LetterText(
        language=language,
        **asdict(text),
        body_html=rendered_body(language, text.body),
        text_hash=text_hash(text.title, text.body),
    )


def rendered_body(language: str, body: str) -> str:
    try:
        return render_body(body)
    except NestingTooDeep as error:
        raise BodyRefused(error.args[0], field=f"text_{language}.body") from None


def _apply_settings(letter: Letter, data: LetterInput) -> list[str]:
    changed = []
    for name in SETTINGS:
        value = getattr(data, name)
        if name == "moderation":
            value = Moderation(value).value
        if not _same(getattr(letter, name), value):
            setattr(letter, name, value)
            changed.append(name)
    return changed


def _same(stored: object, given: object) -> bool:
    """Equal; for times, within the same minute (the form's precision), so saving a letter
    whose dates were set to the second elsewhere changes nothing."""
    if isinstance(stored, datetime) and isinstance(given, datetime):
        return stored.replace(second=0, microsecond=0) == given.replace(second=0, microsecond=0)
    return stored == given


# --- editing -------------------------------------------------------------------------------------


def edit_letter(
    letter: Letter, data: LetterInput, organisers: list[int] | None = None
) -> list[str]:
    """Apply the form to the letter; returns the names of what changed (empty: nothing did).

    ``organisers`` (staff ids) is given only by those who may choose them (admins).
    """
    letter = lock_letter(letter)
    signed = has_signatures(letter)
    # Once published, a letter may gain a signature at any moment (signing does not wait for
    # this lock), so its texts are versioned from then on, signed or not: no signer can ever
    # have read a text that is then changed in place. A draft takes no signatures.
    versioned = signed or letter.status != LetterStatus.DRAFT
    _check(data, letter, signed)
    changed = []
    if data.slug != letter.slug:
        letter.slug = data.slug
        changed.append("slug")
    changed += _apply_settings(letter, data)
    versions = []
    for language, text in data.texts.items():
        text_changes, version = _write_text(letter, language, text, versioned)
        changed += text_changes
        if version is not None:
            versions.append(version)
    if _write_addressees(letter, data):
        changed.append("addressees")
    _flush_or_slug_taken()
    if changed:
        audit.record("letter.edited", obj=letter, letter_id=letter.id, details={"fields": changed})
    for language, old in versions:
        new = next(t for t in letter.texts if t.language == language and not t.superseded_at)
        audit.record(
            "letter.text_versioned",
            obj=letter,
            letter_id=letter.id,
            details={"language": language, "old_text_id": old, "new_text_id": new.id},
        )
    if organisers is not None and set_organisers(letter, organisers):
        changed.append("organisers")
    if changed:
        letter.public_version += 1
    return changed


def _write_text(
    letter: Letter, language: str, text: TextInput | None, signed: bool
) -> tuple[list[str], tuple[str, int] | None]:
    """Bring one language's text in line with the form.

    Returns the changed field names and, when a new version was made, (language, old text id).
    """
    current = next(
        (t for t in letter.texts if t.language == language and t.superseded_at is None), None
    )
    prefix = f"texts.{language}"
    if text is None:
        if current is None:
            return [], None
        _retire(letter, current, signed)
        return [prefix], None
    if current is None:
        _revive_or_add(letter, language, text)
        return [prefix], None
    changed = [
        f"{prefix}.{name}"
        for name in TEXT_FIELDS
        if _tidy(getattr(current, name)) != _tidy(getattr(text, name))
    ]
    if not ({f"{prefix}.title", f"{prefix}.body"} & set(changed)):
        current.summary, current.publisher = text.summary, text.publisher
        return changed, None
    new_hash = text_hash(text.title, text.body)
    twin = _superseded_twin(letter, language, text)
    if not signed and twin is None:
        current.title, current.body, current.text_hash = text.title, text.body, new_hash
        current.body_html = rendered_body(language, text.body)
        current.summary, current.publisher = text.summary, text.publisher
        return changed, None
    old_id = current.id
    _retire(letter, current, signed)
    _revive_or_add(letter, language, text)
    return changed, ((language, old_id) if signed else None)


def _tidy(value: str) -> str:
    """Text as the form sends it: stored texts from elsewhere (the demo) may end in a newline
    or use CRLF, which is no change of wording."""
    return normalise(value.replace("\r\n", "\n"))


def _retire(letter: Letter, text: LetterText, signed: bool) -> None:
    """A text nobody signed can go; one that may have been signed is kept, superseded."""
    if signed:
        text.superseded_at = utcnow()
    else:
        letter.texts.remove(text)
        db.session.flush()  # before a revived twin takes its place


def _superseded_twin(letter: Letter, language: str, text: TextInput) -> LetterText | None:
    """An earlier version with this very wording (the same hash, or the same tidied text)."""
    wording = (_tidy(text.title), _tidy(text.body))
    return next(
        (
            old
            for old in letter.texts
            if old.language == language
            and old.superseded_at is not None
            and (_tidy(old.title), _tidy(old.body)) == wording
        ),
        None,
    )


def _revive_or_add(letter: Letter, language: str, text: TextInput) -> None:
    """Going back to an earlier wording makes that version current again (the database keeps
    one row per wording, and signatures of it still point at it)."""
    twin = _superseded_twin(letter, language, text)
    if twin is not None:
        twin.superseded_at = None
        twin.summary, twin.publisher = text.summary, text.publisher
    else:
        letter.texts.append(new_text(language, text))


def _write_addressees(letter: Letter, data: LetterInput) -> bool:
    """Make the addressee rows match the form, position by position; True if anything changed.

    Translations into languages the form did not show are kept.
    """
    kept_languages = set(data.texts)
    changed = len(letter.addressees) != len(data.addressees)
    for position, wanted in enumerate(data.addressees):
        if position < len(letter.addressees):
            row = letter.addressees[position]
        else:
            row = Addressee(position=position, name="", title="", translations={})
            letter.addressees.append(row)
        translations = {
            lang: names
            for lang, names in (row.translations or {}).items()
            if lang not in kept_languages
        }
        translations.update(wanted.translations)
        before = (row.position, row.name, row.title, row.translations)
        if before != (position, wanted.name, wanted.title, translations):
            row.position, row.name, row.title = position, wanted.name, wanted.title
            row.translations = translations
            changed = True
    del letter.addressees[len(data.addressees) :]
    return changed


def set_organisers(letter: Letter, staff_ids: list[int]) -> bool:
    """Choose which organiser accounts work on the letter; True if that changed."""
    allowed = {user.id for user in active_organisers()}
    wanted = sorted(set(staff_ids))
    if not set(wanted) <= allowed:
        raise LetterEditError(_l("Choose organisers from the list."), field="organisers")
    before = organiser_ids(letter)
    if before == wanted:
        return False
    db.session.execute(
        delete(letter_organisers).where(
            letter_organisers.c.letter_id == letter.id,
            letter_organisers.c.staff_id.not_in(wanted),
        )
    )
    added = [staff for staff in wanted if staff not in before]
    if added:
        db.session.execute(
            insert(letter_organisers),
            [{"letter_id": letter.id, "staff_id": staff} for staff in added],
        )
    audit.record(
        "letter.organisers_changed",
        obj=letter,
        letter_id=letter.id,
        details={"from": before, "to": wanted},
    )
    return True
