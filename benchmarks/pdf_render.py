"""How long does the delivery PDF take, and how much memory, for 1k, 10k and 100k signatories?

Goals (issue "delivery PDF"): 10,000 signatories in at most 10 s; 100,000 in at most 60 s with a
peak RSS of at most 400 MB. Each size is rendered in a process of its own (started by a
per-size measuring process, which reads ``RUSAGE_CHILDREN`` for exactly that one render), from
generated rows in many scripts (Albanian, Cyrillic, Greek, Arabic with Latin inside, Chinese,
Devanagari), one in ten an organisation, grouped by country, some with comments, and the
canonical list attached as ``signatories.jsonl`` as the export does (``--no-list-file``: without
it). It prints wall time, peak RSS, pages and file size; the PDF goes to a temporary file that is
removed.

    .venv/bin/python benchmarks/pdf_render.py
    .venv/bin/python benchmarks/pdf_render.py --sizes 1000,10000 --chunk-rows 2000
    .venv/bin/python benchmarks/pdf_render.py --sample /tmp/pdf-sample.pdf   # one sample PDF
    .venv/bin/python benchmarks/pdf_render.py --sizes 10000 --no-list-file   # no attachment
"""

# ruff: noqa: RUF001
# (Greek and Cyrillic names are the point: their letters look like Latin ones.)
from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petitions.services.exports.pdf_model import (  # noqa: E402
    FrontMatter,
    LetterTextBlock,
    Signatory,
)
from petitions.services.letter_markdown import render_body  # noqa: E402

GIVEN = ["Arta", "Blerina", "Ëngjëll", "Çlirim", "Drita", "Fatos", "Gëzim", "Mimoza", "Jonida"]
FAMILY = ["Krasniqi", "Hoxha", "Çela", "Berisha", "Gashi", "Dervishi", "Shehu", "Llolla"]
OTHER_NAMES = [
    "Иван Петров", "Мария Смирнова", "Γιώργος Παπαδόπουλος", "Ελένη Οικονόμου",
    "محمد العلي", "فاطمة الزهراء", "李小龙", "王芳", "अमित शर्मा", "प्रिया पटेल",
]  # fmt: skip
ORGS = [
    "Shoqata e Gazetarëve të Pavarur", "Qendra për Të Drejtat e Njeriut", "Fondacioni Çelësi",
    "Общество защиты прав", "Ελληνική Ένωση για τα Δικαιώματα", "منظمة UNICEF في الرياض",
    "中国人权研究会", "मानव अधिकार संगठन", "Amnesty International Shqipëri",
]  # fmt: skip
COUNTRIES = [
    ("AL", "Shqipëri", ["Tiranë", "Durrës", "Shkodër", "Korçë"]),
    ("XK", "Kosovë", ["Prishtinë", "Prizren", "Pejë"]),
    ("MK", "Maqedoni e Veriut", ["Shkup", "Tetovë"]),
    ("GR", "Greqi", ["Athinë", "Selanik"]),
    ("SA", "Arabia Saudite", ["الرياض", "جدة"]),
    ("CN", "Kinë", ["北京", "上海"]),
    ("IN", "Indi", ["नई दिल्ली", "मुंबई"]),
    ("RU", "Rusi", ["Москва"]),
]  # fmt: skip
BODY_SQ = """Të nderuar,

Ne, **organizatat e shoqërisë civile** dhe qytetarët nënshkrues, ju drejtohemi me këtë letër të
hapur për të kërkuar *mbrojtjen e lirisë së shtypit* dhe sigurinë e gazetarëve.

## Kërkesat tona

1. Hetim i pavarur për çdo sulm ndaj gazetarëve.
2. Tërheqja e projektligjit për median elektronike.
3. Transparencë e plotë në financimin e medias publike.

Më shumë informacion: [faqja e koalicionit](https://example.org/koalicioni).

Me respekt,
Koalicioni për Liri Shtypi
"""
BODY_EN = """Dear Prime Minister,

We, the undersigned **civil-society organisations** and citizens, write to ask for *the
protection of press freedom* and the safety of journalists.

## Our requests

1. An independent investigation of every attack on journalists.
2. The withdrawal of the draft law on electronic media.
3. Full transparency in the funding of public media.

More information: [the coalition's page](https://example.org/coalition).

Yours faithfully,
The Coalition for Press Freedom
"""


def front_matter(orgs: int, individuals: int, *, layout: str = "sequential") -> FrontMatter:
    return FrontMatter(
        language="sq",
        title="Letër e hapur për mbrojtjen e lirisë së shtypit dhe sigurinë e gazetarëve",
        addressees=[
            ("Kryeministri i Republikës së Shqipërisë", "Zyra e Kryeministrit"),
            ("Kryetari i Kuvendit", "Kuvendi i Shqipërisë"),
        ],
        publisher="Koalicioni për Liri Shtypi",
        document_date=date(2026, 3, 14),
        count_organisations=orgs,
        count_individuals=individuals,
        period=(date(2026, 1, 12), date(2026, 3, 10)),
        texts=[
            LetterTextBlock(
                "sq", "Letër e hapur", render_body(BODY_SQ), "Versioni 2, 14 mars 2026"
            ),
            LetterTextBlock(
                "en", "Open letter", render_body(BODY_EN), "Version 2 of 14 March 2026"
            ),
        ],
        text_layout=layout,  # type: ignore[arg-type]
        group_by_country=True,
        include_comments=True,
        digest="9f2c4e1b7a3d5f60c8e2a4b6d8f0e1c3a5b7d9f1e3c5a7b9d1f3e5c7a9b1d3f5",
        verify_url="https://letra.example.org/v/k7m2q9x4ta",
        running_header="Letër e hapur për mbrojtjen e lirisë së shtypit",
    )


def signatories(kind: str, n: int, seed: int) -> Iterator[Signatory]:
    """``n`` rows of one kind, ordered by country (as the export service sorts them)."""
    rng = random.Random(seed)
    per_country = [n // len(COUNTRIES)] * len(COUNTRIES)
    per_country[0] += n - sum(per_country)
    for (code, country, cities), count in zip(COUNTRIES, per_country, strict=True):
        for _ in range(count):
            person = (
                f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
                if rng.random() < 0.6
                else rng.choice(OTHER_NAMES)
            )
            comment = "Mbështesim plotësisht këtë thirrje." if rng.random() < 0.05 else ""
            if kind == "organisation":
                yield Signatory(
                    "organisation", person, rng.choice(ORGS), "Drejtor/e ekzekutiv/e",
                    rng.choice(cities), country, code, rng.random() < 0.4, comment,
                )  # fmt: skip
            else:
                yield Signatory(
                    "individual", person, "Universiteti i Tiranës" if rng.random() < 0.3 else "",
                    "Prof. dr." if rng.random() < 0.2 else "", rng.choice(cities), country, code,
                    False, comment,
                )  # fmt: skip


def render(
    size: int, path: str, chunk_rows: int | None, layout: str = "sequential", list_file: bool = True
) -> None:
    from petitions.services.exports import pdf_typst
    from petitions.services.exports.digest import (
        DIGEST_VERSION,
        LIST_FILE_DESCRIPTION,
        LIST_FILE_MIME,
        LIST_FILE_NAME,
        canonical_line,
        digest_of_lines,
    )
    from petitions.services.exports.pdf_model import Attachment

    orgs = size // 10
    individuals = size - orgs
    front = front_matter(orgs, individuals, layout=layout)
    options = {"chunk_rows": chunk_rows} if chunk_rows else {}
    with tempfile.TemporaryFile() as listing, open(path, "wb") as out:
        if list_file:  # as the export's plan does, before (and not timed with) the render
            lines = [canonical_line(s) for s in signatories("organisation", orgs, 1)]
            lines += [canonical_line(s) for s in signatories("individual", individuals, 2)]
            digest = digest_of_lines(lines, listing)
            del lines
            front = replace(front, digest=digest, digest_version=DIGEST_VERSION)
            options["list_file"] = Attachment(
                LIST_FILE_NAME, LIST_FILE_MIME, LIST_FILE_DESCRIPTION, listing
            )
        started = time.perf_counter()
        pages = pdf_typst.render_delivery_pdf(
            front,
            signatories("organisation", orgs, 1),
            signatories("individual", individuals, 2),
            out,
            total_rows=size,
            **options,
        )
    print(f"{pages} {time.perf_counter() - started:.2f}")


def measure(size: int, chunk_rows: int | None, list_file: bool = True) -> None:
    """Render once in a child process; print its figures with its own peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "delivery.pdf")
        command = [sys.executable, __file__, "--render", str(size), path]
        if chunk_rows:
            command += ["--chunk-rows", str(chunk_rows)]
        if not list_file:
            command += ["--no-list-file"]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        pages, render_s = result.stdout.split()
        size_mb = Path(path).stat().st_size / 1e6
    print(
        f"{size:>8,} rows  render {float(render_s):6.1f} s  process {wall:6.1f} s  "
        f"peak RSS {peak_mb:5.0f} MB  {int(pages):>5,} pages  {size_mb:6.2f} MB  "
        f"{size / float(render_s):6.0f} rows/s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--chunk-rows", type=int, default=None)
    parser.add_argument("--render", nargs=2, metavar=("SIZE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sample", metavar="PATH", help="write one sample PDF (300 rows)")
    parser.add_argument("--layout", default="sequential", choices=["sequential", "side_by_side"])
    parser.add_argument(
        "--no-list-file", action="store_true", help="do not attach signatories.jsonl"
    )
    args = parser.parse_args()
    list_file = not args.no_list_file
    if args.render:
        render(int(args.render[0]), args.render[1], args.chunk_rows, list_file=list_file)
    elif args.measure:
        measure(args.measure, args.chunk_rows, list_file)
    elif args.sample:
        render(300, args.sample, args.chunk_rows, args.layout, list_file)
    else:
        from petitions.services.exports.pdf_typst import CHUNK_ROWS

        print(f"chunk rows: {args.chunk_rows or CHUNK_ROWS}; each size in its own process")
        for size in (int(s) for s in args.sizes.split(",")):
            command = [sys.executable, __file__, "--measure", str(size)]
            if args.chunk_rows:
                command += ["--chunk-rows", str(args.chunk_rows)]
            if not list_file:
                command += ["--no-list-file"]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
