"""/metrics: off by default, only for the allowed addresses, and the figures move."""

from __future__ import annotations

from conftest import G20, sign


def scrape(client, address="127.0.0.1") -> str:
    answer = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
    assert answer.status_code == 200, answer.status_code
    return answer.text


def figure(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or (
            line.startswith(name + "{") and line.split(" ")[0] == name
        ):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics")


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_only_answer_allowed_addresses(make_app):
    app = make_app(METRICS_ENABLED=True, METRICS_ALLOWED=["10.1.0.0/16"])
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404
    assert scrape(client, "10.1.2.3").startswith("# HELP")


def test_metrics_follow_signing_email_and_refusals(make_app):
    app = make_app(
        METRICS_ENABLED=True,
        METRICS_ALLOWED=["127.0.0.1"],
        RATELIMIT_ENABLED=True,
        SIGN_RATE_LIMIT="1 per minute",
    )
    client = app.test_client()
    before = scrape(client)
    assert figure(before, "petitions_outbox_backlog") == 0
    assert sign(client).status_code == 303
    assert sign(client, email="other@example.org").status_code == 429
    after = scrape(client)
    assert 'petitions_signatures{status="pending"} 1.0' in after
    assert figure(after, "petitions_outbox_backlog") == 1
    assert figure(after, "petitions_outbox_oldest_age_seconds") >= 0
    assert figure(after, "petitions_outbox_failed") == 0
    assert figure(after, "petitions_rate_limit_refusals_total") == 1
    assert 'petitions_responses_total{status="4xx"} 1.0' in after
    assert 'endpoint="public.sign"' in after or "public." in after
    assert "petitions_request_seconds_bucket" in after and "petitions_job_queue" in after
    assert G20  # the letter signed
