"""How an email leaves: ``MAIL_URL`` picks a transport; each says whether a failure is temporary.

``console:`` writes the email to the terminal the server runs in (standard error), the one place a
whole email is shown: a newcomer follows the links from there. Production uses SMTP.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email import policy
from email.header import Header, decode_header, make_header
from email.message import Message
from email.utils import parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit


class TemporaryFailure(Exception):
    """Try again later: the server is down, busy or answered 4xx."""


class ConnectionFailure(TemporaryFailure):
    """The server cannot be reached or refuses us (login, sender): nothing can go out now."""


class PermanentFailure(Exception):
    """Do not try again: the server answered 5xx for this message."""


class Transport(Protocol):
    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


class ConsoleTransport:
    def send(self, message: Message) -> None:
        body = plain_text(message)
        subject = _subject(message)
        banner = "=" * 72
        sys.stderr.write(
            f"\n{banner}\nEMAIL (MAIL_URL=console:, not sent)\n"
            f"To: {message['To']}\nSubject: {subject}\n\n{body}\n{banner}\n"
        )
        sys.stderr.flush()

    def close(self) -> None:
        return None


def _subject(message: Message) -> str:
    value = message["Subject"]
    if isinstance(value, Header):
        return str(value)
    return str(make_header(decode_header(value or "")))


def plain_text(message: Message) -> str:
    """The text/plain part of a message, decoded."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                return ""
            return payload.decode(part.get_content_charset() or "utf-8")
    return ""


@dataclass
class SMTPSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    security: str  # "plain", "starttls" or "tls"
    timeout: float


class SMTPTransport:
    """One SMTP connection, opened on first use and reused for a batch of messages."""

    def __init__(self, settings: SMTPSettings) -> None:
        self.settings = settings
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            client: smtplib.SMTP
            if s.security == "tls":
                client = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password or "")
        except smtplib.SMTPResponseException as error:
            # Even a 5xx here (a wrong password) is about the server, not the message.
            raise ConnectionFailure(f"SMTP server refused us: {error.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as error:
            name = type(error).__name__
            raise ConnectionFailure(f"cannot reach the SMTP server: {name}") from None
        return client

    def send(self, message: Message) -> None:
        if self._client is None:
            self._client = self._connect()
        client = self._client
        sender = parseaddr(str(message["From"]))[1]
        recipient = parseaddr(str(message["To"]))[1]
        try:
            if (sender + recipient).isascii():
                data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
                refused = client.sendmail(sender, [recipient], data)
            else:
                # An address whose local part is not ASCII: only SMTPUTF8 can carry it.
                client.ehlo_or_helo_if_needed()
                if not client.has_extn("smtputf8"):
                    raise PermanentFailure("the SMTP server cannot deliver to this address")
                # That policy writes headers as UTF-8 from plain strings, not Header objects.
                message.replace_header("Subject", _subject(message))
                data = message.as_bytes(policy=policy.SMTPUTF8)
                options = ["SMTPUTF8", "BODY=8BITMIME"]
                refused = client.sendmail(sender, [recipient], data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            self.close()
            raise _classify(min(codes) if codes else 451, "recipient refused") from None
        except smtplib.SMTPSenderRefused as error:
            self.close()
            raise ConnectionFailure(f"SMTP server refused the sender: {error.smtp_code}") from None
        except smtplib.SMTPResponseException as error:
            self.close()
            raise _classify(error.smtp_code, "rejected") from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionFailure(f"SMTP connection failed: {type(error).__name__}") from None
        if refused:
            raise _classify(min(code for code, _ in refused.values()), "recipient refused")

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._client.quit()
            self._client = None


def _classify(code: int, what: str) -> Exception:
    if 500 <= code < 600:
        return PermanentFailure(f"SMTP {what}: {code}")
    return TemporaryFailure(f"SMTP {what}: {code}")


def transport_from_url(url: str, timeout: float = 20.0) -> Transport:
    """Parse ``console:``, ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URLs."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        return ConsoleTransport()
    security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}.get(parts.scheme)
    if security is None or not parts.hostname:
        raise ValueError("MAIL_URL must be console:, smtp://, smtp+starttls:// or smtps://")
    default_port = {"plain": 25, "starttls": 587, "tls": 465}[security]
    return SMTPTransport(
        SMTPSettings(
            host=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            security=security,
            timeout=timeout,
        )
    )
