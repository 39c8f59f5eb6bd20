"""Periodic work without cron: the jobs workers run each task when it is due, exactly one of them.

Every jobs consumer (the thread in each web process, or ``flask jobs work``) queues the Huey
periodic task ``petitions.schedule`` once a minute; it calls :func:`run_due_tasks`, which looks
at :data:`TASKS` and, for each task that is due, tries to take its row in ``scheduled_runs``
with one conditional UPDATE (due, and nobody holds an unexpired lease). The database decides
who wins, so with any number of workers on any number of machines one runs the task; a runner
that dies loses its lease when it expires. Each task is also a command, for cron lovers and for
running it by hand.

Adding a task is one line in :data:`TASKS`; for example::

    PeriodicTask("reminders.send", timedelta(minutes=5), summarised(send_due_reminders, "sent {}")),
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import rowcount, unit_of_work
from petitions.models.schedule import ScheduledRun
from petitions.services.counters import recount
from petitions.services.letters import close_expired_letters
from petitions.services.reminders import send_due_reminders
from petitions.services.retention import run_retention
from petitions.workers.update_sender import resume_unfinished

log = logging.getLogger("petitions.schedule")


@dataclass(frozen=True)
class PeriodicTask:
    """``run`` does the work in its own transactions and returns a one-line summary."""

    name: str
    every: timedelta
    run: Callable[[], str]
    # Longer than the task can take: a runner silent for this long is taken for dead.
    lease: timedelta = timedelta(minutes=30)


def close_expired_task() -> str:
    with unit_of_work():
        closed = close_expired_letters()
    return f"closed {closed} letter(s)"


def counts_check_task() -> str:
    """The nightly recount: repairs drifted counters and says so in the log."""
    with unit_of_work():
        drifts = recount(repair=True)
    for drift in drifts:
        log.warning(
            "counts check: %s stored %s, actual %s (repaired)",
            drift.slug,
            drift.stored,
            drift.actual,
        )
    return f"{len(drifts)} letter(s) with wrong counters repaired"


def retention_task() -> str:
    """Anonymise what is past its retention date (resumable: a killed run is finished next time)."""
    report = run_retention()
    return (
        f"anonymised {report.signatures} signature(s) on {len(report.letters)} letter(s), "
        f"deleted {report.emails} email(s)"
    )


def summarised(run: Callable[[], object], template: str) -> Callable[[], str]:
    """Adapt a service that returns a number (or anything) to a task that returns a summary."""
    return lambda: template.format(run())


TASKS: list[PeriodicTask] = [
    PeriodicTask("letters.close_expired", timedelta(minutes=1), close_expired_task),
    PeriodicTask("counts.check", timedelta(days=1), counts_check_task),
    PeriodicTask("reminders.send", timedelta(minutes=5), summarised(send_due_reminders, "sent {}")),
    # An update whose queueing job was killed is finished here (the unique constraint per
    # update and signature makes a second pass over a live job harmless).
    PeriodicTask("retention.run", timedelta(hours=6), retention_task, lease=timedelta(hours=2)),
    PeriodicTask("updates.resume", timedelta(minutes=10), summarised(resume_unfinished, "{}")),
]


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _ensure_rows(names: Iterable[str]) -> None:
    existing = set(db.session.scalars(select(ScheduledRun.name)))
    db.session.commit()
    for name in names:
        if name in existing:
            continue
        try:
            with unit_of_work():
                db.session.add(ScheduledRun(name=name))
                db.session.flush()
        except IntegrityError:
            db.session.rollback()  # another worker created it first


def claim(task: PeriodicTask, runner: str) -> bool:
    """Take the task if it is due and nobody holds it; True for exactly one caller."""
    now = utcnow()
    with unit_of_work():
        result = db.session.execute(
            update(ScheduledRun)
            .where(
                ScheduledRun.name == task.name,
                or_(ScheduledRun.lease_until.is_(None), ScheduledRun.lease_until < now),
                or_(
                    ScheduledRun.last_started_at.is_(None),
                    ScheduledRun.last_started_at <= now - task.every,
                ),
            )
            .values(lease_until=now + task.lease, runner=runner, last_started_at=now)
            .execution_options(synchronize_session=False)
        )
    return rowcount(result) == 1


def _finish(task: PeriodicTask, runner: str, outcome: str) -> None:
    with unit_of_work():
        db.session.execute(
            update(ScheduledRun)
            .where(ScheduledRun.name == task.name, ScheduledRun.runner == runner)
            .values(lease_until=None, last_finished_at=utcnow(), last_outcome=outcome[:300])
            .execution_options(synchronize_session=False)
        )


def run_due_tasks(tasks: list[PeriodicTask] | None = None) -> list[str]:
    """Run every due task this worker wins; returns the names it ran (inside an app context)."""
    tasks = TASKS if tasks is None else tasks
    runner = runner_name()
    _ensure_rows(task.name for task in tasks)
    ran = []
    for task in tasks:
        if not claim(task, runner):
            continue
        try:
            outcome = task.run()
        except Exception as error:
            db.session.rollback()
            log.exception("periodic task %s failed", task.name)
            outcome = f"failed: {type(error).__name__}"
        else:
            log.info("periodic task %s: %s", task.name, outcome)
        _finish(task, runner, outcome)
        ran.append(task.name)
    return ran
