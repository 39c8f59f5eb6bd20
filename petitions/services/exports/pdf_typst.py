"""The delivery PDF, typeset by Typst: cover, letter text, the list of signatories, verification.

One Typst compile of a 100,000-row table takes minutes and gigabytes, so the list is compiled in
chunks of ``CHUNK_ROWS`` rows by one reused :class:`typst.Compiler` (fonts load once), each chunk
reading its rows as JSON from a virtual file; :mod:`pdf_pages` joins the parts and stamps "page x
of y" at the end, when y is known. Chunks do not leave half-empty pages behind: every page of a
chunk records which list item it starts with, and unless a chunk is the section's last, its last
page is dropped and its rows start the next chunk, which lays them out the same way (same table
header, same country subheading).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
from collections import deque
from collections.abc import Iterable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any, BinaryIO

import segno
import typst

from petitions.services.exports.pdf_model import (
    DEFAULT_LABELS,
    Attachment,
    FrontMatter,
    Progress,
    Signatory,
    SignatoryRows,
)
from petitions.services.exports.pdf_pages import PageJoiner, first_item_on_last_page
from petitions.services.exports.pdf_text import (
    direction,
    html_to_typst,
    language_direction,
    long_date,
    nfc,
    number,
    shorten,
    typst_lang,
)

# Rows per Typst compile: ~1,500 rows keep one compile near 150 MB (see benchmarks/pdf_render.py).
CHUNK_ROWS = 1500
# typst-py evicts Typst's memo cache entries only after 10 further compiles; that many empty
# compiles after each chunk free the chunk's layout (else memory grows with every chunk).
EVICT_ROUNDS = 10
# Page furniture is compiled for this many pages at a time (one compile of 2,000 costs 90 MB).
FURNITURE_PAGES = 400
RUNNING_HEADER_WIDTH = 85  # in Latin letters: one line at 8 pt beside the date
TEMPLATE_DIR = Path(__file__).with_name("typst")
FONT_DIR = ("static", "weblate_fonts", "kurinto", "ttf")


def font_dir() -> Path:
    """The Kurinto fonts (OFL) shipped by the ``weblate-fonts`` package: nothing is fetched."""
    return Path(str(files("weblate_fonts").joinpath(*FONT_DIR)))


class TypstEngine:
    """One compiler for all parts of one document; its root is the template folder, so even a
    ``read()`` could reach nothing else (and no input text is ever evaluated as code)."""

    def __init__(self) -> None:
        self.template = (TEMPLATE_DIR / "delivery.typ").read_bytes()
        self.compiler = typst.Compiler(
            root=str(TEMPLATE_DIR), font_paths=[str(font_dir())], ignore_system_fonts=True
        )

    def compile(
        self, part: str, data: dict[str, Any], extra: dict[str, bytes] | None = None
    ) -> bytes:
        main = (
            '#import "delivery.typ": *\n#let d = json("data.json")\n'
            f"#show: setup.with(d)\n#{part}(d)\n"
        )
        sources = {
            "main.typ": main.encode(),
            "delivery.typ": self.template,
            "data.json": json.dumps(data, ensure_ascii=False).encode(),
            **(extra or {}),
        }
        pdf = self.compiler.compile(input=sources, format="pdf", pdf_tags=False)  # type: ignore[type-var]  # the stub omits a dict of files
        for _ in range(EVICT_ROUNDS):
            self.compiler.compile(input={"main.typ": b""}, format="svg")  # type: ignore[type-var]
        assert isinstance(pdf, bytes)
        return pdf


def release_memory() -> None:
    """Hand freed memory back to the system (glibc keeps it otherwise), so the peak of one
    step is not added to the next's."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def text_value(text: str) -> dict[str, str]:
    """A string for the template with its own direction (``say()`` in delivery.typ)."""
    text = nfc(text)
    return {"t": text, "d": direction(text)}


class DeliveryDocument:
    """The data of one render: labels, language, and the JSON each part is compiled from."""

    def __init__(self, front: FrontMatter, total_rows: int) -> None:
        self.front = front
        self.lang = typst_lang(front.language)
        self.dir = language_direction(front.language)
        self.labels = {**DEFAULT_LABELS, **{k: str(v) for k, v in front.labels.items()}}
        self.digits = len(
            str(max(total_rows, front.count_organisations, front.count_individuals, 1))
        )

    def base(self) -> dict[str, Any]:
        return {
            "title": self.front.title,
            "lang": self.lang,
            "dir": self.dir,
            "labels": self.labels,
        }

    def count(self, key: str, n: int) -> str:
        return self.labels[key].replace("{n}", number(n, self.front.language))

    def front_part(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        f = self.front
        first, last = f.period
        period = " \u2013 ".join(long_date(d, f.language) for d in (first, last) if d is not None)
        texts, bodies = [], {}
        for i, block in enumerate(f.texts):
            name = f"text{i}.typ"
            bodies[name] = html_to_typst(block.body_html).encode()
            texts.append({
                "lang": typst_lang(block.language),
                "dir": block.direction,
                "title": text_value(block.title),
                "version_label": text_value(block.version_label),
                "file": name,
            })  # fmt: skip
        data = {
            **self.base(),
            "title_text": text_value(f.title),
            "addressees": [
                {"name": text_value(n), "title": text_value(t)} for n, t in f.addressees
            ],
            "publisher": text_value(f.publisher),
            "date": long_date(f.document_date, f.language),
            "count_organisations": self.count("n_organisations", f.count_organisations),
            "count_individuals": self.count("n_individuals", f.count_individuals),
            "period": period,
            "texts": texts,
            "layout": f.text_layout,
            "url": f.verify_url,
        }
        return data, bodies

    def closing_part(self, list_file: str = "") -> tuple[dict[str, Any], dict[str, bytes]]:
        """The digest and verification block; ``list_file``: the attached list's file name."""
        extra = {}
        if self.front.verify_url:
            extra["qr.svg"] = segno.make(self.front.verify_url, error="m").svg_inline().encode()
        data = {
            **self.base(),
            "digest": self.front.digest,
            "url": self.front.verify_url,
            "list_file": list_file,
            "digest_version": self.front.digest_version,
        }
        return data, extra

    def furniture_part(self, start: int, stop: int, pages: int) -> dict[str, Any]:
        """Header and "page x of y" for pages ``start`` to ``stop - 1`` (from 0) of ``pages``."""
        label, lang = self.labels["page_x_of_y"], self.front.language
        total = number(pages, lang)
        footers = [
            label.replace("{x}", number(x, lang)).replace("{y}", total)
            for x in range(start + 1, stop + 1)
        ]
        header = shorten(self.front.running_header or self.front.title, RUNNING_HEADER_WIDTH)
        date = long_date(self.front.document_date, lang)
        return {
            **self.base(),
            "header": text_value(header),
            "date": date,
            "footers": footers,
            "cover": start == 0,
        }

    def row(self, kind: str, num: int, s: Signatory, group: str) -> list[Any]:
        """One list row for the template: number, visible cells, a sub-line under the last cell,
        verified, comment, a bit mask of texts against the document's direction, and the country
        subheading to print before it (see ``list-chunk`` in delivery.typ)."""
        grouped = self.front.group_by_country
        if kind == "organisation":
            cells = [s.organisation, *([] if grouped else [s.country]), s.city, s.name]
            sub = nfc(s.title)
        else:
            affiliation = ", ".join(x for x in (s.title, s.organisation) if x)
            cells = [s.name, affiliation, s.city, *([] if grouped else [s.country])]
            sub = ""
        cells = [nfc(c) for c in cells]
        comment = nfc(s.comment.strip()) if self.front.include_comments else ""
        bits = {**dict(enumerate(cells)), 4: sub, 5: comment, 6: group}
        mask = sum(1 << i for i, t in bits.items() if t and direction(t) != self.dir)
        return [num, cells, sub, s.verified, comment, mask, group]


def render_delivery_pdf(
    front: FrontMatter,
    organisations: SignatoryRows,
    individuals: SignatoryRows,
    out: BinaryIO,
    *,
    total_rows: int,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
    list_file: Attachment | None = None,
) -> int:
    """Write the PDF to ``out``; return the number of pages.

    ``list_file``: the canonical list that was digested, embedded in the PDF (its closing block
    says so).
    """
    doc = DeliveryDocument(front, total_rows)
    engine = TypstEngine()
    done = 0
    with PageJoiner() as joiner:
        data, bodies = doc.front_part()
        joiner.append(joiner.open_part(engine.compile("front", data, bodies)))
        sections = (
            ("organisation", organisations, front.count_organisations),
            ("individual", individuals, front.count_individuals),
        )
        for kind, rows, count in sections:
            for consumed in _render_section(engine, joiner, doc, kind, rows, count, chunk_rows):
                release_memory()
                done += consumed
                if progress is not None:
                    progress(done, max(total_rows, done))
        data, extra = doc.closing_part(list_file.name if list_file else "")
        joiner.append(joiner.open_part(engine.compile("closing", data, extra)))
        pages = joiner.page_count
        for start in range(0, pages, FURNITURE_PAGES):
            stop = min(start + FURNITURE_PAGES, pages)
            joiner.overlay(
                engine.compile("furniture", doc.furniture_part(start, stop, pages)), start
            )
        del engine  # Typst's fonts and caches go before qpdf writes the file
        release_memory()
        if list_file is not None:
            joiner.attach(
                list_file.name,
                list_file.data,
                mime_type=list_file.mime_type,
                description=list_file.description,
            )
        joiner.save(out, title=front.title, language=front.language)
    return pages


def _render_section(
    engine: TypstEngine,
    joiner: PageJoiner,
    doc: DeliveryDocument,
    kind: str,
    rows: Iterable[Signatory],
    count: int,
    chunk_rows: int,
) -> Iterator[int]:
    """Compile one section in chunks, appending pages; yield the rows each chunk settled."""
    source = iter(rows)
    pending: deque[tuple[int, Signatory]] = deque()
    numbered = 0
    exhausted = False
    first, comment_only = True, False
    while True:
        while len(pending) < chunk_rows and not exhausted:
            signatory = next(source, None)
            if signatory is None:
                exhausted = True
            else:
                numbered += 1
                pending.append((numbered, signatory))
        if not pending:
            return
        data = {
            **doc.base(),
            "kind": kind,
            "first": first,
            "count": number(max(count, numbered), doc.front.language),
            "digits": doc.digits,
            "comment_only": comment_only,
            "grouped": doc.front.group_by_country,
            "rows": _rows(doc, kind, pending),
        }
        part = joiner.open_part(engine.compile("list-chunk", data))
        settled, comment_only = len(pending), False
        mark = None if exhausted or len(part.pages) < 2 else first_item_on_last_page(part)
        if mark is not None and mark >= 2:
            del part.pages[-1]  # its rows begin the next chunk, on a fresh page laid out alike
            settled, comment_only = mark // 2, mark % 2 == 1
        joiner.append(part)
        for _ in range(settled):
            pending.popleft()
        first = False
        yield settled


def _rows(
    doc: DeliveryDocument, kind: str, pending: Iterable[tuple[int, Signatory]]
) -> list[list[Any]]:
    """Row data, with a country subheading at each change of country (and atop every chunk)."""
    out: list[list[Any]] = []
    previous = None
    for num, s in pending:
        group = ""
        if doc.front.group_by_country and (previous is None or s.country_code != previous):
            group = nfc(s.country or s.country_code or "—")
        previous = s.country_code
        out.append(doc.row(kind, num, s, group))
    return out
