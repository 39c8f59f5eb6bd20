"""``?ref=`` on the letter page: put into the cached page's hidden ``ref`` field.

The letter page is cached per language without any visitor's data (public/page_cache.py); the
referral code is per visitor, so it goes in afterwards, as the CSRF token does. A code has the
shape ``[a-z0-9-]{1,40}`` (services/referrals.py) and needs no escaping; any other is ignored.
"""

from __future__ import annotations

from flask import request

from petitions.services.referrals import clean_ref

EMPTY_FIELD = '<input id="ref" name="ref" type="hidden" value="">'


def carry_ref(html: str) -> str:
    """The page with this request's referral code in its signing form, if it has a valid one."""
    ref = clean_ref(request.args.get("ref"))
    if not ref:
        return html
    return html.replace(EMPTY_FIELD, f'<input id="ref" name="ref" type="hidden" value="{ref}">', 1)
