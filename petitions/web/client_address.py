"""The client's address, and the only form of it we keep: a keyed hash.

The address comes from the socket, or from ``X-Forwarded-For`` when ``TRUSTED_PROXIES`` says how
many proxies to believe; that part is Werkzeug's ProxyFix, installed by the app factory, so here
``request.remote_addr`` is already right.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request


def client_address() -> str:
    return request.remote_addr or "unknown"


def ip_hash_key(secret_key: str) -> bytes:
    """Derive the HMAC key from the secret key under its own label, so the two never coincide."""
    return hmac.new(secret_key.encode(), b"petitions.ip-hash", hashlib.sha256).digest()


def hash_ip(address: str, secret_key: str | None = None) -> str:
    """HMAC-SHA256 of the address: stable for one deployment, useless without its key."""
    key = ip_hash_key(secret_key or current_app.config["SECRET_KEY"])
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]


def client_ip_hash() -> str:
    return hash_ip(client_address())
