"""How long do hostile letter bodies take to render, for the page and for the delivery PDF?

Issue "hardening", finding 3: 20,000 ``[`` made the old Markdown library run for minutes, and
the letter page rendered the body on every view. Each body below (20,000 characters unless
``--size`` says otherwise) is timed in a process of its own, killed after ``--timeout`` seconds:

- ``render``: Markdown to sanitised HTML. Since migration 0004 this runs once, when staff save
  or preview a text, and the page shows the stored HTML; before, it ran on a page view.
- ``pdf``: the whole front part of a delivery PDF with that body (no signatories): turning the
  body into Typst markup and compiling it. Since 0004 it starts from the stored HTML.

A refused body (nested too deeply, so it cannot be saved) prints ``refused`` and the time the
refusal took; for the PDF, ``refused`` means it was never stored. Times are wall clock and the
process's CPU time (which a busy machine does not inflate; Typst may use several threads).

    .venv/bin/python benchmarks/markdown_render.py
    .venv/bin/python benchmarks/markdown_render.py --size 100000 --timeout 120

On a checkout from before 0004 the same command measures the old renderer (Python-Markdown).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import sys
import time
from dataclasses import fields
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petitions.services.exports.pdf_model import FrontMatter, LetterTextBlock  # noqa: E402
from petitions.services.exports.pdf_typst import render_delivery_pdf  # noqa: E402

try:  # since 0004
    from petitions.services.letter_markdown import NestingTooDeep as BodyRefused
    from petitions.services.letter_markdown import render_body

    NEW = True
except ImportError:  # before: the Markdown library, on each page view
    from petitions.services.letters import render_markdown as render_body

    BodyRefused = ArithmeticError  # nothing was refused
    NEW = False


def bodies(size: int) -> dict[str, str]:
    def fill(unit: str) -> str:
        return (unit * (size // len(unit) + 1))[:size]

    nested_lines, depth = [], 0
    while sum(map(len, nested_lines)) < size:
        nested_lines.append("  " * depth + "- a\n")
        depth += 1
    ticks, i = [], 1
    while sum(map(len, ticks)) < size:
        ticks.append("e" + "`" * i)
        i += 1
    return {
        "8,000 [": "[" * 8000,
        "[": fill("["),
        "*": fill("*"),
        "_": fill("_"),
        ">": fill(">"),
        "'> ' (nested quotes)": fill("> "),
        "'- ' (nested lists, one line)": fill("- "),
        "nested list lines": "".join(nested_lines)[:size],
        "<": fill("<"),
        "`": fill("`"),
        "e` e`` e``` …": "".join(ticks)[:size],
        "[](": fill("[]("),
        "[a (link openers)": fill("[a"),
        "![ (image openers)": fill("!["),
        "*a_ (mismatched)": fill("*a_ "),
        "<ul><li> (raw HTML)": fill("<ul><li>"),
    }


def front(block: LetterTextBlock) -> FrontMatter:
    return FrontMatter(
        language="en", title="Hostile body", addressees=[("Minister", "")], publisher="Bench",
        document_date=date(2026, 3, 14), count_organisations=0, count_individuals=0,
        period=(None, None), texts=[block], digest="0" * 64, verify_url="https://x.test/v/1",
    )  # fmt: skip


def stored_block(body: str) -> LetterTextBlock:
    """What the PDF gets: since 0004 the HTML rendered on saving, before it the Markdown."""
    names = [f.name for f in fields(LetterTextBlock)]
    text = render_body(body) if "body_html" in names else body
    return LetterTextBlock("en", "Hostile body", text, "Version 1")


def run(what: str, body: str, queue: multiprocessing.Queue) -> None:
    def took() -> str:
        wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
        return f"{wall:.3f} s (CPU {cpu:.3f} s)"

    started = (time.perf_counter(), time.process_time())
    try:
        if what == "render":
            render_body(body)
        else:
            block = stored_block(body)  # done on saving since 0004, so not timed
            started = (time.perf_counter(), time.process_time())
            render_delivery_pdf(front(block), iter([]), iter([]), io.BytesIO(), total_rows=0)
    except BodyRefused:
        queue.put(f"refused, {took()}")
        return
    except Exception as error:  # the old PDF path broke on some bodies
        queue.put(f"error {type(error).__name__}, {took()}")
        return
    queue.put(took())


def timed(what: str, body: str, timeout: float) -> str:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=run, args=(what, body, queue))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return f"> {timeout:.0f} s (killed)"
    return queue.get() if not queue.empty() else f"crashed (exit {child.exitcode})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--only", choices=["render", "pdf"])
    args = parser.parse_args()
    multiprocessing.set_start_method("fork")
    print(f"renderer: {'markdown-it-py, stored HTML (0004)' if NEW else 'Python-Markdown'}")
    for name, body in bodies(args.size).items():
        results = [
            f"{what} {timed(what, body, args.timeout)}"
            for what in ("render", "pdf")
            if args.only in (None, what)
        ]
        print(f"{name:32} {len(body):>7,} chars   " + "   ".join(results), flush=True)


if __name__ == "__main__":
    main()
