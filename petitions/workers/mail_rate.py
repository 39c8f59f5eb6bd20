"""``MAIL_MAX_PER_SECOND``: one limit shared by every worker, in Redis or else in the database.

Time is cut into windows (one second, or ``1/rate`` seconds for rates below one); each email
takes a place in the current window by an atomic increment (Redis ``INCR``, or an ``INSERT … ON
CONFLICT DO UPDATE … RETURNING`` on one row per window). Past the window's capacity the worker
waits for the next window and tries again. A fixed window may let up to twice the capacity
through around a window's edge within one second; over any longer time the rate holds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, cast

from flask import current_app
from sqlalchemy import Table, delete

from petitions.extensions import db
from petitions.models.database import dialect_insert, unit_of_work
from petitions.models.follow_up import MailRateWindow

log = logging.getLogger(__name__)
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _shape(rate: float) -> tuple[float, int]:
    """(window length in seconds, emails per window)."""
    length = max(1.0, 1.0 / rate)
    return length, max(1, math.floor(rate * length))


def wait_for_slot(stop: threading.Event | None = None) -> None:
    """Return when this worker may send one email (at once when there is no limit)."""
    rate = current_app.config.get("MAIL_MAX_PER_SECOND")
    if not rate or rate <= 0:
        return
    length, capacity = _shape(float(rate))
    while True:
        now = time.time()
        window = int(now // length)
        if _take(window, length) <= capacity:
            return
        if stop is not None and stop.is_set():
            return
        time.sleep(max(0.005, (window + 1) * length - time.time()))


def _take(window: int, length: float) -> int:
    url = current_app.config.get("REDIS_URL")
    if url:
        try:
            return _take_redis(url, window, length)
        except Exception as error:  # Redis away: the database keeps the limit meanwhile
            log.warning("mail rate limit: Redis unavailable (%s)", type(error).__name__)
    return _take_database(window)


def _take_redis(url: str, window: int, length: float) -> int:
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            from redis import Redis

            wait = current_app.config["REDIS_TIMEOUT"]
            client = Redis.from_url(url, socket_timeout=wait, socket_connect_timeout=wait)
            _clients[url] = client
    key = f"petitions:mail-rate:{window}"
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, math.ceil(length) + 5)
    count, _ = pipe.execute()
    return int(count)


def _take_database(window: int) -> int:
    table = cast(Table, MailRateWindow.__table__)
    with unit_of_work():
        statement = dialect_insert(table).values(window=window, sent=1)
        statement = statement.on_conflict_do_update(
            index_elements=["window"], set_={"sent": table.c.sent + 1}
        ).returning(table.c.sent)
        count = int(db.session.execute(statement).scalar_one())
        if count == 1:  # the first of a window clears out old ones
            db.session.execute(delete(table).where(table.c.window < window - 60))
    return count
