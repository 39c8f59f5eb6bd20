"""Letter bodies are rendered once, when saved, by a linear parser; pages and PDFs use the result.

Issue "hardening", findings 3 and 10: 20,000 ``[`` kept the old Markdown library busy for
minutes on every view of the letter page, and ``<ol start="²">`` or a 20-digit list start broke
the delivery PDF. These tests drive the staff editor, the public page and the PDF export over
HTTP, read PDFs back with ``pdftotext``, and run the migration on a real SQLite file.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import markdown_it
import pytest
from conftest import G20
from sqlalchemy import insert, inspect, select, text
from test_staff_letters import NEW, post_edit, submit

from petitions import create_app
from petitions.extensions import db
from petitions.models.letters import Letter, LetterText
from petitions.services.exports.pdf_text import html_to_typst
from petitions.services.letter_markdown import render_body, render_stored_body
from petitions.services.letters import text_hash

# The issue asks for "under a second"; these bounds are generous (shared, busy test machines),
# yet far below what the old parser took (20,000 "[": over a minute). The editor's is CPU time,
# which a busy machine does not inflate; the PDF's is wall time (Typst uses threads).
EDITOR_BOUND_S = 5.0
PDF_BOUND_S = 10.0
N = 20_000
REFUSED = "Quotes or lists are nested too deeply in this text; please simplify it."


def fill(unit: str, size: int = N) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def nested_list_lines(size: int = N) -> str:
    lines, depth = [], 0
    while sum(map(len, lines)) < size:
        lines.append("  " * depth + "- a\n")
        depth += 1
    return "".join(lines)


def growing_backticks(size: int = N) -> str:
    parts, i = [], 1
    while sum(map(len, parts)) < size:
        parts.append("e" + "`" * i)
        i += 1
    return "".join(parts)[:size]


HOSTILE = {
    "brackets": fill("["),
    "stars": fill("*"),
    "underscores": fill("_"),
    "quote-markers": fill(">"),
    "nested-quotes": fill("> "),
    "nested-list-lines": nested_list_lines(),
    "list-markers": fill("- "),
    "less-than": fill("<"),
    "backticks": fill("`"),
    "growing-backticks": growing_backticks(),
    "empty-links": fill("[]("),
    "link-openers": fill("[a"),
    "image-openers": fill("!["),
    "raw-nested-lists": fill("<ul><li>"),
    "raw-nested-quotes": fill("<blockquote>"),
    "nested-emphasis": "*" * 5000 + "deep" + "*" * 5000,
}
TOO_DEEP = {"quote-markers", "nested-quotes", "nested-list-lines"}


def pdftotext(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"out-{time.monotonic_ns()}.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def export_pdf(client: Any, tmp_path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    answer = client.get(f"/staff/letters/{G20}/export.pdf")
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/pdf"
    return pdftotext(answer.get_data(), tmp_path), elapsed


def english_body(app: Any, slug: str = G20) -> LetterText:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        text = next(t for t in letter.texts if t.language == "en" and t.superseded_at is None)
        db.session.expunge_all()
        return text


# --- the staff editor: quick, or refused with a message ---------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_bodies_are_previewed_and_saved_quickly_or_refused_through_the_staff_editor(
    app, staff_client, name
):
    staff = staff_client("organiser")
    body = {"text_en-body": HOSTILE[name]}
    started = time.process_time()  # each: the form's GET, then the POST
    preview = submit(staff, "/staff/letters/new", save=None, preview="y", **body)
    previewed = time.process_time() - started
    assert previewed < EDITOR_BOUND_S, f"preview of {name}: {previewed:.2f} s"
    assert preview.status_code == 200
    started = time.process_time()
    answer = submit(staff, "/staff/letters/new", **body)
    saved = time.process_time() - started
    assert saved < EDITOR_BOUND_S, f"saving {name}: {saved:.2f} s"
    if name in TOO_DEEP:
        assert REFUSED in preview.get_data(as_text=True)
        assert answer.status_code == 400
        assert REFUSED in answer.get_data(as_text=True)
        with app.app_context():
            assert db.session.scalar(select(Letter).where(Letter.slug == NEW)) is None
    else:
        assert answer.status_code == 303
        assert english_body(app, NEW).body_html  # rendered on saving


def test_a_body_nested_too_deeply_is_refused_next_to_its_field_and_in_the_preview(
    app, staff_client
):
    staff = staff_client("organiser")
    body = "Dear Minister,\n\n" + "> " * 25 + "deep"
    answer = submit(staff, "/staff/letters/new", **{"text_en-body": body})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert f'<p class="error" id="text_en-body-error">{REFUSED}</p>' in html
    preview = submit(staff, "/staff/letters/new", save=None, preview="y", **{"text_en-body": body})
    assert preview.status_code == 200
    assert REFUSED in preview.get_data(as_text=True).split('class="preview"')[1]
    # A depth a letter really uses is fine.
    ok = submit(staff, "/staff/letters/new", **{"text_en-body": "> - a\n>   - b\n>     > c"})
    assert ok.status_code == 303


# --- the delivery PDF --------------------------------------------------------------------------

# The PDF starts from the stored HTML, so the parser's own traps (link and image openers) do not
# reach it; these are the ones the issue names, and HTML nested deeper than Typst allows.
PDF_HOSTILE = [
    "brackets", "stars", "underscores", "less-than", "backticks", "empty-links",
    "raw-nested-lists", "raw-nested-quotes", "nested-emphasis",
]  # fmt: skip


@pytest.mark.parametrize("name", PDF_HOSTILE)
def test_hostile_bodies_make_a_clean_pdf_quickly(app, staff_client, tmp_path, name):
    staff = staff_client("admin")
    marker = "Closing words of the letter."
    answer = post_edit(staff, G20, **{"text_en-body": HOSTILE[name] + "\n\n" + marker})
    assert answer.status_code == 303
    text, elapsed = export_pdf(staff, tmp_path)
    assert elapsed < PDF_BOUND_S, f"{name}: {elapsed:.2f} s"
    assert marker in " ".join(text.split())


def test_deep_html_nesting_is_flattened_for_typst_and_keeps_every_word():
    markup = html_to_typst(("<blockquote><ul><li><em>" * 300) + "deep words" + "</em>" * 300)
    assert '#"deep words"' in markup
    assert markup.count("[") == markup.count("]") < 100


# --- the public page never parses Markdown ------------------------------------------------------


@pytest.fixture
def markdown_parser_calls(monkeypatch):
    """Counts every call of a Markdown parser (markdown-it-py; the Markdown library of old, when
    it is installed), letting the call through."""
    calls: list[str] = []

    def counted(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(f"{owner.__module__}.{name}")
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counted(markdown_it.MarkdownIt, "parse")
    try:
        import markdown
    except ImportError:
        pass
    else:
        counted(markdown.Markdown, "convert")
    return calls


def test_the_public_page_shows_the_stored_html_and_never_parses_markdown(
    app, client, staff_client, markdown_parser_calls
):
    staff = staff_client("admin")
    body = "We ask for **clean air**.\n\n" + fill("[")
    assert post_edit(staff, G20, **{"text_en-body": body}).status_code == 303
    markdown_parser_calls.clear()  # saving rendered it
    for _ in range(2):  # a miss of the page cache, then a hit
        started = time.perf_counter()
        page = client.get(f"/letters/{G20}?lang=en")
        elapsed = time.perf_counter() - started
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "We ask for <strong>clean air</strong>." in html
        assert "[[[[[[[[" in html
    assert markdown_parser_calls == []
    print(f"letter page with 20,000 '[' stored: {elapsed * 1000:.0f} ms")


# --- list starts: <ol start="²">, 20 digits -------------------------------------------------------

ODD_STARTS = (
    'Dear Minister,\n\n<ol start="²"><li>alpha item</li></ol>\n\n'
    '<ol start="99999999999999999999"><li>beta item</li></ol>\n\n'
    "99999999999999999999. gamma item\n\n"
    "999999999. delta item\n"
)


def test_odd_list_starts_render_cleanly_on_the_page(app, client, staff_client):
    staff = staff_client("admin")
    assert post_edit(staff, G20, **{"text_en-body": ODD_STARTS}).status_code == 303
    html = client.get(f"/letters/{G20}?lang=en").get_data(as_text=True)
    body = html.split('<div class="body" id="letter-text">')[1].split("</div>")[0]
    assert "<ol><li>alpha item</li></ol>" in body
    assert "<ol><li>beta item</li></ol>" in body
    assert "<p>99999999999999999999. gamma item</p>" in body  # CommonMark: 9 digits at most
    assert '<ol start="999999999">' in body
    assert "start=" not in body.replace('<ol start="999999999">', "")


def test_odd_list_starts_make_a_clean_pdf(app, staff_client, tmp_path):
    staff = staff_client("admin")
    assert post_edit(staff, G20, **{"text_en-body": ODD_STARTS}).status_code == 303
    text, _ = export_pdf(staff, tmp_path)
    words = " ".join(text.split())
    assert "1. alpha item" in words and "1. beta item" in words
    assert "99999999999999999999. gamma item" in words
    assert "999999999. delta item" in words


def test_the_pdf_ignores_odd_list_starts_even_in_html_it_did_not_sanitise():
    for start in ("²", "99999999999999999999", "-3", "٣", " 7"):
        markup = html_to_typst(f'<ol start="{start}"><li>x</li></ol>')
        expected = 7 if start == " 7" else 1
        assert f"#enum.item({expected})[" in markup, start


# --- ordinary letters look as they did ------------------------------------------------------------

ORDINARY = """Dear Minister,

We, the **undersigned**, ask for *justice* and [clean air](https://air.example.org/report?a=1&b=2).
A second line of the same paragraph.

## What we ask

- **Fund** the schools;
- pay teachers *on time*.

1. First.
2. Second.

> Quoted words, with `code`.

Respectfully,  
the signatories
"""  # noqa: W291 (two spaces: a line break)
# What the Markdown library used before produced for it, sanitised the same way.
ORDINARY_HTML = """<p>Dear Minister,</p>
<p>We, the <strong>undersigned</strong>, ask for <em>justice</em> and <a href="https://air.example.org/report?a=1&amp;b=2" rel="noopener nofollow">clean air</a>.
A second line of the same paragraph.</p>
<h2>What we ask</h2>
<ul>
<li><strong>Fund</strong> the schools;</li>
<li>pay teachers <em>on time</em>.</li>
</ul>
<ol>
<li>First.</li>
<li>Second.</li>
</ol>
<blockquote>
<p>Quoted words, with <code>code</code>.</p>
</blockquote>
<p>Respectfully,<br>
the signatories</p>"""  # noqa: E501


def test_ordinary_markdown_renders_as_before():
    assert render_body(ORDINARY).strip() == ORDINARY_HTML


# --- the migration fills in the HTML of existing texts -------------------------------------------


def test_migration_renders_the_bodies_of_texts_saved_before_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OUTBOX_WORKER": "external"})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "0003_exports"])
    assert result.exit_code == 0, result.output
    bodies = {
        "en": "Dear Minister,\n\nPlease act **now**:\n\n- one\n- two",
        "sq": "Shumë thellë:\n\n" + "> " * 30 + "fund",  # the renderer refuses this now
    }
    with app.app_context():
        # The table as 0003 left it: the model has columns added since.
        letter_id = db.session.execute(
            text(
                "INSERT INTO letters (slug, main_language, status, moderation,"
                " organisations_need_approval, auto_close, is_demo, created_at)"
                " VALUES ('old-letter', 'en', 'draft', 'none', false, true, false,"
                " '2026-01-01 00:00:00.000000') RETURNING id"
            )
        ).scalar_one()
        for language, body in bodies.items():
            db.session.execute(
                insert(LetterText.__table__).values(
                    letter_id=letter_id, language=language, title="T", summary="",
                    publisher="", body=body, text_hash=text_hash("T", body),
                )
            )  # fmt: skip
        db.session.commit()
        db.engine.dispose()

    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = dict(db.session.execute(select(LetterText.language, LetterText.body_html)).all())
        db.engine.dispose()
    assert stored["en"] == render_body(bodies["en"])
    assert "<strong>now</strong>" in stored["en"]
    assert stored["sq"] == render_stored_body(bodies["sq"])
    assert stored["sq"].startswith("<p>Shumë thellë:</p>") and "&gt; &gt;" in stored["sq"]

    result = runner.invoke(args=["db", "downgrade", "0003_exports"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("letter_texts")}
        kept = db.session.scalars(select(LetterText.body).order_by(LetterText.id)).all()
        db.engine.dispose()
    assert "body_html" not in columns and "body" in columns
    assert kept == list(bodies.values())
