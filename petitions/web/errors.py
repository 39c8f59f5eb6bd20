"""Error pages: HTML for people, JSON under ``/api/``.

A dependency that is down or does not answer in time (the database; Redis when a job is queued)
is not a bug: it answers 503 with ``Retry-After`` and a page that says nothing was stored, logged
as one warning line rather than a traceback per request. The signing view passes its form, so a
signature that could not be taken comes back filled in and nothing the signer typed is lost.
"""

from __future__ import annotations

import contextlib
import sys

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from petitions.extensions import db
from petitions.models.database import unavailable
from petitions.services.errors import DomainError

RETRY_AFTER_SECONDS = 30


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def dependency_down(error: BaseException) -> bool:
    """The database, or Redis (loaded only where jobs are queued), cannot be reached in time."""
    if unavailable(error):
        return True
    redis_errors = sys.modules.get("redis.exceptions")
    return redis_errors is not None and isinstance(
        error, redis_errors.ConnectionError | redis_errors.TimeoutError
    )


def unavailable_response(error: BaseException, form: object = None) -> ResponseReturnValue:
    """503 with ``Retry-After``; ``form`` (a signing form with its answers) is shown again."""
    with contextlib.suppress(Exception):  # the connection may be gone: nothing to roll back
        db.session.rollback()
    cause = getattr(error, "orig", None) or error
    current_app.logger.warning(
        "unavailable (%s) on %s %s", type(cause).__name__, request.method, request.endpoint
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _wants_json():
        body = {
            "error": "Service Unavailable",
            "message": "A service this site needs is not answering; nothing was stored. "
            "Try again later.",
        }
        return jsonify(body), 503, headers
    slug = (request.view_args or {}).get("slug")
    return render_template("errors/unavailable.html", form=form, slug=slug), 503, headers


def init_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if _wants_json():
            return jsonify({"error": error.name, "message": error.description}), code
        return render_template("errors/error.html", code=code, csrf=False), code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return render_template("errors/error.html", code=400, csrf=True), 400

    @app.errorhandler(DomainError)
    def refused(error: DomainError) -> ResponseReturnValue:
        """A refusal no view turned into its own message: undo the request's work, say why."""
        db.session.rollback()
        if _wants_json():
            return jsonify({"error": "Bad Request", "message": str(error)}), 400
        return render_template("errors/error.html", code=400, csrf=False, refusal=str(error)), 400

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ResponseReturnValue:
        if dependency_down(error):
            return unavailable_response(error)
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.endpoint)
        if _wants_json():
            return jsonify({"error": "Internal Server Error"}), 500
        return render_template("errors/error.html", code=500, csrf=False), 500
