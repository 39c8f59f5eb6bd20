"""``flask --app petitions backup FILE`` and ``restore FILE [--force]``."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from petitions.extensions import db
from petitions.models.backups import (
    BackupError,
    backup_sqlite,
    pg_dump,
    restore_sqlite,
    sqlite_path,
)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write a consistent copy of the database to FILE while the site keeps serving.

    SQLite: a database file (restore it with `restore`). PostgreSQL: a pg_dump archive in its
    custom format (restore it with pg_restore).
    """
    url = db.engine.url
    try:
        if url.get_backend_name() == "postgresql":
            pg_dump(url, file)
            click.echo(f"Wrote a pg_dump archive to {file}; restore it with pg_restore.")
            return
        summary = backup_sqlite(sqlite_path(url), file)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Wrote {summary.path} ({summary.size:,} bytes, {summary.signatures:,} signatures).")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds letters.")
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Put a SQLite backup made by `backup` back as this site's database.

    Stop the site and its workers first: a database that holds letters is replaced only with
    --force. (PostgreSQL: use pg_restore, see the README.)
    """
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            "restore is for SQLite; for PostgreSQL run pg_restore --clean --if-exists "
            "--no-owner --dbname=DATABASE FILE"
        )
    db.engine.dispose()
    try:
        summary = restore_sqlite(file, sqlite_path(url), force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {summary.path} from {file} ({summary.signatures:,} signatures).")
