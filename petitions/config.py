"""Settings: one typed object, read from the environment and checked once, at start.

Every setting in the README's configuration table is optional, so a newcomer gets a
working site (SQLite in the instance folder, emails kept local) with no configuration at all.
A value the site cannot use (``OUTBOX_WORKER=extrenal``, ``RATELIMIT_ENABLED=maybe``, a negative
number, a malformed URL) stops the start with a message naming the variable and what it accepts:
a typo must never become a silent default (a misspelt worker mode once meant no email at all).

:class:`Settings` is that object; :func:`load_settings` turns it into the ``app.config`` keys the
rest of the code reads, then applies explicit overrides (tests). Nothing runs at import time.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import click

T = TypeVar("T")

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}
ENVIRONMENTS = {"development": False, "dev": False, "test": False, "production": True, "prod": True}
WORKER_MODES = ("thread", "external")
SQLITE_SYNC_MODES = ("FULL", "NORMAL", "EXTRA")
MAIL_SCHEMES = ("console", "smtp", "smtp+starttls", "smtps")
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "postgresql+psycopg")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class SettingsError(click.ClickException, RuntimeError):
    """A setting the site cannot use; the message names the variable and what it accepts.

    A click exception, so every ``flask`` command stops with ``Error: <message>`` (exit status 1)
    rather than a traceback; gunicorn reports it as a worker that failed to boot (exit status 3).
    """

    def __str__(self) -> str:
        return self.message


class Environment:
    """Typed readers over the environment; each bad value is remembered, all reported at once."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.errors: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def parse(self, name: str, default: T, parser: Callable[[str], T], accepts: str) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parser(value)
        except (ValueError, TypeError):
            self.errors.append(f"{name}={value!r} is not valid: {name} accepts {accepts}")
            return default

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def optional_text(self, name: str) -> str | None:
        return self.raw(name)

    def flag(self, name: str, default: bool) -> bool:
        def parse(value: str) -> bool:
            word = value.lower()
            if word in TRUE_WORDS | FALSE_WORDS:
                return word in TRUE_WORDS
            raise ValueError(value)

        return self.parse(name, default, parse, "true/false (also 1/0, yes/no, on/off)")

    def choice(self, name: str, default: str, choices: tuple[str, ...], upper: bool = False) -> str:
        def parse(value: str) -> str:
            value = value.upper() if upper else value.lower()
            if value not in choices:
                raise ValueError(value)
            return value

        return self.parse(name, default, parse, "one of " + ", ".join(choices))

    def number(self, name: str, default: float, minimum: float = 0.0, above: bool = False) -> float:
        def parse(value: str) -> float:
            number = float(value)
            if not math.isfinite(number) or number < minimum or (above and number == minimum):
                raise ValueError(value)
            return number

        bound = f"more than {minimum:g}" if above else f"at least {minimum:g}"
        return self.parse(name, default, parse, f"a number {bound}")

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        def parse(value: str) -> int:
            number = int(value)
            if number < minimum:
                raise ValueError(value)
            return number

        return self.parse(name, default, parse, f"a whole number, at least {minimum}")

    def duration(self, name: str, default: float) -> float:
        def parse(value: str) -> float:
            found = DURATION.match(value.lower())
            if not found:
                raise ValueError(value)
            return float(found.group(1)) * DURATION_UNITS[found.group(2)]

        return self.parse(name, default, parse, "a duration such as 90s, 30m, 24h or 2d (0: off)")

    def email(self, name: str) -> str | None:
        def parse(value: str) -> str:
            address = parseaddr(value)[1]
            if "@" not in address or address.startswith("@") or address.endswith("@"):
                raise ValueError(value)
            return value

        return self.parse(name, None, parse, "an email address")

    def url(self, name: str, default: str | None, schemes: tuple[str, ...]) -> str | None:
        def parse(value: str) -> str:
            parts = urlsplit(value)
            if parts.scheme not in schemes:
                raise ValueError(value)
            if parts.scheme.startswith("http") and not parts.hostname:
                raise ValueError(value)
            _ = parts.port  # raises ValueError on a port that is not a number
            return value

        return self.parse(name, default, parse, "a URL starting with " + ", ".join(schemes))

    def addresses(self, name: str, default: str) -> list[str]:
        def parse(value: str) -> list[str]:
            networks = [part.strip() for part in value.split(",") if part.strip()]
            for network in networks:
                ipaddress.ip_network(network, strict=False)
            return networks

        fallback = parse(default)
        return self.parse(name, fallback, parse, "comma-separated IP addresses or networks (CIDR)")


def _mail_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in MAIL_SCHEMES:
        raise ValueError(value)
    if parts.scheme != "console" and (not parts.hostname or parts.port == 0):
        raise ValueError(value)
    return value


def _database_url(value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(value) from None
    if url.drivername not in DATABASE_SCHEMES:
        raise ValueError(value)
    if url.drivername != "sqlite" and not url.database:
        raise ValueError(value)
    return value


def _time_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(value) from None
    return value


def _colour(value: str) -> str:
    if not HEX_COLOUR.match(value):
        raise ValueError(value)
    return value.lower()


@dataclass(frozen=True)
class Settings:
    """Everything the environment can set, typed and checked; see the README's table."""

    production: bool
    database_url: str | None
    database_connect_timeout: float
    database_statement_timeout: float
    secret_key: str | None
    mail_url: str
    mail_from: str
    mail_max_per_second: float | None
    public_url: str | None
    allowed_hosts: str
    trusted_proxies: int
    redis_url: str | None
    redis_timeout: float
    ratelimit_enabled: bool
    sign_rate_limit: str
    verify_rate_limit: str
    login_rate_limit_address: str
    login_account_free_failures: int
    login_account_delay_max: int
    staff_idle_timeout: int
    outbox_worker: str
    outbox_claim_seconds: float
    jobs_worker: str
    jobs_immediate: bool
    export_inline_rows: int
    privacy_rate_limit: str
    embed_form_max_age: int
    api_cache_seconds: int
    api_memo_seconds: float
    sqlite_synchronous: str
    email_check_deliverability: bool
    reminder_after: float
    site_name: str
    site_logo: str | None
    site_accent: str
    time_zone: str
    operator_name: str | None
    operator_address: str | None
    privacy_contact: str | None
    supervisory_authority: str | None
    retention_days: int
    retention_max_days: int
    metrics_enabled: bool
    metrics_allowed: list[str]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read and check every variable; raise one :class:`SettingsError` listing all bad ones."""
        env = Environment(environ)
        name = "PETITIONS_ENV" if env.raw("PETITIONS_ENV") else "FLASK_ENV"
        stage = env.choice(name, "development", tuple(ENVIRONMENTS))
        mail_per_second = env.number("MAIL_MAX_PER_SECOND", 0.0, above=True)
        settings = cls(
            production=ENVIRONMENTS[stage],
            database_url=env.parse(
                "DATABASE_URL",
                None,
                _database_url,
                "a database URL: sqlite:////path/file.sqlite3 or postgresql://user@host/name",
            ),
            database_connect_timeout=env.number("DATABASE_CONNECT_TIMEOUT", 5.0, above=True),
            database_statement_timeout=env.number("DATABASE_STATEMENT_TIMEOUT", 15.0),
            secret_key=env.optional_text("SECRET_KEY"),
            mail_url=env.parse(
                "MAIL_URL",
                "console:",
                _mail_url,
                "console: or smtp://host:port, smtp+starttls://user:password@host:587, "
                "smtps://user:password@host:465",
            ),
            mail_from=env.text("MAIL_FROM", "petitions@localhost"),
            mail_max_per_second=mail_per_second or None,
            public_url=(env.url("PUBLIC_URL", None, ("http", "https")) or "").rstrip("/") or None,
            allowed_hosts=env.text("ALLOWED_HOSTS", ""),
            trusted_proxies=env.integer("TRUSTED_PROXIES", 0),
            redis_url=env.url("REDIS_URL", None, ("redis", "rediss", "unix")),
            redis_timeout=env.number("REDIS_TIMEOUT", 0.5, above=True),
            ratelimit_enabled=env.flag("RATELIMIT_ENABLED", True),
            sign_rate_limit=env.text("SIGN_RATE_LIMIT", "20 per minute;200 per hour"),
            verify_rate_limit=env.text("VERIFY_RATE_LIMIT", "10 per minute;60 per hour"),
            privacy_rate_limit=env.text("PRIVACY_RATE_LIMIT", "10 per minute;60 per hour"),
            login_rate_limit_address=env.text(
                "LOGIN_RATE_LIMIT_ADDRESS", "10 per minute;60 per hour"
            ),
            login_account_free_failures=env.integer("LOGIN_ACCOUNT_FREE_FAILURES", 5),
            login_account_delay_max=env.integer("LOGIN_ACCOUNT_DELAY_MAX", 120),
            staff_idle_timeout=env.integer("STAFF_IDLE_TIMEOUT", 30 * 60, minimum=1),
            outbox_worker=env.choice("OUTBOX_WORKER", "thread", WORKER_MODES),
            outbox_claim_seconds=env.number("OUTBOX_CLAIM_SECONDS", 60.0, above=True),
            jobs_worker=env.choice("JOBS_WORKER", "thread", WORKER_MODES),
            jobs_immediate=env.flag("JOBS_IMMEDIATE", False),
            export_inline_rows=env.integer("EXPORT_INLINE_ROWS", 2000),
            embed_form_max_age=env.integer("EMBED_FORM_MAX_AGE", 4 * 3600, minimum=60),
            api_cache_seconds=env.integer("API_CACHE_SECONDS", 30),
            api_memo_seconds=env.number("API_MEMO_SECONDS", 1.0),
            sqlite_synchronous=env.choice(
                "SQLITE_SYNCHRONOUS", "NORMAL", SQLITE_SYNC_MODES, upper=True
            ),
            email_check_deliverability=env.flag("EMAIL_CHECK_DELIVERABILITY", False),
            reminder_after=env.duration("REMINDER_AFTER", 24 * 3600.0),
            site_name=env.text("SITE_NAME", "Open letters"),
            site_logo=env.optional_text("SITE_LOGO"),
            site_accent=env.parse(
                "SITE_ACCENT", "#1f5f8b", _colour, "a colour written #rrggbb, e.g. #1f5f8b"
            ),
            time_zone=env.parse(
                "TIME_ZONE", "Europe/Tirane", _time_zone, "a time zone name such as Europe/Tirane"
            ),
            operator_name=env.optional_text("OPERATOR_NAME"),
            operator_address=env.optional_text("OPERATOR_ADDRESS"),
            privacy_contact=env.email("PRIVACY_CONTACT"),
            supervisory_authority=env.optional_text("SUPERVISORY_AUTHORITY"),
            retention_days=env.integer("RETENTION_DAYS", 180),
            retention_max_days=env.integer("RETENTION_MAX_DAYS", 730),
            metrics_enabled=env.flag("METRICS_ENABLED", False),
            metrics_allowed=env.addresses("METRICS_ALLOWED", "127.0.0.1,::1"),
        )
        if env.errors:
            raise SettingsError("\n".join(env.errors))
        return settings

    def as_config(self, instance_path: Path) -> dict[str, Any]:
        """The ``app.config`` keys the code reads, with the values it expects."""
        return {
            "PRODUCTION": self.production,
            "SQLALCHEMY_DATABASE_URI": database_url(self.database_url, instance_path),
            "MAIL_URL": self.mail_url,
            "MAIL_FROM": self.mail_from,
            "PUBLIC_URL": self.public_url,
            # Host names this site answers to (comma-separated); any other gets 400 (web/hosts.py).
            "ALLOWED_HOSTS": self.allowed_hosts,
            "REDIS_URL": self.redis_url,
            # Bounds on the wait for a dependency that hangs (accepts, then never answers), so a
            # request answers 503 (or falls back) long before the server's worker timeout.
            "DATABASE_CONNECT_TIMEOUT": self.database_connect_timeout,
            "DATABASE_STATEMENT_TIMEOUT": self.database_statement_timeout,
            "REDIS_TIMEOUT": self.redis_timeout,
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            # A Redis outage must not stop people from signing: fall back to per-process limits.
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "RATELIMIT_KEY_PREFIX": "petitions",
            "OUTBOX_WORKER": self.outbox_worker,
            # Background jobs (large delivery PDFs, the schedule): "thread" works them in each web
            # process, "external" leaves them to `flask jobs work`. JOBS_IMMEDIATE runs them as
            # they are queued.
            "JOBS_WORKER": self.jobs_worker,
            "JOBS_IMMEDIATE": self.jobs_immediate,
            # A delivery PDF of at most this many signatories is built within the request.
            "EXPORT_INLINE_ROWS": self.export_inline_rows,
            # How long an embedded form's token is accepted (the embed's stand-in for a session).
            "EMBED_FORM_MAX_AGE": self.embed_form_max_age,
            # Cache-Control max-age of API answers, and how long each worker reuses one (0: never).
            "API_CACHE_SECONDS": self.api_cache_seconds,
            "API_MEMO_SECONDS": self.api_memo_seconds,
            # A running PDF job silent for this long was killed; asking again starts a new one.
            "EXPORT_STALE_SECONDS": 300,
            # Checks on the public verification page (is my name on the delivered list?).
            "VERIFY_RATE_LIMIT": self.verify_rate_limit,
            # Erasure and access requests, per client address (and per typed email address).
            "PRIVACY_RATE_LIMIT": self.privacy_rate_limit,
            # How long an emailed erasure or access link works.
            "PRIVACY_LINK_MAX_AGE": 2 * 24 * 3600,
            # NORMAL (with WAL): a commit survives any crash of the app or a worker, not a power cut
            # or kernel crash, and does not wait for the disk (25-30% more signatures per second
            # here). FULL waits for the disk on every commit. PostgreSQL ignores this.
            "SQLITE_SYNCHRONOUS": self.sqlite_synchronous,
            # How many reverse proxies put an address into X-Forwarded-For; 0 trusts none of them.
            "TRUSTED_PROXIES": self.trusted_proxies,
            # email-validator's DNS check; off by default so signing works offline and stays fast.
            "EMAIL_CHECK_DELIVERABILITY": self.email_check_deliverability,
            "SIGN_RATE_LIMIT": self.sign_rate_limit,
            # Staff logins: failures per client address; per account, after this many failures
            # within an hour, addresses that failed for it wait 1 s, doubling up to the maximum
            # (seconds; 120 lets them 30 guesses an hour). Addresses that have not failed never
            # wait.
            "LOGIN_RATE_LIMIT_ADDRESS": self.login_rate_limit_address,
            "LOGIN_ACCOUNT_FREE_FAILURES": self.login_account_free_failures,
            "LOGIN_ACCOUNT_DELAY_MAX": self.login_account_delay_max,
            # A staff session ends after this long without a request.
            "STAFF_IDLE_TIMEOUT": self.staff_idle_timeout,
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
            # heartbeat renews the claim every third of this while it runs; when the worker dies,
            # the emails it had not sent go out from another worker after at most this long.
            "OUTBOX_CLAIM_SECONDS": self.outbox_claim_seconds,
            # The outbox sends at most this many emails per second, all workers together (None:
            # no cap).
            "MAIL_MAX_PER_SECOND": self.mail_max_per_second,
            "SMTP_TIMEOUT": 20.0,
            # One reminder to a still-pending signature after this many seconds (0: none).
            "REMINDER_AFTER": self.reminder_after,
            # The site's name, logo and accent colour (header, titles, email sender's name).
            "SITE_NAME": self.site_name,
            "SITE_LOGO": self.site_logo,
            "SITE_ACCENT": self.site_accent,
            # The zone staff enter dates in and pages show them in.
            "TIME_ZONE": self.time_zone,
            # Who runs the site (the data controller), for /privacy and the footer.
            "OPERATOR_NAME": self.operator_name,
            "OPERATOR_ADDRESS": self.operator_address,
            "PRIVACY_CONTACT": self.privacy_contact,
            "SUPERVISORY_AUTHORITY": self.supervisory_authority,
            # Signers' personal data is anonymised this many days after a letter closes.
            "RETENTION_DAYS": self.retention_days,
            "RETENTION_MAX_DAYS": self.retention_max_days,
            # Prometheus metrics at /metrics, answered only to these addresses.
            "METRICS_ENABLED": self.metrics_enabled,
            "METRICS_ALLOWED": list(self.metrics_allowed),
            "LANGUAGES": ["en", "sq"],
            "BABEL_DEFAULT_LOCALE": "en",
            "PUBLIC_PAGE_SIZE": 50,
            # No form needs more; the verification page's file check allows a PDF (its own limit).
            "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.production,
            "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session cookie
            # hide_parameters: SQL errors and echo never carry emails, bodies or tokens.
            "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
            **({"SECRET_KEY": self.secret_key} if self.secret_key else {}),
        }


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
        raise SettingsError(
            f"{path} exists but is empty; delete it to generate a new key"
        ) from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_settings(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the settings dictionary the app factory loads into ``app.config``.

    A new setting is three lines: a typed field of :class:`Settings`, its reader in
    ``from_environ`` (which says what it accepts) and its key in ``as_config``.
    """
    settings = Settings.from_environ(os.environ).as_config(instance_path)
    settings.update(overrides or {})
    _check_combination(settings, instance_path)
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


def _check_combination(settings: dict[str, Any], instance_path: Path) -> None:
    """What no single variable shows: what production needs, and the secret key."""
    if not settings.get("SECRET_KEY"):
        if settings["PRODUCTION"]:
            raise SettingsError("SECRET_KEY must be set in production (PETITIONS_ENV=production)")
        settings["SECRET_KEY"] = instance_secret_key(instance_path)
    if "@" not in parseaddr(str(settings["MAIL_FROM"]))[1]:
        raise SettingsError("MAIL_FROM must be an email address, e.g. letters@example.org")
    if settings["PRODUCTION"] and str(settings["MAIL_URL"]).startswith("console"):
        # The console transport prints addresses and links: fine on a laptop, not on a server.
        raise SettingsError(
            "MAIL_URL must name an SMTP server in production (smtp://, smtp+starttls://, smtps://)"
        )
    if settings["PRODUCTION"] and not settings.get("PUBLIC_URL"):
        # Else emailed links would follow whatever host a request names (web/hosts.py).
        raise SettingsError(
            "PUBLIC_URL must be set in production (PETITIONS_ENV=production): the site's address "
            "for links in emails, e.g. PUBLIC_URL=https://letters.example.org"
        )
    if settings["RETENTION_MAX_DAYS"] < settings["RETENTION_DAYS"]:
        raise SettingsError(
            "RETENTION_MAX_DAYS must be at least RETENTION_DAYS "
            f"(now {settings['RETENTION_MAX_DAYS']} < {settings['RETENTION_DAYS']})"
        )
