"""``flask --app petitions doctor``: the first thing to run after installing or changing settings.

One line per check (``ok``/``FAIL``/``skip``, what, what was found) and a non-zero exit when any
check fails, so a deployment script can stop there. A setting the site cannot use never gets
this far: the app refuses to start and names it (:mod:`petitions.config`). Nothing is sent and
nothing is written (the SMTP check connects and says goodbye).
"""

from __future__ import annotations

import shutil
import smtplib
import stat
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

Check = tuple[str, Callable[[Flask], tuple[bool | None, str]]]
MIN_FREE_BYTES = 500 * 1024 * 1024


def check_settings(app: Flask) -> tuple[bool | None, str]:
    stage = "production" if app.config["PRODUCTION"] else "development"
    database = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0].split("+")[0]
    return True, (
        f"{stage}; database {database}; mail {urlsplit(app.config['MAIL_URL']).scheme}; "
        f"outbox {app.config['OUTBOX_WORKER']}, jobs {app.config['JOBS_WORKER']}"
    )


def check_database(app: Flask) -> tuple[bool | None, str]:
    from sqlalchemy import text

    from petitions.extensions import db

    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure is the answer
        return False, f"does not answer: {type(error).__name__}: {str(error).splitlines()[0]}"
    return True, f"answers ({db.engine.url.render_as_string(hide_password=True)})"


def check_schema(app: Flask) -> tuple[bool | None, str]:
    from petitions.extensions import db
    from petitions.models.schema_version import schema_state

    try:
        with db.engine.connect() as connection:
            state = schema_state(connection)
    except Exception as error:
        return False, f"cannot read the schema version: {type(error).__name__}"
    return state.current, state.describe()


def check_smtp(app: Flask) -> tuple[bool | None, str]:
    from petitions.services.mail_transport import SMTPTransport, transport_from_url

    transport = transport_from_url(app.config["MAIL_URL"], timeout=10.0)
    if not isinstance(transport, SMTPTransport):
        return None, "MAIL_URL=console: emails are printed, not sent (fine on a laptop)"
    where = f"{transport.settings.host}:{transport.settings.port}"
    try:
        client = transport._connect()  # connects, TLS, login when the URL has credentials
    except Exception as error:
        return False, f"{where}: {error}"
    try:
        client.noop()
        client.quit()
    except smtplib.SMTPException:
        pass
    return True, f"{where} accepts a connection (nothing sent)"


def check_redis(app: Flask) -> tuple[bool | None, str]:
    url = app.config.get("REDIS_URL")
    if not url:
        return None, "REDIS_URL not set (rate limits per process, jobs in SQLite)"
    import redis

    wait = max(app.config["REDIS_TIMEOUT"], 2.0)
    client = redis.Redis.from_url(url, socket_timeout=wait, socket_connect_timeout=wait)
    try:
        client.ping()
    except redis.RedisError as error:
        return False, f"does not answer: {type(error).__name__}"
    finally:
        client.close()
    return True, "answers"


def check_secret_key(app: Flask) -> tuple[bool | None, str]:
    key = str(app.config.get("SECRET_KEY") or "")
    if len(key) < 32:
        return False, f"too short ({len(key)} characters; use at least 32 random ones)"
    path = Path(app.instance_path) / "secret_key"
    if path.exists() and path.read_text().strip() == key:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            return False, f"{path} is readable by others (mode {mode:o}): chmod 600 {path}"
        return True, f"from {path} (mode {mode:o})"
    return True, "from SECRET_KEY"


def check_public_url(app: Flask) -> tuple[bool | None, str]:
    url = app.config.get("PUBLIC_URL")
    if not app.config["PRODUCTION"]:
        return None, f"{url or 'not set'} (needed in production only)"
    if not url or not url.startswith("https://"):
        return False, f"{url or 'not set'}: production links in emails need https://"
    return True, url


def check_fonts(app: Flask) -> tuple[bool | None, str]:
    from petitions.services.exports.pdf_typst import font_dir

    fonts = sorted(font_dir().glob("*.ttf")) if font_dir().is_dir() else []
    if not fonts:
        return False, f"no fonts in {font_dir()} (reinstall weblate-fonts)"
    return True, f"{len(fonts)} fonts in {font_dir()}"


def check_disk(app: Flask) -> tuple[bool | None, str]:
    from petitions.extensions import db

    if db.engine.url.get_backend_name() != "sqlite" or not db.engine.url.database:
        return None, "not SQLite (watch the database server's disk instead)"
    folder = Path(db.engine.url.database).resolve().parent
    free = shutil.disk_usage(folder).free
    text = f"{free / 2**30:.1f} GiB free in {folder}"
    return free >= MIN_FREE_BYTES, text + ("" if free >= MIN_FREE_BYTES else " (under 500 MiB)")


CHECKS: list[Check] = [
    ("settings", check_settings),
    ("database", check_database),
    ("schema", check_schema),
    ("smtp", check_smtp),
    ("redis", check_redis),
    ("secret key", check_secret_key),
    ("public url", check_public_url),
    ("pdf fonts", check_fonts),
    ("disk", check_disk),
]


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check settings, database and schema, SMTP, Redis, secret key, fonts, disk."""
    failed = 0
    for name, check in CHECKS:
        try:
            ok, found = check(current_app)
        except Exception as error:
            ok, found = False, f"{type(error).__name__}: {error}"
        word = {True: "ok  ", False: "FAIL", None: "skip"}[ok]
        failed += ok is False
        click.echo(f"{word} {name:<11} {found}")
    if failed:
        click.echo(f"{failed} check(s) failed.", err=True)
        raise SystemExit(1)
    click.echo("All checks passed.")
