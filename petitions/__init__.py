"""petitions: open letters and email-verified signatures for civil-society coalitions."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

PACKAGE = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE.parent
MIGRATIONS = PACKAGE / "migrations"


def resource_folder(name: str) -> Path:
    """Where ``templates/`` or ``static/`` is: inside the package when installed from a wheel
    (the build maps the top-level folders in), else at the top of the checkout."""
    packaged = PACKAGE / name
    return packaged if packaged.is_dir() else PROJECT_ROOT / name


def default_instance_path() -> Path:
    """The instance folder (database, secret key) when ``PETITIONS_INSTANCE`` is not set:
    ``instance/`` in a checkout, else ``<virtual environment>/var/petitions-instance``
    (Flask's place for an installed package), the same from any working directory."""
    if (PROJECT_ROOT / "templates").is_dir() and (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "instance"
    return Path(sys.prefix) / "var" / "petitions-instance"


def create_app(settings: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, commands, error pages, outbox worker."""
    from petitions.api.answer_memo import AnswerMemo
    from petitions.api.views import bp as api_bp
    from petitions.cli import init_cli
    from petitions.config import load_settings
    from petitions.extensions import csrf, db, migrate
    from petitions.models.database import init_database
    from petitions.models.exports import PdfExport  # noqa: F401  (its tables join the metadata)
    from petitions.models.privacy import PrivacyRequest  # noqa: F401  (its table joins too)
    from petitions.models.staff import StaffUser  # noqa: F401  (its tables join the metadata)
    from petitions.public.embed import bp as embed_bp
    from petitions.public.follow_up import bp as follow_up_bp
    from petitions.public.page_cache import PageCache
    from petitions.public.privacy import bp as privacy_bp
    from petitions.public.sharing import init_sharing
    from petitions.public.verification import bp as verification_bp
    from petitions.public.views import bp as public_bp
    from petitions.staff import init_staff
    from petitions.web import errors
    from petitions.web.hosts import init_hosts
    from petitions.web.i18n import init_i18n
    from petitions.web.input_guard import init_input_guard
    from petitions.web.log_redaction import install_redaction
    from petitions.web.metrics import init_metrics
    from petitions.web.probes import init_probes
    from petitions.web.rate_limits import init_rate_limits
    from petitions.web.security_headers import init_security_headers
    from petitions.web.site_identity import init_site_identity
    from petitions.web.templating import init_templating
    from petitions.web.unit_of_work import init_unit_of_work
    from petitions.workers.jobs import init_jobs
    from petitions.workers.outbox_delivery import init_outbox

    instance_path = Path(os.environ.get("PETITIONS_INSTANCE") or default_instance_path())
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(resource_folder("templates")),
        static_folder=str(resource_folder("static")),
    )
    app.config.update(load_settings(instance_path, settings))
    # The default SQLite file lives there; without the folder, `db upgrade` could not create it.
    with contextlib.suppress(OSError):  # read-only elsewhere: `doctor` says what is missing
        instance_path.mkdir(parents=True, exist_ok=True)
    install_redaction(app.logger.name)
    if not app.logger.handlers or app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)

    if app.config["API_MEMO_SECONDS"] > 0:  # inside the proxy fix: keyed on the checked host
        app.wsgi_app = AnswerMemo(app.wsgi_app, app.config["API_MEMO_SECONDS"])  # type: ignore[method-assign]

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
    init_site_identity(app)  # before init_i18n: Babel takes the time zone from it
    init_i18n(app)
    init_templating(app)
    app.register_blueprint(public_bp)
    app.register_blueprint(follow_up_bp)
    app.register_blueprint(verification_bp)
    init_sharing(app)
    app.register_blueprint(embed_bp)
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
    init_metrics(app)
    init_probes(app)
    return app
