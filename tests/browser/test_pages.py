"""axe-core (WCAG 2.1 A and AA) and the Nu HTML Checker on every page of ``PAGES``, in English
and Albanian, as Chromium shows them at a desktop's and a phone's width.

The HTML checked is what the server sent (not the browser's repaired DOM); axe checks the page
as shown. A failure names the page, its language and width, the rule and the element.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from browser.conftest import SAVED_PAGES, WIDTHS, axe_violations, log_in, nu_html_errors
from browser.pages import LANGUAGES, PAGES, STAFF_EMAIL, STAFF_PASSWORD, prepare_site, with_language

pytestmark = pytest.mark.browser


def _answer_to(page: Any, button: str) -> Any:
    """Press ``button``; the response that ends on a page (after any redirect)."""
    with page.expect_response(
        lambda r: r.request.is_navigation_request() and not 300 <= r.status < 400
    ) as answer:
        page.locator(button).first.click()
    page.wait_for_load_state()
    return answer.value


def test_every_page_passes_axe_and_the_nu_html_checker(app, live_server, smtp, open_page):
    values = prepare_site(app, smtp)
    saved: dict[Path, str] = {}
    problems: list[str] = []
    for language in LANGUAGES:
        for width in WIDTHS:
            public = open_page(width)
            staff = open_page(width)
            log_in(staff, live_server, STAFF_EMAIL, STAFF_PASSWORD)
            for number, spec in enumerate(PAGES):
                page = staff if spec.staff else public
                label = f"{spec.name} [{language}, {WIDTHS[width]} px]"
                path = spec.path.format(**values[f"{language}-{width}"])
                url = live_server + with_language(path, language)
                response = page.goto(url)
                for selector, value in spec.fill.items():
                    page.fill(selector, value)
                if spec.press:
                    response = _answer_to(page, spec.press)
                if response.status >= 500:
                    problems.append(f"{label}: answered {response.status}")
                problems.extend(axe_violations(page, label))
                if width == "desktop":  # the HTML is the same at every width
                    name = re.sub(r"[^a-z0-9]+", "-", spec.name.lower())
                    file = SAVED_PAGES / f"{language}-{number:02d}-{name}.html"
                    file.write_text(response.text(), encoding="utf-8")
                    saved[file] = f"{spec.name} [{language}] {spec.path}"
    problems.extend(nu_html_errors(saved))
    print(f"{len(saved)} pages checked ({len(PAGES)} page types, {len(LANGUAGES)} languages)")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
