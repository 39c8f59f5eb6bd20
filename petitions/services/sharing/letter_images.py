"""A letter's social card and poster: what they show, and a cache that keeps them.

A card is drawn again only when something it shows changes: the title or publisher, the site's
host, or the count crossing a rounded step (:func:`rounded_count`: two significant digits, so
18,053 is shown as "18,000+" and the card changes some 90 times per power of ten, not with every
signature). The cache key is also the ``ETag``: a conditional request is answered without
drawing anything.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from petitions.models.letters import Letter, LetterText
from petitions.services.exports.pdf_text import number
from petitions.services.sharing.images import CardData, PosterData, engine

# Bumped when the drawing changes, so browsers and caches drop images drawn the old way.
DRAWING_VERSION = "1"
MAX_IMAGES = 128


def rounded_count(count: int) -> int:
    """The count down to two significant digits (exact below 100)."""
    if count < 100:
        return count
    step = 10 ** (len(str(count)) - 2)
    return int(count // step * step)


def shown_count(count: int, language: str) -> str:
    """The rounded count formatted for ``language`` (Babel), with "+" when it was rounded."""
    shown = rounded_count(count)
    return number(shown, language) + ("+" if shown < count else "")


def _in_language(language: str, make: Callable[[], str]) -> str:
    """``make()`` in ``language`` when the interface has a catalogue for it, else ""."""
    if language not in current_app.config["LANGUAGES"]:
        return ""
    with force_locale(language):
        return make()


def count_label(count: int, language: str) -> str:
    return _in_language(language, lambda: ngettext("signature", "signatures", rounded_count(count)))


@dataclass(frozen=True)
class Image:
    etag: str
    data: bytes


class ImageCache:
    """Drawn images by key, least recently used dropped first; one per process."""

    def __init__(self, size: int = MAX_IMAGES) -> None:
        self.size = size
        self._images: OrderedDict[str, Image] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str, draw: Callable[[], bytes]) -> Image:
        with self._lock:
            found = self._images.get(etag)
            if found is not None:
                self._images.move_to_end(etag)
                return found
        image = Image(etag, draw())
        with self._lock:
            self._images[etag] = image
            while len(self._images) > self.size:
                self._images.popitem(last=False)
        return image


def etag_for(key: Hashable) -> str:
    return hashlib.sha256(repr((DRAWING_VERSION, key)).encode()).hexdigest()[:32]


def card_data(letter: Letter, text: LetterText, site: str) -> CardData:
    language = text.language
    return CardData(
        language=language,
        title=text.title,
        publisher=text.publisher,
        count=shown_count(letter.count_total, language),
        count_label=count_label(letter.count_total, language),
        site=site,
    )


def poster_data(letter: Letter, text: LetterText, url: str, fallback_language: str) -> PosterData:
    """The poster's labels are in the text's language when the interface has it, else in the
    visitor's (who prints it); the letter's own words are always the text's."""
    language = text.language
    labels = language if language in current_app.config["LANGUAGES"] else fallback_language
    with force_locale(labels):
        kicker, call = _("Open letter"), _("Read and sign it online:")
        label = ngettext("signature", "signatures", rounded_count(letter.count_total))
    return PosterData(
        language=language,
        title=text.title,
        summary=text.summary,
        publisher=text.publisher,
        count=shown_count(letter.count_total, language),
        count_label=label,
        kicker=kicker,
        call=call,
        url=url,
    )


def card_image(cache: ImageCache, data: CardData) -> Image:
    return cache.get(etag_for(("card", data)), lambda: engine().card_png(data))


def poster_image(cache: ImageCache, data: PosterData) -> Image:
    return cache.get(etag_for(("poster", data)), lambda: engine().poster_pdf(data))
