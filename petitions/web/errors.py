"""Error pages: HTML for people, JSON under ``/api/``."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from petitions.extensions import db
from petitions.services.errors import DomainError


def _wants_json() -> bool:
    return request.path.startswith("/api/")


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
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.endpoint)
        if _wants_json():
            return jsonify({"error": "Internal Server Error"}), 500
        return render_template("errors/error.html", code=500, csrf=False), 500
