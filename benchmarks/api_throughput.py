"""Requests per second on ``GET /api/v1/letters/<slug>``: one load-generating process.

The issue asks that a partner's page can poll the count: the API must stay at or above 2,000
requests per second on this machine "with wrk-style load from one process". No wrk here, so this
is the same thing in Python: one process, one asyncio loop, ``--connections`` keep-alive HTTP/1.1
connections, each sending its next request as soon as the answer is read (a connection the
server closes is reopened). It counts 200 answers (and 304s with ``--etag``) in ``--seconds``
after a second of warm-up, and prints requests per second and the latency percentiles.

With ``--serve`` it first starts the app itself under gunicorn (``--workers``, gthread workers
that keep connections alive) on a fresh SQLite file with the demo letters, and stops it at the end:

    .venv/bin/python benchmarks/api_throughput.py --serve --workers 3 --seconds 10
    .venv/bin/python benchmarks/api_throughput.py --url http://127.0.0.1:8000   # a running server

Only 127.0.0.1, localhost and ::1 are accepted: this is a benchmark, not a tool to load other
people's sites.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--slug", default="g20-protect-education")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--etag", action="store_true", help="send If-None-Match (304 answers)")
    parser.add_argument("--serve", action="store_true", help="start gunicorn on a fresh database")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=0)
    return parser.parse_args()


class Stats:
    def __init__(self) -> None:
        self.counting = False
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.latencies: list[float] = []


async def client(host: str, port: int, request: bytes, stats: Stats, stop: float) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < stop:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        assert reader is not None
        started = time.monotonic()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = head[9:12].decode()
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await reader.readexactly(length)
        if stats.counting:
            if status in ("200", "304"):
                stats.ok += 1
                stats.latencies.append(time.monotonic() - started)
            else:
                stats.errors[status] = stats.errors.get(status, 0) + 1
        if close:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def run(args: argparse.Namespace, base: str) -> dict[str, object]:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = f"/api/v1/letters/{args.slug}"
    extra = ""
    if args.etag:
        with urllib.request.urlopen(base + path) as answer:
            extra = f"If-None-Match: {answer.headers['ETag']}\r\n"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: application/json\r\n{extra}\r\n"
    ).encode()
    stats = Stats()
    warmup = 1.0
    stop = time.monotonic() + warmup + args.seconds
    tasks = [
        asyncio.create_task(client(host, port, request, stats, stop))
        for _ in range(args.connections)
    ]
    await asyncio.sleep(warmup)
    stats.counting = True
    started = time.monotonic()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    latencies = sorted(stats.latencies) or [0.0]

    def percentile(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "url": base + path,
        "connections": args.connections,
        "seconds": round(elapsed, 2),
        "answers": stats.ok,
        "errors": stats.errors,
        "requests_per_second": round(stats.ok / elapsed),
        "latency_ms": {"p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99)},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(args: argparse.Namespace, folder: str) -> tuple[subprocess.Popen[bytes], str]:
    port = args.port or free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PETITIONS_ENV", "PUBLIC_URL")},
        "PETITIONS_INSTANCE": folder,
        "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
        "SECRET_KEY": "bench",
        "MAIL_URL": "console:",
        "RATELIMIT_ENABLED": "false",
    }
    bin_dir = Path(sys.executable).parent
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run(
            [bin_dir / "flask", "--app", "petitions", *command],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    server = subprocess.Popen(
        [
            str(bin_dir / "gunicorn"),
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/api/v1/letters", timeout=2).read()
            return server, base
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


def main() -> None:
    args = parse_args()
    server = None
    with tempfile.TemporaryDirectory(prefix="petitions-api-bench.") as folder:
        try:
            if args.serve:
                server, base = serve(args, folder)
            else:
                base = args.url.rstrip("/")
                if urlsplit(base).hostname not in LOCAL_HOSTS:
                    raise SystemExit("only 127.0.0.1, localhost or ::1")
            result = asyncio.run(run(args, base))
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
    if args.serve:
        result["server"] = (
            f"gunicorn --worker-class gthread -w {args.workers} --threads {args.threads}"
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
