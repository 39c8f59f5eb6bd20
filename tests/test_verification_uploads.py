"""The verification page's file check: nothing of an upload is read before the code, the rate
limit and the CSRF token have passed; uploads are capped at 25 MB; and a verifier may paste the
file's SHA-256 instead of uploading the file."""

from __future__ import annotations

import hashlib
import html
import io
import re
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from conftest import csrf_token
from test_exports_delivery import _make_pdf, fill

from petitions.public.verification import MAX_UPLOAD_BYTES

# More than MAX_CONTENT_LENGTH (2 MB), less than the upload limit: the old code read it all.
BIG = 3 * 1024 * 1024
LIMIT = 25 * 1024 * 1024
UPLOAD_HEAD = b'--b\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\n'


def _body(size: int = BIG) -> io.BytesIO:
    """A multipart upload of ``size`` bytes; ``tell()`` says how much the server read of it."""
    tail = b"\r\n--b--\r\n"
    return io.BytesIO(UPLOAD_HEAD + b"%" * (size - len(UPLOAD_HEAD) - len(tail)) + tail)


def _post_upload(client: Any, path: str, body: io.BytesIO, length: int | None = None) -> Any:
    return client.post(
        path,
        environ_overrides={
            "wsgi.input": body,
            "CONTENT_TYPE": "multipart/form-data; boundary=b",
            "CONTENT_LENGTH": str(length if length is not None else len(body.getvalue())),
        },
    )


def _token(client: Any, code: str) -> str:
    return csrf_token(client.get(f"/v/{code}").get_data(as_text=True))


def test_the_upload_limit_is_25_mb():
    assert MAX_UPLOAD_BYTES == LIMIT


def test_an_upload_to_an_unknown_code_is_refused_unread(app, client):
    body = _body()
    answer = _post_upload(client, "/v/nosuchcode/file", body)
    assert answer.status_code == 404
    assert body.tell() == 0, f"{body.tell()} bytes read before answering"


def test_an_upload_without_the_token_is_refused_unread(app, client, staff_client):
    fill(app)
    export, _pdf = _make_pdf(app, staff_client("admin"))
    body = _body()
    answer = _post_upload(client, f"/v/{export.code}/file", body)
    assert answer.status_code == 400
    assert body.tell() == 0, f"{body.tell()} bytes read before answering"
    # A token from another session is no better.
    foreign = _token(staff_client("admin"), export.code)
    body = _body()
    answer = _post_upload(client, f"/v/{export.code}/file?csrf_token={foreign}", body)
    assert answer.status_code == 400 and body.tell() == 0


def test_an_upload_over_the_rate_limit_is_refused_unread(make_app, make_staff):
    app = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="1 per minute")
    fill(app)
    from conftest import login

    staff = app.test_client()
    login(staff, make_staff("admin"))
    export, _pdf = _make_pdf(app, staff)
    visitor = app.test_client()
    token = _token(visitor, export.code)
    first = _post_upload(visitor, f"/v/{export.code}/file?csrf_token={token}", _body(1000))
    assert first.status_code == 200
    body = _body()
    answer = _post_upload(visitor, f"/v/{export.code}/file?csrf_token={token}", body)
    assert answer.status_code == 429
    assert body.tell() == 0, f"{body.tell()} bytes read before answering"


def test_an_upload_over_25_mb_is_refused_from_its_length(app, client, staff_client):
    fill(app)
    export, _pdf = _make_pdf(app, staff_client("admin"))
    token = _token(client, export.code)
    body = _body()
    answer = _post_upload(
        client, f"/v/{export.code}/file?csrf_token={token}", body, length=LIMIT + 1
    )
    assert answer.status_code == 413
    assert body.tell() == 0


def test_a_real_server_answers_an_unknown_code_without_waiting_for_the_body(app, live_server):
    """The request announces 30 MB and sends none of it: the answer must come at once."""
    address = urlsplit(live_server)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v/nosuchcode/file HTTP/1.1\r\nHost: petitions.test\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 31457280\r\nConnection: close\r\n\r\n" + UPLOAD_HEAD
        )
        try:
            head = sock.recv(64)
        except TimeoutError:
            head = b"(no answer in 10 s: the server is waiting for the body)"
    assert head.startswith(b"HTTP/1.1 404"), head


def test_the_pages_own_upload_form_checks_a_file_over_http(app, live_server, staff_client):
    """The form's action carries its token; a browser-like post through a real server works."""
    fill(app)
    export, pdf = _make_pdf(app, staff_client("admin"))
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    page = opener.open(f"{live_server}/v/{export.code}").read().decode()
    action = html.unescape(re.search(r'action="([^"]*/file\?[^"]*)"', page).group(1))
    assert "csrf_token=" in action
    boundary = "upload-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="l.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + pdf
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        live_server + action,
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    answer = opener.open(request).read().decode()
    assert "This file is the original, unchanged." in answer


def _paste(client: Any, code: str, token: str, pasted: str) -> Any:
    return client.post(f"/v/{code}/sha256", data={"csrf_token": token, "sha256": pasted})


def test_a_pasted_sha256_says_whether_the_file_is_the_original(app, client, staff_client):
    fill(app)
    export, pdf = _make_pdf(app, staff_client("admin"))
    sha = hashlib.sha256(pdf).hexdigest()
    assert sha == export.file_sha256
    token = _token(client, export.code)
    page = client.get(f"/v/{export.code}").get_data(as_text=True)
    for command in ("sha256sum file.pdf", "certutil -hashfile file.pdf SHA256", "shasum -a 256"):
        assert command in page
    outputs = [
        sha,
        f"{sha.upper()}  file.pdf",  # sha256sum, shasum
        f"SHA256 hash of file.pdf:\r\n{sha}\r\nCertUtil: -hashfile command completed successfully.",
        "SHA256 hash of file.pdf:\n" + " ".join(sha[i : i + 2] for i in range(0, 64, 2)),
        f"SHA256 (file.pdf) = {sha}",  # BSD-style tools
    ]
    for pasted in outputs:
        answer = _paste(client, export.code, token, pasted)
        assert answer.status_code == 200, pasted
        assert "A file with this SHA-256 is the original, unchanged." in answer.get_data(
            as_text=True
        ), pasted
    other = hashlib.sha256(pdf + b"\n% appended\n").hexdigest()
    for wrong in (other, export.list_digest):  # the list's digest is not the file's hash
        answer = _paste(client, export.code, token, wrong).get_data(as_text=True)
        assert "A file with this SHA-256 is not the original" in answer
    for garbage in ("", "not a hash", sha[:63], sha + "0"):
        answer = _paste(client, export.code, token, garbage)
        assert answer.status_code == 400, garbage
        assert "is the original" not in answer.get_data(as_text=True)
    assert _paste(client, export.code, "", sha).status_code == 400  # its token is in the form
    assert _paste(client, "nosuchcode", token, sha).status_code == 404


def test_a_pasted_sha256_is_rate_limited_like_the_other_checks(make_app, make_staff):
    app = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="2 per minute")
    fill(app)
    from conftest import login

    staff = app.test_client()
    login(staff, make_staff("admin"))
    export, _pdf = _make_pdf(app, staff)
    visitor = app.test_client()
    token = _token(visitor, export.code)
    answers = [_paste(visitor, export.code, token, export.file_sha256) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]


def test_a_script_may_send_the_uploads_token_in_a_header(app, client, staff_client):
    fill(app)
    export, pdf = _make_pdf(app, staff_client("admin"))
    token = _token(client, export.code)
    answer = client.post(
        f"/v/{export.code}/file",
        headers={"X-CSRFToken": token},
        data={"document": (io.BytesIO(pdf), "list.pdf")},
    )
    assert answer.status_code == 200
    assert "This file is the original, unchanged." in answer.get_data(as_text=True)
    # A token in the body is not looked at: it would mean reading the body first.
    answer = client.post(
        f"/v/{export.code}/file",
        data={"csrf_token": token, "document": (io.BytesIO(pdf), "list.pdf")},
    )
    assert answer.status_code == 400
