"""Per-account login throttling that a stranger cannot turn into a lock-out.

A limit on every attempt per account, checked before the password, let anyone who knew a
moderator's email keep them out. The rule now:

- only failures count, per account: the email as typed (normalised, keyed-hashed), whether or
  not an account has it, so no answer tells which accounts exist;
- after ``LOGIN_ACCOUNT_FREE_FAILURES`` failures within an hour, an attempt *from an address that
  failed for this account* must wait: 1 s after the last failure, doubling with every failure,
  at most ``LOGIN_ACCOUNT_DELAY_MAX`` seconds. Too early, it is refused at once ("try again in
  X s"), before any password is checked, and it does not push the wait further;
- an address that has not failed for the account never waits, so its owner, signing in from
  their own machine with the right password, gets in whatever a stranger does elsewhere. Each
  new address thus gets one guess before the wait applies to it too; the per-address limits
  (:mod:`petitions.web.rate_limits`) bound every address.

Why a refusal and not a sleep on the server: a sleeping request holds a worker (a process or a
thread), so a handful of an attacker's connections would hold them all and stop the site for
everyone. A refusal costs a few storage look-ups and no argon2 work.

The counts live in Flask-Limiter's storage: memory per process, or Redis with ``REDIS_URL``,
shared by every worker and machine. Should Redis fail, a memory store of this process stands in
(as Flask-Limiter does for its own limits); ``RATELIMIT_ENABLED=false`` turns this off too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app
from flask_limiter import Limiter
from limits.storage import MemoryStorage, Storage

from petitions.web.client_address import client_ip_hash

# Failures are forgotten this long after the first of a series (the storage's fixed expiry).
FAILURE_MEMORY_SECONDS = 3600
# How long to count in this process after the shared storage failed, before trying it again.
SHARED_RETRY_SECONDS = 10.0
EXTENSION = "petitions.login_throttle"
_T = TypeVar("_T")
log = logging.getLogger(__name__)


def delay_after(failures: int, free: int, cap: int) -> int:
    """Seconds to wait after ``failures`` failures: none up to ``free``, then 1, 2, 4, … ``cap``."""
    if failures < free:
        return 0
    return int(min(2 ** min(failures - free, 30), max(cap, 1)))


class LoginThrottle:
    """The per-account part of the login limits; one per app (see :func:`init_login_throttle`)."""

    def __init__(self, limiter: Limiter, app: Flask) -> None:
        self.enabled = bool(limiter.enabled)
        self.storage: Storage | None = limiter.storage if self.enabled else None
        self.fallback = MemoryStorage()
        self.shared_down_until = 0.0  # after a failure, the shared storage is left alone a while
        self.prefix = f"{app.config['RATELIMIT_KEY_PREFIX']}/login-throttle"
        self.free = int(app.config["LOGIN_ACCOUNT_FREE_FAILURES"])
        self.cap = int(app.config["LOGIN_ACCOUNT_DELAY_MAX"])

    def _store(self, action: Callable[[Storage], _T]) -> _T:
        storage = self.storage or self.fallback
        if storage is self.fallback or time.monotonic() < self.shared_down_until:
            return action(self.fallback)
        try:
            return action(storage)
        except storage.base_exceptions:  # Redis is down: count in this process meanwhile
            log.warning("login throttle: shared storage unavailable, counting in this process")
            self.shared_down_until = time.monotonic() + SHARED_RETRY_SECONDS
            return action(self.fallback)

    def _keys(self, email: str) -> tuple[str, str, str]:
        secret = str(current_app.config["SECRET_KEY"]).encode()
        label = b"petitions.login-account\n" + email.strip().lower()[:320].encode()
        account = hmac.new(secret, label, hashlib.sha256).hexdigest()[:32]
        return (
            f"{self.prefix}/failures/{account}",
            f"{self.prefix}/failed-from/{account}/{client_ip_hash()}",
            f"{self.prefix}/wait/{account}",
        )

    def wait_before(self, email: str) -> int:
        """Seconds this client must wait before trying ``email`` (0: it may try now).

        An attempt that may go on while the account is throttled takes the account's turn: the
        others from failed addresses wait at least the current delay, even if it runs long.
        """
        if not self.enabled:
            return 0
        failures_key, failed_from_key, wait_key = self._keys(email)
        failures = self._store(lambda s: s.get(failures_key))
        if failures < self.free or not self._store(lambda s: s.get(failed_from_key)):
            return 0
        delay = delay_after(failures, self.free, self.cap)
        if self._store(lambda s: s.incr(wait_key, delay)) == 1:
            return 0
        expires = self._store(lambda s: s.get_expiry(wait_key))
        return max(1, math.ceil(expires - time.time()))

    def failed(self, email: str) -> None:
        """Count a failure for the account and this address; a throttled account waits anew."""
        if not self.enabled:
            return
        failures_key, failed_from_key, wait_key = self._keys(email)
        failures = self._store(lambda s: s.incr(failures_key, FAILURE_MEMORY_SECONDS))
        self._store(lambda s: s.incr(failed_from_key, FAILURE_MEMORY_SECONDS))
        delay = delay_after(failures, self.free, self.cap)
        if delay:
            self._store(lambda s: s.clear(wait_key))
            self._store(lambda s: s.incr(wait_key, delay))

    def succeeded(self, email: str) -> None:
        """This address knows the password: it waits no more (the account's count stays)."""
        if self.enabled:
            self._store(lambda s: s.clear(self._keys(email)[1]))


def init_login_throttle(app: Flask, limiter: Limiter) -> LoginThrottle:
    throttle = LoginThrottle(limiter, app)
    app.extensions[EXTENSION] = throttle
    return throttle


def login_throttle() -> LoginThrottle:
    """The current app's :class:`LoginThrottle`."""
    throttle: LoginThrottle = current_app.extensions[EXTENSION]
    return throttle
