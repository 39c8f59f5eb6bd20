"""The public pages through HTTP (Flask test client): letters, languages, the signing form.

Every answer here is read as a person's browser would read it; the database is read only to prove
what was (or was not) stored.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import (
    G20,
    INCLUSIVE,
    csrf_token,
    links_in,
    outbox_rows,
    path_of,
    press_button,
    sign,
    valid_fields,
)
from markupsafe import escape
from sqlalchemy import select, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Addressee, Letter, LetterStatus, LetterText
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.demo_content import DEMO_LETTERS
from petitions.services.letter_markdown import render_body
from petitions.services.letters import text_hash

DEMO = {spec["slug"]: spec for spec in DEMO_LETTERS}
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


# --- helpers --------------------------------------------------------------------------------------


class PageScan(HTMLParser):
    """What the checks need from a page: its language, its form controls, labels and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang: str | None = None
        self.controls: list[tuple[str, dict[str, str | None], bool]] = []
        self.label_for: set[str] = set()
        self.scripts = 0
        self._label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.html_lang = found.get("lang")
        elif tag == "label":
            self._label_depth += 1
            if found.get("for"):
                self.label_for.add(str(found["for"]))
        elif tag in ("input", "select", "textarea"):
            self.controls.append((tag, found, self._label_depth > 0))
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1


def scan(html: str) -> PageScan:
    parser = PageScan()
    parser.feed(html)
    parser.close()
    return parser


class TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(html: str) -> str:
    """The page's text as a reader sees it (entities decoded, whitespace collapsed)."""
    parser = TextOnly()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def page_language(response: Any) -> str:
    """The page's declared language; every page must declare one."""
    html = response.get_data(as_text=True)
    lang = scan(html).html_lang
    assert lang, "the page does not declare <html lang=…>"
    return lang


def demo_title(slug: str, language: str) -> str:
    return str(escape(DEMO[slug]["texts"][language]["title"]))


def first_line(slug: str, language: str) -> str:
    return str(escape(DEMO[slug]["texts"][language]["body"].splitlines()[0]))


def signatures(app: Any) -> list[Signature]:
    with app.app_context():
        rows = db.session.scalars(select(Signature).order_by(Signature.id)).all()
        db.session.expunge_all()
        return list(rows)


def set_letter(app: Any, slug: str, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == slug).values(**values))
        db.session.commit()


def letter_id(app: Any, slug: str) -> int:
    with app.app_context():
        return int(db.session.scalar(select(Letter.id).where(Letter.slug == slug)))


def add_letter(
    app: Any, slug: str, main_language: str, texts: dict[str, str], **extra: Any
) -> None:
    """A letter built with the models: one text per language given (title → body)."""
    with app.app_context():
        letter = Letter(
            slug=slug,
            main_language=main_language,
            status=extra.pop("status", LetterStatus.OPEN),
            goal=extra.pop("goal", 50),
            **extra,
        )
        for language, title in texts.items():
            body = f"Body of {title}, written only in {language}."
            letter.texts.append(
                LetterText(
                    language=language,
                    title=title,
                    summary=f"Summary of {title}",
                    publisher=f"Publisher of {title}",
                    body=body,
                    body_html=render_body(body),
                    text_hash=text_hash(title, body),
                )
            )
        letter.addressees.append(Addressee(position=0, name="The Mayor", title="City Hall"))
        db.session.add(letter)
        db.session.commit()


def confirm_by_email(client: Any, app: Any, email: str) -> None:
    """Follow the newest confirmation link queued for ``email`` and press its button."""
    rows = [row for row in outbox_rows(app) if row.recipient == email]
    assert rows, f"no email queued for {email}"
    links = links_in(rows[-1].text_body)
    assert len(links["confirm"]) == 1
    assert press_button(client, links["confirm"][0]).status_code == 200


def listed_names(html: str) -> list[str]:
    """The bold names of a public list, in page order."""
    block = re.search(r'<ul class="signatories">(.*?)</ul>', html, re.S)
    if block is None:
        return []
    return re.findall(r"<li>\s*<strong>([^<]*)</strong>", block.group(1))


def error_next_to(html: str, field: str) -> str:
    """The error text shown inside the block of ``field`` (its div, or the kind fieldset)."""
    if field == "kind":
        block = re.search(r'<fieldset class="kind has-error">(.*?)</fieldset>', html, re.S)
    else:
        block = re.search(
            r'<div class="field[^"]*has-error">((?:(?!</div>).)*?\bid="'
            + field
            + r'"(?:(?!</div>).)*)</div>',
            html,
            re.S,
        )
    assert block is not None, f"no error block around the {field!r} field"
    error = re.search(r'<p class="error"[^>]*>(.*?)</p>', block.group(1), re.S)
    assert error is not None, f"no class=error message beside {field!r}"
    return error.group(1)


# --- the list of letters and the language ---------------------------------------------------------


def test_index_lists_both_demo_letters_with_addressees_and_counts(app, client):
    set_letter(app, G20, count_individuals=7, count_organisations=2)
    set_letter(app, INCLUSIVE, count_individuals=4, count_organisations=11)
    answer = client.get("/?lang=en")
    assert answer.status_code == 200
    assert page_language(answer) == "en"
    html = answer.get_data(as_text=True)
    cards = {
        slug: card
        for card in html.split('<li class="letter-card">')[1:]
        for slug in (G20, INCLUSIVE)
        if f'href="/letters/{slug}"' in card
    }
    assert set(cards) == {G20, INCLUSIVE}
    assert demo_title(G20, "en") in cards[G20]
    assert demo_title(INCLUSIVE, "en") in cards[INCLUSIVE]
    assert "Finance Ministers of the G20" in cards[G20]
    assert "The G20 Presidency" in cards[G20]
    assert "Minister of Education and Sport" in cards[INCLUSIVE]
    assert "<strong>9</strong>" in cards[G20]
    assert "2 organisations · 7 individuals" in cards[G20]
    assert "<strong>15</strong>" in cards[INCLUSIVE]
    assert "11 organisations · 4 individuals" in cards[INCLUSIVE]


def test_lang_parameter_shows_albanian_and_is_remembered(client):
    answer = client.get("/?lang=sq")
    assert answer.status_code == 200
    assert page_language(answer) == "sq"
    html = answer.get_data(as_text=True)
    assert demo_title(G20, "sq") in html
    assert demo_title(G20, "en") not in html
    assert "Ministrat e Financave të G20" in html

    again = client.get("/")  # no ?lang: the session remembers sq
    assert page_language(again) == "sq"
    assert demo_title(G20, "sq") in again.get_data(as_text=True)
    letter = client.get(f"/letters/{G20}", headers={"Accept-Language": "en"})
    assert page_language(letter) == "sq"  # the session's choice beats the browser's

    back = client.get("/?lang=en")
    assert page_language(back) == "en"
    assert page_language(client.get("/")) == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("sq,en;q=0.5", "sq"), ("fr", "en"), ("en-GB,en;q=0.8", "en"), ("sq-AL", "sq")],
)
def test_accept_language_chooses_when_no_lang_is_given(client, header, expected):
    answer = client.get("/", headers={"Accept-Language": header})
    assert answer.status_code == 200
    assert page_language(answer) == expected
    title = demo_title(G20, expected)
    assert title in answer.get_data(as_text=True)


def test_unknown_lang_parameter_falls_back_to_the_browser(client):
    answer = client.get("/?lang=xx", headers={"Accept-Language": "sq"})
    assert answer.status_code == 200
    assert page_language(answer) == "sq"


# --- one letter -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "sq"])
def test_letter_page_shows_text_addressees_publisher_counts_and_goal(app, client, language):
    set_letter(app, G20, count_individuals=120, count_organisations=30)
    answer = client.get(f"/letters/{G20}?lang={language}")
    assert answer.status_code == 200
    assert page_language(answer) == language
    html = answer.get_data(as_text=True)
    spec = DEMO[G20]
    text = spec["texts"][language]
    assert f"<h1>{demo_title(G20, language)}</h1>" in html
    assert first_line(G20, language) in html
    # Every plain paragraph of the body is on the page (the full text, not a summary).
    shown = page_text(html)
    plain = [p.strip() for p in text["body"].split("\n\n") if p.strip() and "*" not in p]
    assert len(plain) >= 5
    for paragraph in plain:
        assert " ".join(paragraph.split()) in shown, paragraph[:60]
    assert str(escape(text["publisher"])) in html
    for person in spec["addressees"]:
        name = person["translations"]["sq"]["name"] if language == "sq" else person["name"]
        assert str(escape(name)) in html
    assert "<strong>150</strong>" in html
    assert '<progress max="1000" value="150"' in html
    if language == "en":
        assert "30 organisations · 120 individuals" in html
        assert "15% of the goal of 1,000" in html
    else:
        split = re.search(r'<p class="split">([^<]*)</p>', html)
        assert split is not None
        assert "30" in split.group(1) and "120" in split.group(1)
        assert "organisations" not in split.group(1)
        assert re.search(r"<p class=\"goal\">[^<]*15[^<]*1\xa0000[^<]*</p>", html)


@pytest.mark.parametrize(
    ("main_language", "asked"),
    [("en", "sq"), ("sq", "en")],
)
def test_letter_falls_back_to_its_main_language(app, client, main_language, asked):
    title = f"Only in {main_language}: parks for everyone"
    add_letter(app, "one-language", main_language, {main_language: title})
    answer = client.get(f"/letters/one-language?lang={asked}")
    assert answer.status_code == 200
    assert page_language(answer) == asked  # the page speaks the visitor's language …
    html = answer.get_data(as_text=True)
    # … the text its own
    assert f'<article class="letter" lang="{main_language}" dir="ltr">' in html
    assert f"<h1>{escape(title)}</h1>" in html
    assert f"Body of {escape(title)}, written only in {main_language}." in html
    assert f"Publisher of {escape(title)}" in html
    assert "The Mayor" in html
    assert 'class="notice"' in html  # says the text is not in the visitor's language
    # The same letter in its own language has no such notice.
    own = client.get(f"/letters/one-language?lang={main_language}").get_data(as_text=True)
    assert 'class="notice"' not in own


@pytest.mark.parametrize("language", ["en", "sq"])
def test_every_visible_form_control_has_a_label(client, language):
    answer = client.get(f"/letters/{G20}?lang={language}")
    assert page_language(answer) == language
    page = scan(answer.get_data(as_text=True))
    names = set()
    for tag, attrs, inside_label in page.controls:
        kind = (attrs.get("type") or "text").lower() if tag == "input" else tag
        names.add(attrs.get("name"))
        if kind == "hidden" or attrs.get("name") == "leave_empty":
            continue
        if kind in ("radio", "checkbox") and inside_label:
            continue
        assert attrs.get("id"), f"{tag} {attrs.get('name')!r} has no id"
        assert attrs["id"] in page.label_for, f"no <label for={attrs['id']!r}>"
    contract = {"csrf_token", "kind", "name", "email", "organisation", "title", "country",
                "city", "website", "comment", "public", "consent"}  # fmt: skip
    assert contract <= names


def test_every_control_is_labelled_on_the_page_with_errors(client):
    answer = sign(client, consent=None, email="not-an-email")
    assert answer.status_code == 400
    page = scan(answer.get_data(as_text=True))
    for tag, attrs, inside_label in page.controls:
        kind = (attrs.get("type") or "text").lower() if tag == "input" else tag
        if kind == "hidden" or attrs.get("name") == "leave_empty":
            continue
        if kind in ("radio", "checkbox") and inside_label:
            continue
        assert attrs.get("id") in page.label_for, attrs


# The one script, our own, only adds a copy button and the browser's share sheet to the share
# links, which are plain links without it (test_sharing.py).
SHARE_SCRIPT = '<script src="/static/share.js" defer></script>'


def test_pages_need_no_javascript(client):
    for url in (f"/letters/{G20}", f"/letters/{INCLUSIVE}?lang=sq", "/"):
        answer = client.get(url)
        assert answer.status_code == 200
        page_language(answer)
        html = answer.get_data(as_text=True).replace(SHARE_SCRIPT, "")
        assert scan(html).scripts == 0
        assert "<script" not in html.lower()
    # The form posts to a real URL with a real submit button: no script is needed to sign.
    html = client.get(f"/letters/{G20}").get_data(as_text=True)
    # The fragment brings a phone back to the form and its errors after a 400.
    assert f'<form method="post" action="/letters/{G20}/sign#sign-heading"' in html
    assert '<button type="submit">' in html


# --- signing: success, and answers that reveal nothing --------------------------------------------


def test_valid_individual_submission(app, client):
    answer = sign(client, name="Ana Hoxha", email="ana@example.org")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/letters/{G20}/check-email")
    rows = signatures(app)
    assert len(rows) == 1
    assert rows[0].status == SignatureStatus.PENDING
    assert (rows[0].kind, rows[0].name, rows[0].email) == ("individual", "Ana Hoxha",
                                                           "ana@example.org")  # fmt: skip
    emails = outbox_rows(app)
    assert [(e.recipient, e.purpose) for e in emails] == [("ana@example.org", "confirm")]
    followed = client.get(answer.headers["Location"])
    assert followed.status_code == 200
    assert page_language(followed) == "en"
    assert "Check your email" in followed.get_data(as_text=True)


def test_valid_organisation_submission(app, client):
    answer = sign(
        client,
        kind="organisation",
        organisation="Shoqata Arsimi për Të Gjithë",
        name="Blerina Krasniqi",
        title="Director",
        email="info@arsimi.example.org",
        website="arsimi.example.org",
        country="XK",
        city="Prishtinë",
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/letters/{G20}/check-email")
    rows = signatures(app)
    assert len(rows) == 1
    row = rows[0]
    assert row.status == SignatureStatus.PENDING
    assert row.kind == "organisation"
    assert row.organisation == "Shoqata Arsimi për Të Gjithë"
    assert row.name == "Blerina Krasniqi"
    assert row.country == "XK"
    emails = outbox_rows(app)
    assert [(e.recipient, e.purpose) for e in emails] == [("info@arsimi.example.org", "confirm")]


def _answer(app: Any, email: str) -> tuple[int, str, bytes, int, bytes]:
    """Sign from a fresh browser; return everything the browser sees of the answer."""
    client = app.test_client()
    answer = sign(client, email=email)
    followed = client.get(answer.headers["Location"])
    # The check-email page shows the address this browser typed (masked) and a form with its
    # own session's token: both are the browser's own, the same whether or not it signed before.
    page = re.sub(rb'name="csrf_token"[^>]*? value="[^"]+"', b"CSRF", followed.get_data())
    page = re.sub(rb"\S\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@[^\s<]+", b"MASKED", page)
    return (
        answer.status_code,
        answer.headers["Location"],
        answer.get_data(),
        followed.status_code,
        page,
    )


def test_signing_again_answers_exactly_like_a_first_signature(app):
    first = _answer(app, "first@example.org")
    assert first[0] == 303 and first[3] == 200
    stranger = _answer(app, "stranger@example.org")
    assert stranger == first

    pending_again = _answer(app, "first@example.org")
    assert pending_again == first
    assert pending_again == _answer(app, "  FIRST@Example.org ")  # canonical spelling too

    confirm_by_email(app.test_client(), app, "first@example.org")
    assert [s.status for s in signatures(app) if s.email_canonical == "first@example.org"] == [
        SignatureStatus.CONFIRMED
    ]
    confirmed_again = _answer(app, "first@example.org")
    assert confirmed_again == first
    # Still one signature per address, whatever was answered.
    assert sorted(s.email_canonical for s in signatures(app)) == [
        "first@example.org",
        "stranger@example.org",
    ]


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing-no-session", "missing", "wrong"])
def test_csrf_is_enforced_and_keeps_the_input(app, client, case):
    data = valid_fields(name="Drita Kelmendi", email="drita@example.org")
    if case != "missing-no-session":
        token = csrf_token(client.get(f"/letters/{G20}").get_data(as_text=True))
        if case == "wrong":
            data["csrf_token"] = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    answer = client.post(f"/letters/{G20}/sign", data=data)
    assert answer.status_code == 400
    assert page_language(answer) == "en"
    html = answer.get_data(as_text=True)
    # The fragment brings a phone back to the form and its errors after a 400.
    assert f'<form method="post" action="/letters/{G20}/sign#sign-heading"' in html
    assert 'value="Drita Kelmendi"' in html
    assert 'value="drita@example.org"' in html
    assert "Your session expired before you sent the form" in html
    assert signatures(app) == []
    assert outbox_rows(app) == []
    # The page it answered carries a fresh token that works.
    data["csrf_token"] = csrf_token(html)
    assert client.post(f"/letters/{G20}/sign", data=data).status_code == 303
    assert len(signatures(app)) == 1


# --- bad input ------------------------------------------------------------------------------------


BAD_INPUT = [
    pytest.param({"consent": None}, "consent", "can only be delivered", id="no-consent"),
    pytest.param({"email": "not-an-email"}, "email", "valid email", id="email-no-at"),
    pytest.param({"email": "a@b"}, "email", "valid email", id="email-no-domain"),
    pytest.param({"email": ""}, "email", "email address", id="email-empty"),
    pytest.param(
        {"kind": "organisation", "organisation": ""},
        "organisation",
        "the organisation",
        id="org-nameless",
    ),
    pytest.param({"name": "A" * 20_000}, "name", "At most 120 characters", id="name-20000"),
    pytest.param({"name": ""}, "name", "your name", id="name-empty"),
    pytest.param({"kind": "robot"}, "kind", "person or an organisation", id="kind-robot"),
    pytest.param({"name": "Ana\x00"}, "name", "control characters", id="name-nul"),
    pytest.param({"name": "Ana\x07"}, "name", "control characters", id="name-bell"),
    pytest.param({"name": "Ana\u202eevil"}, "name", "control characters", id="name-bidi"),
    pytest.param({"city": "Tiran\x1bë"}, "city", "control characters", id="city-escape"),
    pytest.param({"country": "ZZ"}, "country", "from the list", id="country-zz"),
    pytest.param({"country": ""}, "country", "your country", id="country-empty"),
    pytest.param({"name": "http://spam.example"}, "name", "not a web address", id="name-url"),
    pytest.param({"name": "www.spam.com"}, "name", "not a web address", id="name-www"),
    pytest.param({"comment": "x" * 2001}, "comment", "At most 2000 characters", id="comment-long"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_input_answers_400_with_the_error_beside_the_field(
    app, client, overrides, field, message
):
    answer = sign(client, **overrides)
    assert answer.status_code == 400
    assert page_language(answer) == "en"
    html = answer.get_data(as_text=True)
    # The fragment brings a phone back to the form and its errors after a 400.
    assert f'<form method="post" action="/letters/{G20}/sign#sign-heading"' in html
    assert "Please correct the fields marked below." in html
    assert message in error_next_to(html, field)
    assert signatures(app) == []
    assert outbox_rows(app) == []


def test_bad_input_in_albanian_shows_albanian_errors(app, client):
    english = sign(client, consent=None).get_data(as_text=True)
    answer = sign(app.test_client(), lang="sq", consent=None)
    assert answer.status_code == 400
    assert page_language(answer) == "sq"
    message = error_next_to(answer.get_data(as_text=True), "consent")
    assert message and message != error_next_to(english, "consent")
    assert signatures(app) == []


def test_the_honeypot_answers_like_success_and_stores_nothing(app, client):
    answer = sign(client, leave_empty="https://cheap-pills.example")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/letters/{G20}/check-email")
    assert client.get(answer.headers["Location"]).status_code == 200
    assert signatures(app) == []
    assert outbox_rows(app) == []


# --- names in every script ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Ëndri Çela", "Ëndri Çela"),
        ("Олександр Шевченко", "Олександр Шевченко"),
        ("Αλέξανδρος Παπαδόπουλος", "Αλέξανδρος Παπαδόπουλος"),
        ("محمد الأحمد", "محمد الأحمد"),
        ("王小明", "王小明"),
        ("देवनागरी नाम", "देवनागरी नाम"),
        ("E\u0308ndri", "\u00cbndri"),
        ("  Ana Hoxha  ", "Ana Hoxha"),
    ],
)
def test_names_in_every_script_round_trip(app, client, typed, stored):
    assert unicodedata.is_normalized("NFC", stored)
    answer = sign(client, name=typed, email="script@example.org")
    assert answer.status_code == 303
    rows = signatures(app)
    assert [row.name for row in rows] == [stored]
    confirm_by_email(client, app, "script@example.org")
    listing = client.get(f"/letters/{G20}/signatories?kind=individual")
    assert listing.status_code == 200
    page_language(listing)
    html = listing.get_data(as_text=True)
    assert listed_names(html) == [stored]
    if unicodedata.normalize("NFC", typed) != typed:
        assert typed not in html  # the decomposed spelling is nowhere


# --- hostile HTML ---------------------------------------------------------------------------------


def _assert_escaped(html: str) -> None:
    html = html.replace(SHARE_SCRIPT, "")
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_hostile_html_is_escaped_on_the_400_page(app, client):
    answer = sign(client, name=SCRIPT, organisation=IMG, city=SCRIPT, comment=IMG, consent=None)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    _assert_escaped(html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert signatures(app) == []


def test_hostile_html_is_escaped_in_public_lists(app, client):
    assert sign(client, name=SCRIPT, organisation=IMG, city=SCRIPT, comment=SCRIPT,
                email="person@example.org").status_code == 303  # fmt: skip
    assert sign(client, kind="organisation", name=IMG, organisation=SCRIPT, city=IMG,
                email="org@example.org").status_code == 303  # fmt: skip
    stored = {row.email: row for row in signatures(app)}
    assert stored["person@example.org"].name == SCRIPT  # stored as typed, escaped when shown
    assert stored["org@example.org"].organisation == SCRIPT
    for email in ("person@example.org", "org@example.org"):
        link = links_in(next(r for r in outbox_rows(app) if r.recipient == email).text_body)
        button_page = client.get(path_of(link["confirm"][0]))
        _assert_escaped(button_page.get_data(as_text=True))  # the confirmation page names them
        confirm_by_email(client, app, email)
    for url in (
        f"/letters/{G20}/signatories?kind=individual",
        f"/letters/{G20}/signatories?kind=organisation",
        f"/letters/{G20}",
    ):
        answer = client.get(url)
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        _assert_escaped(html)
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- closed and draft letters ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["status", "deadline", "delivered"])
def test_a_closed_letter_says_so_and_takes_no_signature(app, client, how):
    if how == "status":
        set_letter(app, G20, status=LetterStatus.CLOSED)
    elif how == "delivered":
        set_letter(app, G20, status=LetterStatus.DELIVERED)
    else:
        set_letter(app, G20, closes_at=utcnow() - timedelta(minutes=1))
    page = client.get(f"/letters/{G20}")
    assert page.status_code == 200
    assert page_language(page) == "en"
    html = page.get_data(as_text=True)
    assert 'class="closed-notice"' in html
    assert "no longer takes signatures" in html
    assert "Thank you for your support." in html
    assert "<form" not in html
    assert 'name="email"' not in html
    # A token from an open letter's page, as a stale tab or a script would send it.
    token = csrf_token(client.get(f"/letters/{INCLUSIVE}").get_data(as_text=True))
    answer = client.post(f"/letters/{G20}/sign", data={**valid_fields(), "csrf_token": token})
    assert answer.status_code == 403
    assert signatures(app) == []
    assert outbox_rows(app) == []
    # The other letter still takes signatures with the same token.
    other = client.post(f"/letters/{INCLUSIVE}/sign", data={**valid_fields(), "csrf_token": token})
    assert other.status_code == 303


@pytest.mark.parametrize("how", ["draft", "not-yet-open"])
def test_a_draft_letter_is_not_found_anywhere(app, client, how):
    if how == "draft":
        set_letter(app, G20, status=LetterStatus.DRAFT)
    else:
        set_letter(app, G20, opens_at=utcnow() + timedelta(days=1))
    token = csrf_token(client.get(f"/letters/{INCLUSIVE}").get_data(as_text=True))
    page = client.get(f"/letters/{G20}")
    assert page.status_code == 404
    assert page_language(page) == "en"
    assert client.get(f"/letters/{G20}/signatories?kind=individual").status_code == 404
    assert client.get(f"/letters/{G20}/check-email").status_code == 404
    answer = client.post(f"/letters/{G20}/sign", data={**valid_fields(), "csrf_token": token})
    assert answer.status_code == 404
    api = client.get(f"/api/v1/letters/{G20}")
    assert api.status_code == 404
    assert api.is_json and "error" in api.json
    index = client.get("/").get_data(as_text=True)
    assert f"/letters/{G20}" not in index
    assert demo_title(G20, "en") not in index
    assert signatures(app) == []
    assert outbox_rows(app) == []


# --- the public list, a page at a time ------------------------------------------------------------


def _add_signature(app: Any, slug: str, name: str, confirmed_minutes_ago: float, **extra: Any):
    now = extra.pop("now", None) or utcnow()
    with app.app_context():
        signature = Signature(
            letter_id=letter_id(app, slug),
            kind=extra.pop("kind", "individual"),
            status=extra.pop("status", SignatureStatus.CONFIRMED),
            name=name,
            email=f"{name.lower().replace(' ', '.')}@example.org",
            email_canonical=f"{name.lower().replace(' ', '.')}@example.org",
            country="AL",
            language="en",
            text_hash="0" * 64,
            consent_text_hash="0" * 64,
            consented_at=now,
            confirm_nonce="n" * 16,
            withdraw_nonce="w" * 16,
            confirmed_at=now - timedelta(minutes=confirmed_minutes_ago),
            **extra,
        )
        db.session.add(signature)
        db.session.commit()


def _walk_pages(client: Any, first_url: str) -> list[list[str]]:
    pages = []
    url: str | None = first_url
    while url is not None:
        answer = client.get(url)
        assert answer.status_code == 200
        page_language(answer)
        html = answer.get_data(as_text=True)
        pages.append(listed_names(html))
        found = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        assert len(pages) < 10, "the pages never end"
    return pages


def test_public_list_pages_with_a_cursor(make_app):
    app = make_app(PUBLIC_PAGE_SIZE=3)
    client = app.test_client()
    # Seven listed, with microsecond-distinct times, inserted out of order.
    for index in (3, 0, 6, 1, 5, 2, 4):
        _add_signature(app, G20, f"Listed {index}", index + 0.000_013 * index)
    _add_signature(app, G20, "Private Person", 0.5, is_public=False)
    _add_signature(app, G20, "Hidden Person", 1.5, is_hidden=True)
    _add_signature(app, G20, "Pending Person", 2.5, status=SignatureStatus.PENDING)
    _add_signature(app, G20, "Withdrawn Person", 3.5, status=SignatureStatus.WITHDRAWN)
    _add_signature(app, G20, "Organisation Person", 4.5, kind="organisation", organisation="Org")
    _add_signature(app, INCLUSIVE, "Other Letter", 0.2)

    pages = _walk_pages(client, f"/letters/{G20}/signatories?kind=individual")
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [name for page in pages for name in page] == [f"Listed {i}" for i in range(7)]

    organisations = _walk_pages(client, f"/letters/{G20}/signatories?kind=organisation")
    assert organisations == [["Org"]]


def test_public_list_cursor_breaks_ties_on_the_same_time(make_app):
    app = make_app(PUBLIC_PAGE_SIZE=3)
    same = utcnow()
    for index in range(7):
        _add_signature(app, G20, f"Same Time {index}", 1, now=same)
    pages = _walk_pages(app.test_client(), f"/letters/{G20}/signatories?kind=individual")
    assert [len(page) for page in pages] == [3, 3, 1]
    # Same confirmation time: the newest row first, every row exactly once.
    assert [name for page in pages for name in page] == [f"Same Time {i}" for i in range(6, -1, -1)]


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "abc_def", "12_", "_", "nan_1", "inf_1", "1e400_1", "1e20_1",
     "99999999999999_1", "-99999999999999_1", "1700000000.0_99999999999999999999999",
     "1700000000.0_-1", "%00"],
)  # fmt: skip
def test_an_invalid_cursor_does_not_crash(make_app, cursor):
    app = make_app(PUBLIC_PAGE_SIZE=3)
    for index in range(4):
        _add_signature(app, G20, f"Listed {index}", index + 1)
    answer = app.test_client().get(
        f"/letters/{G20}/signatories", query_string={"kind": "individual", "after": cursor}
    )
    assert answer.status_code == 200
    page_language(answer)


def test_unknown_kind_in_the_list_is_not_found(client):
    assert client.get(f"/letters/{G20}/signatories?kind=robot").status_code == 404


def test_a_shared_letter_link_shows_its_title_and_summary(client):
    page = client.get(f"/letters/{G20}?lang=sq").get_data(as_text=True)
    assert '<meta property="og:title" content="Letër e hapur drejtuar' in page
    assert '<meta property="og:locale" content="sq">' in page
    assert 'hreflang="en"' in page


def test_pages_behind_emailed_links_are_not_indexed(client, app):
    assert sign(client).status_code == 303
    from conftest import links_in, outbox_rows, path_of

    link = links_in(outbox_rows(app)[-1].text_body)["confirm"][0]
    for path in (path_of(link), "/confirm/garbage"):
        assert '<meta name="robots" content="noindex, nofollow">' in client.get(path).get_data(
            as_text=True
        )
