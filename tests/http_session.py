"""A browser-like HTTP session over urllib (cookies kept), for tests against real servers."""

from __future__ import annotations

import http.cookiejar
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from conftest import csrf_token, valid_fields


@dataclass
class Answer:
    status: int
    headers: Any
    body: str
    url: str
    data: bytes = b""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Session:
    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base.rstrip("/")
        self.headers = headers or {}
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, path: str, data: dict[str, Any] | None = None) -> Answer:
        url = path if path.startswith("http") else self.base + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        outgoing = urllib.request.Request(url, data=body, headers=self.headers)
        try:
            with self.opener.open(outgoing, timeout=30) as answer:
                data = answer.read()
                text = data.decode(errors="replace")
                return Answer(answer.status, answer.headers, text, url, data)
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read().decode(errors="replace"), url)

    def get(self, path: str) -> Answer:
        return self.request(path)

    def post(self, path: str, data: dict[str, Any]) -> Answer:
        return self.request(path, data)

    def sign(self, slug: str, base: str = "", **fields: Any) -> Answer:
        page = self.get(f"{base}/letters/{slug}")
        assert page.status == 200, page.status
        data = valid_fields(**fields)
        data["csrf_token"] = csrf_token(page.body)
        return self.post(f"{base}/letters/{slug}/sign", data)

    def press_button(self, path: str) -> Answer:
        page = self.get(path)
        assert page.status == 200, (page.status, path)
        return self.post(path, {"csrf_token": csrf_token(page.body)})


def wait_until_up(base: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{base} did not come up")
        time.sleep(0.2)


def wait_for(condition: Any, seconds: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
