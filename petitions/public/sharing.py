"""Sharing a letter: share links, the social card, the QR code and the printable poster.

Share links are plain links to each service's public "share" address with the letter's URL and
title in the query: no script, pixel or cookie of theirs reaches our pages, and the
``Referrer-Policy`` keeps our own addresses (confirmation tokens) from being sent along. A small
script of ours (``static/share.js``) adds a copy button and the browser's own share sheet when
they exist.

The card, the QR code and the poster are drawn from the letter in one of its languages
(``?lang=``), cached (``services/sharing/letter_images.py``) and sent with an ``ETag``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from petitions.models.letters import Letter, LetterText
from petitions.services import letters as letter_service
from petitions.services.languages import autonym, text_direction
from petitions.services.sharing import letter_images
from petitions.services.sharing.images import qr_svg
from petitions.services.sharing.letter_images import ImageCache
from petitions.web.i18n import current_language
from petitions.web.links import external_url

bp = Blueprint("sharing", __name__)

# Counts change: a card is fresh for a few minutes; the ETag makes checking again cheap.
CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class ShareLink:
    service: str  # a short name, for the CSS class and tests
    label: str
    href: str


def share_links(url: str, title: str) -> list[ShareLink]:
    """The links, each with the letter's URL and title encoded into its query."""
    u, t = quote(url, safe=""), quote(title, safe="")
    both = quote(f"{title} {url}", safe="")
    return [
        ShareLink("email", str(_l("Send by email")), f"mailto:?subject={t}&body={both}"),
        ShareLink("whatsapp", "WhatsApp", f"https://wa.me/?text={both}"),
        ShareLink("telegram", "Telegram", f"https://t.me/share/url?url={u}&text={t}"),
        ShareLink("facebook", "Facebook", f"https://www.facebook.com/sharer/sharer.php?u={u}"),
        ShareLink("x", "X", f"https://x.com/intent/tweet?url={u}&text={t}"),
        ShareLink(
            "linkedin", "LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={u}"
        ),
    ]


def letter_url(letter: Letter, language: str) -> str:
    """The letter's absolute address showing the text in ``language``."""
    if language == letter.main_language:
        return external_url("public.letter", slug=letter.slug)
    return external_url("public.letter", slug=letter.slug, lang=language)


def image_url(endpoint: str, letter: Letter, language: str) -> str:
    return external_url(endpoint, slug=letter.slug, lang=language)


def requested_text(letter: Letter) -> tuple[LetterText, bool]:
    """The text a page shows: the one ``?lang=`` names if the letter has it (even in a language
    the interface does not speak), else the interface language's, else the main one. The flag
    says whether the visitor asked for that text."""
    asked = request.args.get("lang")
    if asked and asked in letter.languages:
        return letter.text_in(asked), True
    return letter.text_in(current_language()), False


def _letter(slug: str) -> Letter:
    letter = letter_service.published_letter(slug)
    if letter is None:
        abort(404)
    return letter


def _site() -> str:
    return urlsplit(external_url("public.index")).netloc


def _send(image: letter_images.Image, mimetype: str, filename: str = "") -> Response:
    response = Response(status=304) if request.if_none_match.contains(image.etag) else None
    if response is None:
        response = Response(image.data, mimetype=mimetype)
    response.set_etag(image.etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    if filename:
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _cache() -> ImageCache:
    cache: ImageCache = current_app.extensions["petitions.share_images"]
    return cache


@bp.get("/letters/<slug>/card.png")
def card(slug: str) -> ResponseReturnValue:
    letter = _letter(slug)
    text, _ = requested_text(letter)
    data = letter_images.card_data(letter, text, _site())
    etag = letter_images.etag_for(("card", data))
    if request.if_none_match.contains(etag):  # nothing to draw
        return _send(letter_images.Image(etag, b""), "image/png")
    return _send(letter_images.card_image(_cache(), data), "image/png")


@bp.get("/letters/<slug>/poster.pdf")
def poster(slug: str) -> ResponseReturnValue:
    letter = _letter(slug)
    text, _ = requested_text(letter)
    url = letter_url(letter, text.language)
    data = letter_images.poster_data(letter, text, url, current_language())
    etag = letter_images.etag_for(("poster", data))
    name = f"{letter.slug}-{text.language}.pdf"
    if request.if_none_match.contains(etag):
        return _send(letter_images.Image(etag, b""), "application/pdf", name)
    return _send(letter_images.poster_image(_cache(), data), "application/pdf", name)


@bp.get("/letters/<slug>/qr.svg")
def qr(slug: str) -> ResponseReturnValue:
    letter = _letter(slug)
    text, _ = requested_text(letter)
    url = letter_url(letter, text.language)
    return _send(
        letter_images.Image(letter_images.etag_for(("qr", url)), qr_svg(url)), "image/svg+xml"
    )


def init_sharing(app: Flask) -> None:
    app.register_blueprint(bp)
    app.extensions["petitions.share_images"] = ImageCache()
    app.jinja_env.filters["text_dir"] = text_direction
    app.jinja_env.filters["autonym"] = autonym
    app.jinja_env.globals.update(
        share_links=share_links, share_letter_url=letter_url, share_image_url=image_url
    )
