"""The durable outbox: an email is a row written in the same transaction as what caused it.

Nothing is sent here; :mod:`petitions.outbox_delivery` sends the rows after the commit. So a
rolled-back signature never emails anyone, and a committed one is never without its email.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from flask import render_template
from flask_babel import force_locale

from petitions.extensions import db
from petitions.models import OutboxEmail

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
    )
    db.session.add(email)
    db.session.info[PENDING_KEY] = True
    return email


def build_message(email: OutboxEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text_body)
    message.add_alternative(email.html_body, subtype="html")
    return message
