"""The schedule: each periodic task runs once per period, whatever the number of workers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

from conftest import G20
from sqlalchemy import select, update

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.schedule import ScheduledRun
from petitions.workers.schedule import TASKS, PeriodicTask, counts_check_task, run_due_tasks


def test_two_workers_at_once_run_a_due_task_once(make_app):
    first, second = make_app(), make_app()
    runs: list[str] = []
    barrier = threading.Barrier(2)

    def slow() -> str:
        runs.append(threading.current_thread().name)
        time.sleep(0.3)  # the other worker tries while this one still runs
        return "done"

    task = PeriodicTask("test.slow", timedelta(hours=1), slow)
    results: dict[str, list[str]] = {}

    def worker(app, name):
        with app.app_context():
            barrier.wait()
            results[name] = run_due_tasks([task])
            db.session.remove()

    threads = [
        threading.Thread(target=worker, args=(app, name), name=name)
        for app, name in ((first, "a"), (second, "b"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(runs) == 1, runs
    assert sorted(results.values()) == [[], ["test.slow"]]

    with first.app_context():
        assert run_due_tasks([task]) == []  # not due again within the hour
        row = db.session.get(ScheduledRun, "test.slow")
        assert row.lease_until is None and row.last_outcome == "done"
        db.session.execute(
            update(ScheduledRun).values(last_started_at=row.last_started_at - timedelta(hours=1))
        )
        db.session.commit()
        assert run_due_tasks([task]) == ["test.slow"]
    assert len(runs) == 2


def test_a_dead_runners_lease_expires(app):
    task = PeriodicTask("test.lease", timedelta(seconds=0), lambda: "ok", lease=timedelta(hours=1))
    with app.app_context():
        run_due_tasks([])  # nothing
        db.session.add(ScheduledRun(name="test.lease", runner="gone:1"))
        db.session.commit()
        db.session.execute(update(ScheduledRun).values(lease_until=db.func.now()))
        row = db.session.get(ScheduledRun, "test.lease")
        from petitions.models.columns import utcnow

        row.lease_until = utcnow() + timedelta(minutes=5)  # held by a live runner
        db.session.commit()
        assert run_due_tasks([task]) == []
        row = db.session.get(ScheduledRun, "test.lease")
        row.lease_until = utcnow() - timedelta(seconds=1)  # its runner died
        db.session.commit()
        assert run_due_tasks([task]) == ["test.lease"]


def test_the_nightly_recount_repairs_and_logs_drift(app, caplog):
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == G20).values(count_individuals=7))
        db.session.commit()
        with caplog.at_level(logging.WARNING, logger="petitions.schedule"):
            assert counts_check_task() == "1 letter(s) with wrong counters repaired"
        assert f"counts check: {G20}" in caplog.text
        letter = db.session.scalar(select(Letter).where(Letter.slug == G20))
        assert letter.count_individuals == 0


def test_two_run_due_commands_at_once_run_each_task_once(app, tmp_path):
    """Two worker processes, as on two machines: each task is run by one of them."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret-key",
        "OUTBOX_WORKER": "external",
        "JOBS_WORKER": "external",
        "PETITIONS_INSTANCE": str(tmp_path / "instance"),
    }
    command = [sys.executable, "-m", "flask", "--app", "petitions", "jobs", "run-due"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    for task in TASKS:
        assert sum(task.name in output for output in outputs) == 1, outputs
    listing = subprocess.run(
        [*command[:-1], "schedule"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "letters.close_expired" in listing and "closed 0 letter(s)" in listing


def test_every_jobs_consumer_runs_the_schedule_each_minute(app):
    """The Huey periodic task that every consumer queues once a minute runs the due tasks."""
    from datetime import datetime

    huey = app.extensions["petitions.jobs"].huey
    (periodic,) = [t for t in huey.read_periodic(datetime.now()) if t.name == "petitions.schedule"]
    huey.execute(periodic)
    with app.app_context():
        names = set(db.session.scalars(select(ScheduledRun.name)))
        assert names == {task.name for task in TASKS}
        rows = db.session.scalars(select(ScheduledRun)).all()
        assert all(row.last_finished_at is not None for row in rows)
