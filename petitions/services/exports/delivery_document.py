"""What goes into a delivery PDF: the chosen options, the letter's front matter, the sorted list.

This is the one place that reads the database for the PDF; the renderer gets plain data
(:mod:`petitions.services.exports.pdf_model`).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, BinaryIO, Literal

from babel import Locale
from flask_babel import force_locale, format_date, format_decimal, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Letter, LetterText
from petitions.services.exports.digest import (
    DIGEST_VERSION,
    canonical_line,
    digest_of_lines,
    entry_hash,
)
from petitions.services.exports.pdf_model import (
    DEFAULT_LABELS,
    FrontMatter,
    LetterTextBlock,
    Signatory,
)
from petitions.services.exports.signatory_rows import (
    ExportFilter,
    SignatureRow,
    iter_signatures,
    signatures_by_id,
)
from petitions.services.site_time import site_date

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
    "list_attached": _l(
        "The list itself is attached to this file as {file}: the digest is the SHA-256 of the "
        "line {version} followed by that attachment."
    ),
}
assert set(LABELS) == set(DEFAULT_LABELS)


def _sort_key(value: str) -> str:
    """Case- and accent-blind order, so "Émile" sorts with "Emil", not after "Zoe"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass
class ListPlan:
    """The list as decided in one pass: who is on it, in which order, and its digest.

    Only ids are kept (a few MB for 100,000 people), not the rows: the renderer's own pass reads
    them again in print order (:meth:`rows`), and checks that what it printed is what was
    digested, so a signer who withdraws and signs again under another name mid-render cannot make
    the printed digest lie.
    """

    options: PdfOptions
    organisation_ids: list[int]
    individual_ids: list[int]
    first_day: date | None
    last_day: date | None
    digest: str
    line_hashes: list[bytes]  # sorted SHA-256 of each canonical line
    entries: set[str] = field(default_factory=set)  # keyed (name, email) hashes

    @property
    def total(self) -> int:
        return len(self.organisation_ids) + len(self.individual_ids)

    def rows(self, ids: list[int], printed: list[bytes], batch: int = 1000) -> Iterator[Signatory]:
        """These signatories, in this order; each one's line hash is added to ``printed``."""
        convert = _converter(self.options)
        for start in range(0, len(ids), batch):
            for row in signatures_by_id(ids[start : start + batch]):
                signatory = convert(row)
                printed.append(hashlib.sha256(canonical_line(signatory)).digest())
                yield signatory

    def matches(self, printed: list[bytes]) -> bool:
        return sorted(printed) == self.line_hashes


def _converter(options: PdfOptions) -> Callable[[SignatureRow], Signatory]:
    territories = Locale.parse(options.languages[0]).territories
    english = Locale.parse("en").territories

    def convert(row: SignatureRow) -> Signatory:
        return Signatory(
            kind=row.kind,  # type: ignore[arg-type]
            name=row.name,
            organisation=row.organisation,
            title=row.title,
            city=row.city,
            country=territories.get(row.country) or english.get(row.country) or row.country,
            country_code=row.country,
            verified=row.verified_at is not None,
            comment=row.comment if options.include_comments else "",
        )

    return convert


def plan_list(
    letter: Letter, options: PdfOptions, secret_key: str, listing: BinaryIO | None = None
) -> ListPlan:
    """Read the chosen signatures once: order, digest, dates and listed-entry hashes.

    ``listing``, if given, receives the canonical list that was digested (the sorted lines,
    attached to the PDF as ``signatories.jsonl``), so the lines need not be kept in memory.
    """
    convert = _converter(options)
    keys: dict[str, list[tuple[str, str, int]]] = {"organisation": [], "individual": []}
    lines: list[bytes] = []
    entries: set[str] = set()
    first: date | None = None
    last: date | None = None
    for row in iter_signatures(letter.id, options.rows):
        signatory = convert(row)
        country = _sort_key(signatory.country) if options.group_by_country else ""
        name = signatory.organisation or signatory.name if row.kind == "organisation" else row.name
        keys[row.kind].append((country, _sort_key(name), row.id))
        lines.append(canonical_line(signatory))
        entries.update(
            entry_hash(value, row.email, secret_key)
            for value in {row.name, row.organisation} - {""}
        )
        signed = site_date(row.confirmed_at or row.created_at)
        first = signed if first is None or signed < first else first
        last = signed if last is None or signed > last else last
    line_hashes = sorted(hashlib.sha256(line).digest() for line in lines)
    digest = digest_of_lines(lines, listing)
    del lines
    return ListPlan(
        options=options,
        organisation_ids=[key[2] for key in sorted(keys["organisation"])],
        individual_ids=[key[2] for key in sorted(keys["individual"])],
        first_day=first,
        last_day=last,
        digest=digest,
        line_hashes=line_hashes,
        entries=entries,
    )


def _version_label(text: LetterText) -> str:
    number = db.session.scalar(
        select(func.count(LetterText.id)).where(
            LetterText.letter_id == text.letter_id,
            LetterText.language == text.language,
            LetterText.id <= text.id,
        )
    )
    return str(
        _l(
            "Version %(number)s of %(date)s",
            number=number,
            date=format_date(text.created_at, "long"),
        )
    )


def front_matter(letter: Letter, plan: ListPlan, verify_url: str) -> FrontMatter:
    """The cover, texts and closing block, in the document's language."""
    options = plan.options
    language = options.languages[0]
    with force_locale(language):
        labels = {key: str(label) for key, label in LABELS.items()}
        orgs, people = len(plan.organisation_ids), len(plan.individual_ids)
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
                body_html=text.body_html,
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
            document_date=site_date(utcnow()),
            count_organisations=orgs,
            count_individuals=people,
            period=(plan.first_day, plan.last_day),
            texts=texts,
            text_layout=options.layout,
            group_by_country=options.group_by_country,
            include_comments=options.include_comments,
            digest=plan.digest,
            digest_version=DIGEST_VERSION,
            verify_url=verify_url,
            running_header=main.title,
            labels=labels,
        )
