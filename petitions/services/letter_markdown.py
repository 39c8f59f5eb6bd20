"""Letter bodies: Markdown to sanitised HTML, done once, when staff save (or preview) a text.

Why it is built this way (issue "hardening", finding 3): the Markdown library used before ran
super-linearly on hostile input (8,000 ``[`` took 15 s, 20,000 minutes), and the public page
rendered the body on every view, so one such letter held every web worker. Now

- the parser is markdown-it-py (CommonMark), whose time grows linearly with the input;
- its HTML is sanitised with nh3 and stored with the text version (``LetterText.body_html``):
  the public page prints it and the delivery PDF is made from it, so neither parses Markdown,
  and the page, the staff preview and the PDF show the same thing;
- markdown-it stops reading blocks nested deeper than ``MAX_NESTING`` and silently drops the
  rest, so a body that reaches that depth is refused (:class:`NestingTooDeep`), never stored
  with words missing;
- an ``<ol start>`` that is not a plain number of at most nine digits (CommonMark's own limit)
  is removed, so a list starts at 1 instead of breaking the PDF (``start="²"``, 20 digits).
"""

from __future__ import annotations

import html
import re

import nh3
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "a", "ul", "ol", "li", "blockquote",
    "h2", "h3", "h4", "hr", "code", "pre",
}  # fmt: skip
MAX_NESTING = 20  # markdown-it's CommonMark default; letters need a handful of levels
LIST_START = re.compile(r"[0-9]{1,9}")  # ASCII digits only: "²".isdigit() is True
# The page's title is the h1: a body's "# Heading" becomes h2, "#####" and "######" h4.
_HEADING_TAG = {"h1": "h2", "h5": "h4", "h6": "h4"}

_PARSER = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING})


class NestingTooDeep(ValueError):
    """Quotes or lists nested so deeply that the parser would leave text out."""

    def __init__(self) -> None:
        super().__init__(
            _l("Quotes or lists are nested too deeply in this text; please simplify it.")
        )


def render_body(body: str) -> str:
    """Sanitised HTML for a Markdown body; raises :class:`NestingTooDeep`."""
    tokens = _PARSER.parse(body)
    for token in tokens:
        if token.nesting == 1 and token.level >= MAX_NESTING - 1:
            raise NestingTooDeep()
        if token.type in ("heading_open", "heading_close"):
            token.tag = _HEADING_TAG.get(token.tag, token.tag)
    return sanitise(_PARSER.renderer.render(tokens, _PARSER.options, {}))


def sanitise(markup: str) -> str:
    """Only the allowed elements; links get ``rel="noopener nofollow"``; odd list starts go."""
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        link_rel="noopener nofollow",
        attribute_filter=_attribute_filter,
    )


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if element == "ol" and attribute == "start":
        return value if LIST_START.fullmatch(value) else None
    return value


def render_stored_body(body: str) -> str:
    """What to store for a body written before bodies were rendered on saving (migration 0004):
    its HTML, or, for one nested too deeply to render, its words as plain paragraphs."""
    try:
        return render_body(body)
    except NestingTooDeep:
        paragraphs = (part.strip() for part in re.split(r"\n\s*\n", body))
        return "\n".join(
            "<p>" + html.escape(part).replace("\n", "<br>\n") + "</p>"
            for part in paragraphs
            if part
        )
