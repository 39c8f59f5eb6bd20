"""Signing is rate limited per client address; with REDIS_URL the count is shared by workers."""

from __future__ import annotations

import uuid

import pytest
import redis
from conftest import G20, csrf_token, valid_fields

REDIS_URL = "redis://127.0.0.1:6379/15"


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


@pytest.fixture
def redis_namespace():
    server = redis.Redis.from_url(REDIS_URL)
    server.ping()  # the machine runs Redis; a failure here is a real failure
    prefix = f"petitions-test-{uuid.uuid4().hex}"
    yield prefix
    for key in server.scan_iter(f"*{prefix}*"):
        server.delete(key)
    server.close()


def test_two_workers_share_the_limit_through_redis(make_app, redis_namespace):
    settings = {
        "RATELIMIT_ENABLED": True,
        "SIGN_RATE_LIMIT": "3 per minute",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": redis_namespace,
    }
    first, second = make_app(**settings), make_app(**settings)
    a, b = first.test_client(), second.test_client()
    assert post_signature(a, "r1@example.org").status_code == 303
    assert post_signature(b, "r2@example.org").status_code == 303
    assert post_signature(a, "r3@example.org").status_code == 303
    assert post_signature(b, "r4@example.org").status_code == 429
    assert redis.Redis.from_url(REDIS_URL).keys(f"*{redis_namespace}*")


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
