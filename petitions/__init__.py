"""petitions: open letters and email-verified signatures for civil-society coalitions."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, commands, error pages, outbox worker."""
    from petitions.api.views import bp as api_bp
    from petitions.cli import init_cli
    from petitions.config import load_settings
    from petitions.extensions import csrf, db, migrate
    from petitions.models.database import init_database
    from petitions.models.exports import PdfExport  # noqa: F401  (its tables join the metadata)
    from petitions.models.privacy import PrivacyRequest  # noqa: F401  (its table joins too)
    from petitions.models.staff import StaffUser  # noqa: F401  (its tables join the metadata)
    from petitions.public.page_cache import PageCache
    from petitions.public.privacy import bp as privacy_bp
    from petitions.public.verification import bp as verification_bp
    from petitions.public.views import bp as public_bp
    from petitions.staff import init_staff
    from petitions.web import errors
    from petitions.web.hosts import init_hosts
    from petitions.web.i18n import init_i18n
    from petitions.web.input_guard import init_input_guard
    from petitions.web.log_redaction import install_redaction
    from petitions.web.rate_limits import init_rate_limits
    from petitions.web.security_headers import init_security_headers
    from petitions.web.templating import init_templating
    from petitions.web.unit_of_work import init_unit_of_work
    from petitions.workers.jobs import init_jobs
    from petitions.workers.outbox_delivery import init_outbox

    instance_path = Path(os.environ.get("PETITIONS_INSTANCE", PROJECT_ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(load_settings(instance_path, settings))
    install_redaction(app.logger.name)
    if not app.logger.handlers or app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)

    if app.config["TRUSTED_PROXIES"] > 0:
        hops = app.config["TRUSTED_PROXIES"]
        # X-Forwarded-Host only with ALLOWED_HOSTS, which then checks it (web/hosts.py).
        x_host = hops if app.config["ALLOWED_HOSTS"] else 0
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=x_host)  # type: ignore[method-assign]

    init_hosts(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    init_input_guard(app)  # before anything reads a form; PostgreSQL cannot hold a NUL
    csrf.init_app(app)
    init_database(app)
    init_unit_of_work(app)
    init_i18n(app)
    init_templating(app)
    app.register_blueprint(public_bp)
    app.register_blueprint(verification_bp)
    app.register_blueprint(privacy_bp)
    app.extensions["petitions.page_cache"] = PageCache()
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    init_staff(app)
    init_rate_limits(app)
    errors.init_errors(app)
    init_cli(app)
    init_outbox(app)
    init_jobs(app)
    init_security_headers(app)
    return app
