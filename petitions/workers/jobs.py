"""Background jobs (large delivery PDFs) on Huey: its queue, its workers; our tasks.

Where the queue lives follows the rest of the deployment: Redis when ``REDIS_URL`` is set (several
machines share it), else a SQLite file in the instance folder (one machine, any number of
processes). ``JOBS_IMMEDIATE`` runs each task inside the call that queues it (tests).

Who works the queue follows ``JOBS_WORKER``, like the outbox: ``thread`` (the default) starts a
consumer inside each web process on its first request, so `flask run` needs nothing else;
``external`` leaves it to ``flask --app petitions jobs work`` processes.

Huey (and the Redis client it loads) is imported on first use, not at start-up: a web process
that never queues a job, or a CSV export of a million rows, does not carry it (17 MB). With
Redis, every wait for it is bounded and an outage is logged once, not at every poll
(:mod:`petitions.workers.redis_queue`).

The consumers also run the schedule (:mod:`petitions.workers.schedule`): closing expired letters,
the nightly recount and what else is registered there, once across all workers.

The tasks themselves are idempotent (see :func:`petitions.workers.pdf_builder.build_pdf`),
so a task that runs twice after a crash does no harm.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from flask import Flask


class Jobs:
    """The app's queue, built on first use; ``build_pdf(export_id)`` queues one PDF."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._huey: Any = None
        self._build_pdf: Any = None
        self._queue_update: Any = None
        self.consumer: Any = None
        self.consumer_pid: int | None = None

    @property
    def huey(self) -> Any:
        if self._huey is None:
            with self._lock:
                if self._huey is None:
                    self._huey, self._build_pdf, self._queue_update = _make_queue(self.app)
        return self._huey

    def build_pdf(self, export_id: int) -> None:
        self.huey  # noqa: B018  (builds the queue and registers the task)
        self._build_pdf(export_id)

    def queue_update(self, update_id: int) -> None:
        """Queue the emails of an update (see :mod:`petitions.workers.update_sender`)."""
        self.huey  # noqa: B018
        self._queue_update(update_id)

    def start_consumer(self) -> None:
        """Start this process's consumer once (again in a child that a server forked)."""
        if self.consumer_pid == os.getpid():
            return
        huey = self.huey
        with self._lock:
            if self.consumer_pid == os.getpid():
                return
            from huey.consumer import Consumer

            class EmbeddedConsumer(Consumer):  # type: ignore[misc]
                """Huey's consumer in a web process's thread: the server owns the signals."""

                def _set_signal_handlers(self) -> None:
                    return None

            consumer = EmbeddedConsumer(huey, workers=1, worker_type="thread")
            consumer.start()
            self.consumer, self.consumer_pid = consumer, os.getpid()

    def stop_consumer(self) -> None:
        if self.consumer is not None:
            self.consumer.stop(graceful=False)
            self.consumer, self.consumer_pid = None, None


def _make_queue(app: Flask) -> tuple[Any, Any, Any]:
    from huey import Huey, MemoryHuey, SqliteHuey, crontab

    from petitions.workers.pdf_builder import build_pdf
    from petitions.workers.schedule import run_due_tasks
    from petitions.workers.update_sender import queue_update

    if app.config["JOBS_IMMEDIATE"]:
        huey = MemoryHuey("petitions", immediate=True)
    elif app.config.get("REDIS_URL"):
        from petitions.workers.redis_queue import BoundedRedisStorage

        huey = Huey(
            "petitions",
            storage_class=BoundedRedisStorage,
            url=app.config["REDIS_URL"],
            timeout=app.config["REDIS_TIMEOUT"],
        )
    else:
        os.makedirs(app.instance_path, exist_ok=True)
        huey = SqliteHuey("petitions", filename=os.path.join(app.instance_path, "jobs.sqlite3"))

    @huey.periodic_task(crontab(minute="*"), name="petitions.schedule")  # type: ignore[untyped-decorator]
    def schedule_task() -> None:
        # Every consumer queues this each minute; the database lets one run each due task.
        with app.app_context():
            run_due_tasks()

    @huey.task(name="petitions.build_pdf")  # type: ignore[untyped-decorator]  # Huey is untyped
    def build_pdf_task(export_id: int) -> None:
        with app.app_context():
            build_pdf(export_id, notify=True)

    @huey.task(name="petitions.queue_update")  # type: ignore[untyped-decorator]
    def queue_update_task(update_id: int) -> None:
        with app.app_context():
            queue_update(update_id)

    return huey, build_pdf_task, queue_update_task


def init_jobs(app: Flask) -> None:
    jobs = Jobs(app)
    app.extensions["petitions.jobs"] = jobs
    if app.config["JOBS_WORKER"] == "thread" and not app.config["JOBS_IMMEDIATE"]:
        # Like the outbox: started by the first request, so commands never start one.
        app.before_request(jobs.start_consumer)
