"""What the privacy notice says, taken from the settings and from the code that keeps each promise.

The notice (templates/privacy/notice.html) reads only this: who runs the site (the settings),
what the signing form collects (its fields), what the addressees receive (the delivery PDF's
columns), what the public list shows, and how long data is kept (``RETENTION_DAYS``). Tests
check these lists against the code that exports, lists and anonymises.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l

# What the signing form asks (services/signing.py SignatureInput), in the notice's order.
COLLECTED = ("kind", "name", "email", "organisation", "title", "country", "city", "website",
             "comment", "is_public", "language")  # fmt: skip
# What the addressees receive: the delivery PDF's columns (services/exports/pdf_model.py
# Signatory). Never the email address. Comments only when the organisers choose to print them
# (delivery_document.PdfOptions.include_comments, off by default).
DELIVERED = ("name", "organisation", "title", "city", "country")
DELIVERED_IF_CHOSEN = ("comment",)
# What the public list shows of a signature listed by its signer's choice
# (templates/public/_signatory_list.html).
LISTED = ("name", "organisation", "title", "city", "country")
# What stays of a signature once anonymised (services/anonymisation.py).
KEPT_AFTER_RETENTION = ("kind", "country", "status", "language", "dates")


@dataclass(frozen=True)
class Authority:
    name: str
    url: str | None


def parse_authority(value: str | None) -> Authority | None:
    """``"Name, https://…"`` (the URL after the last comma), or just a name."""
    if not value or not value.strip():
        return None
    name, _, last = value.rpartition(",")
    if name.strip() and last.strip().lower().startswith(("http://", "https://")):
        return Authority(name.strip(), last.strip())
    return Authority(value.strip(), None)


@dataclass(frozen=True)
class Notice:
    site_name: str
    operator_name: str | None
    operator_address: str | None
    contact: str | None
    authority: Authority | None
    retention_days: int
    retention_max_days: int
    link_hours: int


def privacy_notice() -> Notice:
    config = current_app.config
    return Notice(
        # The default name speaks the page's language; a chosen name is a name.
        site_name=(
            str(_l("Open letters"))
            if config.get("SITE_NAME") in (None, "", "Open letters")
            else str(config["SITE_NAME"])
        ),
        operator_name=config.get("OPERATOR_NAME"),
        operator_address=config.get("OPERATOR_ADDRESS"),
        contact=config.get("PRIVACY_CONTACT"),
        authority=parse_authority(config.get("SUPERVISORY_AUTHORITY")),
        retention_days=int(config["RETENTION_DAYS"]),
        retention_max_days=int(config["RETENTION_MAX_DAYS"]),
        link_hours=int(config["PRIVACY_LINK_MAX_AGE"]) // 3600,
    )
