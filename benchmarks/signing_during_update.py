"""Does signing stay responsive while an update goes out to 100,000 signers?

    python benchmarks/signing_during_update.py                      # SQLite, in a temporary folder
    python benchmarks/signing_during_update.py --database-url postgresql://postgres@127.0.0.1/bench
    python benchmarks/signing_during_update.py --signers 2000 --seconds 5   # a quick try

It writes N confirmed, opted-in signatures on the G20 letter (``update_queue.prepare``), then runs
the site as it is deployed: gunicorn (``petitions:create_app()``, 2 workers) with
``OUTBOX_WORKER=external`` and ``JOBS_WORKER=external``, one ``flask --app petitions outbox work``,
one ``flask --app petitions jobs work``, and an SMTP sink (aiosmtpd, in a process of its own) that
only counts what it receives: update emails (to the N signers) apart from the others, whose
arrival times it notes (the clients' confirmation emails).

- Phase A: ``--clients`` threads sign another letter (the inclusive-education one) for
  ``--seconds``, each repeating GET the letter page (CSRF token and cookie), POST the form.
- Phase B: an update to the N signers is recorded and its job queued, as the staff page does
  (``create_update``, then the jobs worker runs ``queue_update``). As soon as the sink receives
  the first update email, the same clients sign again for ``--seconds``.
- Then as long again without clients: how fast the update goes out on its own.

For each phase it prints signatures per second, the latency (p50/p95/max) of the letter page GET
and of the signing POST, the update emails the sink received per second, whether the job had
finished queueing, and how many of each phase's confirmation emails had arrived at the end (and
how long after their signature). On PostgreSQL the database's tables are dropped first: give it
a scratch database. Only 127.0.0.1 is used; the ports are ``--port`` (site, default 5950) and
``--port + 1`` (SMTP sink).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from load import Client, Results, percentile, sign_once  # noqa: E402

SIGNED = "inclusive-education-albania"  # the letter the clients sign; the update goes to G20
UPDATE_PREFIX = "signer"  # update_queue.prepare's addresses: signerNNNNNNN@example.org


# --- the SMTP sink (a process of its own, so counting costs the clients nothing) ---


def run_sink(port: int, counts_file: Path) -> None:
    """Accept every message; every 0.2 s write "<update emails> <other emails>" to the file.

    The time each other email (a confirmation) arrives goes to ``<counts_file>.arrivals``, one
    "<unix time> <recipient>" line each, so the parent can tell how long signers waited for it.
    """
    from aiosmtpd.controller import Controller

    counts = [0, 0]
    arrivals = counts_file.with_suffix(".arrivals").open("a")

    class Counter:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            update = all(rcpt.startswith(UPDATE_PREFIX) for rcpt in envelope.rcpt_tos)
            counts[0 if update else 1] += 1
            if not update:
                now = time.time()
                arrivals.writelines(f"{now:.3f} {rcpt}\n" for rcpt in envelope.rcpt_tos)
                arrivals.flush()
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.2):
            temporary = counts_file.with_suffix(".tmp")
            temporary.write_text(f"{counts[0]} {counts[1]}")
            temporary.replace(counts_file)
    finally:
        controller.stop()


def read_arrivals(counts_file: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in counts_file.with_suffix(".arrivals").read_text().splitlines():
            when, rcpt = line.split(" ", 1)
            found.setdefault(rcpt, float(when))
    return found


def read_counts(counts_file: Path) -> tuple[int, int]:
    try:
        update, other = counts_file.read_text().split()
    except (FileNotFoundError, ValueError):
        return 0, 0
    return int(update), int(other)


# --- the processes ---


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise SystemExit(f"nothing answered on port {port} after {seconds:.0f} s")


@contextlib.contextmanager
def processes(tmp: Path, env: dict[str, str], port: int) -> Iterator[Path]:
    """Start the sink, gunicorn, the outbox worker and the jobs worker; stop them all at the end."""
    bin_dir = Path(sys.executable).parent
    counts_file = tmp / "sink-counts"
    flask = [str(bin_dir / "flask"), "--app", "petitions"]
    commands = {
        "sink": [sys.executable, __file__, "--sink", str(port + 1), "--counts", str(counts_file)],
        "gunicorn": [
            *(str(bin_dir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}"),
            "--no-control-socket",  # its default path is shared by every gunicorn of this user
            "petitions:create_app()",
        ],
        "outbox": [*flask, "outbox", "work"],
        "jobs": [*flask, "jobs", "work"],
    }
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in commands.items():
            log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 (the child keeps it)
            started.append(
                subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            )
            log.close()
            if name == "sink":
                wait_for_port(port + 1, started[-1])
        wait_for_port(port, started[1])
        yield counts_file
    finally:
        for process in reversed(started):  # the sink last: the outbox worker ends its round
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- the clients ---


@dataclass
class Phase:
    label: str
    seconds: float
    results: Results
    update_emails: int = 0
    queued: str = ""
    signed: dict[str, float] = field(default_factory=dict)


def sign_for(url: str, clients: int, seconds: float, tag: str) -> Phase:
    """``clients`` threads sign for ``seconds``; when each signature was made, by address."""
    results = Results()
    signed: dict[str, float] = {}
    started = time.monotonic()
    deadline = started + seconds

    def work(index: int) -> None:
        client = Client(url, 60)
        mine = Results()  # this thread's alone: a signature made is one more ``completed``
        n = 0
        try:
            while time.monotonic() < deadline:
                email = f"bench-{tag.replace(' ', '-')}-{index}-{n}@example.org"
                done = mine.completed
                sign_once(client, SIGNED, email, mine)
                if mine.completed > done:
                    signed[email] = time.time()
                n += 1
        finally:
            client.close()
        with results.lock:
            results.get_ms.extend(mine.get_ms)
            results.post_ms.extend(mine.post_ms)
            results.errors.update(mine.errors)
            results.completed += mine.completed

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Phase(tag, time.monotonic() - started, results, signed=signed)


def figures(values: list[float]) -> str:
    if not values:
        return "- / - / -"
    return " / ".join(f"{v:.0f}" for v in (percentile(values, q) for q in (0.5, 0.95, 1.0)))


# --- the update ---


def record_update(url: str) -> int:
    """Record an update to the G20 letter's opted-in signers and queue its job (as staff do)."""
    from sqlalchemy import select
    from update_queue import make_app

    from petitions.extensions import db
    from petitions.models.database import unit_of_work
    from petitions.models.letters import Letter
    from petitions.services import updates

    app = make_app(url)
    with app.app_context(), unit_of_work():  # a writer from its start (SQLite: BEGIN IMMEDIATE)
        letter = db.session.scalars(
            select(Letter).where(Letter.slug == "g20-protect-education")
        ).one()
        item = updates.create_update(
            letter,
            updates.UpdateInput(
                {"en": "The addressees answered", "sq": "Adresuesit u përgjigjën"},
                {
                    "en": "They **answered** today.\n\n" + "Thank you. " * 40,
                    "sq": "Ata **u përgjigjën** sot.\n\n" + "Faleminderit. " * 40,
                },
            ),
            by=None,
        )
        db.session.flush()
        update_id = item.id
    with app.app_context():
        app.extensions["petitions.jobs"].queue_update(update_id)
    return update_id


def update_state(url: str, update_id: int) -> str:
    from sqlalchemy import func, select
    from update_queue import make_app

    from petitions.extensions import db
    from petitions.models.follow_up import LetterUpdate, UpdateDelivery

    app = make_app(url)
    with app.app_context():
        item = db.session.get(LetterUpdate, update_id)
        assert item is not None
        rows = db.session.scalar(
            select(func.count())
            .select_from(UpdateDelivery)
            .where(UpdateDelivery.update_id == update_id)
        )
        return f"{rows:,} of {item.recipients:,} queued" + (
            " (job finished)" if item.queued_at else " (job still queueing)"
        )


def prepare_signers(url: str, signers: int) -> None:
    """N opted-in signers on G20 (``update_queue.prepare``); its own update marked as done.

    ``prepare`` also records an update; left unqueued, the jobs worker's schedule would resume
    it during the baseline. It is marked queued (with no emails): phase B records its own.
    """
    from update_queue import make_app, prepare

    from petitions.extensions import db
    from petitions.models.columns import utcnow
    from petitions.models.follow_up import LetterUpdate

    update_id = prepare(url, signers)
    app = make_app(url)
    with app.app_context():
        item = db.session.get(LetterUpdate, update_id)
        assert item is not None
        item.queued_at = utcnow()
        db.session.commit()


# --- the run ---


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--signers", type=int, default=100_000, help="opted-in signers to mail")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=4, help="concurrent signing clients")
    parser.add_argument("--port", type=int, default=5950, help="site port; the sink uses +1")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--counts", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.sink:
        run_sink(args.sink, args.counts)
        return
    tmp = Path(tempfile.mkdtemp(prefix="petitions-signing-update."))
    instance = tmp / "instance"
    instance.mkdir()
    os.environ["PETITIONS_INSTANCE"] = str(instance)
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    database = url.split(":")[0].split("+")[0]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PETITIONS_INSTANCE": str(instance),
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "MAIL_URL": f"smtp://127.0.0.1:{args.port + 1}",
        "PUBLIC_URL": "https://letters.example.org",
        "OUTBOX_WORKER": "external",
        "JOBS_WORKER": "external",
        "RATELIMIT_ENABLED": "false",
    }
    for name in ("PETITIONS_ENV", "FLASK_ENV", "REDIS_URL", "MAIL_MAX_PER_SECOND"):
        env.pop(name, None)
    site = f"http://127.0.0.1:{args.port}"
    try:
        started = time.perf_counter()
        prepare_signers(url, args.signers)
        print(
            f"{database}: {args.signers:,} signers written in {time.perf_counter() - started:.1f} s"
        )
        with processes(tmp, env, args.port) as counts_file:
            sign_for(site, args.clients, 2.0, "warm")  # workers up, templates compiled
            phases = [sign_for(site, args.clients, args.seconds, "alone")]
            time.sleep(2.0)  # the baseline's confirmation emails reach the sink
            queued_at = time.monotonic()
            update_id = record_update(url)
            while read_counts(counts_file)[0] == 0:
                if time.monotonic() - queued_at > 120:
                    raise SystemExit("no update email reached the sink within 120 s")
                time.sleep(0.05)
            first = time.monotonic() - queued_at
            before = read_counts(counts_file)
            during = sign_for(site, args.clients, args.seconds, "during the send")
            after = read_counts(counts_file)
            during.update_emails = after[0] - before[0]
            during.queued = update_state(url, update_id)
            phases.append(during)
            # The same length again without clients: how fast the send goes on its own.
            started = time.monotonic()
            time.sleep(args.seconds)
            took = time.monotonic() - started
            later = read_counts(counts_file)
            phases.append(Phase("send alone", took, Results(), later[0] - after[0]))
            report(args, database, phases, first, read_arrivals(counts_file))
            left = args.signers - later[0]
            rate = phases[-1].update_emails / phases[-1].seconds
            print(
                f"confirmations looked for {args.seconds:.0f} s after the clients stopped; "
                f"update emails not yet delivered then: {left:,}"
                + (f" (about {left / rate:,.0f} s more at {rate:,.0f}/s)" if left and rate else "")
            )
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


def report(
    args: argparse.Namespace,
    database: str,
    phases: list[Phase],
    first: float,
    arrivals: dict[str, float],
) -> None:
    load = os.getloadavg()
    print(
        f"{database}, {args.signers:,} opted-in signers, {args.clients} clients, "
        f"{args.seconds:.0f} s per phase, gunicorn -w 2 + 1 outbox worker + 1 jobs worker; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"first update email at the sink {first:.1f} s after the update was queued")
    print(
        "| phase | signatures/s | letter page GET p50 / p95 / max ms "
        "| signing POST p50 / p95 / max ms | errors | update emails delivered/s "
        "| confirmation emails arrived, wait p50 / max s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for phase in phases:
        results = phase.results
        signing = bool(phase.signed) or bool(results.errors)
        waits = [arrivals[email] - at for email, at in phase.signed.items() if email in arrivals]
        confirmations = f"{len(waits)} of {len(phase.signed)}"
        if waits:
            confirmations += f", {percentile(waits, 0.5):.1f} / {max(waits):.1f}"
        cells = [
            phase.label,
            f"{results.completed / phase.seconds:.1f}" if signing else "",
            figures(results.get_ms) if signing else "",
            figures(results.post_ms) if signing else "",
            (", ".join(f"{k} {v}" for k, v in results.errors.items()) or "none") if signing else "",
            f"{phase.update_emails / phase.seconds:,.0f} ({phase.update_emails:,} in "
            f"{phase.seconds:.0f} s)"
            if phase.label != "alone"
            else "",
            confirmations if signing else "",
        ]
        print("| " + " | ".join(cells) + " |")
    for phase in phases:
        if phase.queued:
            print(f"at the end of the phase with clients: {phase.queued}")


if __name__ == "__main__":
    main()
