"""Response headers every page gets.

Confirmation and withdrawal pages carry a token in their URL, so no page may send its address to
another site as a referrer; nothing may frame our forms; nothing but our own files may run.
"""

from __future__ import annotations

from flask import Flask, Response

HEADERS = {
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def init_security_headers(app: Flask) -> None:
    headers = dict(HEADERS)
    if app.config["PRODUCTION"]:
        # Production is served over HTTPS (its cookies are Secure): browsers should never try
        # plain HTTP again, whatever the proxy in front does.
        headers["Strict-Transport-Security"] = "max-age=31536000"

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
