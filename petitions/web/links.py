"""Absolute links for emails: ``PUBLIC_URL`` when set, else a request host that may be trusted.

Which request hosts may appear in a link is :mod:`petitions.web.hosts`'s rule: one listed in
``ALLOWED_HOSTS``, or, with no list, a loopback one; anything else gets the fallback base.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for

from petitions.web.hosts import request_base_for_links

FALLBACK_BASE = "http://127.0.0.1:5000"


def link_base() -> str:
    """The ``scheme://host`` :func:`external_url` puts before a path here and now.

    A job that emails later (no request then) keeps it to link to the host its asker used.
    """
    base = current_app.config.get("PUBLIC_URL")
    if base is None and has_request_context():
        request_base = request_base_for_links(current_app.config)
        if request_base is not None:
            return request_base
    return str(base or FALLBACK_BASE)


def url_on(base: str, endpoint: str, **values: Any) -> str:
    """An absolute link on ``base`` (from :func:`link_base`), built with no request."""
    return base + current_app.url_map.bind("localhost").build(endpoint, values)


def external_url(endpoint: str, **values: Any) -> str:
    base = current_app.config.get("PUBLIC_URL")
    if base is None and has_request_context():
        request_base = request_base_for_links(current_app.config)
        if request_base is not None:
            return request_base + url_for(endpoint, **values)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return (base or FALLBACK_BASE) + path
