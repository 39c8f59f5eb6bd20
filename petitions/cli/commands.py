"""``flask --app petitions …`` commands: thin wrappers over the services."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from petitions.models.database import unit_of_work
from petitions.models.staff import Role
from petitions.services.counters import recount
from petitions.services.demo import load_demo_letters
from petitions.services.letter_editing import LetterEditError, staff_letter
from petitions.services.letter_status import StatusAction, change_status
from petitions.services.passwords import PasswordRejected, new_password_hash
from petitions.services.staff_accounts import StaffError, create_staff, normalise_staff_email
from petitions.workers.letter_closing import close_expired
from petitions.workers.outbox_delivery import deliver_all_due

counts_cli = AppGroup("counts", help="Signature counters.")
outbox_cli = AppGroup("outbox", help="The email outbox.")
letters_cli = AppGroup("letters", help="Letters.")
staff_cli = AppGroup("staff", help="Staff accounts.")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo letters (idempotent)."""
    with unit_of_work():
        created = load_demo_letters()
    if created:
        click.echo("Loaded demo letters: " + ", ".join(created))
    else:
        click.echo("The demo letters are already there.")


@counts_cli.command("check")
@click.option("--dry-run", is_flag=True, help="Report differences without repairing them.")
def counts_check(dry_run: bool) -> None:
    """Recount every letter's signatures and repair the stored counters."""
    with unit_of_work():
        drifts = recount(repair=not dry_run)
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
    """Deliver queued email until stopped (run as many as you like, on any machine).

    SIGTERM or Ctrl-C stops it after the email being sent, with every outcome recorded and the
    emails it had claimed but not tried handed back; a second one stops it at once.
    """
    worker = current_app.extensions["petitions.outbox"]

    def stop(signum: int, _frame: FrameType | None) -> None:
        worker.stopping.set()
        worker.wake.set()
        signal.signal(signum, signal.SIG_DFL)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        if once:
            click.echo(f"Sent {deliver_all_due(stop=worker.stopping)} email(s).")
            return
        click.echo("Delivering email; stop with Ctrl-C.")
        worker.run_forever()
        click.echo("Stopped.")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@letters_cli.command("close-expired")
def letters_close_expired() -> None:
    """Close open letters whose deadline has passed."""
    click.echo(f"Closed {close_expired()} letter(s).")


@letters_cli.command("close")
@click.argument("slug")
def letters_close(slug: str) -> None:
    """Close an open letter, as the staff button does (audited as the command line)."""
    try:
        with unit_of_work():
            letter = staff_letter(slug)
            if letter is None:
                raise click.ClickException(f"No letter {slug!r}.")
            change_status(letter, StatusAction.CLOSE, via="cli")
    except LetterEditError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Closed {slug}.")


def _read_password() -> str:
    """From standard input when it is not a terminal (scripts), else prompted twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
def staff_create(email: str, role: str) -> None:
    """Create a staff account; the password comes from standard input or a prompt."""
    password = _read_password()
    try:
        address = normalise_staff_email(email)
        # argon2 before the write transaction: on SQLite it would hold back every other writer.
        password_hash = new_password_hash(password, address)
    except (StaffError, PasswordRejected) as error:
        raise click.ClickException(str(error)) from None
    try:
        with unit_of_work():
            user = create_staff(address, Role(role), password_hash)
    except StaffError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} account {user.email}.")
