"""A request is one unit of work: a refusal or an error undoes everything the request wrote."""

from __future__ import annotations

from conftest import G20
from sqlalchemy import select, update

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.services.errors import DomainError


class _Refused(DomainError):
    pass


def _goal(app) -> int | None:
    with app.app_context():
        return db.session.scalar(select(Letter.goal).where(Letter.slug == G20))


def test_a_refusal_no_view_handles_undoes_the_request_and_says_why(make_app):
    app = make_app()

    def refuse():
        db.session.execute(update(Letter).where(Letter.slug == G20).values(goal=4242))
        db.session.flush()
        raise _Refused("The letter is closed.")

    app.add_url_rule("/test-refusal", "test_refusal", refuse, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    before = _goal(app)
    answer = app.test_client().post("/test-refusal?lang=en")
    assert answer.status_code == 400
    assert "The letter is closed. Nothing was changed." in answer.get_data(as_text=True)
    assert _goal(app) == before != 4242


def test_a_refusal_under_the_api_answers_json(make_app):
    app = make_app()

    def refuse():
        raise _Refused("No such thing.")

    app.add_url_rule("/api/v1/test-refusal", "test_api_refusal", refuse)
    answer = app.test_client().get("/api/v1/test-refusal")
    assert answer.status_code == 400
    assert answer.get_json() == {"error": "Bad Request", "message": "No such thing."}


def _route(app, name, view):
    app.add_url_rule(f"/test-{name}", f"test_{name}", view, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False


def _set_goal(value: int) -> None:
    db.session.execute(update(Letter).where(Letter.slug == G20).values(goal=value))


def test_a_successful_request_is_committed_without_the_view_committing(make_app):
    app = make_app()

    def succeed():
        _set_goal(1111)
        return "done"

    _route(app, "ok", succeed)
    assert app.test_client().post("/test-ok").status_code == 200
    assert _goal(app) == 1111


def test_a_refusal_answer_rolls_the_request_back_unless_the_view_keeps_it(make_app):
    from petitions.web.unit_of_work import keep_writes_on_refusal

    app = make_app()

    def refuse():
        _set_goal(2222)
        return "no", 409

    def refuse_but_keep():
        _set_goal(3333)
        keep_writes_on_refusal()
        return "no, noted", 400

    _route(app, "refuse", refuse)
    _route(app, "keep", refuse_but_keep)
    before = _goal(app)
    assert app.test_client().post("/test-refuse").status_code == 409
    assert _goal(app) == before
    assert app.test_client().post("/test-keep").status_code == 400
    assert _goal(app) == 3333


def test_an_exception_rolls_the_request_back(make_app):
    app = make_app()

    def crash():
        _set_goal(4444)
        db.session.flush()
        raise RuntimeError("boom")

    _route(app, "crash", crash)
    before = _goal(app)
    assert app.test_client().post("/test-crash").status_code == 500
    assert _goal(app) == before


def test_a_command_block_commits_once_or_not_at_all(app):
    from petitions.models.database import unit_of_work

    with app.app_context():
        with unit_of_work():
            _set_goal(5555)
        try:
            with unit_of_work():
                _set_goal(6666)
                raise ValueError("refused")
        except ValueError:
            pass
    assert _goal(app) == 5555


def test_objects_added_but_not_flushed_are_committed_too(make_app):
    from petitions.models.audit import AuditEvent

    app = make_app()

    def add():
        db.session.add(AuditEvent(action="test.added", details={}))
        return "added"

    _route(app, "add", add)
    assert app.test_client().post("/test-add").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "test.added"))
