"""Where a staff page may send someone after login: our own paths, nothing else.

An attacker's link to ``/staff/login?next=//evil.example`` must not turn our login page into a
springboard to a look-alike site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def safe_next(target: str | None) -> str:
    """``target`` if it is a relative path on this site, else the staff home page."""
    fallback = url_for("staff.home.index")
    if not target or len(target) > 2000:
        return fallback
    if any(ord(c) < 32 or c == "\\" for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target
