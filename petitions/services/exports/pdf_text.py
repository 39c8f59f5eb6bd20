"""Text for the delivery PDF: the letter's HTML turned into inert Typst markup, and each string's
direction.

The letter's body is the only user text that becomes Typst *markup*; every other string reaches
Typst as JSON data and is printed as-is. The PDF does not parse Markdown: it starts from the
sanitised HTML stored with the text when it was saved (``services/letter_markdown.py``), the very
HTML the letter page shows, and writes a whitelist of its elements back as calls to Typst's own
functions (``heading``, ``strong``, ``emph``, ``link``, ``list``, ``enum``…). Every piece of text
goes in as a Typst *string literal* (``#"…"``), where only ``\\`` and ``"`` are special, so a name
or a body holding ``#import``, ``$``, ``*`` or ``#read(…)`` is printed literally and never
evaluated.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from html.parser import HTMLParser

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal

RTL_CLASSES = frozenset({"R", "AL"})
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"})
LINK_SCHEMES = ("http://", "https://", "mailto:")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
LIST_START = re.compile(r"[0-9]{1,9}")  # ASCII digits only ("²".isdigit() is True); fits Typst
# How deep Typst elements may nest (``#quote[#list.item[#strong[…``). Typst refuses content
# nested past 64 show rules: measured, a quote uses about 5 of them, an emphasis 3, a list item,
# a link or a heading 2, the others 1. Letters need a few levels; hostile HTML may nest
# thousands. An element past the budget is written flat (its words only).
MAX_DEPTH = 48
_DEPTH_COST = {"blockquote": 6, "em": 3, "i": 3, "li": 2, "a": 2}
_DEPTH_COST.update({f"h{level}": 2 for level in range(1, 7)})
_SPACE = re.compile(r"\s+")


def direction(text: str) -> str:
    """``"rtl"`` when the first strong character is right-to-left (Unicode classes R and AL).

    Typst only reorders a mixed string right (``منظمة UNICEF في الرياض``) when it is told the
    paragraph's base direction, and the first strong character is how readers decide too.
    """
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in RTL_CLASSES:
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def nfc(text: str) -> str:
    """Composed form: Typst's PDF maps a base letter and a separate combining mark each to the
    whole cluster, so text copied from the PDF would repeat letters (typst#8767)."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut at a word (or anywhere, for scripts without spaces) to about
    ``width`` Latin letters; a Chinese character counts as two."""
    text = " ".join(text.split())
    used, cut = 0, len(text)
    for i, char in enumerate(text):
        used += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used > width:
            cut = i
            break
    if cut == len(text):
        return text
    space = text.rfind(" ", 0, cut)
    return (text[:space] if space > cut // 2 else text[:cut]).rstrip(" ,;:-") + " …"


def typst_lang(tag: str) -> str:
    """The ISO 639 part of a BCP 47 tag, as Typst's ``text.lang`` accepts it (else ``en``)."""
    primary = tag.replace("_", "-").split("-", 1)[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else "en"


def language_direction(tag: str) -> str:
    return "rtl" if typst_lang(tag) in RTL_LANGUAGES else "ltr"


def _locale(tag: str) -> Locale | None:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None


def long_date(value: date, tag: str) -> str:
    locale = _locale(tag)
    return format_date(value, format="long", locale=locale) if locale else value.isoformat()


def number(value: int, tag: str) -> str:
    locale = _locale(tag)
    return format_decimal(value, locale=locale) if locale else str(value)


def typst_string(text: str) -> str:
    """A Typst string literal holding ``text`` exactly (control characters dropped)."""
    clean = _CONTROL.sub("", text.replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n"))
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _TypstWriter(HTMLParser):
    """Walks the letter's HTML and writes Typst markup for a few elements.

    Output pieces are only ``#"string"``, ``#function(literal args)[``, its ``]`` and blank
    lines; brackets are closed from a stack, so even broken raw HTML in a body cannot unbalance
    them. Other elements are dropped but their text is kept; ``script``/``style`` text is dropped
    (the stored HTML is sanitised already, but this does not rely on it). An element that would
    nest past ``MAX_DEPTH`` is written flat: its words, and everything inside it, as plain text.
    """

    INLINE = {"strong": "#strong[", "b": "#strong[", "em": "#emph[", "i": "#emph["}
    SKIP = frozenset({"script", "style", "head", "title"})
    # What a flat element writes when it ends: a space after a block, nothing after inline text.
    FLAT = {tag: "" for tag in (*INLINE, *SKIP, "a", "code")} | {
        tag: '#" "' for tag in ("p", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4",
                                "h5", "h6")
    }  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        # (element, what it writes when it ends, its cost of MAX_DEPTH, whether it is flat)
        self.open: list[tuple[str, str, int, bool]] = []
        self.next_number: list[int] = []  # per open ordered list
        self.depth = 0  # the cost of the open elements

    @property
    def flat(self) -> bool:
        """Inside a flat element (all elements opened in one are flat too)."""
        return bool(self.open) and self.open[-1][3]

    def _opener(self, tag: str, attr: dict[str, str | None]) -> tuple[str, str] | None:
        if tag in self.INLINE:
            return self.INLINE[tag], "]"
        if tag == "p":
            return "", "\n\n"
        if re.fullmatch(r"h[1-6]", tag):
            return f"\n\n#heading(level: {int(tag[1]) + 2}, outlined: false)[", "]\n\n"
        if tag == "a":
            href = (attr.get("href") or "").strip()
            return (
                (f"#link({typst_string(href)})[", "]")
                if href.lower().startswith(LINK_SCHEMES)
                else None
            )
        if tag == "ul":
            return "\n\n", "\n\n"
        if tag == "ol":
            start = (attr.get("start") or "").strip()
            self.next_number.append(int(start) if LIST_START.fullmatch(start) else 1)
            return "\n\n", "\n\n"
        if tag == "li" and self.open and self.open[-1][0] in ("ul", "ol"):
            if self.open[-1][0] == "ul":
                return "#list.item[", "]"
            self.next_number[-1] += 1
            return f"#enum.item({self.next_number[-1] - 1})[", "]"
        if tag == "blockquote":
            return "\n\n#quote(block: true)[", "]\n\n"
        if tag == "code":
            return '#text(font: "DejaVu Sans Mono", size: 0.92em)[', "]"
        if tag in self.SKIP:
            return "", ""
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            if self.flat:
                self.out.append('#" "')
            elif tag == "br":
                self.out.append("#linebreak()")
            else:
                self.out.append("\n\n#line(length: 100%, stroke: 0.4pt)\n\n")
            return
        if tag in self.FLAT and (self.flat or self.depth + _DEPTH_COST.get(tag, 1) > MAX_DEPTH):
            if not self.flat:
                self.out.append('#" "')
            self.open.append((tag, self.FLAT[tag], 0, True))
            return
        pair = self._opener(tag, dict(attrs))
        if pair is None:
            return
        cost = _DEPTH_COST.get(tag, 1) if "[" in pair[0] else 0
        self.depth += cost
        self.out.append(pair[0])
        self.open.append((tag, pair[1], cost, False))

    def handle_endtag(self, tag: str) -> None:
        if not any(entry[0] == tag for entry in self.open):
            return  # an end without a start: ignore
        while self.open:
            name, closer, cost, flat = self.open.pop()
            self.out.append(closer)
            self.depth -= cost
            if name == "ol" and not flat:
                self.next_number.pop()
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        names = [entry[0] for entry in self.open]
        if any(name in self.SKIP for name in names):
            return
        text = _SPACE.sub(" ", data)
        if not text.strip() and (not names or names[-1] in ("ul", "ol")):
            return  # whitespace between blocks or list items
        if names and names[-1] in ("ul", "ol") and not self.flat:
            return  # stray text between list items
        self.out.append("#" + typst_string(text))

    def result(self) -> str:
        while self.open:  # close what broken HTML left open
            self.out.append(self.open.pop()[1])
        return "".join(self.out).strip() + "\n"


def html_to_typst(body_html: str) -> str:
    """Typst markup for a letter's stored HTML: paragraphs, headings, lists, emphasis, links,
    quotes."""
    writer = _TypstWriter()
    writer.feed(nfc(body_html))
    writer.close()
    return writer.result()
