"""Keep email addresses and link tokens out of every log line.

Access logs print request paths, and our confirmation, withdrawal, change and staff invitation
paths carry tokens; messages may mention an address by mistake. The filter rewrites the record
before any handler sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

_TOKEN_PATH = re.compile(r"/(confirm|withdraw|change|invitations)/[^\s/?\"']+")
# An itsdangerous token on its own (payload.timestamp.signature), wherever a log cuts it out.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")
# Also as URL-encoded in access logs (a GET form's "@" arrives as %40, inside ?next= as %2540).
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+(?:@|%40|%2540)[\w-]+(\.[\w-]+)+", re.IGNORECASE)
LOGGERS = ("", "werkzeug", "petitions", "gunicorn.access", "gunicorn.error", "flask.app")


def redact(text: str) -> str:
    text = _TOKEN_PATH.sub(r"/\1/[token]", text)
    text = _TOKEN.sub("[token]", text)
    return _EMAIL.sub("[email]", text)


class RedactingFilter(logging.Filter):
    """Rewrites the message and any traceback text before a handler formats the record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Handlers use exc_text when it is set, so the traceback is printed redacted.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def _redacting_factory(
    previous: Callable[..., logging.LogRecord],
) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _FILTER.filter(record)
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    return factory


def install_redaction(app_logger_name: str) -> None:
    """Redact every record as it is made, whatever logger makes it (a filter on a logger does
    not see its children's records, and handlers added later would miss a handler filter); the
    filters on the known loggers and their handlers stay as a second line."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacting_factory(current))
    for name in (*LOGGERS, app_logger_name):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
