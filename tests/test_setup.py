"""Configuration, commands and the schema: what a deployment relies on before any page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import G20, INCLUSIVE, pg_url
from sqlalchemy import select

from petitions import create_app
from petitions.config import database_url, load_settings
from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.signatures import Signature
from petitions.web.client_address import hash_ip

ROOT = Path(__file__).resolve().parent.parent


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PETITIONS_ENV", raising=False)
    monkeypatch.delenv("FLASK_ENV", raising=False)
    first = load_settings(tmp_path)["SECRET_KEY"]
    second = load_settings(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PETITIONS_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings(tmp_path)
    monkeypatch.setenv("SECRET_KEY", "a-real-secret")
    monkeypatch.setenv("MAIL_URL", "console:")
    with pytest.raises(RuntimeError, match="MAIL_URL"):
        load_settings(tmp_path)  # the console transport prints addresses: not on a server
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:25")
    monkeypatch.setenv("PUBLIC_URL", "https://letters.example.org")
    settings = load_settings(tmp_path)
    assert settings["SECRET_KEY"] == "a-real-secret"
    assert settings["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_picks_the_installed_driver(tmp_path, given, expected):
    assert database_url(given, tmp_path) == expected


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    assert database_url(None, tmp_path) == f"sqlite:///{tmp_path / 'petitions.sqlite3'}"


def test_client_ip_comes_from_the_socket_unless_proxies_are_trusted(make_app):
    direct = make_app()
    with direct.test_request_context(
        "/", environ_base={"REMOTE_ADDR": "10.0.0.1"}, headers={"X-Forwarded-For": "203.0.113.9"}
    ):
        from flask import request

        assert request.remote_addr == "10.0.0.1"
    proxied = make_app(TRUSTED_PROXIES=1)
    client = proxied.test_client()
    page = client.get(f"/letters/{G20}", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert page.status_code == 200
    from conftest import csrf_token, valid_fields

    data = valid_fields(csrf_token=csrf_token(page.get_data(as_text=True)))
    answer = client.post(
        f"/letters/{G20}/sign",
        data=data,
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert answer.status_code == 303
    with proxied.app_context():
        stored = db.session.scalar(select(Signature.ip_hash))
        assert stored == hash_ip("203.0.113.9")
        assert stored != hash_ip("10.0.0.1")
        assert "203.0.113.9" not in stored


def test_migrations_match_the_models(app):
    if pg_url() is None:
        # The fixture built SQLite with create_all; build a second file with the migrations.
        _migrated_sqlite_matches(app)
        return
    # On PostgreSQL the session fixture built the schema with the migrations.
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def _migrated_sqlite_matches(app):
    instance = Path(app.instance_path)
    url = f"sqlite:///{instance / 'migrated.sqlite3'}"
    migrated = create_app({"SQLALCHEMY_DATABASE_URI": url, "OUTBOX_WORKER": "external"})
    runner = migrated.test_cli_runner()
    for _ in range(2):  # idempotent
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
    with migrated.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == []


def test_demo_command_is_idempotent(app, runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0
    assert "already there" in first.output  # the fixture loaded them
    with app.app_context():
        letters = db.session.scalars(select(Letter).order_by(Letter.slug)).all()
        assert [x.slug for x in letters] == [G20, INCLUSIVE]
        for letter in letters:
            assert letter.is_demo and letter.moderation == "none" and letter.is_open()
        assert {x.slug: set(x.languages) for x in letters} == {
            G20: {"en", "sq", "fr", "ar"},  # with two unofficial translations
            INCLUSIVE: {"en", "sq"},
        }


def test_a_newcomer_gets_a_working_site_from_the_commands(tmp_path):
    """`db upgrade`, `demo`, then the site answers: in a subprocess with no configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SECRET"))}
    env["PETITIONS_INSTANCE"] = str(tmp_path / "instance")
    flask = [sys.executable, "-m", "flask", "--app", "petitions"]
    for command in (["db", "upgrade"], ["demo"]):
        done = subprocess.run(
            flask + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "instance" / "petitions.sqlite3").exists()
    assert (tmp_path / "instance" / "secret_key").exists()
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "from petitions import create_app;"
            "c = create_app({'OUTBOX_WORKER': 'external'}).test_client();"
            f"print(c.get('/letters/{G20}').status_code, c.get('/?lang=sq').status_code)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.stdout.split() == ["200", "200"], check.stderr


def test_every_page_forbids_framing_and_leaking_its_address(client):
    for path in ("/", f"/letters/{G20}", "/api/v1/letters", "/confirm/not-a-token"):
        headers = client.get(path).headers
        assert headers["Referrer-Policy"] == "same-origin", path
        assert headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_tracebacks_in_the_log_are_redacted_too(app, caplog):
    import logging

    caplog.set_level(logging.ERROR)
    try:
        raise ValueError("could not send to ana@example.org via /confirm/abc.def.ghi")
    except ValueError:
        app.logger.exception("delivery failed for bob@example.org")
    text = caplog.text
    assert "ana@example.org" not in text and "bob@example.org" not in text
    assert "abc.def.ghi" not in text
    assert "[email]" in text and "/confirm/[token]" in text


def test_demo_reopens_demo_letters_whose_deadline_passed(app, runner):
    from datetime import timedelta

    from petitions.models.columns import utcnow
    from petitions.models.letters import LetterStatus

    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        letter.closes_at = utcnow() - timedelta(days=1)
        letter.status = LetterStatus.CLOSED
        db.session.commit()
        assert not letter.is_open()
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter.is_open() and letter.status == LetterStatus.OPEN
        assert letter.closes_at > utcnow() + timedelta(days=30)


def test_sqlite_runs_in_wal_with_the_chosen_synchronous_level(make_app):
    from sqlalchemy import text

    for level, number in (("NORMAL", 1), ("FULL", 2)):
        app = make_app(SQLITE_SYNCHRONOUS=level)
        with app.app_context():
            if db.engine.dialect.name != "sqlite":
                assert db.session.scalar(text("SHOW synchronous_commit")) == "on"
                return
            assert db.session.scalar(text("PRAGMA journal_mode")) == "wal"
            assert db.session.scalar(text("PRAGMA synchronous")) == number
            db.session.rollback()
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS"):
        make_app(SQLITE_SYNCHRONOUS="OFF")


def test_wsgi_entry_point_builds_the_app(tmp_path):
    """What gunicorn imports: `wsgi:app`, configured from the environment only."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(PETITIONS_INSTANCE=str(tmp_path), OUTBOX_WORKER="external")
    done = subprocess.run(
        [sys.executable, "-c", "import wsgi; print(wsgi.app.name, wsgi.app.config['MAIL_URL'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == ["petitions", "console:"], done.stderr
    env.update(PETITIONS_ENV="production")
    refused = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr
