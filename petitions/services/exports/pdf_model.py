"""What the delivery PDF shows, as plain data: the renderer knows nothing of the database.

The export service (``delivery_pdf.py``) fills these from a letter and the chosen options; the
renderer (``pdf_typst.py``) turns them into pages. Keeping the boundary plain lets the renderer be
measured and tested on generated rows, and swapped if a better engine comes along.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, Literal


@dataclass(frozen=True, slots=True)
class Signatory:
    """One row of the list, already in the order it is printed.

    ``country`` is the country's name in the document's language (not the ISO code);
    ``country_code`` is kept for grouping. Organisations use ``organisation`` as their name and
    ``name``/``title`` as their representative and role; individuals use ``name``, ``title`` and
    ``organisation`` as title/affiliation.
    """

    kind: Literal["organisation", "individual"]
    name: str
    organisation: str
    title: str
    city: str
    country: str
    country_code: str
    verified: bool = False
    comment: str = ""


@dataclass(frozen=True)
class LetterTextBlock:
    """The letter's text in one language, with the version it was signed under."""

    language: str  # BCP 47, e.g. "sq"
    title: str
    body_html: str  # the sanitised HTML stored with the text (what the letter page shows)
    version_label: str  # e.g. "Version 2 of 14 March 2026"
    direction: Literal["ltr", "rtl"] = "ltr"


@dataclass(frozen=True)
class FrontMatter:
    """Everything printed before and after the list."""

    language: str  # the document's own language (labels, dates)
    title: str
    addressees: list[tuple[str, str]]  # (name, title)
    publisher: str
    document_date: date
    count_organisations: int
    count_individuals: int
    period: tuple[date | None, date | None]  # first and last signature dates in the list
    texts: list[LetterTextBlock]  # one or two languages
    text_layout: Literal["sequential", "side_by_side"] = "sequential"
    group_by_country: bool = False
    include_comments: bool = False
    digest: str = ""  # hex SHA-256 of the canonical list (see digest.py)
    digest_version: str = ""  # the first line of what the digest hashes, e.g. "petitions-list-v3"
    verify_url: str = ""  # short public URL, also drawn as a QR code
    running_header: str = ""  # e.g. the letter's title, shortened by the renderer if needed
    # Every printed word that is not data, already translated into ``language``. Keys and their
    # English defaults are in ``DEFAULT_LABELS``.
    labels: dict[str, str] = field(default_factory=dict)


# Printed words; the export service passes translations, tests and benchmarks use these.
# "{x}" and "{y}" are the page number and page count; "{n}" a number.
DEFAULT_LABELS: dict[str, str] = {
    "open_letter": "Open letter",
    "to": "To",
    "from": "From",
    "date": "Date",
    "signatories": "Signatories",
    "organisations": "Organisations",
    "individuals": "Individuals",
    "n_organisations": "{n} organisations",
    "n_individuals": "{n} individuals",
    "collection_period": "Collection period",
    "letter_text": "Text of the letter",
    "name": "Name",
    "organisation": "Organisation",
    "representative": "Representative",
    "role": "Role",
    "title_affiliation": "Title / affiliation",
    "city": "City",
    "country": "Country",
    "comment": "Comment",
    "verified": "verified",
    "verified_note": "Organisations marked “verified” were checked by the coalition's staff.",
    "page_x_of_y": "Page {x} of {y}",
    "verification": "Verification",
    "digest": "Digest of the list (SHA-256)",
    "verify_at": "Check this list at",
    "verification_note": (
        "The digest identifies exactly this list of signatories. Anyone can compare it with the "
        "one published at the address above, or upload this file there."
    ),
    # "{file}": the attached list's file name, "{version}": the digest's first line (in code type)
    "list_attached": (
        "The list itself is attached to this file as {file}: the digest is the SHA-256 of the "
        "line {version} followed by that attachment."
    ),
}


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF (a viewer's attachments panel, ``pdfdetach``): the delivery
    PDF carries its canonical list of signatories this way (see ``digest.py``)."""

    name: str
    mime_type: str
    description: str
    data: BinaryIO  # read from its start to its end when the PDF is written


# Called by the renderer as it goes: (rows done, rows in all).
Progress = Callable[[int, int], None]

# The rows to print: organisations first, then individuals, each already sorted (and, when
# ``group_by_country`` is set, ordered by country first). Each iterable is read once.
SignatoryRows = Iterable[Signatory]
