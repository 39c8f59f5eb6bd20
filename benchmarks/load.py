"""Load driver for the signing flow: N clients, each GETs a letter page and POSTs a signature.

Standard library only, so it runs with any Python 3.11 against any server that speaks the same
URL shapes (our app, or ``benchmarks/bare_app.py``):

    GET  /letters/<slug>        a page holding a form with ``name="csrf_token" ... value="..."``
    POST /letters/<slug>/sign   kind, name, email, country, consent, public, csrf_token -> 303

Each client is a thread with its own keep-alive connection (reopened when the server closes it,
as gunicorn's sync workers do) and its own cookies, like one browser. Every POST uses a fresh
email address. The run stops by itself after ``--requests`` signature attempts or
``--max-seconds``, whichever comes first. It only talks to this machine (127.0.0.1, localhost,
::1): it is a benchmark, not a tool to load someone else's site.

    .venv/bin/python benchmarks/load.py --url http://127.0.0.1:8001 --clients 8 --requests 2000
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import re
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of the server")
    parser.add_argument("--slug", default="g20-protect-education", help="letter to sign")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--requests", type=int, default=2000, help="signatures to attempt")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop after this long")
    parser.add_argument(
        "--warmup", type=int, default=16, help="signatures made first and left out of the figures"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="socket timeout per request")
    parser.add_argument("--label", default="", help="name printed with the results")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    if parts.scheme != "http" or parts.hostname not in LOCAL_HOSTS:
        parser.error(f"only http:// on {sorted(LOCAL_HOSTS)} is allowed, not {args.url!r}")
    if args.clients < 1 or args.requests < 1 or args.max_seconds <= 0 or args.warmup < 0:
        parser.error("--clients and --requests must be >= 1, --max-seconds > 0, --warmup >= 0")
    return args


class Client:
    """One browser: a connection that is reopened when the server closes it, and a cookie jar."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, str]:
        headers = {"Accept": "text/html", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                self.connection.request(method, self.prefix + path, body=data, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server had already closed: retry once, fresh.
                self.close()
                if attempt == 2:
                    raise
                continue
            except (OSError, http.client.HTTPException):
                self.close()  # a half-used connection cannot send the next request
                raise
            self._remember_cookies(response)
            if response.will_close:
                self.close()
            return response.status, text
        raise AssertionError("unreachable")

    def _remember_cookies(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Results:
    get_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    pair_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    completed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Tickets:
    """Hands out signature numbers until the count or the time runs out."""

    def __init__(self, count: int, deadline: float) -> None:
        self.count = count
        self.deadline = deadline
        self.next = 0
        self.lock = threading.Lock()

    def stop(self) -> None:
        with self.lock:
            self.count = min(self.count, self.next)

    def take(self) -> int | None:
        with self.lock:
            if self.next >= self.count or time.monotonic() >= self.deadline:
                return None
            self.next += 1
            return self.next - 1


def sign_once(client: Client, slug: str, email: str, results: Results | None) -> None:
    """GET the letter page, POST one signature; record timings (or the error) in ``results``."""
    started = time.perf_counter()
    try:
        status, page = client.request("GET", f"/letters/{slug}")
    except (OSError, http.client.HTTPException) as error:
        _error(results, f"GET {type(error).__name__}")
        return
    got = time.perf_counter()
    if status != 200:
        _error(results, f"GET {status}")
        return
    match = CSRF_PATTERN.search(page)
    if match is None:
        _error(results, "GET no csrf_token in page")
        return
    form = {
        "csrf_token": match.group(1),
        "kind": "individual",
        "name": "Bench Signer",
        "email": email,
        "country": "AL",
        "consent": "y",
        "public": "y",
    }
    try:
        status, _ = client.request("POST", f"/letters/{slug}/sign", form)
    except (OSError, http.client.HTTPException) as error:
        _error(results, f"POST {type(error).__name__}")
        return
    posted = time.perf_counter()
    if status != 303:
        _error(results, f"POST {status}")
        return
    if results is not None:
        with results.lock:
            results.get_ms.append((got - started) * 1000)
            results.post_ms.append((posted - got) * 1000)
            results.pair_ms.append((posted - started) * 1000)
            results.completed += 1


def _error(results: Results | None, what: str) -> None:
    if results is not None:
        with results.lock:
            results.errors[what] += 1
    else:
        print(f"warm-up error: {what}", file=sys.stderr)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": percentile(values, 0.50),
        "p90": percentile(values, 0.90),
        "p99": percentile(values, 0.99),
        "max": max(values),
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    run_id = secrets.token_hex(4)  # keeps emails unique across runs on the same database
    if args.warmup:
        # Let every worker process start, compile its templates and open its connections first.
        per_client = -(-args.warmup // args.clients)

        def warm(index: int) -> None:
            client = Client(args.url, args.timeout)
            try:
                for n in range(per_client):
                    sign_once(client, args.slug, f"warm-{run_id}-{index}-{n}@example.org", None)
            finally:
                client.close()

        threads = [threading.Thread(target=warm, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    results = Results()
    started = time.monotonic()
    tickets = Tickets(args.requests, started + args.max_seconds)

    def work() -> None:
        client = Client(args.url, args.timeout)
        try:
            while (ticket := tickets.take()) is not None:
                sign_once(client, args.slug, f"load-{run_id}-{ticket}@example.org", results)
        finally:
            client.close()

    workers = [threading.Thread(target=work, name=f"client-{i}") for i in range(args.clients)]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join()
    except KeyboardInterrupt:
        print("interrupted: finishing the requests under way", file=sys.stderr)
        tickets.stop()
        for worker in workers:
            worker.join()
    elapsed = time.monotonic() - started
    return {
        "label": args.label,
        "url": args.url,
        "slug": args.slug,
        "clients": args.clients,
        "attempted": tickets.next,
        "completed": results.completed,
        "errors": dict(results.errors),
        "seconds": elapsed,
        "signatures_per_second": results.completed / elapsed if elapsed > 0 else 0.0,
        "get_ms": summary(results.get_ms),
        "post_ms": summary(results.post_ms),
        "pair_ms": summary(results.pair_ms),
        "stopped_by": "count" if tickets.next >= args.requests else "time or interruption",
    }


def report(result: dict[str, object]) -> str:
    lines = [
        f"== {result['label'] or result['url']}: {result['clients']} clients, "
        f"letter {result['slug']}",
        f"signatures completed: {result['completed']} of {result['attempted']} attempted "
        f"in {result['seconds']:.1f} s (stopped by {result['stopped_by']})",
        f"signatures/s:         {result['signatures_per_second']:.1f}",
    ]
    errors = result["errors"]
    assert isinstance(errors, dict)
    lines.append(
        "errors:               "
        + (", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) if errors else "none")
    )
    lines.append(f"{'latency ms':22}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    for name in ("get_ms", "post_ms", "pair_ms"):
        figures = result[name]
        assert isinstance(figures, dict)
        label = {"get_ms": "GET letter page", "post_ms": "POST sign", "pair_ms": "GET + POST"}
        row = "".join(f"{figures.get(k, float('nan')):8.1f}" for k in ("p50", "p90", "p99", "max"))
        lines.append(f"{label[name]:22}{row}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(report(result), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    return 0 if result["completed"] else 1


if __name__ == "__main__":
    sys.exit(main())
