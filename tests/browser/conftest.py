"""The browser as the judge: Debian's Chromium driven by Playwright, over real HTTP and SMTP.

Every test here is marked ``browser`` (run them alone with ``pytest -m browser``, leave them out
with ``-m "not browser"``). They need Chromium (``/usr/bin/chromium``, Debian's ``chromium``),
``java`` and the npm packages of ``checks/browser`` (``npm ci --prefix checks/browser``): axe-core,
injected into each page, and the Nu HTML Checker (``vnu-jar``). Without them the tests are skipped
with the command that installs what is missing; under ``CI=true`` such a skip fails the run.
Playwright never downloads a browser here: it is pointed at the system's Chromium.

Screenshots go to ``.ci/browser/screenshots/`` and the HTML checked to ``.ci/browser/pages/``
(ignored by git), emptied at the start of each run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import SMTPSink, free_port, text_part
from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHECKS = ROOT / "checks" / "browser" / "node_modules"
AXE_JS = CHECKS / "axe-core" / "axe.min.js"
VNU_JAR = CHECKS / "vnu-jar" / "build" / "dist" / "vnu.jar"
OUTPUT = ROOT / ".ci" / "browser"  # ignored by git; .ci/run prints where
SCREENSHOTS = OUTPUT / "screenshots"
SAVED_PAGES = OUTPUT / "pages"  # the HTML the Nu HTML Checker read
WIDTHS = {"desktop": 1280, "phone": 390}
HEIGHT = 900
# WCAG 2.0 and 2.1, levels A and AA: the rules axe tags with these, nothing else.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LINK = re.compile(r"https?://[^\s\"<>]+/(confirm|withdraw|change)/[^\s\"<>]+")


def _missing() -> str | None:
    """What the browser tests lack on this machine, with the command that installs it."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package: pip install -e '.[test]'"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium at {CHROMIUM}: apt-get install chromium"
    if not AXE_JS.is_file() or not VNU_JAR.is_file():
        return "axe-core and vnu-jar: npm ci --prefix checks/browser"
    if shutil.which("java") is None:
        return "java, for the Nu HTML Checker: apt-get install default-jre-headless"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole run (each test opens its own contexts and pages)."""
    missing = _missing()
    if missing:
        pytest.skip(f"browser tests need {missing}")
    from playwright.sync_api import sync_playwright

    if OUTPUT.exists():
        shutil.rmtree(OUTPUT)
    SCREENSHOTS.mkdir(parents=True)
    SAVED_PAGES.mkdir(parents=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


# --- the site: the app behind a real HTTP server, mailing through a real SMTP server -------------


@pytest.fixture
def server_port() -> int:
    return free_port()


@pytest.fixture
def app(make_app: Any, smtp: SMTPSink, server_port: int) -> Flask:
    """The app as deployed: its outbox worker thread mails through the SMTP sink, and its links
    point at the live server."""
    return make_app(
        PUBLIC_URL=f"http://127.0.0.1:{server_port}",
        MAIL_URL=smtp.url,
        OUTBOX_WORKER="thread",
        OUTBOX_POLL_SECONDS=0.2,
    )


@pytest.fixture
def live_server(app: Flask, server_port: int) -> Iterator[str]:
    server = make_server("127.0.0.1", server_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``open_page(width="phone", javascript=True)``: a page in a fresh context (own cookies).

    ``bypass_csp`` lets the axe check inject its script; the site's own policy is unchanged for
    everything else the page loads.
    """
    contexts: list[Any] = []

    def opened(width: str = "desktop", javascript: bool = True) -> Any:
        context = browser.new_context(
            viewport={"width": WIDTHS[width], "height": HEIGHT},
            java_script_enabled=javascript,
            bypass_csp=True,
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield opened
    for context in contexts:
        context.close()


def staff_account(app: Flask, email: str, password: str) -> None:
    """Create an administrator as an operator does: with the ``staff create`` command."""
    result = app.test_cli_runner().invoke(
        args=["staff", "create", email, "--role", "admin"], input=password + "\n"
    )
    assert result.exit_code == 0, result.output


def log_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/staff/login" not in page.url, f"login refused: {page.url}"


# --- emails ---------------------------------------------------------------------------------------


def mail_to(smtp: SMTPSink, address: str, count: int = 1, timeout: float = 15.0) -> EmailMessage:
    """The ``count``-th email the SMTP server received for ``address`` (waits for it)."""
    deadline = time.monotonic() + timeout
    while True:
        with smtp.lock:
            found = [m for m in smtp.messages if address in str(m["To"])]
        if len(found) >= count:
            return found[count - 1]
        assert time.monotonic() < deadline, f"no email #{count} to {address} within {timeout}s"
        time.sleep(0.1)


def link_in(message: EmailMessage, kind: str) -> str:
    """The email's first ``/confirm/``, ``/withdraw/`` or ``/change/`` link."""
    for match in LINK.finditer(text_part(message)):
        if match.group(1) == kind:
            return match.group(0)
    raise AssertionError(f"no /{kind}/ link in the email {message['Subject']!r}")


# --- the checks -----------------------------------------------------------------------------------


def axe_violations(page: Any, label: str) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as shown, one line per element."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        AXE_TAGS,
    )
    lines = []
    for violation in result["violations"]:
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(
                f"{label}: axe {violation['id']} ({violation['impact']}): {violation['help']}"
                f" at {target}: {node['html'][:160]}"
            )
    return lines


def nu_html_errors(files: dict[Path, str]) -> list[str]:
    """The Nu HTML Checker's errors in the saved pages (file → label), one line per error."""
    if not files:
        return []
    run = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(run.stderr or run.stdout or '{"messages": []}')
    labels = {path.name: label for path, label in files.items()}
    lines = []
    for message in report["messages"]:
        file = message.get("url", "?").rsplit("/", 1)[-1]
        where = f"{file} line {message.get('lastLine', '?')}"
        extract = " ".join(message.get("extract", "").split())
        lines.append(
            f"{labels.get(file, file)}: vnu {message.get('type')} ({where}):"
            f" {message.get('message')} «{extract}»"
        )
    return lines


@dataclass
class Shots:
    """Screenshots of one journey, each at both widths, numbered in the order taken."""

    journey: str
    taken: int = 0

    def __call__(self, page: Any, step: str) -> None:
        self.taken += 1
        folder = SCREENSHOTS / self.journey
        folder.mkdir(parents=True, exist_ok=True)
        own = page.viewport_size
        for name, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": HEIGHT})
            file = folder / f"{self.taken:02d}-{step}-{name}.png"
            page.screenshot(path=str(file), full_page=True)
        page.set_viewport_size(own)
