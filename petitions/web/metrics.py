"""Prometheus metrics at ``/metrics``: off unless ``METRICS_ENABLED``, only for ``METRICS_ALLOWED``.

Two kinds of figures:

- per process, counted as requests pass: request latency by endpoint, responses by status class
  (for a 5xx alert), rate-limit refusals. Under gunicorn with several workers, set
  ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder so every worker's counts are summed (the
  ``prometheus_client`` multiprocess mode); without it each scrape sees one worker.
- read from the database at each scrape, so the same on every instance: signatures by status,
  the outbox backlog and its oldest email's age, failed emails, the job queue's length.

The client address is the one the app trusts (``TRUSTED_PROXIES``), so a request relayed by the
reverse proxy from outside is refused even though the proxy itself is on the loopback.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

bp = Blueprint("metrics", __name__)


class DatabaseFigures(Collector):
    """Figures read at scrape time (one short query each)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from petitions.extensions import db
        from petitions.models.columns import utcnow
        from petitions.models.outbox import OutboxEmail, OutboxStatus
        from petitions.models.signatures import Signature

        with self.app.app_context():
            try:
                signatures = GaugeMetricFamily(
                    "petitions_signatures", "Signatures by status", labels=["status"]
                )
                for status, count in db.session.execute(
                    select(Signature.status, func.count()).group_by(Signature.status)
                ):
                    signatures.add_metric([str(status)], count)
                yield signatures
                waiting = (OutboxStatus.QUEUED, OutboxStatus.SENDING)
                backlog, oldest = db.session.execute(
                    select(func.count(), func.min(OutboxEmail.created_at)).where(
                        OutboxEmail.status.in_(waiting)
                    )
                ).one()
                yield GaugeMetricFamily(
                    "petitions_outbox_backlog", "Emails waiting to be sent", value=backlog
                )
                age = 0.0
                if oldest is not None:
                    if oldest.tzinfo is None:
                        from datetime import UTC

                        oldest = oldest.replace(tzinfo=UTC)
                    age = (utcnow() - oldest).total_seconds()
                yield GaugeMetricFamily(
                    "petitions_outbox_oldest_age_seconds",
                    "Age of the oldest email waiting to be sent (0 when none waits)",
                    value=age,
                )
                failed = db.session.scalar(
                    select(func.count()).where(OutboxEmail.status == OutboxStatus.FAILED)
                )
                yield GaugeMetricFamily(
                    "petitions_outbox_failed", "Emails given up on (failed)", value=failed or 0
                )
            finally:
                db.session.remove()
            jobs = self.app.extensions["petitions.jobs"]
            try:
                queued = float(jobs.huey.pending_count())
            except Exception:
                queued = float("nan")  # the queue's store is down: say so, do not fail the scrape
            yield GaugeMetricFamily("petitions_job_queue", "Background jobs waiting", value=queued)


class Metrics:
    def __init__(self, app: Flask) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "petitions_request_seconds",
            "Time to answer a request, by endpoint",
            ["endpoint", "method"],
            registry=self.registry,
        )
        self.responses = Counter(
            "petitions_responses",
            "Responses by status class (2xx, 3xx, 4xx, 5xx)",
            ["status"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "petitions_rate_limit_refusals",
            "Requests refused by a rate limit (429)",
            registry=self.registry,
        )
        self.database = DatabaseFigures(app)
        self.allowed = [
            ipaddress.ip_network(a, strict=False) for a in app.config["METRICS_ALLOWED"]
        ]

    def exposition(self) -> bytes:
        registry: Any = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry = self.registry
        return generate_latest(registry) + generate_latest(_Only(self.database))

    def is_allowed(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.allowed)


class _Only(CollectorRegistry):
    def __init__(self, collector: Collector) -> None:
        super().__init__(auto_describe=False)
        self.register(collector)


@bp.get("/metrics")
def metrics() -> Response:
    state: Metrics = current_app.extensions["petitions.metrics"]
    if not state.is_allowed(request.remote_addr or ""):
        abort(404)
    return Response(state.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")


def init_metrics(app: Flask) -> None:
    if not app.config["METRICS_ENABLED"]:
        return
    state = Metrics(app)
    app.extensions["petitions.metrics"] = state
    app.register_blueprint(bp)

    @app.before_request
    def start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None and request.endpoint != "metrics.metrics":
            state.latency.labels(request.endpoint or "none", request.method).observe(
                time.perf_counter() - started
            )
        state.responses.labels(f"{response.status_code // 100}xx").inc()
        if response.status_code == 429:
            state.refusals.inc()
        return response
