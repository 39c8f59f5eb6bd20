"""Does the letter page cost the same with 100 and with 1,000,000 signatures?

For each database and each size N, this builds a fresh database with the real migrations and the
demo letters, bulk-inserts N confirmed public signatures into the G20 letter (in the database
itself: a recursive CTE on SQLite, ``generate_series`` on PostgreSQL) with the letter's stored
counters set to match, then times K requests of each page with the Flask test client and counts
the SQL statements each one sends (a ``before_cursor_execute`` listener; on SQLite that includes
the ``BEGIN`` the app issues itself).

    .venv/bin/python benchmarks/letter_page.py
    .venv/bin/python benchmarks/letter_page.py --database-url postgresql://postgres@127.0.0.1/test_d

On PostgreSQL everything happens in a schema of its own (``--pg-schema``, default
``letter_page_bench``), dropped and recreated for each size and dropped at the end; nothing else
in that database is touched. After the bulk insert PostgreSQL gets ``VACUUM ANALYZE`` (what
autovacuum does soon after a bulk load); SQLite gets nothing (the app never runs ``ANALYZE``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, event, select, text  # noqa: E402

from petitions import create_app  # noqa: E402
from petitions.extensions import db  # noqa: E402
from petitions.models.letters import Letter, LetterText  # noqa: E402
from petitions.models.signatures import Signature  # noqa: E402
from petitions.public.page_cache import PageCache  # noqa: E402

SLUG = "g20-protect-education"
PAGES = {
    "letter page (render)": f"/letters/{SLUG}",
    "letter page": f"/letters/{SLUG}",
    "API letter": f"/api/v1/letters/{SLUG}",
    "signatories p1": f"/letters/{SLUG}/signatories?kind=individual",
}
ORGANISATION_EVERY = 10  # every tenth signature is an organisation's

# The columns every signature needs, as SQL expressions of the row number ``n``.
SIGNATURE_COLUMNS = """letter_id, kind, status, name, email, email_canonical, organisation, title,
    country, city, website, comment, is_public, is_hidden, language, text_id, text_hash,
    consent_text_hash, consented_at, ip_hash, confirm_nonce, withdraw_nonce, confirm_emails_sent,
    notices_sent, created_at, confirmed_at, withdrawn_at, updated_at"""


def _values(stamp: str, true: str, false: str) -> str:
    org = f"n % {ORGANISATION_EVERY} = 0"
    return f"""
        :letter_id,
        CASE WHEN {org} THEN 'organisation' ELSE 'individual' END,
        'confirmed',
        'Signer ' || n,
        'signer' || n || '@example.org',
        'signer' || n || '@example.org',
        CASE WHEN {org} THEN 'Organisation ' || n ELSE '' END,
        '', 'AL', 'Tirana', '', '', {true}, {false}, 'en', :text_id, :text_hash, :text_hash,
        {stamp}, '', 'bench', 'bench', 1, 0, {stamp}, {stamp}, NULL, {stamp}"""


# SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC).
SQLITE_STAMP = "strftime('%Y-%m-%d %H:%M:%S', '2025-01-01', '+' || n || ' seconds') || '.000000'"
SQLITE_INSERT = f"""
    WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count)
    INSERT INTO signatures ({SIGNATURE_COLUMNS})
    SELECT {_values(SQLITE_STAMP, "1", "0")} FROM seq"""
PG_STAMP = "TIMESTAMPTZ '2025-01-01 00:00:00+00' + n * INTERVAL '1 second'"
PG_INSERT = f"""
    INSERT INTO signatures ({SIGNATURE_COLUMNS})
    SELECT {_values(PG_STAMP, "true", "false")} FROM generate_series(1, :count) AS n"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000000", help="signature counts, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument(
        "--page-seconds", type=float, default=60.0, help="stop timing a page after this long"
    )
    parser.add_argument("--database-url", help="also run on this PostgreSQL database")
    parser.add_argument("--pg-schema", default="letter_page_bench", help="schema used on it")
    parser.add_argument("--no-sqlite", action="store_true", help="only run on PostgreSQL")
    parser.add_argument("--explain", action="store_true", help="print the list query's plan")
    args = parser.parse_args()
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql")):
        parser.error("--database-url must be a postgresql:// URL")
    if not args.pg_schema.isidentifier():
        parser.error("--pg-schema must be a plain identifier")
    return args


def build_app(url: str, instance: Path) -> Flask:
    os.environ["PETITIONS_INSTANCE"] = str(instance)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
            "OUTBOX_WORKER": "external",
            "MAIL_URL": "console:",
        }
    )
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["demo"]):
        result = runner.invoke(args=command)
        if result.exit_code != 0:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{result.output}")
    return app


def fill(app: Flask, count: int) -> float:
    """Insert ``count`` confirmed public signatures into the G20 letter; return the seconds."""
    started = time.perf_counter()
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        assert letter is not None
        text_row = db.session.scalar(
            select(LetterText).where(
                LetterText.letter_id == letter.id, LetterText.language == letter.main_language
            )
        )
        assert text_row is not None
        dialect = db.engine.dialect.name
        db.session.execute(
            text(PG_INSERT if dialect == "postgresql" else SQLITE_INSERT),
            {
                "count": count,
                "letter_id": letter.id,
                "text_id": text_row.id,
                "text_hash": text_row.text_hash,
            },
        )
        organisations = count // ORGANISATION_EVERY
        letter.count_organisations = organisations
        letter.count_individuals = count - organisations
        db.session.commit()
        settle(count)
    return time.perf_counter() - started


def settle(count: int) -> None:
    """After a bulk load (in an app context): fresh planner statistics on PostgreSQL (what
    autovacuum does soon after), and a check that exactly ``count`` signatures are there."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE"
            )
    stored = db.session.scalar(select(db.func.count()).select_from(Signature))
    assert stored == count, (stored, count)


@contextlib.contextmanager
def statement_counter(app: Flask) -> Iterator[list[int]]:
    counter = [0]

    def count(*_args: Any) -> None:
        counter[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def time_pages(app: Flask, count: int, requests: int, budget: float) -> dict[str, dict[str, float]]:
    client = app.test_client()
    results = {}
    with statement_counter(app) as counter:
        for label, url in PAGES.items():
            # "(render)": a cache that keeps nothing, so every request renders the whole page.
            app.extensions["petitions.page_cache"] = PageCache(size=0 if "render" in label else 64)
            for _ in range(5):  # warm: templates compiled, caches filled, connection pooled
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            timings, statements = [], set()
            deadline = time.perf_counter() + budget
            for _ in range(requests):
                if time.perf_counter() > deadline:
                    break  # a slow page: what was timed so far is enough to show it
                counter[0] = 0
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                statements.add(counter[0])
                assert response.status_code == 200, (url, response.status_code)
            if label == "API letter":
                total = response.get_json()["signatures"]["total"]
                assert total == count, f"the API counts {total}, expected {count}"
            if label == "signatories p1":
                assert f"Signer {count - 1}<" in response.text or count < 2, "newest not listed"
            timings.sort()
            results[label] = {
                "mean": statistics.fmean(timings),
                "p50": timings[math.ceil(0.50 * len(timings)) - 1],
                "p99": timings[math.ceil(0.99 * len(timings)) - 1],
                "statements": max(statements),
                "statements_min": min(statements),
                "timed": len(timings),
            }
    return results


def explain(app: Flask) -> None:
    """Show how the database runs the "recent signatories" query of the letter page."""
    from petitions.models.signatures import SignatureKind
    from petitions.services import letters as letter_service

    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().startswith("SELECT signatures.id"):
            captured.append((statement, parameters))

    with app.test_request_context(f"/letters/{SLUG}"), statement_counter(app):
        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            letter = letter_service.published_letter(SLUG)
            assert letter is not None
            letter_service.public_signatories(letter, SignatureKind.INDIVIDUAL, 10)
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        statement, parameters = captured[-1]
        connection = db.session.connection()
        if db.engine.dialect.name == "postgresql":
            cursor = connection.connection.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        else:
            cursor = connection.connection.cursor()
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = [" | ".join(str(col) for col in row) for row in cursor.fetchall()]
        db.session.rollback()
    print("    " + " ".join(statement.split()))
    for line in plan:
        print("      " + line)


def pg_url(base: str, schema: str) -> str:
    url = base.replace("postgres://", "postgresql://", 1)
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def reset_pg_schema(base: str, schema: str, create: bool = True) -> None:
    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if create:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()


def main() -> int:
    args = parse_args()
    rows: list[tuple[str, int, str, dict[str, float]]] = []
    backends = [] if args.no_sqlite else ["sqlite"]
    if args.database_url:
        backends.append("postgresql")
    with tempfile.TemporaryDirectory(prefix="letter-page-") as tmp:
        for backend in backends:
            for count in args.sizes:
                folder = Path(tmp) / f"{backend}-{count}"
                folder.mkdir()
                if backend == "sqlite":
                    url = f"sqlite:///{folder / 'bench.sqlite3'}"
                else:
                    reset_pg_schema(args.database_url, args.pg_schema)
                    url = pg_url(args.database_url, args.pg_schema)
                app = build_app(url, folder)
                seconds = fill(app, count)
                print(f"{backend}: {count:,} signatures inserted in {seconds:.1f} s", flush=True)
                if args.explain:
                    explain(app)
                for label, figures in time_pages(
                    app, count, args.requests, args.page_seconds
                ).items():
                    rows.append((backend, count, label, figures))
                with app.app_context():
                    db.engine.dispose()
        if args.database_url:
            reset_pg_schema(args.database_url, args.pg_schema, create=False)

    print(
        f"\nFlask test client, one thread; up to {args.requests} requests or "
        f"{args.page_seconds:g} s per page"
    )
    print(f"{'database':11}{'signatures':>11}  {'page':16}{'requests':>9}{'mean ms':>9}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'SQL/request':>13}")  # fmt: skip
    for backend, count, label, f in rows:
        statements = f"{f['statements']}" + (
            f" ({f['statements_min']}-)" if f["statements_min"] != f["statements"] else ""
        )
        print(f"{backend:11}{count:>11,}  {label:16}{f['timed']:9}{f['mean']:9.2f}{f['p50']:9.2f}"
              f"{f['p99']:9.2f}{statements:>13}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
