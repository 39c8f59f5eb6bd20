"""Backups that restore: sign during a backup, restore it into a new site, nothing is lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

import pytest
from conftest import G20, _settings, links_in, outbox_rows
from sqlalchemy import create_engine, select, text

from petitions import create_app
from petitions.extensions import db
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.counters import recount
from petitions.services.data_generator import generate
from petitions.services.demo import load_demo_letters


def sqlite_site(path, monkeypatch, instance):
    monkeypatch.setenv("PETITIONS_INSTANCE", str(instance))
    app = create_app(_settings(f"sqlite:///{path}"))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return app


def confirmed(app) -> set[str]:
    with app.app_context():
        found = db.session.scalars(
            select(Signature.email).where(Signature.status == SignatureStatus.CONFIRMED)
        )
        emails = set(found)
        db.session.remove()
    return emails


def confirm_by_email(app, client, email: str) -> None:
    from conftest import press_button, sign

    assert sign(client, email=email).status_code == 303
    (row,) = [r for r in outbox_rows(app) if r.recipient == email]
    (link,) = links_in(row.text_body)["confirm"]
    assert press_button(client, link).status_code == 200


def test_signing_during_a_backup_then_restoring_it(tmp_path, monkeypatch):
    site = sqlite_site(tmp_path / "live.sqlite3", monkeypatch, tmp_path / "live")
    with site.app_context():
        load_demo_letters()
        db.session.commit()
        generate(20_000, seed=3)  # a database big enough for the backup to take a while
        db.session.remove()

    done: list[tuple[str, float]] = []  # each signer's confirmation, when its commit returned
    stop = threading.Event()

    def signer() -> None:
        client = site.test_client()
        for number in range(10_000):
            if stop.is_set():
                return
            email = f"during{number}@example.org"
            confirm_by_email(site, client, email)
            done.append((email, time.monotonic()))

    thread = threading.Thread(target=signer)
    thread.start()
    try:
        while len(done) < 3:
            assert thread.is_alive()
            time.sleep(0.05)
        began = time.monotonic()
        before = {email for email, at in done if at < began}
        result = site.test_cli_runner().invoke(args=["backup", str(tmp_path / "copy.sqlite3")])
        ended = time.monotonic()
        assert result.exit_code == 0, result.output
        while not any(at > ended for _email, at in done):
            assert thread.is_alive()
            time.sleep(0.05)  # the site kept signing people up after the backup
    finally:
        stop.set()
        thread.join(60)
    during = [email for email, at in done if began <= at <= ended]
    print(f"backup took {ended - began:.2f} s; {len(during)} confirmation(s) committed meanwhile")
    assert "20,0" in result.output  # the generated signatures (and ours) are in the copy

    fresh = sqlite_site(tmp_path / "restored.sqlite3", monkeypatch, tmp_path / "restored")
    runner = fresh.test_cli_runner()
    refused = runner.invoke(args=["restore", str(tmp_path / "copy.sqlite3")])
    assert refused.exit_code == 0, refused.output  # a new, empty site: nothing to overwrite
    restored = confirmed(fresh)
    assert before <= restored
    assert restored <= confirmed(site)
    with fresh.app_context():
        assert recount(repair=False) == []  # `counts check` clean
        count = fresh.test_client().get(f"/api/v1/letters/{G20}").json["signatures"]
        assert count["individuals"] == len([e for e in restored if e.startswith("during")])
        db.session.remove()

    # Restoring over a live database needs --force.
    live = site.test_cli_runner().invoke(args=["restore", str(tmp_path / "copy.sqlite3")])
    assert live.exit_code != 0 and "--force" in live.output
    forced = site.test_cli_runner().invoke(
        args=["restore", "--force", str(tmp_path / "copy.sqlite3")]
    )
    assert forced.exit_code == 0, forced.output
    assert confirmed(site) == restored


@pytest.mark.postgresql(reason="pg_dump and pg_restore")
def test_pg_dump_and_pg_restore_round_trip(app, tmp_path):
    from conftest import pg_url

    with app.app_context():
        db.session.execute(
            text("UPDATE letters SET count_individuals = 3 WHERE slug = :s"), {"s": G20}
        )
        db.session.commit()
    archive = tmp_path / "site.dump"
    result = app.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "pg_dump archive" in result.output and archive.stat().st_size > 0

    base = pg_url().replace("postgresql+psycopg://", "postgresql://")
    target_name = base.rsplit("/", 1)[1] + "_restored"
    admin = create_engine(pg_url().rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target_name}"'))
        conn.execute(text(f'CREATE DATABASE "{target_name}"'))
    target = base.rsplit("/", 1)[0] + "/" + target_name
    try:
        restore = subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={target}", str(archive)],
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        assert restore.returncode == 0, restore.stderr
        engine = create_engine(target.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            count = conn.execute(
                text("SELECT count_individuals FROM letters WHERE slug = :s"), {"s": G20}
            ).scalar()
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
        assert count == 3 and version
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target_name}"'))
        admin.dispose()


def test_pg_tools_are_there_when_postgresql_is():
    if os.environ.get("TEST_DATABASE_URL"):
        assert shutil.which("pg_dump") and shutil.which("pg_restore")
