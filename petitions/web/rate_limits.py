"""Rate limits on the endpoints that send email or write: one Limiter per app.

A module-level Limiter would keep the storage of whichever app was configured last, so two apps
in one process (tests, or an app plus a command) would share it; each app gets its own instead.
Storage: memory by default, ``REDIS_URL`` to share counts across workers and machines. In memory,
each worker process counts alone, so production without ``REDIS_URL`` says so at start-up.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, cast

from flask import Flask, Response, current_app, request
from flask.typing import RouteCallable
from flask_limiter import Limiter

from petitions.web.client_address import client_address
from petitions.web.login_throttle import init_login_throttle

# Endpoints that write a row and may queue an email for someone.
LIMITED_ENDPOINTS = ("public.sign", "public.renew", "embed.sign")


VERIFY_ENDPOINTS = (
    "verification.check_digest",
    "verification.check_file",
    "verification.check_file_hash",
    "verification.check_listed",
)
LOGIN_ENDPOINT = "staff.auth.login"
CHANGE_PASSWORD_ENDPOINT = "staff.auth.change_password"  # noqa: S105 (an endpoint name)


def _sign_rate_limit() -> str:
    return str(current_app.config["SIGN_RATE_LIMIT"])


def _failed(response: Response) -> bool:
    return response.status_code != 303


def _limited(view: RouteCallable, decorator: Callable[[RouteCallable], Any]) -> RouteCallable:
    """Flask-Limiter's decorator applied to a registered view, typed as the view it replaces."""
    return cast(RouteCallable, decorator(view))


def init_rate_limits(app: Flask) -> Limiter:
    """Bind a Limiter to ``app`` and limit the endpoints above (call after the blueprints)."""
    limiter = Limiter(key_func=client_address, app=app, default_limits=[])
    if app.config["PRODUCTION"] and app.config["RATELIMIT_ENABLED"] and not app.config["REDIS_URL"]:
        app.logger.warning(
            "REDIS_URL is not set: rate limits are counted per worker process (with gunicorn "
            "-w 2 a client gets twice each limit); set REDIS_URL to share the counts"
        )
    for endpoint in LIMITED_ENDPOINTS:
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = _limited(
            view, limiter.limit(_sign_rate_limit, methods=["POST"])
        )
    # Password guessing: limited per address here; per account by a growing wait that only
    # addresses which failed for it meet (petitions.web.login_throttle, called by the view).
    login = app.view_functions[LOGIN_ENDPOINT]
    # Only failures count, so a person who signs in often never meets the limits.
    login = _limited(
        login,
        limiter.limit(
            lambda: str(current_app.config["LOGIN_RATE_LIMIT_ADDRESS"]),
            methods=["POST"],
            deduct_when=_failed,
        ),
    )
    app.view_functions[LOGIN_ENDPOINT] = login
    init_login_throttle(app, limiter)
    # The verification page's checks: a (name, email) check must not become a way to try many.
    for endpoint in VERIFY_ENDPOINTS:
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = _limited(
            view,
            limiter.limit(lambda: str(current_app.config["VERIFY_RATE_LIMIT"]), methods=["POST"]),
        )
    # Changing the password asks for the current one: guessing it is limited like a login.
    change = app.view_functions[CHANGE_PASSWORD_ENDPOINT]
    app.view_functions[CHANGE_PASSWORD_ENDPOINT] = _limited(
        change,
        limiter.limit(
            lambda: str(current_app.config["LOGIN_RATE_LIMIT_ADDRESS"]), methods=["POST"]
        ),
    )
    _limit_privacy(app, limiter)
    app.extensions["petitions.limiter"] = limiter
    return limiter


PRIVACY_ENDPOINTS = ("privacy.erase", "privacy.access", "privacy.renew")
# Links asked for one typed address, whoever asks: its inbox gets at most this many.
PRIVACY_PER_ADDRESS = "5 per hour"


def _typed_address() -> str:
    """A keyed hash of the address in the form (never the address): the per-address key."""
    typed = request.form.get("email", "").strip().lower()
    key = str(current_app.config["SECRET_KEY"]).encode()
    return "privacy:" + hmac.new(key, typed.encode(), hashlib.sha256).hexdigest()[:32]


def _limit_privacy(app: Flask, limiter: Limiter) -> None:
    """Erasure and access requests mail a link: limited per client and per typed address,
    the same for addresses that signed and those that did not."""
    for endpoint in PRIVACY_ENDPOINTS:
        view = _limited(
            app.view_functions[endpoint],
            limiter.limit(lambda: str(current_app.config["PRIVACY_RATE_LIMIT"]), methods=["POST"]),
        )
        if endpoint != "privacy.renew":
            view = _limited(
                view,
                limiter.limit(PRIVACY_PER_ADDRESS, key_func=_typed_address, methods=["POST"]),
            )
        app.view_functions[endpoint] = view
