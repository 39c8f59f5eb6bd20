"""Settings: defaults, then the instance folder, then the environment, then explicit overrides.

Every setting in the README's configuration table is optional, so a newcomer gets a
working site (SQLite in the instance folder, emails kept local) with no configuration at all.
Nothing here runs at import time; :func:`load_settings` is called by the app factory.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_WORDS


def database_url(raw: str | None, instance_path: Path) -> str:
    """Return a SQLAlchemy URL, choosing the installed PostgreSQL driver for ``postgresql://``.

    Deployments write the URL the way their provider hands it out (``postgres://`` or
    ``postgresql://``); SQLAlchemy would pick psycopg2, which we do not install, so name psycopg 3.
    """
    if not raw:
        return f"sqlite:///{instance_path / 'petitions.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def postgres_timeouts(url: str, connect: float, statement: float) -> dict[str, Any]:
    """Engine options that bound every wait for PostgreSQL (see ``models/pg_bounds.py``).

    ``connect_timeout`` covers a server that does not answer a new connection, ``pool_timeout``
    a pool whose connections are all held by requests stuck on it; ``statement_timeout`` is each
    connection's default (web requests pay nothing for it) and work outside a web request lifts it.
    Any ``options`` already in the URL are kept.
    """
    engine: dict[str, Any] = {
        "pool_timeout": connect,
        "connect_args": {"connect_timeout": max(1, math.ceil(connect))},
    }
    if statement > 0:
        given = parse_qs(urlsplit(url).query).get("options", [])
        timeout = f"-c statement_timeout={math.ceil(statement * 1000)}"
        engine["connect_args"]["options"] = " ".join([*given, timeout])
    return engine


def instance_secret_key(instance_path: Path) -> str:
    """Read the instance folder's secret key, creating it once.

    ``O_EXCL`` makes the creation safe when several workers start at once: one writes the key, the
    others read what it wrote.
    """
    path = instance_path / "secret_key"
    instance_path.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} exists but is empty; delete it to generate a new key") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_settings(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the settings dictionary the app factory loads into ``app.config``."""
    overrides = dict(overrides or {})
    production = os.environ.get("PETITIONS_ENV", os.environ.get("FLASK_ENV", "")).lower() in {
        "production",
        "prod",
    }
    settings: dict[str, Any] = {
        "PRODUCTION": production,
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL"), instance_path),
        "MAIL_URL": os.environ.get("MAIL_URL", "console:"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "petitions@localhost"),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "").rstrip("/") or None,
        # Host names this site answers to (comma-separated); any other gets 400. See web/hosts.py.
        "ALLOWED_HOSTS": os.environ.get("ALLOWED_HOSTS", ""),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # Bounds on the wait for a dependency that hangs (accepts, then never answers), so a
        # request answers 503 (or falls back) long before the server's worker timeout.
        "DATABASE_CONNECT_TIMEOUT": env_seconds("DATABASE_CONNECT_TIMEOUT", 5.0),
        "DATABASE_STATEMENT_TIMEOUT": env_seconds("DATABASE_STATEMENT_TIMEOUT", 15.0),
        "REDIS_TIMEOUT": env_seconds("REDIS_TIMEOUT", 0.5),
        "RATELIMIT_ENABLED": env_flag("RATELIMIT_ENABLED", True),
        # A Redis outage must not stop people from signing: fall back to per-process limits.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "petitions",
        "OUTBOX_WORKER": os.environ.get("OUTBOX_WORKER", "thread"),
        # Background jobs (large delivery PDFs): "thread" works them in each web process,
        # "external" leaves them to `flask jobs work`. JOBS_IMMEDIATE runs them as they are queued.
        "JOBS_WORKER": os.environ.get("JOBS_WORKER", "thread"),
        "JOBS_IMMEDIATE": env_flag("JOBS_IMMEDIATE", False),
        # A delivery PDF of at most this many signatories is built within the request.
        "EXPORT_INLINE_ROWS": int(os.environ.get("EXPORT_INLINE_ROWS", "2000") or 2000),
        # A running PDF job silent for this long was killed; asking again starts a new one.
        "EXPORT_STALE_SECONDS": 300,
        # Checks on the public verification page (is my name on the delivered list?).
        "VERIFY_RATE_LIMIT": os.environ.get("VERIFY_RATE_LIMIT", "10 per minute;60 per hour"),
        # How many reverse proxies put an address into X-Forwarded-For; 0 trusts none of them.
        # NORMAL (with WAL): a commit survives any crash of the app or a worker, not a power cut
        # or kernel crash, and does not wait for the disk (25-30% more signatures per second
        # here). FULL waits for the disk on every commit. PostgreSQL ignores this.
        "SQLITE_SYNCHRONOUS": os.environ.get("SQLITE_SYNCHRONOUS", "NORMAL"),
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0") or 0),
        # email-validator's DNS check; off by default so signing works offline and stays fast.
        "EMAIL_CHECK_DELIVERABILITY": env_flag("EMAIL_CHECK_DELIVERABILITY", False),
        "SIGN_RATE_LIMIT": os.environ.get("SIGN_RATE_LIMIT", "20 per minute;200 per hour"),
        # Staff logins: failures per client address; per account, after this many failures
        # within an hour, addresses that failed for it wait 1 s, doubling up to the maximum
        # (seconds; 120 lets them 30 guesses an hour). Addresses that have not failed never wait.
        "LOGIN_RATE_LIMIT_ADDRESS": os.environ.get(
            "LOGIN_RATE_LIMIT_ADDRESS", "10 per minute;60 per hour"
        ),
        "LOGIN_ACCOUNT_FREE_FAILURES": int(os.environ.get("LOGIN_ACCOUNT_FREE_FAILURES") or 5),
        "LOGIN_ACCOUNT_DELAY_MAX": int(os.environ.get("LOGIN_ACCOUNT_DELAY_MAX") or 120),
        # A staff session ends after this long without a request.
        "STAFF_IDLE_TIMEOUT": int(os.environ.get("STAFF_IDLE_TIMEOUT", str(30 * 60))),
        "CONFIRM_MAX_AGE": 14 * 24 * 3600,
        "WITHDRAW_MAX_AGE": 400 * 24 * 3600,
        # Emails the signing form may cause for a pending signature after its first (reminders,
        # offers of other details). "Send me a new link" from an expired link is not counted.
        "CONFIRM_RESENDS": 3,
        "OUTBOX_POLL_SECONDS": 5.0,
        # After a wake-up, wait this long so simultaneous signatures' emails share one round.
        "OUTBOX_GATHER_SECONDS": 0.25,
        "OUTBOX_RETRY_BASE_SECONDS": 5.0,
        "OUTBOX_RETRY_MAX_SECONDS": 60.0,
        "OUTBOX_MAX_ATTEMPTS": 200,
        # How long a worker's claim on the emails it is sending lasts without news from it: its
        # heartbeat renews the claim every third of this while it runs; when the worker dies, the
        # emails it had not sent go out from another worker after at most this long.
        "OUTBOX_CLAIM_SECONDS": float(os.environ.get("OUTBOX_CLAIM_SECONDS", "60") or 60),
        "SMTP_TIMEOUT": 20.0,
        "LANGUAGES": ["en", "sq"],
        "BABEL_DEFAULT_LOCALE": "en",
        "PUBLIC_PAGE_SIZE": 50,
        # No form needs more; the verification page's file check allows a PDF (its own limit).
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session cookie
        # hide_parameters: SQL errors and echo never carry emails, bodies or tokens.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        # --- privacy ---
        # Who runs the site (the data controller), shown on /privacy; the authority is one line,
        # "Name, https://…" (its URL after the last comma).
        "OPERATOR_NAME": os.environ.get("OPERATOR_NAME", "").strip() or None,
        "OPERATOR_ADDRESS": os.environ.get("OPERATOR_ADDRESS", "").strip() or None,
        "PRIVACY_CONTACT": os.environ.get("PRIVACY_CONTACT", "").strip() or None,
        "SUPERVISORY_AUTHORITY": os.environ.get("SUPERVISORY_AUTHORITY", "").strip() or None,
        # Signers' personal data is anonymised this many days after a letter closed or was
        # delivered; a letter may set its own number of days, at most RETENTION_MAX_DAYS.
        "RETENTION_DAYS": int(os.environ.get("RETENTION_DAYS") or 180),
        "RETENTION_MAX_DAYS": int(os.environ.get("RETENTION_MAX_DAYS") or 730),
        # How long an emailed erasure or access link works.
        "PRIVACY_LINK_MAX_AGE": 2 * 24 * 3600,
        # Per client address, and per typed email address, on /privacy/erase and /access.
        "PRIVACY_RATE_LIMIT": os.environ.get("PRIVACY_RATE_LIMIT", "10 per minute;60 per hour"),
    }
    if os.environ.get("SECRET_KEY"):
        settings["SECRET_KEY"] = os.environ["SECRET_KEY"]
    settings.update(overrides)
    if not settings.get("SECRET_KEY"):
        if settings["PRODUCTION"]:
            raise RuntimeError("SECRET_KEY must be set in production (PETITIONS_ENV=production)")
        settings["SECRET_KEY"] = instance_secret_key(instance_path)
    if "@" not in parseaddr(str(settings["MAIL_FROM"]))[1]:
        raise RuntimeError("MAIL_FROM must be an email address")
    if settings["PRODUCTION"] and str(settings["MAIL_URL"]).startswith("console"):
        # The console transport prints addresses and links: fine on a laptop, not on a server.
        raise RuntimeError("MAIL_URL must name an SMTP server in production")
    if settings["PRODUCTION"] and not settings.get("PUBLIC_URL"):
        # Else emailed links would follow whatever host a request names (web/hosts.py).
        raise RuntimeError(
            "PUBLIC_URL must be set in production (PETITIONS_ENV=production): the site's address "
            "for links in emails, e.g. PUBLIC_URL=https://letters.example.org"
        )
    hosts = settings["ALLOWED_HOSTS"]
    hosts = hosts.split(",") if isinstance(hosts, str) else hosts or []
    settings["ALLOWED_HOSTS"] = [name.strip().lower() for name in hosts if name.strip()]
    settings.setdefault("TRUSTED_HOSTS", settings["ALLOWED_HOSTS"] or None)
    uri = settings["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres"):
        settings["SQLALCHEMY_DATABASE_URI"] = database_url(uri, instance_path)
        # A server connection can drop between requests; a SQLite file cannot.
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **settings["SQLALCHEMY_ENGINE_OPTIONS"],
            "pool_pre_ping": True,
            **postgres_timeouts(
                uri, settings["DATABASE_CONNECT_TIMEOUT"], settings["DATABASE_STATEMENT_TIMEOUT"]
            ),
        }
    settings.setdefault("RATELIMIT_STORAGE_URI", settings["REDIS_URL"] or "memory://")
    if str(settings["RATELIMIT_STORAGE_URI"]).startswith("redis"):
        redis_wait = settings["REDIS_TIMEOUT"]
        settings.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {"socket_timeout": redis_wait, "socket_connect_timeout": redis_wait},
        )
    return settings
