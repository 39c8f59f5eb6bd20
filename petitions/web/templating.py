"""Jinja filters shared by the pages and the emails."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import Flask, current_app

from petitions.services.text_input import country_name
from petitions.web.i18n import current_language

DEFAULT_TIME_ZONE = "Europe/Tirane"


def site_zone() -> ZoneInfo:
    """The zone staff read and enter times in (``TIME_ZONE``); times are stored in UTC."""
    return ZoneInfo(current_app.config.get("TIME_ZONE") or DEFAULT_TIME_ZONE)


def number(value: int | float | None) -> str:
    """A number as the page's language writes it (``18,053`` in English)."""
    return "" if value is None else format_decimal(value, locale=current_language())


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """A stored (UTC) time shown in the site's zone, in the page's language."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(value, fmt, tzinfo=site_zone(), locale=current_language())


def local_date(value: datetime | date | None, fmt: str = "medium") -> str:
    """The day a stored time falls on in the site's zone (a bare date is shown as it is)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        value = aware.astimezone(site_zone()).date()
    return format_date(value, fmt, locale=current_language())


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["country_name"] = lambda code: country_name(code, current_language())
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
