"""The API's letter answers, kept for a second per process: partners' pages poll them.

A partner's page that shows a live count asks ``/api/v1/letters/<slug>`` on every visit; a
popular page makes thousands of identical requests a second. Each answer of the Flask app (all
its headers included: CORS, ETag, security headers) is kept here, as bytes, for
``API_MEMO_SECONDS``, and served again without the app, the database or the session: a WSGI
layer inside the proxy fix (so the host it keys on is the one the app checked). A request whose
``If-None-Match`` matches gets 304 from here too. Counts are then at most that old per worker
process; the answers' ``Cache-Control`` already lets browsers keep them longer.

Only plain ``GET``s of the two letter URLs without a query string, and only 200 answers that set
no cookie, are kept; anything else goes to the app as before.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

KEPT_PATHS = re.compile(r"/api/v1/letters(?:/[^/]{1,80})?")
MAX_ANSWERS = 256
# Headers a 304 leaves out: it has no body.
BODY_HEADERS = frozenset({"content-length", "content-type"})


class Answer:
    __slots__ = ("body", "etag", "expires", "headers", "not_modified", "status")

    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes, ttl: float):
        self.status = status
        self.headers = headers
        self.body = body
        self.expires = time.monotonic() + ttl
        self.etag = next((v for k, v in headers if k.lower() == "etag"), None)
        self.not_modified = [(k, v) for k, v in headers if k.lower() not in BODY_HEADERS]


class AnswerMemo:
    def __init__(self, app: WSGIApplication, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.answers: OrderedDict[tuple[str, ...], Answer] = OrderedDict()
        self.lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or environ.get("QUERY_STRING")
            or not KEPT_PATHS.fullmatch(path)
        ):
            return self.app(environ, start_response)
        key = (
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST", ""),
            environ.get("SCRIPT_NAME", ""),
            path,
        )
        answer = self.answers.get(key)
        if answer is not None and answer.expires > time.monotonic():
            return self._serve(answer, environ, start_response)
        return self._ask_app(key, environ, start_response)

    def _serve(
        self, answer: Answer, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        wanted = environ.get("HTTP_IF_NONE_MATCH")
        if wanted and answer.etag and answer.etag in (t.strip() for t in wanted.split(",")):
            start_response("304 NOT MODIFIED", answer.not_modified)
            return [b""]
        start_response(answer.status, answer.headers)
        return [answer.body]

    def _ask_app(
        self, key: tuple[str, ...], environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}
        # Asked without If-None-Match, so the full answer can be kept; a match is then a 304.
        plain = {k: v for k, v in environ.items() if k != "HTTP_IF_NONE_MATCH"}
        chunks = self.app(plain, capture_only(seen))
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers = seen["status"], list(seen["headers"])
        answer = Answer(status, headers, body, self.seconds)
        if status.startswith("200") and not any(k.lower() == "set-cookie" for k, _ in headers):
            with self.lock:
                self.answers[key] = answer
                self.answers.move_to_end(key)
                while len(self.answers) > MAX_ANSWERS:
                    self.answers.popitem(last=False)
        return self._serve(answer, environ, start_response)


def capture_only(seen: dict[str, Any]) -> StartResponse:
    """A start_response that only notes what the app answered (sent later by the memo)."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        return lambda data: None

    return start
