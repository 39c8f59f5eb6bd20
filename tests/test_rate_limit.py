"""Signing is rate limited per client address; with REDIS_URL the count is shared by workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest
import redis
from conftest import G20, csrf_token, free_port, valid_fields

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def post_signature(client, email):
    page = client.get(f"/letters/{G20}")
    data = valid_fields(email=email, csrf_token=csrf_token(page.get_data(as_text=True)))
    return client.post(f"/letters/{G20}/sign", data=data)


def test_signing_is_limited_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True, SIGN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    answers = [post_signature(client, f"p{i}@example.org").status_code for i in range(4)]
    assert answers == [303, 303, 303, 429]
    refused = post_signature(client, "p9@example.org")
    assert refused.status_code == 429
    assert "Please wait a few minutes" in refused.get_data(as_text=True)


def test_rate_limit_can_be_turned_off(make_app):
    app = make_app(RATELIMIT_ENABLED=False, SIGN_RATE_LIMIT="1 per minute")
    client = app.test_client()
    assert {post_signature(client, f"q{i}@example.org").status_code for i in range(3)} == {303}


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The machine's Redis; else a redis-server of our own; else, outside CI, a stated skip."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        yield REDIS_URL
        return
    except redis.ConnectionError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis at {REDIS_URL} (or redis-server on PATH)")
        pytest.skip("no Redis here and no redis-server to start: install redis-server to run")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture
def redis_namespace(redis_url):
    server = redis.Redis.from_url(redis_url)
    prefix = f"petitions-test-{uuid.uuid4().hex}"
    yield prefix
    for key in server.scan_iter(f"*{prefix}*"):
        server.delete(key)
    server.close()


def test_two_workers_share_the_limit_through_redis(make_app, redis_url, redis_namespace):
    settings = {
        "RATELIMIT_ENABLED": True,
        "SIGN_RATE_LIMIT": "3 per minute",
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": redis_namespace,
    }
    first, second = make_app(**settings), make_app(**settings)
    a, b = first.test_client(), second.test_client()
    assert post_signature(a, "r1@example.org").status_code == 303
    assert post_signature(b, "r2@example.org").status_code == 303
    assert post_signature(a, "r3@example.org").status_code == 303
    assert post_signature(b, "r4@example.org").status_code == 429
    assert redis.Redis.from_url(redis_url).keys(f"*{redis_namespace}*")


def test_without_redis_each_worker_counts_alone(make_app):
    settings = {"RATELIMIT_ENABLED": True, "SIGN_RATE_LIMIT": "2 per minute"}
    first, second = make_app(**settings), make_app(**settings)
    a, b = first.test_client(), second.test_client()
    assert [post_signature(a, f"m{i}@example.org").status_code for i in range(3)] == [
        303,
        303,
        429,
    ]
    assert post_signature(b, "m9@example.org").status_code == 303


def test_signing_still_works_when_redis_is_down(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True,
        SIGN_RATE_LIMIT="3 per minute",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",  # nothing listens there
    )
    assert post_signature(app.test_client(), "s1@example.org").status_code == 303


def test_redis_url_selects_the_shared_storage(tmp_path, monkeypatch):
    from petitions.config import load_settings

    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("SECRET_KEY", "x")
    assert load_settings(tmp_path)["RATELIMIT_STORAGE_URI"] == REDIS_URL


def test_login_throttling_per_account_is_shared_through_redis(
    make_app, make_staff, redis_url, redis_namespace
):
    from conftest import STAFF_PASSWORD, login

    def login_from(app, address: str, password: str = STAFF_PASSWORD):
        client = app.test_client()
        page = client.get("/staff/login", environ_base={"REMOTE_ADDR": address})
        form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "email": email,
                "password": password}  # fmt: skip
        return client.post("/staff/login", data=form, environ_base={"REMOTE_ADDR": address})

    settings = {
        "RATELIMIT_ENABLED": True,
        "LOGIN_ACCOUNT_FREE_FAILURES": 2,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": redis_namespace,
    }
    first, second = make_app(**settings), make_app(**settings)
    email = make_staff("admin")
    # Failures through two workers count together: after the third, failed addresses wait 2 s …
    assert login(first.test_client(), email, password="wrong password one").status_code == 400
    assert login_from(second, "10.0.2.2", "wrong password two").status_code == 400
    assert login_from(first, "10.0.2.3", "wrong password three").status_code == 400
    refused = login(second.test_client(), email)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == 2
    # … while an address that has not failed signs in through either of them.
    assert login_from(second, "10.0.2.9").status_code == 303
    assert login_from(first, "10.0.2.10").status_code == 303
    assert redis.Redis.from_url(redis_url).keys(f"*{redis_namespace}/login-throttle/*")


def test_production_without_redis_warns_that_limits_count_per_worker(make_app, monkeypatch, caplog):
    """With memory storage each gunicorn worker counts alone: startup says so in production."""
    import logging

    monkeypatch.setattr(logging.getLogger("petitions"), "disabled", False)  # see test_outbox
    caplog.set_level(logging.WARNING, logger="petitions")
    monkeypatch.delenv("REDIS_URL", raising=False)

    def warnings() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING and "REDIS_URL" in r.getMessage()
        ]

    make_app(RATELIMIT_ENABLED=True)  # not production: a laptop has one process
    assert warnings() == []
    monkeypatch.setenv("PETITIONS_ENV", "production")
    make_app(RATELIMIT_ENABLED=True, MAIL_URL="smtp://127.0.0.1:25")
    assert len(warnings()) == 1
    assert "per worker" in warnings()[0]
    caplog.clear()
    make_app(RATELIMIT_ENABLED=True, MAIL_URL="smtp://127.0.0.1:25", REDIS_URL=REDIS_URL)
    assert warnings() == []
