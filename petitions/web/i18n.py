"""Which language a page speaks: ``?lang=`` (remembered in the session), else the browser's."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale

from petitions.extensions import babel

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
LANGUAGE_NAMES = {"en": "English", "sq": "Shqip"}


def select_locale() -> str:
    languages: list[str] = current_app.config["LANGUAGES"]
    if not has_request_context():  # the command line speaks the default language
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    asked = request.args.get("lang")
    if asked in languages:
        if request.blueprint != "embed":  # embeds carry it in their URLs and set no cookie
            session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if isinstance(remembered, str) and remembered in languages:
        return remembered
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def language_context() -> dict[str, object]:
        return {
            "current_language": current_language(),
            "language_names": LANGUAGE_NAMES,
        }
