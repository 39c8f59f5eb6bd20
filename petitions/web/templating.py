"""Jinja filters shared by the pages and the emails.

Numbers and dates are written the way the page's language writes them (Babel): ``18,053`` in
English, ``18 053`` in Albanian; dates in the site's time zone (``TIME_ZONE``), never in UTC,
so a signature at 23:30 UTC shows the next day in Tirana.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context

from petitions.services.languages import language_label
from petitions.services.letter_goals import goal_progress
from petitions.services.text_input import country_name
from petitions.web.i18n import LANGUAGE_NAMES, current_language
from petitions.web.site_identity import site_zone


class LocalNumber(int):
    """An int that prints itself for the current language: ``%(num)s`` gives ``18,053`` while
    ``%(num)d`` still gives the bare digits."""

    def __str__(self) -> str:
        return str(format_decimal(int(self)))


def number(value: object) -> str:
    """The ``number`` filter: a count as the page's language writes it."""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float):
        return str(format_decimal(value))
    return str(value)


def local_datetime(value: datetime | None, style: str = "medium") -> str:
    """A moment in the site's time zone, in the page's language (``short``/``medium``/``long``)."""
    if value is None:
        return ""
    return str(format_datetime(value.astimezone(site_zone()), style, rebase=False))


def local_date(value: datetime | date | None, style: str = "long") -> str:
    """The day something happened in the site's time zone (a bare date is shown as it is)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(site_zone()).date()
    return str(format_date(value, style))


def local_iso(value: datetime | None) -> str:
    """For ``<time datetime=…>``: the moment with its offset in the site's zone."""
    return value.astimezone(site_zone()).isoformat(timespec="minutes") if value else ""


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["country_name"] = lambda code: country_name(code, current_language())
    app.jinja_env.filters["language_label"] = lambda code: language_label(
        code, current_language(), LANGUAGE_NAMES
    )
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["local_iso"] = local_iso
    app.jinja_env.globals["goal_progress"] = goal_progress
    given = app.jinja_env.globals.get("ngettext")
    if not callable(given):
        return

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> Any:
        """Counted phrases with ``%(num)s`` get the number formatted for the language."""
        variables.setdefault("num", LocalNumber(num))
        return context.call(given, singular, plural, num, **variables)

    app.jinja_env.globals["ngettext"] = ngettext
