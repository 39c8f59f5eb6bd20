"""Whose site this is: its name, logo, accent colour, operator and time zone.

A coalition puts its name on the site, so these settings are checked when the app starts, not
when a visitor first meets them: an accent colour on which the white button text would be hard
to read (below WCAG AA's 4.5:1) or a time zone the system does not know stops the start with a
message naming the setting. The accent reaches the pages as a tiny stylesheet of its own (the
Content-Security-Policy allows no inline styles); the logo is a file in the instance folder
served here, or an address elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Flask, Response, abort, current_app, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from petitions.services.site_time import site_zone

__all__ = ["bp", "init_site_identity", "site_zone"]

bp = Blueprint("site", __name__)

DEFAULT_NAME = "Open letters"
AA_NORMAL_TEXT = 4.5  # WCAG 2.1 AA, 1.4.3: contrast of normal-size text
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
LOGO_TYPES = {".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif"}


def _channel(value: int) -> float:
    """One sRGB channel (0-255) as linear light (WCAG 2.1's relative luminance)."""
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    if not HEX_COLOUR.match(colour):
        raise ValueError(f"{colour!r} is not a colour like #1f5f8b")
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(colour: str) -> float:
    """How white text reads on ``colour`` (1 to 21); buttons and the header use white on it."""
    return 1.05 / (relative_luminance(colour) + 0.05)


def check_accent(colour: object) -> str:
    if not isinstance(colour, str) or not HEX_COLOUR.match(colour.strip()):
        raise RuntimeError(f"SITE_ACCENT must be a colour like #1f5f8b, not {colour!r}")
    colour = colour.strip().lower()
    ratio = contrast_with_white(colour)
    if ratio < AA_NORMAL_TEXT:
        raise RuntimeError(
            f"SITE_ACCENT {colour} is too light: white text on it has a contrast ratio of "
            f"{ratio:.2f}:1, and WCAG AA needs at least {AA_NORMAL_TEXT}:1; choose a darker colour"
        )
    return colour


def check_time_zone(name: object) -> str:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(
            f"TIME_ZONE {name!r} is not a time zone this system knows; use a name from the "
            "IANA database such as Europe/Tirane or UTC"
        ) from None
    return str(name)


def check_logo(logo: object, instance_path: Path) -> str | None:
    """None, an http(s) address, or the name of an image file in the instance folder."""
    if logo is None or str(logo).strip() == "":
        return None
    logo = str(logo).strip()
    if logo.startswith(("https://", "http://")):
        return logo
    path = Path(logo)
    if path.name != logo or logo.startswith("."):
        raise RuntimeError(f"SITE_LOGO must be a file name in {instance_path} or an address")
    if path.suffix.lower() not in LOGO_TYPES:
        raise RuntimeError(f"SITE_LOGO must be an image ({', '.join(sorted(LOGO_TYPES))})")
    if not (instance_path / logo).is_file():
        raise RuntimeError(f"SITE_LOGO: {instance_path / logo} does not exist")
    return logo


def site_name() -> str:
    """The site's name; the default one speaks the page's language (a chosen name is a name)."""
    name = str(current_app.config["SITE_NAME"])
    return str(gettext("Open letters")) if name == DEFAULT_NAME else name


def logo_url() -> str | None:
    logo = current_app.config.get("SITE_LOGO")
    if not logo:
        return None
    return str(logo) if "://" in str(logo) else url_for("site.logo")


@bp.get("/site.css")
def identity_css() -> ResponseReturnValue:
    accent = current_app.config["SITE_ACCENT"]
    css = f":root {{ --accent: {accent}; }}\n"
    response = Response(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/site-logo")
def logo() -> ResponseReturnValue:
    name = current_app.config.get("SITE_LOGO")
    if not name or "://" in str(name):
        abort(404)
    return send_from_directory(current_app.instance_path, str(name), max_age=3600)


def init_site_identity(app: Flask) -> None:
    """Check the identity settings (refusing to start on a bad one) and offer them to templates."""
    config = app.config
    config["SITE_NAME"] = str(config.get("SITE_NAME") or "").strip() or DEFAULT_NAME
    config["SITE_ACCENT"] = check_accent(config["SITE_ACCENT"])
    config["TIME_ZONE"] = check_time_zone(config["TIME_ZONE"])
    config["SITE_LOGO"] = check_logo(config.get("SITE_LOGO"), Path(app.instance_path))
    config["BABEL_DEFAULT_TIMEZONE"] = config["TIME_ZONE"]  # Babel's own filters agree
    app.register_blueprint(bp)

    logo = config["SITE_LOGO"]
    if logo and "://" in logo:
        origin = "/".join(logo.split("/", 3)[:3])

        @app.after_request
        def allow_logo(response: Response) -> Response:
            """Let the pages show a logo kept elsewhere (the policy allows only our images)."""
            policy = response.headers.get("Content-Security-Policy")
            if policy and origin not in policy:
                policy = policy.replace("img-src 'self'", f"img-src 'self' {origin}", 1)
                response.headers["Content-Security-Policy"] = policy
            return response

    @app.context_processor
    def site_context() -> dict[str, object]:
        return {
            "site_name": site_name(),
            "site_logo_url": logo_url(),
            "operator_name": current_app.config.get("OPERATOR_NAME"),
        }
