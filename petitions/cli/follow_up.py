"""``flask --app petitions updates send|resume`` and ``reminders send``: thin over the services."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from petitions.models.database import unit_of_work
from petitions.services import letter_editing, updates
from petitions.services.reminders import send_due_reminders
from petitions.workers.update_sender import queue_update, resume_unfinished

updates_cli = AppGroup("updates", help="Updates to the signers who asked to hear.")
reminders_cli = AppGroup("reminders", help="Reminders to signatures still pending.")


@updates_cli.command("send")
@click.argument("slug")
@click.option("--subject", required=True, help="The email's subject.")
@click.option(
    "--body-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The text, in Markdown (UTF-8).",
)
@click.option("--language", help="The language it is written in (default: the letter's main).")
@click.option("--public", is_flag=True, help="Also publish it on the letter's page.")
def updates_send(
    slug: str, subject: str, body_file: Path, language: str | None, public: bool
) -> None:
    """Send an update to the letter's opted-in counted signers (each exactly once)."""
    body = body_file.read_text(encoding="utf-8")
    with unit_of_work():
        letter = letter_editing.staff_letter(slug)
        if letter is None:
            raise click.ClickException(f"no letter {slug!r}")
        language = language or letter.main_language
        if language not in letter.languages:
            raise click.ClickException(
                f"the letter has no text in {language!r} ({', '.join(letter.languages)})"
            )
        try:
            item = updates.create_update(
                letter,
                updates.UpdateInput({language: subject}, {language: body}, is_public=public),
                by=None,
            )
        except updates.UpdateEmpty:
            raise click.ClickException("the subject and the text must not be empty") from None
        update_id, recipients = item.id, item.recipients
    queue_update(update_id)
    click.echo(f"Update {update_id}: {recipients} recipient(s).")


@updates_cli.command("resume")
def updates_resume() -> None:
    """Finish queueing updates whose job was killed (nobody gets one twice)."""
    click.echo(f"Resumed {resume_unfinished()} update(s).")


@reminders_cli.command("send")
def reminders_send() -> None:
    """Send the reminders that are due (idempotent: nobody gets two)."""
    click.echo(f"Sent {send_due_reminders()} reminder(s).")
