"""The emails a signer receives: the confirmation link, "you have already signed", and "use
these details?" (an offer of other details for a signature waiting for confirmation).

Every one carries the withdrawal link and is written in the signer's language; links are absolute
(``PUBLIC_URL``) and bound to the signature and its current nonces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import LazyString, force_locale, lazy_gettext

from petitions.models.letters import Letter
from petitions.models.signature_changes import SignatureChange
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.outbox import queue_email
from petitions.services.tokens import Purpose, make_change_token, make_token
from petitions.web.links import external_url


@dataclass(frozen=True)
class LetterRef:
    """What emails need of a letter, so they can be written after its row was let go."""

    id: int
    slug: str
    main_language: str
    titles: dict[str, str]
    closes_at: datetime | None = None  # when it closes by itself, if it does

    @classmethod
    def of(cls, letter: Letter) -> LetterRef:
        titles = {t.language: t.title for t in letter.texts if t.superseded_at is None}
        closes_at = letter.closes_at if letter.auto_close else None
        return cls(letter.id, letter.slug, letter.main_language, titles, closes_at)

    def title_in(self, language: str) -> str:
        return self.titles.get(language) or self.titles[self.main_language]


CONFIRM_SUBJECT = lazy_gettext("Please confirm your signature: %(title)s")
NOTICE_SUBJECT = lazy_gettext("You have already signed: %(title)s")
CHANGE_SUBJECT = lazy_gettext("Sign with other details? %(title)s")


def queue_confirmation(signature: Signature, letter: LetterRef) -> None:
    _mail_signer(
        signature,
        letter,
        signature.language,
        "confirm",
        CONFIRM_SUBJECT,
        confirm_url=confirm_url(signature),
        max_days=current_app.config["CONFIRM_MAX_AGE"] // 86400,
    )


def queue_notice(
    signature: Signature, letter: LetterRef, language: str, details_changed: bool = False
) -> None:
    _mail_signer(
        signature,
        letter,
        language,
        "already_signed",
        NOTICE_SUBJECT,
        awaiting_approval=signature.status == SignatureStatus.AWAITING_APPROVAL,
        details_changed=details_changed,
    )


def queue_change_offer(
    signature: Signature, change: SignatureChange, letter: LetterRef, language: str
) -> None:
    """Offer the owner the details someone (maybe they) submitted; only its link applies them.

    The email lists the short details; the comment and website, which could carry a stranger's
    links, are shown only on the page behind the link, before its button.
    """
    _mail_signer(
        signature,
        letter,
        language,
        "change_offer",
        CHANGE_SUBJECT,
        proposed=change.details,
        change_url=change_url(signature, change, language),
        max_days=current_app.config["CONFIRM_MAX_AGE"] // 86400,
    )


def _mail_signer(
    signature: Signature,
    letter: LetterRef,
    language: str,
    template: str,
    subject: LazyString,
    **context: object,
) -> None:
    """Queue one email to a signer, in their language, with the withdrawal link in every one."""
    title = letter.title_in(language)
    with force_locale(language):
        subject_text = str(subject) % {"title": title}
    queue_email(
        recipient=signature.email,
        purpose=template.replace("_", "-"),
        template=template,
        subject=subject_text,
        language=language,
        signature_id=signature.id,
        context={
            "signature": signature,
            "language": language,
            "letter_title": title,
            "letter_url": external_url("public.letter", slug=letter.slug, lang=language),
            "withdraw_url": withdraw_url(signature),
            **context,
        },
    )


def confirm_url(signature: Signature) -> str:
    """The link, with the signer's language: the page it opens speaks it too."""
    token = make_token(Purpose.CONFIRM, signature.id, signature.confirm_nonce)
    return external_url("public.confirm", token=token, lang=signature.language)


def change_url(signature: Signature, change: SignatureChange, language: str) -> str:
    token = make_change_token(signature.id, change.id, change.details_hash)
    return external_url("public.change", token=token, lang=language)


def withdraw_url(signature: Signature) -> str:
    token = make_token(Purpose.WITHDRAW, signature.id, signature.withdraw_nonce)
    return external_url("public.withdraw", token=token, lang=signature.language)
