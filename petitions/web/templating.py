"""Jinja filters shared by the pages and the emails."""

from __future__ import annotations

from flask import Flask

from petitions.services.text_input import country_name
from petitions.web.i18n import current_language


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["country_name"] = lambda code: country_name(code, current_language())
