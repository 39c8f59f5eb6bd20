"""Backups that restore: a consistent copy of a live SQLite database, and putting one back.

The copy uses SQLite's online backup API in one step: it reads inside one transaction, so the
file holds exactly what was committed when it began; with WAL, people keep signing meanwhile
(their commits wait for nothing). The copy is written beside its destination and renamed into
place only after ``PRAGMA integrity_check`` passed, so a half-written backup never has the name.

PostgreSQL has its own tools for this (``pg_dump``/``pg_restore``, see the README); ``backup``
runs ``pg_dump`` for convenience when it is installed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL


class BackupError(Exception):
    """What the command line reports and stops on."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    size: int
    signatures: int


def sqlite_path(url: URL) -> Path:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("not a SQLite database file")
    return Path(url.database)


def _check(connection: sqlite3.Connection, what: str) -> int:
    verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(f"{what} is damaged: {verdict}")
    try:
        connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return int(connection.execute("SELECT count(*) FROM signatures").fetchone()[0])
    except sqlite3.DatabaseError:
        raise BackupError(f"{what} is not a petitions database") from None


def backup_sqlite(source: Path, destination: Path) -> BackupSummary:
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # one step: one read transaction, a consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        signatures = _check(dst, "the copy")
    finally:
        dst.close()
        src.close()
    os.replace(partial, destination)
    return BackupSummary(destination, destination.stat().st_size, signatures)


def is_in_use(target: Path) -> bool:
    """A database that holds letters is live: restoring over it needs ``--force``."""
    if not target.exists() or target.stat().st_size == 0:
        return False
    connection = sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=30)
    try:
        return bool(connection.execute("SELECT count(*) FROM letters").fetchone()[0])
    except sqlite3.DatabaseError:
        return True  # something we do not know: not ours to overwrite quietly
    finally:
        connection.close()


def restore_sqlite(backup: Path, target: Path, force: bool) -> BackupSummary:
    if not backup.is_file():
        raise BackupError(f"{backup} does not exist")
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        signatures = _check(source, str(backup))
        if is_in_use(target) and not force:
            raise BackupError(
                f"{target} holds a live database; stop the site and its workers, then run "
                "restore again with --force to replace it"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        # Through SQLite (not a file copy): its locks and WAL file stay coherent.
        destination = sqlite3.connect(target, timeout=30)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    return BackupSummary(target, target.stat().st_size, signatures)


def pg_dump(url: URL, destination: Path) -> None:
    if shutil.which("pg_dump") is None:
        raise BackupError(
            "pg_dump is not installed; install PostgreSQL's client tools, or run on the "
            "database server: pg_dump --format=custom --file=FILE DATABASE"
        )
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(  # noqa: S603  (fixed program, our own arguments)
        ["pg_dump", "--format=custom", f"--file={destination}", plain],  # noqa: S607
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError("pg_dump failed: " + done.stderr.strip())
