"""Absolute links for emails: ``PUBLIC_URL`` when set, else the request's own host."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for

FALLBACK_BASE = "http://127.0.0.1:5000"


def external_url(endpoint: str, **values: Any) -> str:
    base = current_app.config.get("PUBLIC_URL")
    if base is None and has_request_context():
        return url_for(endpoint, _external=True, **values)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return (base or FALLBACK_BASE) + path
