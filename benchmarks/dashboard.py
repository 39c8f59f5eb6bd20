"""How long does a letter's staff dashboard take with 100,000 (or 1,000,000) signatures?

For each database and each size N, this builds a fresh database with the real migrations and the
demo letters, bulk-inserts N signatures into the G20 letter inside the database (a recursive CTE
on SQLite, ``generate_series`` on PostgreSQL) spread over the last 60 days, in every status (one
in twenty pending, withdrawn, spam, rejected and awaiting approval each, the rest confirmed; one
in fifty hidden; every tenth an organisation's; twelve countries), signs in an administrator
through the login form, and times K requests of ``/staff/letters/<slug>`` with the Flask test
client. It also times each query of the dashboard on its own and counts the SQL statements per
request (on SQLite that includes the ``BEGIN`` the app issues itself).

    .venv/bin/python benchmarks/dashboard.py
    .venv/bin/python benchmarks/dashboard.py --sizes 100000,1000000 \\
        --database-url postgresql://postgres@127.0.0.1/test_a

On PostgreSQL everything happens in a schema of its own (``--pg-schema``, default
``dashboard_bench``), recreated for each size and dropped at the end, with ``VACUUM ANALYZE``
after the insert (what autovacuum does soon after a bulk load).
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from flask import Flask  # noqa: E402
from letter_page import (  # noqa: E402
    SIGNATURE_COLUMNS,
    SLUG,
    build_app,
    pg_url,
    reset_pg_schema,
    settle,
    statement_counter,
)
from sqlalchemy import select, text  # noqa: E402

from petitions.extensions import db  # noqa: E402
from petitions.models.columns import utcnow  # noqa: E402
from petitions.models.letters import Letter, LetterText  # noqa: E402
from petitions.models.staff import StaffUser  # noqa: E402
from petitions.services import letter_stats  # noqa: E402
from petitions.services.passwords import hash_password  # noqa: E402

PASSWORD = "a long benchmark password"
PERIOD_SECONDS = 60 * 24 * 3600
COUNTRIES = "ALXKDEITFRGBUSMKGRRSMEAT"  # twelve two-letter codes


def _values(stamp: str, true: str, false: str) -> str:
    status = """CASE n % 20 WHEN 0 THEN 'pending' WHEN 1 THEN 'withdrawn' WHEN 2 THEN 'spam'
        WHEN 3 THEN 'rejected' WHEN 4 THEN 'awaiting_approval' ELSE 'confirmed' END"""
    return f"""
        :letter_id,
        CASE WHEN n % 10 = 0 THEN 'organisation' ELSE 'individual' END,
        {status},
        'Signer ' || n, 'signer' || n || '@example.org', 'signer' || n || '@example.org',
        CASE WHEN n % 10 = 0 THEN 'Organisation ' || n ELSE '' END,
        '', substr('{COUNTRIES}', 1 + 2 * (n % 12), 2), 'Tirana', '', '',
        {true}, CASE WHEN n % 50 = 7 THEN {true} ELSE {false} END,
        'en', :text_id, :text_hash, :text_hash, {stamp}, '', 'bench', 'bench', 1, 0,
        {stamp}, CASE WHEN n % 20 = 0 THEN NULL ELSE {stamp} END, NULL, {stamp}"""


SQLITE_STAMP = (
    "strftime('%Y-%m-%d %H:%M:%S', :start, '+' || (n * :step) || ' seconds') || '.000000'"
)
SQLITE_INSERT = f"""
    WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count)
    INSERT INTO signatures ({SIGNATURE_COLUMNS})
    SELECT {_values(SQLITE_STAMP, "1", "0")} FROM seq"""
PG_STAMP = "CAST(:start AS TIMESTAMPTZ) + n * :step * INTERVAL '1 second'"
PG_INSERT = f"""
    INSERT INTO signatures ({SIGNATURE_COLUMNS})
    SELECT {_values(PG_STAMP, "true", "false")} FROM generate_series(1, :count) AS n"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="signature counts, comma-separated")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per size")
    parser.add_argument("--database-url", help="also run on this PostgreSQL database")
    parser.add_argument("--pg-schema", default="dashboard_bench", help="schema used on it")
    parser.add_argument("--no-sqlite", action="store_true", help="only run on PostgreSQL")
    parser.add_argument(
        "--suggested-indexes",
        action="store_true",
        help="also create the indexes SUGGESTED_INDEXES lists (not in the app's schema)",
    )
    args = parser.parse_args()
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql")):
        parser.error("--database-url must be a postgresql:// URL")
    if not args.pg_schema.isidentifier():
        parser.error("--pg-schema must be a plain identifier")
    return args


# An index the countries table could use; the app's schema does not have it (the other two
# once suggested here, per day and hidden, are in migration 0002).
SUGGESTED_INDEXES = [
    "CREATE INDEX ix_bench_letter_country ON signatures (letter_id, status, country)",
]


def fill(app: Flask, count: int, suggested_indexes: bool = False) -> float:
    """Insert ``count`` signatures into the G20 letter over the last 60 days; return seconds."""
    started = time.perf_counter()
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        assert letter is not None
        text_row = db.session.scalar(
            select(LetterText).where(LetterText.letter_id == letter.id, LetterText.language == "en")
        )
        assert text_row is not None
        now = utcnow()
        start = now - timedelta(seconds=PERIOD_SECONDS)
        letter.created_at = letter.opens_at = start - timedelta(days=1)
        letter.closes_at = now + timedelta(days=30)
        dialect = db.engine.dialect.name
        db.session.execute(
            text(PG_INSERT if dialect == "postgresql" else SQLITE_INSERT),
            {
                "count": count,
                "start": start.strftime("%Y-%m-%d %H:%M:%S")
                + ("+00" if dialect != "sqlite" else ""),
                "step": max(1, PERIOD_SECONDS // count),
                "letter_id": letter.id,
                "text_id": text_row.id,
                "text_hash": text_row.text_hash,
            },
        )
        db.session.add(StaffUser(email="bench@example.org", role="admin",
                                 password_hash=hash_password(PASSWORD)))  # fmt: skip
        if suggested_indexes:
            for statement in SUGGESTED_INDEXES:
                db.session.execute(text(statement))
        db.session.commit()
        settle(count)
    return time.perf_counter() - started


def signed_in(app: Flask) -> Any:
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/staff/login",
        data={"csrf_token": token, "email": "bench@example.org", "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.status_code
    return client


def summary(timings: list[float]) -> dict[str, float]:
    timings = sorted(timings)
    return {
        "mean": statistics.fmean(timings),
        "p50": timings[math.ceil(0.50 * len(timings)) - 1],
        "max": timings[-1],
    }


def time_dashboard(app: Flask, count: int, requests: int) -> tuple[dict[str, float], int]:
    client = signed_in(app)
    url = f"/staff/letters/{SLUG}"
    confirmed = count - 5 * (count // 20)
    for _ in range(2):  # warm: templates compiled, connection pooled
        response = client.get(url)
        assert response.status_code == 200, response.status_code
    assert f'<td class="num">{confirmed}</td>' in response.text, "the confirmed count is wrong"
    timings, statements = [], 0
    with statement_counter(app) as counter:
        for _ in range(requests):
            counter[0] = 0
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
            statements = max(statements, counter[0])
    return summary(timings), statements


def time_queries(app: Flask, requests: int) -> dict[str, dict[str, float]]:
    """Each of the dashboard's queries on its own."""
    results = {}
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        now = utcnow()
        queries: dict[str, Callable[[], Any]] = {
            "counts by status": lambda: letter_stats.status_counts(letter),
            "per day (2 queries)": lambda: letter_stats.daily_series(letter, now),
            "countries": lambda: letter_stats.top_countries(letter),
            "audit events": lambda: letter_stats.recent_events(letter),
            "latest signatures": lambda: letter_stats.recent_signatures(letter),
        }
        for label, run in queries.items():
            run()
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                run()
                timings.append((time.perf_counter() - started) * 1000)
            results[label] = summary(timings)
        db.session.rollback()
    return results


def main() -> int:
    args = parse_args()
    rows: list[tuple[str, int, str, dict[str, float], str]] = []
    backends = [] if args.no_sqlite else ["sqlite"]
    if args.database_url:
        backends.append("postgresql")
    with tempfile.TemporaryDirectory(prefix="dashboard-") as tmp:
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
                seconds = fill(app, count, args.suggested_indexes)
                print(f"{backend}: {count:,} signatures inserted in {seconds:.1f} s", flush=True)
                figures, statements = time_dashboard(app, count, args.requests)
                rows.append((backend, count, "dashboard page", figures, str(statements)))
                for label, one in time_queries(app, args.requests).items():
                    rows.append((backend, count, f"  {label}", one, ""))
                with app.app_context():
                    db.engine.dispose()
        if args.database_url:
            reset_pg_schema(args.database_url, args.pg_schema, create=False)

    indexes = " (with the suggested indexes)" if args.suggested_indexes else ""
    print(f"\nFlask test client, one thread; {args.requests} timed requests each{indexes}")
    print(f"{'database':11}{'signatures':>11}  {'what':24}{'mean ms':>9}{'p50 ms':>9}"
          f"{'max ms':>9}{'SQL/request':>13}")  # fmt: skip
    for backend, count, label, f, statements in rows:
        print(f"{backend:11}{count:>11,}  {label:24}{f['mean']:9.1f}{f['p50']:9.1f}"
              f"{f['max']:9.1f}{statements:>13}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
