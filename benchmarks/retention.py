"""How long does the retention run take to anonymise a letter of 1,000,000 signatures, and how
long does signing on another letter wait meanwhile?

For each database it builds a fresh database with the real migrations and the demo letters,
fills a generated letter with N signatures (``services/data_generator.py``, as
``flask generate --signatures N``), marks it closed long ago, and then a thread signs the G20 letter
through the signing form (test client: ``POST /letters/<slug>/sign``, a fresh address each time)
as fast as it can, one signature after another, while ``flask --app petitions retention run``
runs in a process of its own (as the command line or the scheduler runs it). It prints the
run's wall time and rows per second, the CPU time of the run's process (the figure to compare on
a busy machine), and the signing latencies during the run (median, p99, maximum) next to those
of the same signer before the run.

    .venv/bin/python benchmarks/retention.py --signatures 1000000
    .venv/bin/python benchmarks/retention.py --signatures 1000000 --no-sqlite \\
        --database-url postgresql://postgres@127.0.0.1/test_a

On PostgreSQL everything happens in a schema of its own (``--pg-schema``), recreated and dropped.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from flask import Flask  # noqa: E402
from letter_page import build_app, pg_url, reset_pg_schema, settle  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from petitions.extensions import db  # noqa: E402
from petitions.models.columns import utcnow  # noqa: E402
from petitions.models.letters import Letter  # noqa: E402
from petitions.models.signatures import Signature  # noqa: E402
from petitions.services.data_generator import generate  # noqa: E402
from petitions.services.retention import TARGET_SECONDS  # noqa: E402

SLUG = "retention-bench"
SIGN_SLUG = "g20-protect-education"
CSRF = '"csrf_token" type="hidden" value="'


class Signer(threading.Thread):
    """Signs the G20 letter again and again through the form; records each POST's latency."""

    def __init__(self, app: Flask, prefix: str) -> None:
        super().__init__(daemon=True)
        self.app, self.prefix = app, prefix
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.failures = 0

    def run(self) -> None:
        client = self.app.test_client()
        page = client.get(f"/letters/{SIGN_SLUG}").get_data(as_text=True)
        token = page.split(CSRF, 1)[1].split('"', 1)[0]
        n = 0
        while not self.stop.is_set():
            n += 1
            data = {
                "csrf_token": token,
                "kind": "individual",
                "name": "Bench Signer",
                "email": f"{self.prefix}{n}@bench.example",
                "country": "AL",
                "consent": "y",
                "public": "y",
            }
            started = time.perf_counter()
            answer = client.post(f"/letters/{SIGN_SLUG}/sign", data=data)
            self.latencies.append(time.perf_counter() - started)
            self.failures += answer.status_code != 303


def summary(latencies: list[float]) -> str:
    if not latencies:
        return "no signatures"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered)} signatures, median {statistics.median(ordered) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


def measure(app: Flask, url: str, count: int, baseline_seconds: float) -> dict[str, float]:
    started = time.perf_counter()
    with app.app_context():
        generate(count, SLUG)
        settle_count = db.session.scalar(select(func.count()).select_from(Signature))
        db.session.execute(
            update(Letter)
            .where(Letter.slug == SLUG)
            .values(status="closed", closed_at=utcnow() - timedelta(days=400))
        )
        db.session.commit()
        settle(settle_count or 0)
    print(f"  generated {count:,} signatures in {time.perf_counter() - started:.1f} s", flush=True)

    alone = Signer(app, "alone")
    alone.start()
    time.sleep(baseline_seconds)
    alone.stop.set()
    alone.join()
    print(f"  signing alone:            {summary(alone.latencies)}", flush=True)

    during = Signer(app, "during")
    during.start()
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The run is its own process, as the command line and the scheduler run it.
    run = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "petitions", "retention", "run"],
        env={
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "RETENTION_DAYS": "180",
            "OUTBOX_WORKER": "external",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    during.stop.set()
    during.join()
    print("  " + run.stdout.strip().replace("\n", "\n  "), flush=True)
    print(
        f"  retention run: {count:,} signatures in {seconds:.1f} s with process start "
        f"({count / seconds:,.0f}/s; windows sized for ~{TARGET_SECONDS} s)",
        flush=True,
    )
    print(f"  CPU time of the run's process: {cpu:.1f} s (user + system)", flush=True)
    print(f"  signing during the run:   {summary(during.latencies)}", flush=True)
    if during.failures or alone.failures:
        print(f"  failed signatures: {alone.failures} alone, {during.failures} during")
    with app.app_context():
        left = db.session.scalar(
            select(func.count())
            .select_from(Signature)
            .join(Letter)
            .where(Letter.slug == SLUG, Signature.anonymised_at.is_(None))
        )
    assert left == 0, left
    return {"seconds": seconds, "max_pause": max(during.latencies, default=0.0)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="also run on this PostgreSQL database")
    parser.add_argument("--pg-schema", default="retention_bench")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    backends = [] if args.no_sqlite else ["sqlite"]
    if args.database_url:
        backends.append("postgresql")
    with tempfile.TemporaryDirectory(prefix="retention-") as tmp:
        for backend in backends:
            folder = Path(tmp) / backend
            folder.mkdir()
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'bench.sqlite3'}"
            else:
                reset_pg_schema(args.database_url, args.pg_schema)
                url = pg_url(args.database_url, args.pg_schema)
            print(f"{backend}:", flush=True)
            app = build_app(url, folder)
            try:
                measure(app, url, args.signatures, args.baseline_seconds)
            finally:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
                if backend == "postgresql":
                    reset_pg_schema(args.database_url, args.pg_schema, create=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
