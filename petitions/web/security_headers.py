"""Response headers every page gets.

Confirmation and withdrawal pages carry a token in their URL, so no page may send its address to
another site as a referrer; nothing may frame our forms, except the embeds made to be framed
(:func:`allow_framing`); nothing but our own files may run.
"""

from __future__ import annotations

from flask import Flask, Response

POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors {ancestors}; base-uri 'none'"
)
# Embeds (public/embed.py): any site may frame them; everything else in the policy stays.
FRAMABLE_POLICY = POLICY.format(ancestors="*")

HEADERS = {
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": POLICY.format(ancestors="'none'"),
}


def allow_framing(response: Response) -> Response:
    """Let any site frame this response (and send no ``X-Frame-Options``, which cannot say so)."""
    response.headers["Content-Security-Policy"] = FRAMABLE_POLICY
    return response


def init_security_headers(app: Flask) -> None:
    headers = dict(HEADERS)
    if app.config["PRODUCTION"]:
        # Production is served over HTTPS (its cookies are Secure): browsers should never try
        # plain HTTP again, whatever the proxy in front does.
        headers["Strict-Transport-Security"] = "max-age=31536000"

    @app.after_request
    def add_headers(response: Response) -> Response:
        framable = response.headers.get("Content-Security-Policy") == FRAMABLE_POLICY
        for name, value in headers.items():
            if framable and name == "X-Frame-Options":
                continue
            response.headers.setdefault(name, value)
        return response
