"""The README's nginx server block: valid for `nginx -t`, and the site works through it."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import G20, free_port

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_block() -> str:
    found = re.search(r"```nginx\n(.*?)```", README.read_text(), re.DOTALL)
    assert found, "no nginx block in the README"
    return found.group(1)


def https_get(url: str, host: str) -> tuple[int, str, dict[str, str]]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


@pytest.fixture
def nginx() -> str:
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if path is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return path


def test_the_readme_nginx_block_serves_the_site(make_app, nginx, tmp_path):
    from werkzeug.serving import make_server

    app = make_app(
        ALLOWED_HOSTS="letters.example.org",
        TRUSTED_PROXIES=1,
        PUBLIC_URL="https://letters.example.org",
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=letters.example.org",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    block = (
        readme_block()
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
        .replace(
            "/etc/letsencrypt/live/letters.example.org/fullchain.pem", str(tmp_path / "cert.pem")
        )
        .replace("/etc/letsencrypt/live/letters.example.org/privkey.pem", str(tmp_path / "key.pem"))
        .replace("127.0.0.1:8000", f"127.0.0.1:{server.server_port}")
    )
    temp = tmp_path / "temp"
    temp.mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\nhttp {\n"
        f"access_log off;\nclient_body_temp_path {temp}/body;\nproxy_temp_path {temp}/proxy;\n"
        f"fastcgi_temp_path {temp}/f;\nuwsgi_temp_path {temp}/u;\nscgi_temp_path {temp}/s;\n"
        f"{block}\n}}\n"
    )
    checked = subprocess.run(
        [nginx, "-t", "-c", str(config), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen(
        [nginx, "-c", str(config), "-p", str(tmp_path)], stderr=subprocess.PIPE
    )
    try:
        base = f"https://127.0.0.1:{port}"
        for _ in range(100):
            try:
                status, body, _headers = https_get(base + "/healthz", "letters.example.org")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200 and body == "ok\n"
        status, body, headers = https_get(f"{base}/letters/{G20}", "letters.example.org")
        assert status == 200 and "https://letters.example.org" in body
        status, body, headers = https_get(f"{base}/static/style.css", "letters.example.org")
        assert status == 200 and "text/css" in headers["Content-Type"]
        assert https_get(f"{base}/letters/{G20}", "evil.example.net")[0] == 400
        assert https_get(f"{base}/metrics", "letters.example.org")[0] == 403
    finally:
        proxy.terminate()
        proxy.communicate(timeout=10)
        server.shutdown()
        thread.join(5)
