"""The social card (a 1200 x 630 PNG) and the A4 poster (a PDF), typeset by Typst.

They reuse the delivery PDF's engine and fonts (Kurinto from ``weblate-fonts``: Latin, Greek,
Cyrillic, Arabic, CJK), so every script a letter may be written in renders the same way here as
in the PDF. One compiler per process loads the fonts once; a lock keeps one compile at a time.
What is drawn is plain data (:class:`CardData`, :class:`PosterData`): this module knows nothing
of letters or requests.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import segno
import typst

from petitions.services.exports.pdf_text import direction, nfc, typst_lang
from petitions.services.exports.pdf_typst import font_dir
from petitions.services.languages import text_direction

TEMPLATE_DIR = Path(__file__).with_name("typst")
CARD_SIZE = (1200, 630)  # pixels; the template's page is 600 x 315 pt, drawn at 144 ppi
CARD_PPI = 144


@dataclass(frozen=True)
class CardData:
    language: str
    title: str
    publisher: str
    count: str  # formatted for the language, e.g. "18,000+"
    count_label: str  # "signatures" in the language, or "" when there is no translation
    site: str  # the host name, printed at the corner


@dataclass(frozen=True)
class PosterData:
    language: str
    title: str
    summary: str
    publisher: str
    count: str
    count_label: str
    kicker: str  # "Open letter"
    call: str  # "Sign it online:"
    url: str  # the letter's address, also in the QR code


class ShareImageEngine:
    def __init__(self) -> None:
        self.template = (TEMPLATE_DIR / "share.typ").read_bytes()
        self.compiler = typst.Compiler(
            root=str(TEMPLATE_DIR), font_paths=[str(font_dir())], ignore_system_fonts=True
        )
        self.lock = threading.Lock()

    def _compile(
        self, part: str, data: dict[str, Any], fmt: str, extra: dict[str, bytes] | None = None
    ) -> bytes:
        language = data["language"]
        data = {
            **{k: nfc(v) if isinstance(v, str) else v for k, v in data.items()},
            "lang": typst_lang(language),
            "dir": text_direction(language),
        }
        main = (
            '#import "share.typ": *\n#let d = json("data.json")\n'
            f"#show: setup.with(d)\n#{part}(d)\n"
        )
        sources = {
            "main.typ": main.encode(),
            "share.typ": self.template,
            "data.json": json.dumps(data, ensure_ascii=False).encode(),
            **(extra or {}),
        }
        with self.lock:
            if fmt == "png":
                out = self.compiler.compile(input=sources, format="png", ppi=CARD_PPI)  # type: ignore[type-var]  # the stub omits a dict of files
            else:
                out = self.compiler.compile(input=sources, format="pdf", pdf_tags=False)  # type: ignore[type-var]
        assert isinstance(out, bytes)
        return out

    def card_png(self, card: CardData) -> bytes:
        return self._compile("card", asdict(card), "png")

    def poster_pdf(self, poster: PosterData) -> bytes:
        qr = segno.make(poster.url, error="m").svg_inline(dark="#1b2a41").encode()
        labels_dir = direction(poster.kicker + poster.call)  # they may be in another language
        data = {**asdict(poster), "labels_dir": labels_dir}
        return self._compile("poster", data, "pdf", {"qr.svg": qr})


_ENGINE: ShareImageEngine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> ShareImageEngine:
    """The process's engine, built on first use (loading the fonts takes a moment)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = ShareImageEngine()
        return _ENGINE


def qr_svg(url: str) -> bytes:
    """The QR code of ``url`` as a standalone SVG (a white border, scalable)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", dark="#000", border=4, scale=8)
    return out.getvalue()
