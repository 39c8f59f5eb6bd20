"""Creating and editing letters, text versions, status changes and who may do them, through HTTP.

Each test drives the staff pages with a signed-in test client, as a person would, and reads the
database only to prove what was (or was not) stored.
"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, csrf_token, links_in, outbox_rows, press_button, sign
from sqlalchemy import func, select

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.columns import utcnow
from petitions.models.letters import Addressee, Letter, LetterStatus, LetterText
from petitions.models.signatures import Signature
from petitions.models.staff import StaffUser, letter_organisers
from petitions.services.letters import text_hash

NEW = "school-meals-2026"
MINISTER = "Minister of Education and Sport | Ministry of Education, Sport and Youth"
MINISTER_SQ = "Ministri i Arsimit dhe Sportit | Ministria e Arsimit, Sportit dhe Rinisë"


def letter_fields(**overrides: Any) -> dict[str, Any]:
    """A complete, valid form for a new English letter with no Albanian translation."""
    fields = {
        "slug": NEW,
        "main_language": "en",
        "text_en-title": "Free school meals for every child",
        "text_en-summary": "A short summary.",
        "text_en-publisher": "Coalition for School Meals",
        "text_en-body": "Dear Minister,\n\nPlease act **now**.",
        "text_en-addressees": MINISTER,
        "text_sq-title": "",
        "text_sq-summary": "",
        "text_sq-publisher": "",
        "text_sq-body": "",
        "text_sq-addressees": "",
        "goal": "250",
        "opens_at": "",
        "closes_at": "",
        "auto_close": "y",
        "moderation": "none",
        "save": "y",
    }
    fields.update(overrides)
    return {key: value for key, value in fields.items() if value is not None}


def submit(client: Any, url: str, **overrides: Any) -> Any:
    """GET the form (for its CSRF token), then POST it with the given fields."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = letter_fields(**overrides)
    data["csrf_token"] = csrf_token(page.get_data(as_text=True))
    return client.post(url, data=data)


class FormValues(HTMLParser):
    """What a browser would send for the letter form as the page fills it in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, Any] = {}
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and "letter-form" in (found.get("class") or ""):
            self._in_form = True
        if not self._in_form:
            return
        name = found.get("name")
        if tag == "input" and name and found.get("type") not in ("submit",):
            if found.get("type") in ("checkbox", "radio"):
                if "checked" in found:
                    self.values[name] = found.get("value") or "y"
            else:
                self.values[name] = found.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in found:
            self.values.setdefault(self._select, []).append(found.get("value"))

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def edit_fields(page: str, **overrides: Any) -> dict[str, Any]:
    """The edit form as the page fills it in (textareas lose their first newline, as in a
    browser), with some fields changed; None leaves a field out."""
    scan = FormValues()
    scan.feed(page)
    fields = {
        name: value.removeprefix("\r").removeprefix("\n") if isinstance(value, str) else value
        for name, value in scan.values.items()
    }
    fields["save"] = "y"
    fields.update(overrides)
    return {name: value for name, value in fields.items() if value is not None}


def post_edit(client: Any, current_slug: str, **overrides: Any) -> Any:
    url = f"/staff/letters/{current_slug}/edit"
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data=edit_fields(page.get_data(as_text=True), **overrides))


def change_status(client: Any, slug: str, action: str) -> Any:
    """Through the confirmation page, as a person does: its form posts with ``confirmed``."""
    page = client.get(f"/staff/letters/{slug}/status?action={action}")
    if page.status_code != 200:
        page = client.get(f"/staff/letters/{slug}")
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        f"/staff/letters/{slug}/status",
        data={"csrf_token": token, "action": action, "confirmed": "1"},
    )


def load(app: Any, slug: str) -> Letter:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None
        letter.texts, letter.addressees  # load them before leaving the session
        db.session.expunge_all()
        return letter


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(found)


def counts(app: Any) -> tuple[int, int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Letter)),
            db.session.scalar(select(func.count()).select_from(LetterText)),
            db.session.scalar(select(func.count()).select_from(Addressee)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
        )


def confirmed_signature(app: Any, slug: str, email: str) -> int:
    """Sign ``slug`` through the public form and press the emailed confirmation button."""
    signer = app.test_client()
    assert sign(signer, slug, email=email).status_code == 303
    link = links_in(outbox_rows(app)[-1].text_body)["confirm"][0]
    assert press_button(signer, link).status_code == 200
    with app.app_context():
        return db.session.scalar(select(Signature.id).where(Signature.email == email))


# --- creating ---------------------------------------------------------------------------------


def test_an_organiser_creates_a_draft_and_becomes_its_organiser(app, client, staff_client):
    staff = staff_client("organiser", letters=(INCLUSIVE,))
    # Browsers send text areas with CRLF line breaks; the text is stored (and hashed) with LF.
    answer = submit(staff, "/staff/letters/new", **{"text_en-body": "Dear Minister,\r\n\r\nAct."})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/staff/letters/{NEW}")

    letter = load(app, NEW)
    assert letter.status == LetterStatus.DRAFT
    assert letter.goal == 250 and letter.auto_close and letter.moderation == "none"
    assert [(t.language, t.title) for t in letter.texts] == [
        ("en", "Free school meals for every child")
    ]
    text = letter.texts[0]
    assert text.body == "Dear Minister,\n\nAct."
    assert text.text_hash == text_hash(text.title, text.body)
    assert [(a.position, a.name, a.title, a.translations) for a in letter.addressees] == [
        (0, "Minister of Education and Sport", "Ministry of Education, Sport and Youth", {})
    ]
    with app.app_context():
        owners = (
            db.session.execute(
                select(StaffUser.role)
                .join(letter_organisers, letter_organisers.c.staff_id == StaffUser.id)
                .where(letter_organisers.c.letter_id == letter.id)
            )
            .scalars()
            .all()
        )
    assert owners == ["organiser"]
    [created] = events(app, "letter.created")
    assert created.letter_id == letter.id and created.details["organisers"]

    home = staff.get("/staff/").get_data(as_text=True)
    assert f"/staff/letters/{NEW}" in home
    dashboard = staff.get(f"/staff/letters/{NEW}")
    assert dashboard.status_code == 200
    # A draft is not public: neither its page nor the API shows it.
    assert client.get(f"/letters/{NEW}").status_code == 404
    slugs = [x["slug"] for x in client.get("/api/v1/letters").get_json()["letters"]]
    assert NEW not in slugs


def test_translations_and_addressees_are_stored_by_position(app, staff_client):
    staff = staff_client("admin")
    answer = submit(
        staff,
        "/staff/letters/new",
        main_language="sq",
        **{
            "text_sq-title": "Ushqim falas në shkolla",
            "text_sq-body": "I nderuar Ministër,",
            "text_sq-addressees": MINISTER_SQ + "\nKryeministri",
            "text_en-addressees": MINISTER + "\nThe Prime Minister",
        },
    )
    assert answer.status_code == 303
    letter = load(app, NEW)
    assert letter.main_language == "sq"
    assert sorted(t.language for t in letter.texts) == ["en", "sq"]
    assert [(a.name, a.title, a.translations) for a in letter.addressees] == [
        (
            "Ministri i Arsimit dhe Sportit",
            "Ministria e Arsimit, Sportit dhe Rinisë",
            {
                "en": {
                    "name": "Minister of Education and Sport",
                    "title": "Ministry of Education, Sport and Youth",
                }
            },
        ),
        ("Kryeministri", "", {"en": {"name": "The Prime Minister", "title": ""}}),
    ]
    # An admin who creates a letter does not become its organiser.
    with app.app_context():
        assert organiser_rows(letter.id) == []


def organiser_rows(letter_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(letter_organisers.c.staff_id).where(letter_organisers.c.letter_id == letter_id)
        )
    )


INVALID = {
    "bad slug": ({"slug": "Bad Slug!"}, "Use lowercase letters, digits and single hyphens only."),
    "taken slug": ({"slug": G20}, "Another letter already uses this address."),
    "no main title": ({"text_en-title": ""}, "Required in the main language."),
    "partial translation": (
        {"text_sq-title": "Ushqim falas"},
        "Fill in the title and the text, or leave this language empty.",
    ),
    "addressee mismatch": (
        {
            "text_sq-title": "Ushqim falas",
            "text_sq-body": "Tekst",
            "text_sq-addressees": MINISTER_SQ + "\nKryeministri",
        },
        "2 lines here, 1 in the main language",
    ),
    "empty addressee name": ({"text_en-addressees": " | Ministry"}, "Line 1: write one addressee"),
    "closes before opens": (
        {"opens_at": "2030-05-02T10:00", "closes_at": "2030-05-01T10:00"},
        "The closing date must be after the opening date.",
    ),
    "goal below one": ({"goal": "0"}, "A whole number from 1, please."),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_an_invalid_letter_form_changes_nothing(app, staff_client, case):
    staff = staff_client("admin")
    overrides, message = INVALID[case]
    before = counts(app)
    answer = submit(staff, "/staff/letters/new", **overrides)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True).replace("&#34;", '"')
    assert counts(app) == before


def test_preview_saves_nothing_and_shows_sanitised_html(app, staff_client):
    staff = staff_client("organiser")
    before = counts(app)
    body = "Dear Minister,\n\n<script>alert(1)</script>\n\nPlease act **now**."
    answer = submit(staff, "/staff/letters/new", save=None, preview="y", **{"text_en-body": body})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "<strong>now</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # kept, escaped, in the textarea
    assert "Minister of Education and Sport, Ministry of Education, Sport and Youth" in html
    assert counts(app) == before


# --- editing and text versions -------------------------------------------------------------------


def test_editing_an_unsigned_text_changes_it_in_place(app, staff_client):
    staff = staff_client("organiser")
    assert submit(staff, "/staff/letters/new").status_code == 303
    before = load(app, NEW)
    answer = post_edit(
        staff,
        NEW,
        **{"text_en-title": "Free meals for every child", "goal": "300", "slug": NEW + "-x"},
    )
    assert answer.status_code == 303
    after = load(app, NEW + "-x")
    [text] = after.texts
    assert text.id == before.texts[0].id
    assert text.title == "Free meals for every child"
    assert text.text_hash == text_hash(text.title, text.body) != before.texts[0].text_hash
    assert after.goal == 300
    assert after.public_version > before.public_version
    [edited] = events(app, "letter.edited")
    assert set(edited.details["fields"]) == {"slug", "goal", "texts.en.title"}
    assert events(app, "letter.text_versioned") == []


def test_a_published_letter_is_versioned_even_before_its_first_signature(app, staff_client):
    """Signing does not wait for an editor: once open, a signature may arrive at any moment,
    so a changed text never replaces, in place, a text someone may be reading and signing."""
    staff = staff_client("organiser")
    assert submit(staff, "/staff/letters/new").status_code == 303
    assert change_status(staff, NEW, "publish").status_code == 303
    before = load(app, NEW).texts[0]
    assert post_edit(staff, NEW, **{"text_en-title": "A new title"}).status_code == 303
    texts = {t.id: t for t in load(app, NEW).texts}
    assert texts[before.id].superseded_at is not None
    assert texts[before.id].title == before.title
    [current] = [t for t in texts.values() if t.superseded_at is None]
    assert current.title == "A new title"
    assert len(events(app, "letter.text_versioned")) == 1


def test_saving_an_unchanged_form_changes_nothing(app, staff_client):
    staff = staff_client("admin")
    before = load(app, INCLUSIVE)
    answer = post_edit(staff, INCLUSIVE)
    assert answer.status_code == 303
    assert "Nothing was changed." in staff.get(answer.headers["Location"]).get_data(as_text=True)
    after = load(app, INCLUSIVE)
    assert after.public_version == before.public_version
    assert [(a.name, a.title, a.translations) for a in after.addressees] == [
        (a.name, a.title, a.translations) for a in before.addressees
    ]
    assert events(app, "letter.edited") == []


def test_editing_a_signed_text_makes_a_new_version(app, staff_client):
    staff = staff_client("organiser", letters=(G20,))
    reader = app.test_client()
    signature_id = confirmed_signature(app, G20, "ana@example.org")
    before = load(app, G20)
    old = next(t for t in before.texts if t.language == "en")
    assert "This text was changed" not in reader.get(f"/letters/{G20}").get_data(as_text=True)

    new_body = old.body + "\n\nA new closing paragraph."
    assert post_edit(staff, G20, **{"text_en-body": new_body}).status_code == 303

    after = load(app, G20)
    english = [t for t in after.texts if t.language == "en"]
    assert len(english) == 2
    superseded = next(t for t in english if t.id == old.id)
    current = next(t for t in english if t.id != old.id)
    assert superseded.superseded_at is not None and current.superseded_at is None
    assert current.body == new_body.strip()
    with app.app_context():
        assert db.session.get(Signature, signature_id).text_id == old.id
    [versioned] = events(app, "letter.text_versioned")
    assert versioned.details == {
        "language": "en",
        "old_text_id": old.id,
        "new_text_id": current.id,
    }
    assert after.public_version > before.public_version
    # The page cache had the old page: the new text and the notice show at once.
    page = reader.get(f"/letters/{G20}").get_data(as_text=True)
    assert "A new closing paragraph." in page
    assert "This text was changed on" in page
    # Albanian was not changed: no notice there.
    albanian = reader.get(f"/letters/{G20}?lang=sq").get_data(as_text=True)
    assert "A new closing paragraph." not in albanian
    assert "This text was changed" not in albanian


def test_a_signed_letter_keeps_its_address_and_summaries_change_in_place(app, staff_client):
    staff = staff_client("admin")
    confirmed_signature(app, G20, "ana@example.org")
    before = load(app, G20)
    moved = post_edit(staff, G20, slug="another-address")
    assert moved.status_code == 400
    assert "The address cannot change once the letter has signatures." in moved.get_data(
        as_text=True
    )
    assert load(app, "g20-protect-education").public_version == before.public_version

    assert post_edit(staff, G20, **{"text_en-summary": "A new summary."}).status_code == 303
    after = load(app, G20)
    assert {t.id for t in after.texts} == {t.id for t in before.texts}
    assert next(t for t in after.texts if t.language == "en").summary == "A new summary."
    assert events(app, "letter.text_versioned") == []
    # The demo's dates have seconds, the form minutes: that is no change.
    assert events(app, "letter.edited")[-1].details["fields"] == ["texts.en.summary"]
    assert (after.opens_at, after.closes_at) == (before.opens_at, before.closes_at)


def test_going_back_to_an_earlier_wording_makes_it_current_again(app, staff_client):
    staff = staff_client("admin")
    confirmed_signature(app, G20, "ana@example.org")
    original = next(t for t in load(app, G20).texts if t.language == "en")
    assert post_edit(staff, G20, **{"text_en-title": "Changed"}).status_code == 303
    answer = post_edit(staff, G20, **{"text_en-title": original.title})
    assert answer.status_code == 303
    english = [t for t in load(app, G20).texts if t.language == "en"]
    assert len(english) == 2
    current = next(t for t in english if t.superseded_at is None)
    assert current.id == original.id


def test_removing_a_translation_of_an_unsigned_letter(app, staff_client):
    staff = staff_client("admin")
    assert (
        submit(
            staff,
            "/staff/letters/new",
            **{"text_sq-title": "Ushqim falas", "text_sq-body": "Tekst"},
        ).status_code
        == 303
    )
    empty = {f"text_sq-{name}": "" for name in ("title", "summary", "publisher", "body")}
    assert post_edit(staff, NEW, **empty).status_code == 303
    assert [t.language for t in load(app, NEW).texts] == ["en"]
    assert "texts.sq" in events(app, "letter.edited")[0].details["fields"]


def test_admins_choose_organisers(app, staff_client, make_staff):
    organiser = make_staff("organiser")
    staff = staff_client("admin")
    with app.app_context():
        organiser_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == organiser))
    page = staff.get(f"/staff/letters/{G20}/edit").get_data(as_text=True)
    assert organiser in page  # the choices list active organiser accounts
    assert post_edit(staff, G20, organisers=str(organiser_id)).status_code == 303
    letter = load(app, G20)
    with app.app_context():
        assert organiser_rows(letter.id) == [organiser_id]
    [changed] = events(app, "letter.organisers_changed")
    assert changed.details == {"from": [], "to": [organiser_id]}
    # An organiser's edit page has no such choice.
    own = staff_client("organiser", letters=(G20,))
    assert 'name="organisers"' not in own.get(f"/staff/letters/{G20}/edit").get_data(as_text=True)


# --- status ------------------------------------------------------------------------------------


def test_publishing_makes_the_letter_public(app, client, staff_client):
    staff = staff_client("organiser")
    assert submit(staff, "/staff/letters/new").status_code == 303
    before = load(app, NEW)
    answer = change_status(staff, NEW, "publish")
    assert answer.status_code == 303
    after = load(app, NEW)
    assert after.status == LetterStatus.OPEN
    assert after.public_version > before.public_version
    assert client.get(f"/letters/{NEW}").status_code == 200
    slugs = [x["slug"] for x in client.get("/api/v1/letters").get_json()["letters"]]
    assert NEW in slugs
    [event] = events(app, "letter.status_changed")
    assert event.details == {"from": "draft", "to": "open"}


def test_close_and_reopen(app, client, staff_client):
    staff = staff_client("admin")
    assert "Only a draft can be published." in follow(staff, change_status(staff, G20, "publish"))
    assert load(app, G20).status == LetterStatus.OPEN

    change_status(staff, G20, "close")
    assert load(app, G20).status == LetterStatus.CLOSED
    assert "no longer takes signatures" in client.get(f"/letters/{G20}").get_data(as_text=True)
    change_status(staff, G20, "reopen")
    assert load(app, G20).status == LetterStatus.OPEN

    change_status(staff, G20, "close")
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        letter.closes_at = utcnow() - timedelta(days=1)
        db.session.commit()
    refused = follow(staff, change_status(staff, G20, "reopen"))
    assert "The closing date has passed. Set a new closing date first" in refused
    assert load(app, G20).status == LetterStatus.CLOSED
    assert [e.details for e in events(app, "letter.status_changed")] == [
        {"from": "open", "to": "closed"},
        {"from": "closed", "to": "open"},
        {"from": "open", "to": "closed"},
    ]


def follow(client: Any, answer: Any) -> str:
    assert answer.status_code == 303
    return client.get(answer.headers["Location"]).get_data(as_text=True)


# --- who may do what --------------------------------------------------------------------------


def test_an_organiser_of_another_letter_is_refused(app, staff_client):
    staff = staff_client("organiser", letters=(INCLUSIVE,))
    before = load(app, G20)
    token = csrf_token(staff.get(f"/staff/letters/{INCLUSIVE}").get_data(as_text=True))
    assert staff.get(f"/staff/letters/{G20}").status_code == 403
    assert staff.get(f"/staff/letters/{G20}/edit").status_code == 403
    own_form = staff.get(f"/staff/letters/{INCLUSIVE}/edit").get_data(as_text=True)
    fields = edit_fields(own_form, slug=G20, goal="5")
    assert staff.post(f"/staff/letters/{G20}/edit", data=fields).status_code == 403
    closing = {"csrf_token": token, "action": "close"}
    assert staff.post(f"/staff/letters/{G20}/status", data=closing).status_code == 403
    after = load(app, G20)
    assert (after.goal, after.status) == (before.goal, before.status)
    assert staff.get(f"/staff/letters/{INCLUSIVE}/edit").status_code == 200


def test_a_moderator_sees_dashboards_but_does_not_edit(staff_client):
    staff = staff_client("moderator")
    assert staff.get("/staff/letters/new").status_code == 403
    assert staff.get(f"/staff/letters/{G20}/edit").status_code == 403
    page = staff.get(f"/staff/letters/{G20}")
    assert page.status_code == 200
    assert f"/staff/letters/{G20}/edit" not in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    closing = {"csrf_token": token, "action": "close"}
    assert staff.post(f"/staff/letters/{G20}/status", data=closing).status_code == 403


def test_unknown_letters_are_404_and_csrf_is_required(staff_client):
    staff = staff_client("admin")
    assert staff.get("/staff/letters/no-such-letter").status_code == 404
    assert staff.get("/staff/letters/no-such-letter/edit").status_code == 404
    assert staff.post(f"/staff/letters/{G20}/status", data={"action": "close"}).status_code == 400


def test_signed_out_visitors_go_to_the_login_page(client):
    answer = client.get("/staff/letters/new")
    assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"]


def test_a_letter_closed_by_hand_before_its_deadline_shows_no_closing_date(
    app, client, staff_client
):
    """ "Closed on" a day still to come would be wrong; the closed notice says enough."""
    from datetime import timedelta

    from petitions.models.columns import utcnow

    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        letter.closes_at = utcnow() + timedelta(days=30)
        db.session.commit()
    assert "Open until" in client.get(f"/letters/{G20}").get_data(as_text=True)
    staff = staff_client("admin")
    assert change_status(staff, G20, "close").status_code == 303
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert "Closed on" not in page and "Open until" not in page
    assert "This letter is closed" in page


def test_a_signed_letter_cannot_be_moved_to_open_later(app, staff_client):
    confirmed_signature(app, G20, "early@example.org")
    before = load(app, G20).opens_at
    staff = staff_client("admin")
    later = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    answer = post_edit(staff, G20, opens_at=later)
    assert answer.status_code == 400
    assert "cannot be moved to open later" in answer.get_data(as_text=True)
    assert load(app, G20).opens_at == before


def test_a_letter_open_past_its_deadline_shows_no_stale_date(app, client):
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        letter.closes_at = utcnow() - timedelta(days=2)
        letter.auto_close = False  # the deadline is only shown: the letter stays open
        letter.public_version += 1
        db.session.commit()
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    assert "Open until" not in page
    assert "Closed on" not in page
    assert 'name="consent"' in page  # still takes signatures
