"""Settings that refuse nonsense: each bad value stops the start, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from petitions.config import Settings, SettingsError, load_settings

BAD_VALUES = [
    ("OUTBOX_WORKER", "extrenal", "thread, external"),
    ("JOBS_WORKER", "sometimes", "thread, external"),
    ("RATELIMIT_ENABLED", "maybe", "true/false"),
    ("JOBS_IMMEDIATE", "perhaps", "true/false"),
    ("MAIL_URL", "smtp//mail.example.org", "smtp://"),
    ("MAIL_URL", "smtp://mail.example.org:port", "smtp://"),
    ("MAIL_URL", "sendmail://localhost", "smtp://"),
    ("DATABASE_URL", "postgresql//db.example.org/petitions", "postgresql://"),
    ("DATABASE_URL", "mysql://user@db.example.org/petitions", "postgresql://"),
    ("DATABASE_URL", "postgresql://user@db.example.org", "postgresql://"),
    ("REDIS_URL", "127.0.0.1:6379", "redis"),
    ("PUBLIC_URL", "letters.example.org", "https"),
    ("PETITIONS_ENV", "staging", "production"),
    ("TRUSTED_PROXIES", "-1", "at least 0"),
    ("EXPORT_INLINE_ROWS", "-3", "at least 0"),
    ("STAFF_IDLE_TIMEOUT", "0", "at least 1"),
    ("DATABASE_CONNECT_TIMEOUT", "-5", "more than 0"),
    ("OUTBOX_CLAIM_SECONDS", "nan", "more than 0"),
    ("SQLITE_SYNCHRONOUS", "fast", "FULL, NORMAL, EXTRA"),
    ("REMINDER_AFTER", "soon", "24h"),
    ("MAIL_MAX_PER_SECOND", "0", "more than 0"),
    ("SITE_ACCENT", "blue", "#rrggbb"),
    ("TIME_ZONE", "Mars/Olympus_Mons", "Europe/Tirane"),
    ("PRIVACY_CONTACT", "nobody", "email address"),
    ("RETENTION_DAYS", "-1", "at least 0"),
    ("METRICS_ENABLED", "sure", "true/false"),
    ("METRICS_ALLOWED", "localhost", "CIDR"),
]


def environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PETITIONS", "FLASK_"))}
    return {**env, "SECRET_KEY": "test-secret-key", **settings}


# The examples also go through a real `flask` command (a process each: slower).
THROUGH_THE_COMMAND_LINE = {
    "OUTBOX_WORKER",
    "RATELIMIT_ENABLED",
    "MAIL_URL",
    "DATABASE_URL",
    "PETITIONS_ENV",
    "TRUSTED_PROXIES",
}


@pytest.mark.parametrize(("name", "value", "accepted"), BAD_VALUES)
def test_a_bad_value_stops_the_start_naming_the_variable(name, value, accepted, tmp_path):
    env = environment(**{name: value}, PETITIONS_INSTANCE=str(tmp_path))
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ(env)
    assert f"{name}={value!r} is not valid" in str(refused.value)
    assert accepted in str(refused.value)
    if name not in THROUGH_THE_COMMAND_LINE or value == "postgresql://user@db.example.org":
        return
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "petitions", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"Error: {name}=" in done.stderr and accepted in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_gunicorn_refuses_to_start_with_a_bad_value(tmp_path):
    env = environment(OUTBOX_WORKER="extrenal", PETITIONS_INSTANCE=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-b", "127.0.0.1:0", "petitions:create_app()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "OUTBOX_WORKER='extrenal' is not valid" in done.stderr


def test_every_bad_value_is_reported_at_once():
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({"OUTBOX_WORKER": "extrenal", "RATELIMIT_ENABLED": "maybe"})
    assert "OUTBOX_WORKER" in str(refused.value) and "RATELIMIT_ENABLED" in str(refused.value)


def test_values_are_parsed_into_their_types(tmp_path, monkeypatch):
    for name in ("PETITIONS_ENV", "FLASK_ENV", "MAIL_MAX_PER_SECOND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXPORT_INLINE_ROWS", "0")  # once read as 2000 ("0" or 2000)
    monkeypatch.setenv("TRUSTED_PROXIES", "0")
    monkeypatch.setenv("RATELIMIT_ENABLED", "off")
    monkeypatch.setenv("OUTBOX_WORKER", "External")
    monkeypatch.setenv("SITE_ACCENT", "#1F5F8B")
    monkeypatch.setenv("METRICS_ALLOWED", "10.0.0.0/8, 192.0.2.7")
    config = load_settings(tmp_path)
    assert config["EXPORT_INLINE_ROWS"] == 0 and config["TRUSTED_PROXIES"] == 0
    assert config["RATELIMIT_ENABLED"] is False and config["OUTBOX_WORKER"] == "external"
    assert config["SITE_ACCENT"] == "#1f5f8b" and config["MAIL_MAX_PER_SECOND"] is None
    assert config["METRICS_ALLOWED"] == ["10.0.0.0/8", "192.0.2.7"]
    assert config["REMINDER_AFTER"] == 24 * 3600 and config["RETENTION_DAYS"] == 180
    assert config["TIME_ZONE"] == "Europe/Tirane" and config["SITE_NAME"] == "Open letters"
    assert config["PRODUCTION"] is False and config["METRICS_ENABLED"] is False


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("90s", 90.0), ("30m", 1800.0), ("24h", 86400.0), ("2d", 172800.0), ("0", 0.0), ("45", 45.0)],
)
def test_reminder_after_reads_durations(given, seconds):
    assert Settings.from_environ({"REMINDER_AFTER": given}).reminder_after == seconds
