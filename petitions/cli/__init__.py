"""``flask --app petitions …`` commands: thin wrappers over the services, one module per area."""

from __future__ import annotations

from flask import Flask


def init_cli(app: Flask) -> None:
    from petitions.cli.commands import (
        counts_cli,
        demo_command,
        letters_cli,
        outbox_cli,
        staff_cli,
    )
    from petitions.cli.exports import export_command, jobs_cli
    from petitions.cli.generate import generate_command
    from petitions.cli.privacy import retention_cli

    for command in (
        demo_command,
        counts_cli,
        outbox_cli,
        letters_cli,
        staff_cli,
        generate_command,
        export_command,
        jobs_cli,
        retention_cli,
    ):
        app.cli.add_command(command)
