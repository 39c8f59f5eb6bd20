"""How long does the social card take to draw, and the poster, per script?

Times the renderer alone (no database, no HTTP): the first card (the Typst compiler and its fonts
loading), then ``--rounds`` cards per script (Albanian, Cyrillic, Greek, Arabic, Chinese), each
with a different count so nothing is served from Typst's own memo cache, then the A4 poster.
It prints the median and the worst per script, and the PNG and PDF sizes. A card is drawn again
only when its title changes or its count crosses a rounded step; every other request is a cache
hit or a 304, so these figures are the cost of one redraw, not of one request.

    .venv/bin/python benchmarks/social_card.py
    .venv/bin/python benchmarks/social_card.py --rounds 50
    .venv/bin/python benchmarks/social_card.py --out /tmp/cards   # also writes each card as PNG
"""

# ruff: noqa: RUF001
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petitions.services.exports.pdf_text import number  # noqa: E402
from petitions.services.sharing.images import CardData, PosterData, engine  # noqa: E402

SAMPLES = {
    "sq": ("Letër e hapur drejtuar ministrave të financave të G20: mbroni përparësinë e "
           "arsimit global", "Koalicioni i Shoqërisë Civile për Arsimin"),
    "ru": ("Открытое письмо министрам финансов G20: защитите приоритет всеобщего "
           "образования", "Коалиция гражданского общества за образование"),
    "el": ("Ανοιχτή επιστολή προς τους υπουργούς Οικονομικών της G20: προστατέψτε την "
           "προτεραιότητα της εκπαίδευσης", "Συνασπισμός της κοινωνίας των πολιτών"),
    "ar": ("رسالة مفتوحة إلى وزراء مالية مجموعة العشرين: احموا أولوية التعليم في العالم",
           "ائتلاف المجتمع المدني من أجل التعليم"),
    "zh": ("致二十国集团财长的公开信：保护全球教育的优先地位", "教育公民社会联盟"),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", type=Path, help="write each script's card here as PNG")
    args = parser.parse_args()

    started = time.perf_counter()
    drawer = engine()
    first = drawer.card_png(CardData("en", "Warm-up", "", "1", "", "petitions.example"))
    print(f"first card (compiler and fonts loading): {time.perf_counter() - started:.3f} s")
    assert first[:8] == b"\x89PNG\r\n\x1a\n"

    print(f"{'script':8} {'median ms':>10} {'worst ms':>10} {'PNG KB':>8}")
    for language, (title, publisher) in SAMPLES.items():
        times, size = [], 0
        for i in range(args.rounds):
            card = CardData(
                language, title, publisher, number(1_000 + i * 100, language) + "+", "",
                "petitions.example",
            )  # fmt: skip
            t0 = time.perf_counter()
            png = drawer.card_png(card)
            times.append(time.perf_counter() - t0)
            size = len(png)
            if args.out and i == 0:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"card-{language}.png").write_bytes(png)
        print(
            f"{language:8} {statistics.median(times) * 1000:10.1f} "
            f"{max(times) * 1000:10.1f} {size / 1024:8.1f}"
        )

    times, size = [], 0
    for i in range(max(args.rounds // 4, 1)):
        title, publisher = SAMPLES["sq"]
        poster = PosterData(
            "sq", title, "Një përmbledhje e shkurtër e letrës, në dy fjali. " * 3, publisher,
            number(1_000 + i, "sq"), "nënshkrime", "Letër e hapur",
            "Lexojeni dhe nënshkruajeni në internet:",
            "https://petitions.example/letters/g20-protect-education?lang=sq",
        )  # fmt: skip
        t0 = time.perf_counter()
        size = len(drawer.poster_pdf(poster))
        times.append(time.perf_counter() - t0)
    print(
        f"poster   {statistics.median(times) * 1000:10.1f} {max(times) * 1000:10.1f} "
        f"{size / 1024:8.1f} (PDF KB)"
    )


if __name__ == "__main__":
    main()
