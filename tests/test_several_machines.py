"""Several machines: two web instances, two outbox workers and a jobs worker on one PostgreSQL
and one Redis, as a larger deployment runs them. Each process is a real server or command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
import redis
from conftest import (
    G20,
    STAFF_PASSWORD,
    csrf_token,
    free_port,
    links_in,
    outbox_rows,
    path_of,
    pg_url,
    text_part,
)
from http_session import Session, wait_for, wait_until_up

from petitions.models.outbox import OutboxStatus

REDIS = "redis://127.0.0.1:6379/9"


@pytest.mark.postgresql(reason="several machines share one PostgreSQL (and one Redis)")
def test_two_instances_share_everything(app, smtp, tmp_path, make_staff):
    redis.Redis.from_url(REDIS).flushdb()
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PETITIONS", "FLASK_"))},
        "DATABASE_URL": pg_url(),
        "REDIS_URL": REDIS,
        "SECRET_KEY": "one-secret-key-for-every-machine-of-this-site",
        "MAIL_URL": smtp.url,
        "PUBLIC_URL": bases[0],
        "OUTBOX_WORKER": "external",
        "JOBS_WORKER": "external",
        "TRUSTED_PROXIES": "1",  # each test signer comes from its own address
        "SIGN_RATE_LIMIT": "2 per minute",
        "EXPORT_INLINE_ROWS": "0",  # every PDF is built by the jobs worker
    }
    flask = [sys.executable, "-m", "flask", "--app", "petitions"]
    processes = []
    logs = []

    def start(args: list[str], name: str) -> None:
        machine = {**env, "PETITIONS_INSTANCE": str(tmp_path / name)}
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115
        logs.append(log)
        processes.append(subprocess.Popen(args, env=machine, stdout=log, stderr=log))

    for number, port in enumerate(ports):
        start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
                "petitions:create_app()",
            ],
            f"web{number}",
        )
    start([*flask, "outbox", "work"], "outbox0")
    start([*flask, "outbox", "work"], "outbox1")
    start([*flask, "jobs", "work"], "jobs")
    try:
        for base in bases:
            wait_until_up(base, 60)
        signers = [Session(bases[0], {"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(6)]
        for number, signer in enumerate(signers):
            through = bases[number % 2]
            answer = signer.sign(G20, base=through, email=f"signer{number}@example.org")
            assert answer.status == 303, (answer.status, answer.body[:500])
        # The same address again, through the other instance: still one signature.
        assert signers[0].sign(G20, base=bases[1], email="signer0@example.org").status == 303
        # Rate limits are counted in Redis: signer 0 used its two on two instances.
        assert signers[0].sign(G20, base=bases[0], email="third@example.org").status == 429

        def confirmations() -> dict[str, str]:
            found = {}
            for message in list(smtp.messages):
                for link in links_in(text_part(message))["confirm"]:
                    found[str(message["To"])] = link
            return found

        links = wait_for(lambda: len(confirmations()) == 6 and confirmations(), 60, "emails")
        for number, signer in enumerate(signers):
            link = links[f"signer{number}@example.org"]
            other = bases[(number + 1) % 2]  # confirmed through the instance it did not sign on
            assert signer.press_button(other + path_of(link)).status == 200

        for base in bases:  # both instances count the same, exactly
            count = Session(base).get(f"/api/v1/letters/{G20}").body.replace(" ", "")
            assert '"individuals":6' in count, count

        # A delivery PDF asked for on one instance, built by the jobs worker, fetched on the other.
        staff = Session(bases[0], {"X-Forwarded-For": "198.51.100.200"})
        page = staff.get("/staff/login")
        signed_in = staff.post(
            "/staff/login",
            {
                "csrf_token": csrf_token(page.body),
                "email": make_staff("admin"),
                "password": STAFF_PASSWORD,
                "next": "",
            },
        )
        assert signed_in.status == 303, signed_in.status
        asked = staff.get(f"/staff/letters/{G20}/export.pdf?status=counted")
        assert asked.status == 303, asked.status
        job = asked.headers["Location"].rstrip("/")

        def downloaded():
            answer = staff.get(bases[1] + job + "/file.pdf")
            return answer.status == 200 and answer

        pdf = wait_for(downloaded, 120, "the PDF from the other instance")
        assert pdf.headers["Content-Type"] == "application/pdf" and pdf.data.startswith(b"%PDF")

        def all_sent() -> bool:
            rows = outbox_rows(app)
            return bool(rows) and all(row.status == OutboxStatus.SENT for row in rows)

        wait_for(all_sent, 60, "every email sent")
        rows = outbox_rows(app)
        assert Counter(str(m["To"]) for m in smtp.messages) == Counter(r.recipient for r in rows)
        assert len(smtp.messages) == len(rows)  # every email exactly once
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        for log in logs:
            log.close()
    for name in ("web0", "web1", "outbox0", "outbox1", "jobs"):
        assert "Traceback" not in (tmp_path / f"{name}.log").read_text(), name
