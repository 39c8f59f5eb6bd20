"""Sharing a letter: share links, link previews (Open Graph and the social card), the QR code,
the poster, and letters in languages the interface does not speak (French, Arabic)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import unicodedata
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import G20, INCLUSIVE, csrf_token, links_in, outbox_rows, path_of, press_button, sign
from sqlalchemy import select
from test_moderation import add_signatures, signature_row
from test_staff_letters import edit_fields

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.services.sharing.letter_images import rounded_count, shown_count

BASE = "http://petitions.test"  # PUBLIC_URL in the tests' settings
G20_URL = f"{BASE}/letters/{G20}"


class Head(HTMLParser):
    """Meta tags, alternates, share links, scripts and the article's attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.alternates: dict[str, str] = {}
        self.share: dict[str, dict[str, str | None]] = {}
        self.scripts: list[str] = []
        self.article: dict[str, str | None] = {}
        self.html: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (found.get("property") or found.get("name")):
            self.meta[str(found.get("property") or found.get("name"))] = found.get("content") or ""
        elif tag == "link" and found.get("rel") == "alternate":
            self.alternates[str(found["hreflang"])] = str(found["href"])
        elif tag == "a" and (found.get("class") or "").startswith("share-"):
            self.share[str(found["class"]).removeprefix("share-")] = found
        elif tag == "script":
            self.scripts.append(str(found.get("src")))
        elif tag == "article" and "letter" in (found.get("class") or ""):
            self.article = found
        elif tag == "html":
            self.html = found


def head_of(html: str) -> Head:
    parser = Head()
    parser.feed(html)
    return parser


def set_count(app: Any, slug: str, count: int) -> None:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None
        letter.count_individuals, letter.count_organisations = count, 0
        letter.public_version += 1
        db.session.commit()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature and its CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(kind + body) == crc, "IHDR checksum"
    assert data.endswith(b"IEND\xaeB`\x82"), "truncated PNG"
    width, height = struct.unpack(">II", body[:8])
    return width, height


# --- share links ------------------------------------------------------------------------------


def test_share_links_carry_the_letters_address_and_title_encoded(client):
    html = client.get(f"/letters/{G20}").get_data(as_text=True)
    page = head_of(html)
    title = page.meta["og:title"]
    expected = {
        "email": ("mailto", "", {"subject": title, "body": f"{title} {G20_URL}"}),
        "whatsapp": ("https", "wa.me", {"text": f"{title} {G20_URL}"}),
        "telegram": ("https", "t.me", {"url": G20_URL, "text": title}),
        "facebook": ("https", "www.facebook.com", {"u": G20_URL}),
        "x": ("https", "x.com", {"url": G20_URL, "text": title}),
        "linkedin": ("https", "www.linkedin.com", {"url": G20_URL}),
    }
    assert set(page.share) == set(expected)
    for service, (scheme, host, query) in expected.items():
        href = str(page.share[service]["href"])
        parts = urlsplit(href)
        assert (parts.scheme, parts.netloc) == (scheme, host), href
        assert {k: v[0] for k, v in parse_qs(parts.query).items()} == query, service
        assert " " not in href and ":" not in parts.query  # encoded, not pasted in
        assert page.share[service]["rel"] == "noopener noreferrer"
    # The copy field holds the address; no script, pixel or frame of anyone else's.
    assert f'id="share-url" type="url" value="{G20_URL}"' in html
    assert page.scripts == ["/static/share.js"]
    assert not re.search(r'<(img|iframe|script)[^>]+src="https?://', html)


def test_a_title_with_reserved_characters_is_encoded(app, client):
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter is not None
        letter.text_in("en").title = "Schools & teachers: 100% #education?"
        letter.public_version += 1
        db.session.commit()
    page = head_of(client.get(f"/letters/{G20}").get_data(as_text=True))
    href = str(page.share["x"]["href"])
    assert "text=Schools%20%26%20teachers%3A%20100%25%20%23education%3F" in href
    assert parse_qs(urlsplit(href).query)["text"] == ["Schools & teachers: 100% #education?"]


def test_the_confirmation_page_offers_the_share_links(app, client):
    assert sign(client, email="share@example.org").status_code == 303
    rows = [row for row in outbox_rows(app) if row.recipient == "share@example.org"]
    confirm = links_in(rows[-1].text_body)["confirm"][0]
    page = client.get(path_of(confirm)).get_data(as_text=True)
    assert "share-whatsapp" not in page  # not before the signature is confirmed
    done = press_button(client, confirm)
    assert done.status_code == 200
    shared = head_of(done.get_data(as_text=True))
    assert set(shared.share) == {"email", "whatsapp", "telegram", "facebook", "x", "linkedin"}
    # The shared address is the letter's, never the page's own (it holds a token).
    for link in shared.share.values():
        assert "confirm" not in str(link["href"])
        assert "g20-protect-education" in str(link["href"])


def test_share_script_is_served_and_allowed_by_the_policy(client):
    answer = client.get("/static/share.js")
    assert answer.status_code == 200
    assert "navigator.share" in answer.get_data(as_text=True)
    answer.close()
    policy = client.get(f"/letters/{G20}").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy


# --- link previews ----------------------------------------------------------------------------


def test_open_graph_tags_are_absolute_and_complete(client):
    page = head_of(client.get(f"/letters/{G20}?lang=sq").get_data(as_text=True))
    meta = page.meta
    assert meta["og:url"] == f"{G20_URL}?lang=sq"
    assert meta["og:image"] == f"{G20_URL}/card.png?lang=sq"
    assert (meta["og:image:width"], meta["og:image:height"]) == ("1200", "630")
    assert meta["og:image:alt"].startswith(meta["og:title"])
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["twitter:image"] == meta["og:image"]
    assert meta["og:title"].startswith("Letër e hapur")
    for key in ("og:url", "og:image", "twitter:image"):
        assert meta[key].startswith("http://petitions.test/"), key
    # Every language of the letter has an alternate, with absolute addresses.
    assert page.alternates == {
        "en": G20_URL,
        "sq": f"{G20_URL}?lang=sq",
        "fr": f"{G20_URL}?lang=fr",
        "ar": f"{G20_URL}?lang=ar",
    }


def test_social_card_is_a_1200_by_630_png_with_etag_and_304(app, client):
    set_count(app, G20, 18_053)
    answer = client.get(f"/letters/{G20}/card.png")
    assert answer.status_code == 200
    assert answer.mimetype == "image/png"
    assert png_size(answer.data) == (1200, 630)
    etag = answer.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    assert "max-age" in answer.headers["Cache-Control"]
    again = client.get(f"/letters/{G20}/card.png", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    # A few more signatures within the same rounded step: the same card.
    set_count(app, G20, 18_999)
    assert client.get(f"/letters/{G20}/card.png").headers["ETag"] == etag
    # Crossing a step (two significant digits) draws a new one.
    set_count(app, G20, 19_000)
    assert client.get(f"/letters/{G20}/card.png").headers["ETag"] != etag


def test_a_new_title_draws_a_new_card(app, client):
    before = client.get(f"/letters/{G20}/card.png").headers["ETag"]
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter is not None
        letter.text_in("en").title = "A shorter title"
        db.session.commit()
    assert client.get(f"/letters/{G20}/card.png").headers["ETag"] != before


@pytest.mark.parametrize("language", ["en", "sq", "fr", "ar"])
def test_a_card_per_language(client, language):
    answer = client.get(f"/letters/{G20}/card.png?lang={language}")
    assert answer.status_code == 200
    assert png_size(answer.data) == (1200, 630)


def test_cards_differ_per_language_and_unknown_letters_have_none(client):
    tags = {
        client.get(f"/letters/{G20}/card.png?lang={x}").headers["ETag"] for x in ["en", "sq", "ar"]
    }
    assert len(tags) == 3
    assert client.get("/letters/no-such-letter/card.png").status_code == 404


def test_counts_are_rounded_and_formatted_for_the_language():
    assert [rounded_count(n) for n in (0, 7, 99, 123, 1_234, 18_053)] == [
        0, 7, 99, 120, 1_200, 18_000,
    ]  # fmt: skip
    assert shown_count(18_053, "en") == "18,000+"
    assert shown_count(18_000, "en") == "18,000"
    assert shown_count(18_053, "fr") == "18\u202f000+"


# --- letters in any language ------------------------------------------------------------------


def test_an_arabic_text_is_right_to_left_inside_the_visitors_interface(client):
    answer = client.get(f"/letters/{G20}?lang=ar")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    page = head_of(html)
    assert page.article["lang"] == "ar"
    assert page.article["dir"] == "rtl"
    assert page.html["lang"] == "en"  # the interface stays in the visitor's language
    assert "ترجمة غير رسمية" in html  # the demo's unofficial translation, marked as such
    assert "Sign this letter" in html
    # The other texts are offered by their own names.
    french = f'<a href="/letters/{G20}?lang=fr" hreflang="fr" lang="fr" dir="ltr">Français</a>'
    assert french in html


def test_a_french_text_in_the_albanian_interface(client):
    client.get(f"/letters/{G20}?lang=sq")  # the visitor speaks Albanian
    html = client.get(f"/letters/{G20}?lang=fr").get_data(as_text=True)
    page = head_of(html)
    assert page.html["lang"] == "sq"
    assert (page.article["lang"], page.article["dir"]) == ("fr", "ltr")
    assert "Traduction non officielle" in html
    assert "Nënshkruani këtë letër" in html or "Nënshkruaj" in html


def test_a_language_the_letter_lacks_falls_back_to_the_interface(client):
    page = head_of(client.get(f"/letters/{INCLUSIVE}?lang=ar").get_data(as_text=True))
    assert page.article["dir"] == "ltr"
    assert page.article["lang"] in ("sq", "en")


def test_staff_add_an_arabic_text_and_the_public_page_shows_it(app, staff_client):
    staff = staff_client("admin")
    url = f"/staff/letters/{INCLUSIVE}/edit"
    form = staff.get(url).get_data(as_text=True)
    assert '<option value="ar">Arabic</option>' in form  # names in the interface language
    assert 'name="text_ar-title"' not in form
    added = staff.post(url, data={"csrf_token": csrf_token(form), "add": "y", "add_language": "ar"})
    assert added.status_code == 200
    page = added.get_data(as_text=True)
    assert re.search(r'<input dir="rtl"[^>]* name="text_ar-title"', page), page

    fields = edit_fields(
        staff.get(url).get_data(as_text=True),
        **{
            "text_ar-title": "التعليم الجامع في ألبانيا",
            "text_ar-summary": "ملخص قصير.",
            "text_ar-publisher": "",
            "text_ar-body": "نص الرسالة.",
            "text_ar-addressees": "",
        },
    )
    saved = staff.post(url, data=fields)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    public = head_of(app.test_client().get(f"/letters/{INCLUSIVE}?lang=ar").get_data(as_text=True))
    assert (public.article["lang"], public.article["dir"]) == ("ar", "rtl")
    assert public.meta["og:title"] == "التعليم الجامع في ألبانيا"
    assert "ar" in public.alternates


def test_language_names_follow_the_interface(staff_client):
    staff = staff_client("admin")
    form = staff.get(f"/staff/letters/{INCLUSIVE}/edit?lang=sq").get_data(as_text=True)
    assert (
        '<option value="ar">arabisht</option>' in form
        or '<option value="ar">Arabisht</option>' in form
    )


# --- QR code and poster -----------------------------------------------------------------------


def test_qr_code_is_an_svg_of_the_address(client):
    answer = client.get(f"/letters/{G20}/qr.svg?lang=fr")
    assert answer.status_code == 200
    assert answer.mimetype == "image/svg+xml"
    assert answer.data.lstrip().startswith(b"<?xml") or b"<svg" in answer.data[:200]
    assert b'xmlns="http://www.w3.org/2000/svg"' in answer.data


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
@pytest.mark.parametrize(("language", "title_start", "count"), [
    ("en", "Open letter to the G20", "1,200+"),
    ("fr", "Lettre ouverte aux", "1\u202f200+"),
])  # fmt: skip
def test_poster_pdf_has_title_count_and_the_address(
    app, client, tmp_path, language, title_start, count
):
    set_count(app, G20, 1_234)
    answer = client.get(f"/letters/{G20}/poster.pdf?lang={language}")
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    path = Path(tmp_path / "poster.pdf")
    path.write_bytes(answer.data)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = " ".join(text.split())
    assert title_start in flat
    assert count.replace("\u202f", " ") in flat.replace("\u202f", " ")
    assert "petitions.test/letters/g20-protect-" in flat
    again = client.get(
        f"/letters/{G20}/poster.pdf?lang={language}",
        headers={"If-None-Match": answer.headers["ETag"]},
    )
    assert again.status_code == 304


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
def test_the_delivery_pdf_prints_the_arabic_text_beside_the_english(app, staff_client, tmp_path):
    add_signatures(app, [signature_row(app, G20, name="Ana Hoxha", email="a@example.org")])
    staff = staff_client("organiser", letters=(G20,))
    form = staff.get(f"/staff/letters/{G20}/export").get_data(as_text=True)
    assert '<option value="ar">Arabic</option>' in form
    answer = staff.get(
        f"/staff/letters/{G20}/export.pdf?status=counted&language=en&second_language=ar"
        "&layout=side_by_side"
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    path = tmp_path / "delivery.pdf"
    path.write_bytes(answer.get_data())
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Open letter to the G20" in " ".join(text.split())
    assert "Ana Hoxha" in text
    # Arabic comes out of pdftotext in presentation forms: fold them before comparing.
    folded = unicodedata.normalize("NFKC", text)
    assert "مجموعة" in folded or "مجموعة"[::-1] in folded


def test_demo_letters_loaded_before_gain_the_new_languages(app, runner):
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter is not None
        letter.texts = [t for t in letter.texts if t.language in ("en", "sq")]
        db.session.commit()
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter is not None
        assert letter.languages == ["en", "ar", "fr", "sq"]
