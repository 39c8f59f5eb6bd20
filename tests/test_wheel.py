"""The built wheel runs outside the checkout: install, migrate, demo, doctor, serve, sign.

Slow (a new virtual environment; its dependencies come from pip's cache or the package index), so
it is one test. It runs the way a volunteer sysadmin would: `pip wheel .`, a fresh venv, then the
installed `flask` and `gunicorn` from another working directory, with no instance folder given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import G20, free_port, links_in, path_of, text_part
from http_session import Session, wait_for, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
# Settings a developer's shell may carry that would point the installed site at something else.
CLEARED = ("PETITIONS", "DATABASE_URL", "TEST_DATABASE_URL", "FLASK_", "PYTHONPATH", "REDIS_URL")


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    env.pop("VIRTUAL_ENV", None)
    return {**env, **extra}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_the_wheel_installs_and_serves_from_anywhere(tmp_path, smtp):
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_environment()
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
        ],
        elsewhere,
        env,
    )
    (wheel,) = dist.glob("petitions-*.whl")
    run([sys.executable, "-m", "venv", str(venv)], elsewhere, env)
    run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], elsewhere, env)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_environment(MAIL_URL=smtp.url, PUBLIC_URL=base)
    where = run(
        [str(venv / "bin" / "python"), "-c", "import petitions; print(petitions.__file__)"],
        elsewhere,
        env,
    )
    assert str(venv) in where and str(ROOT) not in where, where

    flask = [str(venv / "bin" / "flask"), "--app", "petitions"]
    run([*flask, "db", "upgrade"], elsewhere, env)
    assert "Loaded demo letters" in run([*flask, "demo"], elsewhere, env)
    # No instance folder was named: it is the venv's, whatever the working directory.
    assert (venv / "var" / "petitions-instance" / "petitions.sqlite3").is_file()
    doctor = run([*flask, "doctor"], elsewhere, env)
    assert "ok   smtp" in doctor and "ok   pdf fonts" in doctor and "ok   schema" in doctor

    server = subprocess.Popen(
        [
            str(venv / "bin" / "gunicorn"),
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "petitions:create_app()",
        ],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_up(base)
        assert Session(base).get("/readyz").status == 200
        browser = Session(base)
        page = browser.get(f"/letters/{G20}")
        assert page.status == 200 and "<form" in page.body
        style = browser.get("/static/style.css")
        assert style.status == 200 and "text/css" in style.headers["Content-Type"]
        assert len(style.body) > 1000

        signed = browser.sign(G20, email="wheel@example.org")
        assert signed.status == 303 and signed.headers["Location"].endswith("/check-email")
        assert browser.get(signed.headers["Location"]).status == 200
        # The web process's own outbox thread sends it, with the installed email templates.
        wait_for(lambda: smtp.messages, what="the confirmation email")
        body = text_part(smtp.messages[0])
        (confirm,) = links_in(body)["confirm"]
        assert confirm.startswith(base)
        assert browser.press_button(path_of(confirm)).status == 200
        assert '"individuals":1' in browser.get(f"/api/v1/letters/{G20}").body.replace(" ", "")
    finally:
        server.terminate()
        _out, errors = server.communicate(timeout=30)
    assert "Traceback" not in errors.decode(), errors.decode()
