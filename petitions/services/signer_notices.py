"""Emails to a signer about a letter they signed, beyond the confirmation itself (reminders,
decisions on an organisation): in the signer's language, with the one-click unsubscribe headers
and the links every such email carries (the letter, withdrawal, unsubscribe)."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from petitions.models.signatures import Signature
from petitions.services.outbox import queue_email
from petitions.services.signer_mail import LetterRef, withdraw_url
from petitions.services.subscriptions import list_headers, unsubscribe_url
from petitions.web.links import external_url


def queue_signer_notice(
    signature: Signature,
    letter: LetterRef,
    purpose: str,
    subject: LazyString,
    **context: Any,
) -> None:
    """Queue ``templates/email/<purpose>.*`` to the signer; ``subject`` takes ``%(title)s``."""
    language = signature.language
    title = letter.title_in(language)
    with force_locale(language):
        text = str(subject) % {"title": title}
    unsubscribe = unsubscribe_url(signature)
    queue_email(
        recipient=signature.email,
        purpose=purpose,
        template=purpose,
        subject=text,
        language=language,
        signature_id=signature.id,
        headers=list_headers(unsubscribe),
        context={
            "signature": signature,
            "language": language,
            "letter_title": title,
            "letter_url": external_url("public.letter", slug=letter.slug, lang=language),
            "withdraw_url": withdraw_url(signature),
            "unsubscribe_url": unsubscribe,
            **context,
        },
    )
