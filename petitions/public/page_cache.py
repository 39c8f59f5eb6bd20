"""Rendered letter pages, kept per process and reused while nothing on them has changed.

Readers far outnumber signers, and a letter page is the same for every reader of a language
until a count, the list, a text or the status changes; all of that is in the key (the letter's
``public_version`` goes up with every change a service makes). The only per-visitor part, the
CSRF token, is put in at the end. A cache miss is just a normal render.

Each page is also filed under a name that needs no database (slug, language, host): while the
database is down, the last page rendered under that name is still served (:meth:`last_page`),
so people can read the letter, and its form sends them the 503 page that keeps their answers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask_wtf.csrf import generate_csrf

from petitions.models.letters import Letter

MAX_PAGES = 64
# Stands for the CSRF token in a cached page; NUL never occurs in a rendered page.
_CSRF_SLOT = "\x00csrf\x00"


class PageCache:
    def __init__(self, size: int = MAX_PAGES) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._names: OrderedDict[Hashable, Hashable] = OrderedDict()  # name -> newest key
        self._lock = threading.Lock()

    def page(self, key: Hashable, render: Callable[[], str], name: Hashable = None) -> str:
        """The page for ``key`` with this visitor's CSRF token, rendering it on a miss."""
        token = generate_csrf()
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None:
                self._pages.move_to_end(key)
                self._file(name, key)
        if cached is None:
            html = render()
            if token not in html:  # no form on the page (a closed letter): nothing to swap
                return html
            cached = html.replace(token, _CSRF_SLOT)
            with self._lock:
                self._pages[key] = cached
                while len(self._pages) > self.size:
                    self._pages.popitem(last=False)
                self._file(name, key)
        return cached.replace(_CSRF_SLOT, token)

    def last_page(self, name: Hashable) -> str | None:
        """The newest page filed under ``name``, with this visitor's token; None if none is kept."""
        with self._lock:
            key = self._names.get(name)
            cached = None if key is None else self._pages.get(key)
        return None if cached is None else cached.replace(_CSRF_SLOT, generate_csrf())

    def _file(self, name: Hashable, key: Hashable) -> None:
        if name is None:
            return
        self._names[name] = key
        self._names.move_to_end(name)
        while len(self._names) > self.size:
            self._names.popitem(last=False)


def letter_page_key(letter: Letter, language: str) -> Hashable:
    """Everything the page shows that can change, short of the whole text (its hash stands in)."""
    return (
        letter.id,
        letter.public_version,
        letter.count_individuals,
        letter.count_organisations,
        letter.effective_status().value,
        letter.closes_at,
        letter.goal,
        letter.stretch_goal,
        tuple((t.id, t.text_hash, t.summary, t.publisher) for t in letter.texts),
        tuple((a.id, a.name, a.title, repr(a.translations)) for a in letter.addressees),
        language,
    )
