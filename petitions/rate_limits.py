"""Rate limits on the endpoints that send email or write: one Limiter per app.

A module-level Limiter would keep the storage of whichever app was configured last, so two apps
in one process (tests, or an app plus a command) would share it; each app gets its own instead.
Storage: memory by default, ``REDIS_URL`` to share counts across workers and machines.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter

from petitions.client_address import client_address

# Endpoints that write a row and may queue an email for someone.
LIMITED_ENDPOINTS = ("public.sign", "public.renew")


def _sign_rate_limit() -> str:
    return str(current_app.config["SIGN_RATE_LIMIT"])


def init_rate_limits(app: Flask) -> Limiter:
    """Bind a Limiter to ``app`` and limit the endpoints above (call after the blueprints)."""
    limiter = Limiter(key_func=client_address, app=app, default_limits=[])
    for endpoint in LIMITED_ENDPOINTS:
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(_sign_rate_limit, methods=["POST"])(view)
    app.extensions["petitions.limiter"] = limiter
    return limiter
