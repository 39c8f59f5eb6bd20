"""``flask --app petitions …`` commands: thin wrappers over the services."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from petitions.database import write_intent
from petitions.extensions import db
from petitions.outbox_delivery import close_expired, deliver_all_due
from petitions.services.counters import recount
from petitions.services.demo import load_demo_letters

counts_cli = AppGroup("counts", help="Signature counters.")
outbox_cli = AppGroup("outbox", help="The email outbox.")
letters_cli = AppGroup("letters", help="Letters.")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo letters (idempotent)."""
    with write_intent():
        created = load_demo_letters()
        db.session.commit()
    if created:
        click.echo("Loaded demo letters: " + ", ".join(created))
    else:
        click.echo("The demo letters are already there.")


@counts_cli.command("check")
@click.option("--dry-run", is_flag=True, help="Report differences without repairing them.")
def counts_check(dry_run: bool) -> None:
    """Recount every letter's signatures and repair the stored counters."""
    with write_intent():
        drifts = recount(repair=not dry_run)
        db.session.commit()
    for drift in drifts:
        click.echo(
            f"{drift.slug}: stored individuals/organisations {drift.stored}, actual {drift.actual}"
            + ("" if dry_run else " (repaired)")
        )
    click.echo(f"{len(drifts)} letter(s) with wrong counters.")
    if drifts and dry_run:
        sys.exit(1)


@outbox_cli.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
def outbox_work(once: bool) -> None:
    """Deliver queued email until stopped (run as many as you like, on any machine)."""
    if once:
        click.echo(f"Sent {deliver_all_due()} email(s).")
        return
    worker = current_app.extensions["petitions.outbox"]

    def stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stopping.set()
        worker.wake.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("Delivering email; stop with Ctrl-C.")
    worker.run_forever()


@letters_cli.command("close-expired")
def letters_close_expired() -> None:
    """Close open letters whose deadline has passed."""
    click.echo(f"Closed {close_expired()} letter(s).")


def init_cli(app: Flask) -> None:
    for command in (demo_command, counts_cli, outbox_cli, letters_cli):
        app.cli.add_command(command)
