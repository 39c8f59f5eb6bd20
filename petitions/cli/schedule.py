"""``flask --app petitions jobs schedule`` and ``jobs run-due``: the periodic tasks by hand.

The jobs workers run the schedule by themselves; these show what it did and run what is due now
(one more runner, bound by the same lease: it never doubles a run another worker holds).
"""

from __future__ import annotations

import click
from sqlalchemy import select

from petitions.cli.exports import jobs_cli
from petitions.extensions import db
from petitions.models.schedule import ScheduledRun
from petitions.workers.schedule import TASKS, run_due_tasks


@jobs_cli.command("schedule")
def jobs_schedule() -> None:
    """List the periodic tasks, how often they run, and their last run."""
    runs = {run.name: run for run in db.session.scalars(select(ScheduledRun))}
    for task in TASKS:
        run = runs.get(task.name)
        last = "never run"
        if run is not None and run.last_started_at is not None:
            outcome = run.last_outcome or "running"
            last = f"last started {run.last_started_at:%Y-%m-%d %H:%M:%S} UTC: {outcome}"
        click.echo(f"{task.name:<24} every {task.every}  {last}")


@jobs_cli.command("run-due")
def jobs_run_due() -> None:
    """Run the periodic tasks that are due and that no other worker holds."""
    ran = run_due_tasks()
    click.echo("Ran: " + ", ".join(ran) if ran else "Nothing due.")
