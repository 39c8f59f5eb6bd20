"""`doctor`: one line per check, a non-zero exit when any fails."""

from __future__ import annotations

from conftest import free_port
from sqlalchemy import text

from petitions.extensions import db
from petitions.models.schema_version import code_heads

LONG_KEY = "a-secret-key-long-enough-for-the-doctor-0123456789"


def stamp_head(app) -> None:
    (head,) = code_heads()
    with app.app_context():
        db.session.execute(
            text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)")
        )
        db.session.execute(text("DELETE FROM alembic_version"))
        db.session.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})
        db.session.commit()


def lines(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("ok", "FAIL", "skip"):
            found[rest.strip()[:11].strip()] = word
    return found


def test_doctor_passes_a_good_configuration(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url, SECRET_KEY=LONG_KEY, REDIS_URL="redis://127.0.0.1:6379/8")
    stamp_head(app)
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    checks = lines(result.output)
    assert checks["database"] == checks["schema"] == checks["smtp"] == "ok", result.output
    assert checks["redis"] == checks["pdf fonts"] == checks["secret key"] == "ok", result.output
    assert "All checks passed." in result.output
    assert smtp.messages == []  # connected, sent nothing


def test_doctor_fails_a_broken_configuration(make_app):
    closed = free_port()
    app = make_app(
        MAIL_URL=f"smtp://127.0.0.1:{closed}",
        REDIS_URL=f"redis://127.0.0.1:{closed}/0",
        SECRET_KEY="short",
    )
    stamp_head(app)
    try:
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = '0001_initial'"))
            db.session.commit()
        result = app.test_cli_runner().invoke(args=["doctor"])
    finally:
        stamp_head(app)
    assert result.exit_code == 1, result.output
    checks = lines(result.output)
    assert checks["database"] == "ok"
    assert checks["schema"] == checks["smtp"] == checks["redis"] == "FAIL", result.output
    assert checks["secret key"] == "FAIL"
    assert "4 check(s) failed." in result.output
