"""What goes into a delivery PDF: the chosen options, the letter's front matter, the sorted list.

This is the one place that reads the database for the PDF; the renderer gets plain data
(:mod:`petitions.services.exports.pdf_model`).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from babel import Locale
from flask_babel import force_locale, format_decimal, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from petitions.extensions import db
from petitions.models import Letter, LetterText, utcnow
from petitions.services.exports.pdf_model import (
    DEFAULT_LABELS,
    FrontMatter,
    LetterTextBlock,
    Signatory,
)
from petitions.services.exports.signatory_rows import ExportFilter, iter_signatures

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})


@dataclass(frozen=True)
class PdfOptions:
    """The export form's choices. Equal options on the same letter make the same job."""

    languages: tuple[str, ...]  # one or two; the first is the document's own language
    layout: Literal["sequential", "side_by_side"] = "sequential"
    include_comments: bool = False
    group_by_country: bool = False
    rows: ExportFilter = field(default_factory=ExportFilter)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["languages"] = list(self.languages)
        data["rows"] = self.rows.audit_details()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PdfOptions:
        return cls(
            languages=tuple(data["languages"]),
            layout=data["layout"],
            include_comments=data["include_comments"],
            group_by_country=data["group_by_country"],
            rows=ExportFilter.from_details(data["rows"]),
        )

    def key(self) -> str:
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


# The printed words, in our catalog; the renderer's English defaults have the same keys.
LABELS: dict[str, Any] = {
    "open_letter": _l("Open letter"),
    "to": _l("To"),
    "from": _l("From"),
    "date": _l("Date"),
    "signatories": _l("Signatories"),
    "organisations": _l("Organisations"),
    "individuals": _l("Individuals"),
    # Counted phrases: filled in by front_matter() with ngettext (plural forms differ by language).
    "n_organisations": "{n}",
    "n_individuals": "{n}",
    "collection_period": _l("Collection period"),
    "letter_text": _l("Text of the letter"),
    "name": _l("Name"),
    "organisation": _l("Organisation"),
    "representative": _l("Representative"),
    "role": _l("Role"),
    "title_affiliation": _l("Title / affiliation"),
    "city": _l("City"),
    "country": _l("Country"),
    "comment": _l("Comment"),
    "verified": _l("verified"),
    "verified_note": _l("Organisations marked “verified” were checked by the coalition's staff."),
    "page_x_of_y": _l("Page {x} of {y}"),
    "verification": _l("Verification"),
    "digest": _l("Digest of the list (SHA-256)"),
    "verify_at": _l("Check this list at"),
    "verification_note": _l(
        "The digest identifies exactly this list of signatories. Anyone can compare it with the "
        "one published at the address above, or upload this file there."
    ),
}
assert set(LABELS) == set(DEFAULT_LABELS)


def _sort_key(value: str) -> str:
    """Case- and accent-blind order, so "Émile" sorts with "Emil", not after "Zoe"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass
class SortedList:
    organisations: list[Signatory]
    individuals: list[Signatory]
    first_day: date | None
    last_day: date | None

    @property
    def total(self) -> int:
        return len(self.organisations) + len(self.individuals)


def signatory_list(letter: Letter, options: PdfOptions) -> SortedList:
    """Read the chosen signatures once and sort them as they are printed."""
    territories = Locale.parse(options.languages[0]).territories
    english = Locale.parse("en").territories
    organisations: list[Signatory] = []
    individuals: list[Signatory] = []
    first: date | None = None
    last: date | None = None
    for row in iter_signatures(letter.id, options.rows):
        country = territories.get(row.country) or english.get(row.country) or row.country
        signatory = Signatory(
            kind=row.kind,  # type: ignore[arg-type]
            name=row.name,
            organisation=row.organisation,
            title=row.title,
            city=row.city,
            country=country,
            country_code=row.country,
            verified=row.verified_at is not None,
            comment=row.comment if options.include_comments else "",
        )
        (organisations if row.kind == "organisation" else individuals).append(signatory)
        signed = (row.confirmed_at or row.created_at).date()
        first = signed if first is None or signed < first else first
        last = signed if last is None or signed > last else last

    def by_country(s: Signatory) -> tuple[str, ...]:
        return (_sort_key(s.country),) if options.group_by_country else ()

    organisations.sort(key=lambda s: (*by_country(s), _sort_key(s.organisation or s.name)))
    individuals.sort(key=lambda s: (*by_country(s), _sort_key(s.name)))
    return SortedList(organisations, individuals, first, last)


def _version_label(text: LetterText) -> str:
    number = db.session.scalar(
        select(func.count(LetterText.id)).where(
            LetterText.letter_id == text.letter_id,
            LetterText.language == text.language,
            LetterText.id <= text.id,
        )
    )
    return str(_l("Version %(number)s of %(date)s", number=number, date=_day(text.created_at)))


def _day(moment: Any) -> str:
    from flask_babel import format_date

    return format_date(moment, "long")


def front_matter(
    letter: Letter, options: PdfOptions, listed: SortedList, verify_url: str, digest: str
) -> FrontMatter:
    """The cover, texts and closing block, in the document's language."""
    language = options.languages[0]
    with force_locale(language):
        labels = {key: str(label) for key, label in LABELS.items()}
        orgs, people = len(listed.organisations), len(listed.individuals)
        labels["n_organisations"] = ngettext(
            "%(count)s organisation", "%(count)s organisations", orgs, count=format_decimal(orgs)
        )
        labels["n_individuals"] = ngettext(
            "%(count)s individual", "%(count)s individuals", people, count=format_decimal(people)
        )
        main = letter.text_in(language)
        texts = [
            LetterTextBlock(
                language=text.language,
                title=text.title,
                body_markdown=text.body,
                version_label=_version_label(text),
                direction="rtl" if text.language in RTL_LANGUAGES else "ltr",
            )
            for text in (letter.text_in(code) for code in options.languages)
        ]
        addressees = [addressee.in_language(language) for addressee in letter.addressees]
        return FrontMatter(
            language=language,
            title=main.title,
            addressees=addressees,
            publisher=main.publisher,
            document_date=utcnow().date(),
            count_organisations=len(listed.organisations),
            count_individuals=len(listed.individuals),
            period=(listed.first_day, listed.last_day),
            texts=texts,
            text_layout=options.layout,
            group_by_country=options.group_by_country,
            include_comments=options.include_comments,
            digest=digest,
            verify_url=verify_url,
            running_header=main.title,
            labels=labels,
        )
