"""Huey's Redis storage with bounded waits, and a Redis outage logged once rather than per poll.

Out of the box a Redis that hangs (accepts, then never answers) holds whoever queues a job for as
long as the client library waits, and a Redis that is down makes each consumer thread log a
traceback every time it looks at the queue or the schedule (about 160 every 20 seconds in a
four-worker server). Here every command waits at most ``REDIS_TIMEOUT``; the blocking read of the
queue waits its own read timeout on the server plus that much. While Redis cannot be reached the
consumer says so once (WARNING), waits as an empty queue would, and says once when it is back
(INFO). Queuing a job still raises, so the request that asked answers 503.

Imported only with Huey (see :mod:`petitions.workers.jobs`).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from huey.storage import RedisStorage
from redis import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("petitions.jobs")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


class Outage:
    """Whether the queue's Redis is down, shared by the consumer's threads; changes logged once."""

    def __init__(self) -> None:
        self._down = False
        self._lock = threading.Lock()

    def down(self, error: BaseException) -> None:
        with self._lock:
            if self._down:
                return
            self._down = True
        # The error's text names host and port (never the URL's password) and what failed.
        log.warning(
            "job queue: Redis unreachable (%s: %s); retrying quietly", type(error).__name__, error
        )

    def up(self) -> None:
        if self._down:  # the common case (up all along) takes no lock
            self._clear()

    def _clear(self) -> None:
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            log.info("job queue: Redis reachable again")


class QuietScheduler(logging.Filter):
    """Huey's scheduler logs a traceback each minute it cannot queue the periodic schedule task;
    when that is Redis being down, the same consumer's reads of the queue have said so once."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        scheduling = str(record.msg).startswith("Error enqueueing")
        return not (scheduling and isinstance(error, REDIS_DOWN))


QUIET_SCHEDULER = QuietScheduler()


class BoundedRedisStorage(RedisStorage):  # type: ignore[misc]
    def __init__(self, name: str, url: str, timeout: float, **options: Any) -> None:
        def pool(read_wait: float) -> ConnectionPool:
            return ConnectionPool.from_url(
                url, socket_timeout=read_wait, socket_connect_timeout=timeout
            )

        super().__init__(name, blocking=True, connection_pool=pool(timeout), **options)
        # BRPOP answers after read_timeout when the queue is empty: its socket waits longer.
        self._reader = Redis(connection_pool=pool(self.read_timeout + timeout))
        self.outage = Outage()
        logging.getLogger("huey.consumer.Scheduler").addFilter(QUIET_SCHEDULER)  # added once

    def dequeue(self) -> bytes | None:
        try:
            found = self._reader.brpop([self.queue_key], timeout=self.read_timeout)
        except REDIS_DOWN as error:
            self.outage.down(error)
            time.sleep(self.read_timeout)  # as long as an empty queue would have waited
            return None
        self.outage.up()
        item = found[1] if found else None
        return item.encode() if isinstance(item, str) else item

    def read_schedule(self, ts: datetime) -> list[bytes]:
        try:
            tasks = super().read_schedule(ts)
        except REDIS_DOWN as error:
            self.outage.down(error)
            return []
        self.outage.up()
        return list(tasks)
