"""Jinja filters shared by the pages and the emails."""

from __future__ import annotations

from flask import Flask

from petitions.services.languages import language_label
from petitions.services.text_input import country_name
from petitions.web.i18n import LANGUAGE_NAMES, current_language


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["country_name"] = lambda code: country_name(code, current_language())
    app.jinja_env.filters["language_label"] = lambda code: language_label(
        code, current_language(), LANGUAGE_NAMES
    )
