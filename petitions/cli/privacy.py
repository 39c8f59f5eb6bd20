"""``flask --app petitions retention run [--dry-run]``: anonymise what is past its date."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from petitions.services.retention import run_retention

retention_cli = AppGroup("retention", help="Retention of signers' personal data.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Print what would go; change nothing.")
def retention_run(dry_run: bool) -> None:
    """Anonymise the signatures of letters past their retention date, delete their stored
    delivery PDFs, and expire old emails (idempotent; safe to stop and run again)."""
    report = run_retention(dry_run=dry_run)
    verb = "would anonymise" if dry_run else "anonymised"
    for letter in report.letters:
        click.echo(
            f"{letter.slug}: {verb} {letter.signatures:,} signature(s), "
            f"{'would delete' if dry_run else 'deleted'} {letter.pdfs} stored PDF(s) "
            f"(closed or delivered {letter.ended_at:%Y-%m-%d}, due {letter.due_at:%Y-%m-%d})"
        )
    emails = "would delete" if dry_run else "deleted"
    click.echo(
        f"{len(report.letters)} letter(s), {report.signatures:,} signature(s); {emails} "
        f"{report.emails:,} old email(s) and {report.offers:,} expired offer(s) "
        f"in {report.seconds:.1f} s."
    )
