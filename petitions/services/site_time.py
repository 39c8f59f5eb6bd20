"""The site's time zone (``TIME_ZONE``): what "today" and "the day it was signed" mean.

Times are stored in UTC; a signature at 23:30 UTC in winter was made on the next day in
Tirana, and the pages, the staff screens and the delivery PDF say so.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def site_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIME_ZONE") or "UTC")


def site_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in the site's zone."""
    return moment.astimezone(site_zone()).date()
