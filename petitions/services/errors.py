"""The one base of every refusal a service raises.

A service that refuses (a rule says no) raises a subclass of :class:`DomainError` whose message
is for the person who asked. Views turn the ones they expect into a message on their page; any
other reaches the application's error handler, which rolls the request's work back and answers
400 with that message, so a refusal never half-applies and never becomes a 500.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused what was asked; ``str(error)`` says why, to the person who asked."""
