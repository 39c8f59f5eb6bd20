"""Queueing an update to 100,000 opted-in signers: seconds and peak memory, SQLite and PostgreSQL.

    python benchmarks/update_queue.py                       # SQLite, in a temporary folder
    python benchmarks/update_queue.py --database-url postgresql://postgres@127.0.0.1/bench
    python benchmarks/update_queue.py --signers 20000

It builds the schema, writes N confirmed, opted-in signatures (a third in Albanian) straight to
the table, records one update in two languages, then times ``queue_update`` (every recipient's
delivery row and outbox email, in batches) in a fresh child process, whose peak RSS is the
figure printed (the parent's memory, which built the rows, does not count). It then runs the same
job again and reports how long a resume that finds everything done takes. Target: 30 s and
200 MB. On PostgreSQL the database's tables are dropped first: give it a scratch database.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_app(url: str) -> Any:
    from petitions import create_app

    return create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "OUTBOX_WORKER": "external",
            "JOBS_WORKER": "external",
            "MAIL_URL": "console:",
            "PUBLIC_URL": "https://letters.example.org",
            "DATABASE_STATEMENT_TIMEOUT": 0,
        }
    )


def prepare(url: str, signers: int) -> int:
    from sqlalchemy import insert, select, text

    from petitions.extensions import db
    from petitions.models.columns import utcnow
    from petitions.models.letters import Letter
    from petitions.models.signatures import Signature
    from petitions.services import updates
    from petitions.services.demo import load_demo_letters

    app = make_app(url)
    with app.app_context():
        if url.startswith("postgres"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        db.create_all()
        load_demo_letters()
        db.session.commit()
        letter = db.session.scalars(
            select(Letter).where(Letter.slug == "g20-protect-education")
        ).one()
        body = letter.text_in("en")
        now = utcnow()
        batch = 10_000
        for start in range(0, signers, batch):
            rows = [
                {
                    "letter_id": letter.id,
                    "kind": "individual",
                    "status": "confirmed",
                    "name": f"Signer {i}",
                    "email": f"signer{i:07d}@example.org",
                    "email_canonical": f"signer{i:07d}@example.org",
                    "email_domain": "example.org",
                    "country": "AL",
                    "language": "sq" if i % 3 == 0 else "en",
                    "text_id": body.id,
                    "text_hash": body.text_hash,
                    "consent_text_hash": "x",
                    "consented_at": now,
                    "confirm_nonce": secrets.token_hex(8),
                    "withdraw_nonce": secrets.token_hex(8),
                    "created_at": now,
                    "confirmed_at": now,
                    "updated_at": now,
                    "updates": True,
                    "updates_text_hash": "x",
                    "updates_chosen_at": now,
                }
                for i in range(start, min(signers, start + batch))
            ]
            db.session.execute(insert(Signature), rows)
            db.session.commit()
        item = updates.create_update(
            letter,
            updates.UpdateInput(
                {"en": "The letter was delivered", "sq": "Letra u dorëzua"},
                {
                    "en": "We **delivered** it today.\n\n" + "Thank you. " * 40,
                    "sq": "E **dorëzuam** sot.\n\n" + "Faleminderit. " * 40,
                },
            ),
            by=None,
        )
        db.session.commit()
        return item.id


def queue(url: str, update_id: int) -> None:
    """The child: time the job, print seconds, peak RSS and the outbox's size."""
    from sqlalchemy import func, select

    from petitions.extensions import db
    from petitions.models.outbox import OutboxEmail
    from petitions.workers.update_sender import queue_update

    app = make_app(url)
    with app.app_context():
        started = time.perf_counter()
        queue_update(update_id)
        took = time.perf_counter() - started
        count = db.session.scalar(select(func.count()).select_from(OutboxEmail))
        started = time.perf_counter()
        queue_update(update_id)  # everything done: a resume finds nothing to send
        again = time.perf_counter() - started
        count_after = db.session.scalar(select(func.count()).select_from(OutboxEmail))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"queued {count} emails in {took:.1f} s ({count / took:,.0f}/s), peak RSS {peak:.0f} MB; "
        f"run again: {again:.1f} s, emails {count_after}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--signers", type=int, default=100_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("PETITIONS_INSTANCE", tmp)
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        if args.child:
            queue(url, args.child)
            return
        started = time.perf_counter()
        update_id = prepare(url, args.signers)
        took = time.perf_counter() - started
        print(f"{url.split(':')[0]}: {args.signers} signers written in {took:.1f} s")
        subprocess.run(
            [sys.executable, __file__, "--database-url", url, "--child", str(update_id)],
            check=True,
            env={**os.environ, "PETITIONS_INSTANCE": tmp},
        )


if __name__ == "__main__":
    main()
