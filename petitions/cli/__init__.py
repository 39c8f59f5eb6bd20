"""``flask --app petitions …`` commands: thin wrappers over the services, one module per area."""

from __future__ import annotations

from flask import Flask


def init_cli(app: Flask) -> None:
    from petitions.cli.backup import backup_command, restore_command
    from petitions.cli.commands import (
        counts_cli,
        demo_command,
        letters_cli,
        outbox_cli,
        staff_cli,
    )
    from petitions.cli.doctor import doctor_command
    from petitions.cli.exports import export_command, jobs_cli
    from petitions.cli.follow_up import reminders_cli, updates_cli
    from petitions.cli.generate import generate_command
    from petitions.cli.privacy import retention_cli
    from petitions.cli.schedule import jobs_run_due  # noqa: F401  (adds to the jobs group)

    for command in (
        demo_command,
        counts_cli,
        outbox_cli,
        letters_cli,
        staff_cli,
        generate_command,
        export_command,
        jobs_cli,
        doctor_command,
        backup_command,
        restore_command,
        updates_cli,
        reminders_cli,
        retention_cli,
    ):
        app.cli.add_command(command)
