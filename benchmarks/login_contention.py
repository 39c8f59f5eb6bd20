"""Does a stream of failed staff logins hold up signing? (SQLite, one threaded server.)

On SQLite a write transaction holds back every other writer. If a login checks its password
(argon2, a tenth of a second of CPU) inside its transaction, each failed guess stalls every
signature meanwhile. This script measures it: it sets up a fresh SQLite database (migrations,
demo letters, one moderator), starts ``flask run`` (threaded Werkzeug, rate limits off), then
times the signing POST twice: alone, and while ``--login-streams`` clients post wrong passwords
for the moderator's email as fast as the server answers. It prints p50/p90/p99/max of the
signing POST for both phases.

    .venv/bin/python benchmarks/login_contention.py                  # this checkout
    .venv/bin/python benchmarks/login_contention.py --source OTHER   # another checkout's code

``--source`` runs the app from another checkout of this repository (for a before/after
comparison with the same script and virtual environment). Standard library only, besides the
app itself; it only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import CSRF_PATTERN, Client, Results, sign_once, summary

ROOT = Path(__file__).resolve().parent.parent
SLUG = "g20-protect-education"
MODERATOR = "moderator@example.org"
PASSWORD = "the moderator's long password"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout whose app to run")
    parser.add_argument("--login-streams", type=int, default=2, help="clients failing logins")
    parser.add_argument("--signers", type=int, default=1, help="clients signing")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def flask(env: dict[str, str], source: Path, *args: str, **kwargs: object) -> object:
    command = [str(Path(sys.executable).parent / "flask"), "--app", "petitions", *args]
    return subprocess.run(command, env=env, cwd=source, check=True, **kwargs)  # type: ignore[call-overload]


def fail_logins(url: str, stop: threading.Event, counts: list[int]) -> None:
    client = Client(url, 60)
    try:
        while not stop.is_set():
            status, page = client.request("GET", "/staff/login")
            token = CSRF_PATTERN.search(page)
            assert status == 200 and token, status
            form = {"csrf_token": token.group(1), "email": MODERATOR, "password": "a wrong guess!"}
            status, _ = client.request("POST", "/staff/login", form)
            counts.append(status)
    finally:
        client.close()


def phase(url: str, args: argparse.Namespace, label: str, login_streams: int) -> None:
    stop = threading.Event()
    logins: list[int] = []
    streams = [
        threading.Thread(target=fail_logins, args=(url, stop, logins)) for _ in range(login_streams)
    ]
    for stream in streams:
        stream.start()
    time.sleep(1.0 if login_streams else 0)  # let the logins get going first
    results = Results()
    deadline = time.monotonic() + args.seconds

    def sign(index: int) -> None:
        client = Client(url, 120)
        n = 0
        try:
            while time.monotonic() < deadline:
                sign_once(client, SLUG, f"p{login_streams}-{index}-{n}@example.org", results)
                n += 1
        finally:
            client.close()

    signers = [threading.Thread(target=sign, args=(i,)) for i in range(args.signers)]
    for signer in signers:
        signer.start()
    for signer in signers:
        signer.join()
    stop.set()
    for stream in streams:
        stream.join()
    post = summary(results.post_ms)
    figures = ", ".join(f"{name} {value:.0f} ms" for name, value in post.items())
    print(
        f"{label}: {results.completed} signatures in {args.seconds:.0f} s; signing POST {figures}; "
        f"failed logins {len(logins)} ({sorted(set(logins))}); errors {dict(results.errors)}"
    )


def main() -> None:
    args = parse_args()
    source = args.source.resolve()
    with tempfile.TemporaryDirectory(prefix="petitions-login-bench.") as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(source),
            "PETITIONS_INSTANCE": f"{tmp}/instance",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "RATELIMIT_ENABLED": "false",
            "SECRET_KEY": "bench",
            "MAIL_URL": "console:",
        }
        for name in ("PETITIONS_ENV", "FLASK_ENV", "REDIS_URL", "PUBLIC_URL", "TRUSTED_PROXIES"):
            env.pop(name, None)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        flask(env, source, "db", "upgrade", **quiet)
        flask(env, source, "demo", **quiet)
        flask(env, source, "staff", "create", MODERATOR, "--role", "moderator",
              input=PASSWORD + "\n", text=True, **quiet)  # fmt: skip
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(f"{tmp}/server.log", "w")  # noqa: SIM115 (closed below)
        command = [
            *(str(Path(sys.executable).parent / "flask"), "--app", "petitions", "run"),
            *("--port", str(port), "--with-threads", "--no-reload", "--no-debugger"),
        ]
        server = subprocess.Popen(command, env=env, cwd=source, stdout=log, stderr=log)
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/letters/{SLUG}", timeout=2).read()
                    break
                except (urllib.error.URLError, OSError):
                    time.sleep(0.1)
            print(f"source {source}; {os.cpu_count()} cores; flask run (threaded), SQLite")
            phase(url, args, "alone", 0)
            phase(url, args, f"with {args.login_streams} failed-login streams", args.login_streams)
        finally:
            server.terminate()
            server.wait(10)
            log.close()


if __name__ == "__main__":
    main()
