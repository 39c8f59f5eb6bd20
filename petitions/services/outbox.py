"""The durable outbox: an email is a row written in the same transaction as what caused it.

Nothing is sent here; :mod:`petitions.outbox_delivery` sends the rows after the commit. So a
rolled-back signature never emails anyone, and a committed one is never without its email.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr, quote
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import render_template
from flask_babel import force_locale

from petitions.extensions import db
from petitions.models.outbox import OutboxEmail

# Set on the session when it holds new outbox rows, so the commit can wake the sender.
PENDING_KEY = "petitions.outbox_pending"


def queue_email(
    *,
    recipient: str,
    purpose: str,
    template: str,
    subject: str,
    language: str,
    context: dict[str, object],
    signature_id: int | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxEmail:
    """Render ``templates/email/<template>.txt|html`` in ``language`` and add it to the outbox.

    The row joins the caller's transaction: it is sent only if that transaction commits.
    """
    with force_locale(language):
        text_body = render_template(f"email/{template}.txt", **context)
        html_body = render_template(f"email/{template}.html", **context)
    email = OutboxEmail(
        recipient=recipient,
        purpose=purpose,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        signature_id=signature_id,
        headers=headers,
    )
    db.session.add(email)
    db.session.info[PENDING_KEY] = True
    return email


def sender_address(config: Mapping[str, Any]) -> str:
    """``MAIL_FROM`` with the site's name as display name (unless MAIL_FROM names one itself)."""
    given = str(config["MAIL_FROM"])
    name, address = parseaddr(given)
    # Left unencoded: the outbox encodes a name that is not ASCII (RFC 2047) when it builds the
    # message.
    return given if name else f'"{quote(str(config["SITE_NAME"]))}" <{address}>'


def build_message(email: OutboxEmail, sender: str) -> Message:
    """A multipart/alternative message (text, then HTML), UTF-8, with non-ASCII headers encoded.

    Built with the classic MIME classes: about three times cheaper than EmailMessage's
    content manager, which mattered once every signature sends one.
    """
    message = MIMEMultipart("alternative")
    message["From"] = _address_header(sender)
    message["To"] = ascii_address(email.recipient)
    message["Subject"] = Header(email.subject, "utf-8", header_name="Subject")  # type: ignore[assignment]  # compat32 takes a Header
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message["Date"] = formatdate(usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (email.headers or {}).items():
        message[name] = value
    message.attach(MIMEText(email.text_body, "plain", "utf-8"))
    message.attach(MIMEText(email.html_body, "html", "utf-8"))
    return message


def ascii_address(address: str) -> str:
    """The address with its domain in ASCII (IDNA), so only a non-ASCII local part needs a
    server that speaks SMTPUTF8."""
    if address.isascii():
        return address
    try:
        return validate_email(address, check_deliverability=False).ascii_email or address
    except EmailNotValidError:
        return address


def _address_header(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address
