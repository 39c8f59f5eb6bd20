"""Keep email addresses and link tokens out of every log line, in time linear in its length.

Access logs print request paths, and our confirmation, withdrawal, change and staff invitation
paths carry tokens; messages may mention an address by mistake. The filter rewrites the record
before any handler sees it, once per record, and cuts any string argument (a header, a path)
longer than :data:`MAX_ARGUMENT` characters.

The patterns only start a match where a run of the characters they consume begins (a
lookbehind): started anywhere inside a run, as before, each start re-read the rest of the run, so
a 20 KB header of letters took seconds per pass. What they redact is unchanged (a property test
compares them with the old patterns).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

# A string argument (a header, a request line) is logged up to this many characters.
MAX_ARGUMENT = 1000
# The whole message, whatever it is made of.
MAX_MESSAGE = 8000

_TOKEN_PATH = re.compile(r"/(confirm|withdraw|change|invitations|erase|access)/[^\s/?\"']+")
# An itsdangerous token on its own (payload.timestamp.signature), wherever a log cuts it out.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")
# Also as URL-encoded in access logs (a GET form's "@" arrives as %40, inside ?next= as %2540).
_LOCAL = r"[\w.!#$%&'*+/=?^`{|}~-]"
_EMAIL_TAIL = r"(?:@|%40|%2540)[\w-]+(?:\.[\w-]+)+"
_EMAIL = re.compile(rf"(?<!{_LOCAL}){_LOCAL}+{_EMAIL_TAIL}", re.IGNORECASE)
# Right after an address, the next may start inside the same run ("a@b.c=d%40e.f").
_EMAIL_HERE = re.compile(rf"{_LOCAL}+{_EMAIL_TAIL}", re.IGNORECASE)
LOGGERS = ("", "werkzeug", "petitions", "gunicorn.access", "gunicorn.error", "flask.app")


def _redact_emails(text: str) -> str:
    pieces: list[str] = []
    done = 0
    while True:
        found = (_EMAIL_HERE.match(text, done) if done else None) or _EMAIL.search(text, done)
        if found is None:
            break
        pieces += (text[done : found.start()], "[email]")
        done = found.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def redact(text: str) -> str:
    text = _TOKEN_PATH.sub(r"/\1/[token]", text)
    text = _TOKEN.sub("[token]", text)
    return _redact_emails(text)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}[... {len(text) - limit} characters cut]"


def _capped(value: Any) -> Any:
    """A long string argument, redacted whole (so the cut cannot split an address), then cut."""
    if isinstance(value, str) and len(value) > MAX_ARGUMENT:
        return _cut(redact(value), MAX_ARGUMENT)
    return value


def _capped_args(args: Any) -> Any:
    if isinstance(args, tuple):
        capped = tuple(_capped(value) for value in args)
        return args if all(a is b for a, b in zip(capped, args, strict=True)) else capped
    if isinstance(args, Mapping):  # gunicorn's access log passes its atoms as one mapping
        capped_map = {key: _capped(value) for key, value in args.items()}
        return args if all(capped_map[k] is args[k] for k in args) else capped_map
    return args


class RedactingFilter(logging.Filter):
    """Rewrites the message and any traceback text before a handler formats the record.

    The record factory, the loggers' filters and the handlers' filters all call it; a record it
    has seen (the same message and arguments) passes untouched the second and third time.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        seen = record.__dict__.get("_petitions_redacted")
        if seen is not None and seen[0] is record.msg and seen[1] is record.args:
            return True
        args = _capped_args(record.args)
        record.args = args
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = _cut(redact(message), MAX_MESSAGE)
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
        record._petitions_redacted = (record.msg, record.args)
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
