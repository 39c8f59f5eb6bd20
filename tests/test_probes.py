"""/healthz and /readyz: cheap, cookie-free, any Host, honest about the database."""

from __future__ import annotations

from conftest import free_port
from sqlalchemy import text

from petitions.extensions import db
from petitions.models.schema_version import code_heads


def stamp(app, revision: str) -> None:
    with app.app_context():
        db.session.execute(
            text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)")
        )
        db.session.execute(text("DELETE FROM alembic_version"))
        db.session.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision})
        db.session.commit()


def test_healthz_answers_any_host_without_a_cookie(make_app):
    app = make_app(ALLOWED_HOSTS="letters.example.org")
    client = app.test_client()
    assert client.get("/", headers={"Host": "10.0.0.5:8000"}).status_code == 400
    answer = client.get("/healthz", headers={"Host": "10.0.0.5:8000"})
    assert answer.status_code == 200 and answer.text == "ok\n"
    assert "Set-Cookie" not in answer.headers and answer.headers["Cache-Control"] == "no-store"


def test_readyz_needs_the_current_schema(app):
    (head,) = code_heads()
    client = app.test_client()
    try:
        stamp(app, "0001_initial")
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.text == "schema not current\n"
        stamp(app, head)
        answer = client.get("/readyz")
        assert answer.status_code == 200 and answer.text == "ready\n"
    finally:
        stamp(app, head)


def test_readyz_is_503_when_the_database_does_not_answer(make_app):
    make_app()  # the test's own database, untouched
    unreachable = make_app(
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
        DATABASE_CONNECT_TIMEOUT=1.0,
    )
    client = unreachable.test_client()
    assert client.get("/healthz").status_code == 200
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.text.startswith("database unreachable")
