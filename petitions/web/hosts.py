"""Which host names the site answers to, and which request host an emailed link may carry.

A signer's email is sent to an address anyone can type into the form, so its links must never
follow a host the request made up: an attacker would sign with a victim's address and a forged
``Host`` (or ``X-Forwarded-Host``) and the genuine email would point to the attacker's site.

- ``PUBLIC_URL`` set: links use it, whatever the request says (production requires it).
- ``ALLOWED_HOSTS`` set: Flask's ``TRUSTED_HOSTS`` gets the list, a request for any other host
  is answered 400 before anything else runs, and links use the request's (checked) host. Only
  then does ``TRUSTED_PROXIES`` also believe ``X-Forwarded-Host`` (the app factory), because the
  forwarded host is checked against the list too.
- Neither (a newcomer's laptop): links use the request's host only when it is a loopback name
  or address (``localhost``, ``127.0.0.1``, ``::1``), else ``http://127.0.0.1:5000``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import SecurityError


def host_name(host: str) -> str:
    """The name part of a ``Host`` value: no port, no IPv6 brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_allowed(host: str, allowed: list[str]) -> bool:
    """Werkzeug's rule: a name matches itself; one starting with a dot also its subdomains."""
    name = host_name(host)
    for entry in allowed:
        ref = host_name(entry.lstrip("."))
        if name == ref or (entry.startswith(".") and name.endswith("." + ref)):
            return True
    return False


def request_base_for_links(config: Any) -> str | None:
    """The request's own ``scheme://host`` when an emailed link may carry it, else ``None``."""
    host = request.host  # with ALLOWED_HOSTS, Flask has refused any other host already
    if not host:
        return None
    allowed = config.get("ALLOWED_HOSTS") or []
    if request.scheme not in ("http", "https"):  # X-Forwarded-Proto may say anything
        return None
    if (allowed and is_allowed(host, allowed)) or (not allowed and is_loopback(host)):
        return f"{request.scheme}://{host}"
    return None


def refuse_unknown_host() -> None:
    """First of all before_request functions: Flask found the host untrusted, say so now (its own
    check would only raise after every other before_request function had run)."""
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def init_hosts(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unknown_host)

    @app.errorhandler(SecurityError)
    def unknown_host(error: SecurityError) -> ResponseReturnValue:
        if error is not request.routing_exception:  # another SecurityError: the usual 400 page
            return render_template("errors/error.html", code=400, csrf=False), 400
        # No URL can be built for an untrusted host, so this page links to nothing.
        return render_template("errors/unknown_host.html"), 400
