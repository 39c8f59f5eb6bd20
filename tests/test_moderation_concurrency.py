"""Two moderators acting on the same signatures at the same moment.

Each moderator is their own test client in their own thread, so each request has its own
application context, session and database connection, on SQLite or PostgreSQL. Whatever the
order, there is one final state, both decisions are in the audit trail, and the stored counters
equal a recount.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import G20, assert_no_other_writer_gets_in
from flask.testing import FlaskClient
from sqlalchemy import select, text, update
from test_moderation import (
    add_signatures,
    api_counts,
    events,
    no_drift,
    set_letter,
    signature_row,
    staff_token,
    state,
)

from petitions.extensions import db
from petitions.models.letters import Moderation
from petitions.models.signatures import Signature
from petitions.models.staff import StaffUser
from petitions.services.moderation import ModerationAction, Skip, moderate

ROUNDS = 10


def _at_once(jobs: list[tuple[FlaskClient, dict[str, Any]]]) -> list[int]:
    """Post every job's form at the same moment; the answers' status codes."""
    start = threading.Barrier(len(jobs))

    def post(job: tuple[FlaskClient, dict[str, Any]]) -> int:
        client, data = job
        start.wait()
        return client.post("/staff/signatures/moderate", data=data).status_code

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(post, jobs))


def _form(client: FlaskClient, ids: list[int], action: str, reason: str = "") -> dict[str, Any]:
    return {"csrf_token": staff_token(client), "action": action, "signature": ids, "reason": reason,
            "confirmed": "1"}  # fmt: skip


@pytest.fixture
def two_moderators(staff_client: Any) -> tuple[FlaskClient, FlaskClient]:
    return staff_client("moderator"), staff_client("admin")


@pytest.mark.race
def test_reject_and_spam_at_once_end_as_spam_with_both_audited(app, client, two_moderators):
    first, second = two_moderators
    rows = [
        signature_row(app, kind="organisation" if i % 3 == 0 else "individual", organisation="O")
        for i in range(ROUNDS)
    ]
    ids = add_signatures(app, rows)
    assert api_counts(client) == (6, 4)
    for ident in ids:  # one race per signature
        forms = [
            (first, _form(first, [ident], "reject", "Not real")),
            (second, _form(second, [ident], "spam")),
        ]
        assert _at_once(forms) == [303, 303]
    # Whichever came first, spam follows a rejection, and a rejection leaves spam alone.
    assert {state(app, i).status for i in ids} == {"spam"}
    for ident in ids:
        rejected = events(app, "signature.reject", ident)
        spammed = events(app, "signature.spam", ident)
        assert len(rejected) == len(spammed) == 1
        assert spammed[0].details.get("noop") is None  # spam always changed something
        if rejected[0].id > spammed[0].id:  # the rejection came second: recorded, no change
            assert rejected[0].details["noop"] is True
            assert rejected[0].details["skipped"] == "already_spam"
        else:
            assert spammed[0].details["from"] == "rejected"
    assert api_counts(client) == (0, 0)
    assert no_drift(app)


@pytest.mark.race
def test_approve_and_reject_at_once_end_rejected(app, client, two_moderators):
    first, second = two_moderators
    set_letter(app, moderation=Moderation.PRE)
    ids = add_signatures(
        app, [signature_row(app, status="awaiting_approval") for _ in range(ROUNDS)]
    )
    assert api_counts(client) == (0, 0)
    # Both moderators act on all of them in one request each.
    forms = [
        (first, _form(first, ids, "approve")),
        (second, _form(second, list(reversed(ids)), "reject", "Duplicate")),
    ]
    assert _at_once(forms) == [303, 303]
    assert {state(app, i).status for i in ids} == {"rejected"}
    assert len(events(app, "signature.approve")) == len(events(app, "signature.reject")) == ROUNDS
    assert api_counts(client) == (0, 0)
    assert no_drift(app)


@pytest.mark.race
def test_many_moderators_hiding_and_restoring_keep_counts_exact(app, client, staff_client):
    moderators = [staff_client("moderator") for _ in range(6)]
    ids = add_signatures(app, [signature_row(app) for _ in range(ROUNDS)])
    actions = ["hide", "spam", "restore", "hide", "restore", "spam"]
    forms = [(m, _form(m, ids, a)) for m, a in zip(moderators, actions, strict=True)]
    assert set(_at_once(forms)) == {303}
    final = {(state(app, i).status, state(app, i).is_hidden) for i in ids}
    counted = sum(1 for i in ids if state(app, i).status == "confirmed")
    assert api_counts(client) == (counted, 0)
    assert no_drift(app)
    for ident in ids:
        audited = sum(len(events(app, f"signature.{a}", ident)) for a in set(actions))
        assert audited == len(actions)
    # Each request locks all the rows before acting, so every signature saw the requests in
    # the same order and ended in the same state.
    assert len(final) == 1


def test_a_moderator_never_acts_on_a_stale_read(app, make_staff):
    """The locked re-read, made deterministic (as in test_concurrency.py).

    PostgreSQL: this session already holds the signature as "confirmed" when another
    transaction marks it as spam; the rejection must see "spam" and change nothing.
    SQLite: a POST's transaction begins IMMEDIATE, so no other writer can slip in at all.
    """
    (ident,) = add_signatures(app, [signature_row(app)])
    email = make_staff("moderator")
    with app.test_request_context("/", method="POST"):
        actor = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        held = db.session.get(Signature, ident)
        assert held is not None and held.status == "confirmed"
        if db.engine.dialect.name == "sqlite":
            assert_no_other_writer_gets_in()
            db.session.rollback()
            return
        with db.engine.begin() as other:  # the other moderator, committed
            other.execute(update(Signature).where(Signature.id == ident).values(status="spam"))
            other.execute(
                text(
                    "UPDATE letters SET count_individuals = count_individuals - 1 WHERE slug = :s"
                ),
                {"s": G20},
            )
        summary = moderate([ident], ModerationAction.REJECT, "Too late", actor)
        assert summary.changed == 0 and summary.skipped[Skip.ALREADY_SPAM] == 1
        db.session.commit()
    assert state(app, ident).status == "spam"
    assert no_drift(app)


@pytest.mark.race
def test_two_bulk_actions_across_two_letters_do_not_deadlock(app, client, staff_client):
    """Each takes every signature lock first, then writes each letter once, in id order: two
    bulks over interleaved letters cannot lock the letters in opposite orders."""
    from conftest import INCLUSIVE
    from test_moderation_queue import _confirm_fields

    rows = []
    for slug, domain in ((INCLUSIVE, "x.example"), (G20, "x.example"), (G20, "y.example"),
                         (INCLUSIVE, "y.example")):  # fmt: skip
        rows += [signature_row(app, slug, email=f"s{i}@{domain}") for i in range(500)]
    add_signatures(app, rows)
    moderators = [staff_client("moderator"), staff_client("moderator")]
    forms = []
    for moderator, domain in zip(moderators, ("x.example", "y.example"), strict=True):
        page = moderator.get(f"/staff/moderation/bulk?q=domain:{domain}&action=spam")
        fields = _confirm_fields(page.get_data(as_text=True))
        assert fields["expected"] == "1000"
        forms.append((moderator, fields))
    start = threading.Barrier(2)

    def go(job: tuple[FlaskClient, dict[str, str]]) -> int:
        moderator, fields = job
        start.wait()
        return moderator.post("/staff/moderation/bulk", data=fields).status_code

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(go, forms)) == [303, 303]
    assert api_counts(client, G20) == (0, 0)
    assert api_counts(client, INCLUSIVE) == (0, 0)
    assert no_drift(app)


@pytest.mark.race
def test_two_restores_across_two_letters_do_not_deadlock(app, staff_client, monkeypatch):
    """Each request restores one signature in each letter (one hidden, one rejected), paused
    after its letter writes so the other one runs into them."""
    from conftest import INCLUSIVE

    import petitions.services.moderation as moderation_service

    a_hidden, b_rejected, a_rejected, b_hidden = add_signatures(app, [
        signature_row(app, G20, is_hidden=True),
        signature_row(app, INCLUSIVE, status="rejected"),
        signature_row(app, G20, status="rejected"),
        signature_row(app, INCLUSIVE, is_hidden=True),
    ])  # fmt: skip
    barrier = threading.Barrier(2, timeout=2)
    real = moderation_service.set_statuses

    def paused(changes: Any, also_shown: Any = ()) -> None:
        real(changes, also_shown)
        # A broken barrier: the other one waits for our letters, as it should.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    monkeypatch.setattr(moderation_service, "set_statuses", paused)
    first, second = staff_client("moderator"), staff_client("moderator")

    def go(job: tuple[FlaskClient, list[int]]) -> int:
        moderator, ids = job
        data = {"csrf_token": staff_token(moderator), "action": "restore", "signature": ids,
                "confirmed": "1"}  # fmt: skip
        return moderator.post("/staff/signatures/moderate", data=data).status_code

    jobs = [(first, [a_hidden, b_rejected]), (second, [a_rejected, b_hidden])]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(go, jobs)) == [303, 303]
    assert no_drift(app)
