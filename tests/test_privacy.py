"""The privacy notice, and erasure and access by an emailed link (real SMTP server)."""

from __future__ import annotations

import json
import re
import statistics
import time
from typing import Any

import pytest
from conftest import (
    G20,
    INCLUSIVE,
    csrf_token,
    links_in,
    login,
    path_of,
    press_button,
    sign,
    text_part,
)
from sqlalchemy import select

from petitions.extensions import db
from petitions.models.audit import AuditEvent
from petitions.models.exports import PdfExport
from petitions.models.letters import Letter
from petitions.models.signatures import Signature
from petitions.services.exports.delivery_document import PdfOptions
from petitions.services.exports.pdf_model import Signatory
from petitions.services.privacy_notice import DELIVERED, DELIVERED_IF_CHOSEN, parse_authority
from petitions.workers.outbox_delivery import deliver_all_due

ANA = "ana@example.org"
BOB = "bob@example.org"
ERASE_LINK = re.compile(r"https?://[^\s\"<>]+/privacy/erase/[^\s\"<>]+")
ACCESS_LINK = re.compile(r"https?://[^\s\"<>]+/privacy/access/[^\s\"<>]+")
OPERATOR = {
    "OPERATOR_NAME": "Koalicioni për Arsim Gjithëpërfshirës",
    "OPERATOR_ADDRESS": "Rruga e Durrësit 12, Tiranë",
    "PRIVACY_CONTACT": "privacy@koalicioni.example",
    "SUPERVISORY_AUTHORITY": "Information and Data Protection Commissioner, https://www.idp.al",
    "RETENTION_DAYS": 90,
}


def deliver(app: Any) -> None:
    with app.app_context():
        deliver_all_due()


def signed_and_confirmed(app: Any, client: Any, smtp: Any, slug: str = G20, **fields: Any) -> None:
    """Sign through the form and press the emailed confirmation link."""
    assert sign(client, slug, **fields).status_code == 303
    deliver(app)
    to = fields.get("email", ANA)
    body = text_part([m for m in smtp.messages if m["To"] == to][-1])
    assert press_button(client, links_in(body)["confirm"][-1]).status_code == 200


def counts(app: Any, slug: str) -> int:
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == slug)).one()
        return letter.count_total


def ask(client: Any, purpose: str, email: str, lang: str = "en", **environ: Any) -> Any:
    page = client.get(f"/privacy/{purpose}?lang={lang}")
    return client.post(
        f"/privacy/{purpose}?lang={lang}",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "email": email},
        **({"environ_base": environ} if environ else {}),
    )


def mailed_link(smtp: Any, pattern: re.Pattern[str], to: str = ANA) -> str:
    found = [link for m in smtp.messages if m["To"] == to for link in pattern.findall(text_part(m))]
    assert found, f"no link mailed to {to}"
    return found[-1]


def deliver_letter(app: Any, client: Any, slug: str) -> PdfExport:
    """An organiser makes the delivery PDF and records its delivery (the letter is delivered)."""
    answer = client.get(f"/staff/letters/{slug}/export.pdf")
    assert answer.status_code == 200 and answer.get_data().startswith(b"%PDF")  # streamed: read
    with app.app_context():
        export = db.session.scalars(select(PdfExport).order_by(PdfExport.id.desc())).first()
        db.session.expunge(export)
    page = client.get(f"/staff/letters/{slug}/deliveries")
    recorded = client.post(
        f"/staff/letters/{slug}/deliveries",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "export": export.id,
            "recipient": "Ministry of Education and Sport",
            "delivered_on": "2026-11-20",
            "method": "in_person",
        },
    )
    assert recorded.status_code == 303
    return export


# --- the notice -----------------------------------------------------------------------------


def test_notice_shows_the_configured_operator_in_both_languages(make_app):
    client = make_app(**OPERATOR).test_client()
    page = client.get("/privacy").get_data(as_text=True)
    assert "Koalicioni për Arsim Gjithëpërfshirës" in page
    assert "Rruga e Durrësit 12, Tiranë" in page
    assert 'href="mailto:privacy@koalicioni.example"' in page
    assert '<a href="https://www.idp.al">Information and Data Protection Commissioner</a>' in page
    assert "until 90 days after the letter is closed or delivered" in page
    assert "They never receive your email address." in page
    assert 'href="/privacy/erase"' in page and 'href="/privacy/access"' in page
    albanian = client.get("/privacy?lang=sq").get_data(as_text=True)
    assert "Koalicioni për Arsim Gjithëpërfshirës" in albanian
    assert "90 ditë" in albanian
    assert "They never receive" not in albanian


def test_notice_without_operator_settings_says_so(client):
    page = client.get("/privacy").get_data(as_text=True)
    assert "has not yet named the organisation that runs it" in page
    assert "until 180 days after" in page


def test_authority_setting_is_a_name_and_an_url():
    found = parse_authority("Information and Data Protection Commissioner, https://www.idp.al")
    assert found is not None and found.url == "https://www.idp.al"
    assert found.name == "Information and Data Protection Commissioner"
    plain = parse_authority("Commissioner, Tirana")
    assert plain is not None and plain.url is None and plain.name == "Commissioner, Tirana"
    assert parse_authority("  ") is None


def test_the_notice_promises_what_the_delivery_pdf_holds():
    delivered_columns = set(Signatory.__dataclass_fields__)
    assert set(DELIVERED) | set(DELIVERED_IF_CHOSEN) <= delivered_columns
    assert not {"email", "email_canonical", "website", "ip_hash"} & delivered_columns
    assert (
        PdfOptions(languages=("en",)).include_comments is False
    )  # comments only when organisers choose


def test_notice_is_linked_from_the_form_the_footer_and_every_signer_email(app, client, smtp):
    app.config["MAIL_URL"] = smtp.url
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    form = page.split('action="/letters/', 1)[1].split("</form>", 1)[0]
    assert 'href="/privacy"' in form
    footer = page.split('<footer class="site">', 1)[1]
    assert 'href="/privacy"' in footer
    sign(client)
    sign(client, name="Ana Other")  # an offer of other details: another email
    deliver(app)
    assert len(smtp.messages) == 2
    for message in smtp.messages:
        assert "http://petitions.test/privacy?lang=en" in text_part(message)
        html = message.get_body(preferencelist=("html",)).get_content()
        assert 'href="http://petitions.test/privacy?lang=en"' in html


# --- erasure ----------------------------------------------------------------------------------


def test_erasure_end_to_end(app, client, smtp, staff_client):
    app.config["MAIL_URL"] = smtp.url
    signed_and_confirmed(app, client, smtp, G20, city="Durrës", comment="For every child.")
    signed_and_confirmed(app, client, smtp, INCLUSIVE)
    signed_and_confirmed(app, client, smtp, G20, name="Bob Berisha", email=BOB)
    signed_and_confirmed(app, client, smtp, INCLUSIVE, name="Bob Berisha", email=BOB)
    organiser = staff_client("organiser", letters=(G20, INCLUSIVE))
    export = deliver_letter(app, organiser, INCLUSIVE)
    before = {G20: counts(app, G20), INCLUSIVE: counts(app, INCLUSIVE)}

    answer = ask(client, "erase", ANA)
    assert answer.status_code == 200 and "Check your email" in answer.get_data(as_text=True)
    deliver(app)
    link = mailed_link(smtp, ERASE_LINK)
    page = client.get(path_of(link))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("<form") == 1
    assert "Already delivered" in html and "Not yet delivered" in html
    assert press_button(client, link).status_code == 200

    # Undelivered: one fewer; delivered: the delivered count stays.
    assert counts(app, G20) == before[G20] - 1
    assert counts(app, INCLUSIVE) == before[INCLUSIVE]
    with app.app_context():
        rows = db.session.scalars(select(Signature).where(Signature.name == "")).all()
        assert len(rows) == 2 and all(r.anonymised_at is not None for r in rows)
        assert {r.email for r in rows} == {""}
        assert all(r.email_canonical.startswith("anonymised:") for r in rows)
        events = db.session.scalars(select(AuditEvent)).all()
        erased = [e for e in events if e.action == "privacy.erased"]
        assert erased and erased[0].details["withdrawn"] == 1
        assert erased[0].details["kept_in_delivered_count"] == 1
        trail = json.dumps([[e.actor_email, e.details] for e in events], ensure_ascii=False)
    assert ANA not in trail and "Ana Hoxha" not in trail and "Durrës" not in trail

    # Nothing holds her name or address: exports, the moderation queue, the public lists.
    admin = staff_client("admin")
    for path in (
        f"/staff/letters/{G20}/export.csv?status=all",
        f"/staff/letters/{INCLUSIVE}/export.csv?status=all",
        "/staff/moderation",  # any status by default
        f"/letters/{G20}/signatories?kind=individual",
        f"/letters/{INCLUSIVE}/signatories?kind=individual",
    ):
        got = (admin if path.startswith("/staff") else client).get(path)
        text = got.get_data(as_text=True)
        assert got.status_code == 200, path
        assert "Ana Hoxha" not in text and ANA not in text and "For every child" not in text, path
        if path.startswith("/letters") or "export" in path:
            assert "Bob Berisha" in text, path  # the check can see names
    # The delivered list's name check forgets her, not Bob.
    verify = client.get(f"/v/{export.code}")
    token = csrf_token(verify.get_data(as_text=True))
    for name, email, expected in (("Ana Hoxha", ANA, False), ("Bob Berisha", BOB, True)):
        result = client.post(
            f"/v/{export.code}/listed", data={"csrf_token": token, "name": name, "email": email}
        ).get_data(as_text=True)
        assert ("Yes: a signatory with this name" in result) is expected, name
    # The link is spent, and she may sign again.
    assert client.get(path_of(link)).status_code == 404
    assert sign(client, G20).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Signature).where(Signature.email == ANA)).one()


def test_an_address_that_signed_nothing_gets_the_same_answer_and_no_email(app, client, smtp):
    app.config["MAIL_URL"] = smtp.url
    sign(client)
    deliver(app)
    smtp.messages.clear()
    known = ask(client, "erase", ANA)
    unknown = ask(client, "erase", "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    deliver(app)
    assert [m["To"] for m in smtp.messages] == [ANA]
    access_known = ask(client, "access", ANA)
    access_unknown = ask(client, "access", "nobody@example.org")
    assert access_known.get_data() == access_unknown.get_data()


def test_no_enumeration_by_timing(app, client):
    """Average answer times over 200 requests each, interleaved, differ by less than the noise."""
    sign(client)
    token = csrf_token(client.get("/privacy/erase").get_data(as_text=True))
    times: dict[str, list[float]] = {ANA: [], "nobody@example.org": []}
    for _ in range(200):
        for email in times:
            started = time.perf_counter()
            answer = client.post("/privacy/erase", data={"csrf_token": token, "email": email})
            times[email].append(time.perf_counter() - started)
            assert answer.status_code == 200
    known, unknown = (statistics.fmean(v[20:]) for v in times.values())
    spread = statistics.pstdev(times[ANA][20:] + times["nobody@example.org"][20:])
    print(f"known {known * 1000:.2f} ms, unknown {unknown * 1000:.2f} ms, sd {spread * 1000:.2f}")
    assert abs(known - unknown) < max(spread, 0.1 * min(known, unknown))


def test_expired_erase_link_offers_a_fresh_one(app, client, smtp):
    app.config["MAIL_URL"] = smtp.url
    signed_and_confirmed(app, client, smtp, G20)
    ask(client, "erase", ANA)
    deliver(app)
    old = mailed_link(smtp, ERASE_LINK)
    app.config["PRIVACY_LINK_MAX_AGE"] = -1
    page = client.get(path_of(old))
    assert page.status_code == 410 and "This link has expired" in page.get_data(as_text=True)
    renew = re.search(r'action="([^"]+/renew)"', page.get_data(as_text=True))
    assert renew is not None
    answer = client.post(
        renew.group(1), data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert answer.status_code == 200
    app.config["PRIVACY_LINK_MAX_AGE"] = 3600
    deliver(app)
    fresh = mailed_link(smtp, ERASE_LINK)
    assert sum(bool(ERASE_LINK.search(text_part(m))) for m in smtp.messages) == 2
    assert press_button(client, fresh).status_code == 200
    assert counts(app, G20) == 0


def test_a_tampered_link_is_refused(client):
    assert client.get("/privacy/erase/not-a-token").status_code == 404
    assert client.get("/privacy/access/not-a-token").status_code == 404


# --- access -------------------------------------------------------------------------------------


def test_access_lists_everything_and_nothing_of_anyone_else(app, client, smtp, staff_client):
    app.config["MAIL_URL"] = smtp.url
    signed_and_confirmed(app, client, smtp, G20, city="Durrës", comment="For every child.")
    signed_and_confirmed(app, client, smtp, INCLUSIVE, lang="sq", public=None)
    signed_and_confirmed(app, client, smtp, G20, name="Bob Berisha", email=BOB, city="Vlorë")
    deliver_letter(app, staff_client("organiser", letters=(INCLUSIVE,)), INCLUSIVE)
    ask(client, "access", ANA)
    deliver(app)
    link = mailed_link(smtp, ACCESS_LINK)
    page = client.get(path_of(link))
    assert page.status_code == 200 and page.get_data(as_text=True).count("<form") == 1
    shown = press_button(client, link).get_data(as_text=True)
    for held in ("Ana Hoxha", ANA, "Durrës", "For every child.", "Ministry of Education"):
        assert held in shown, held
    for other in ("Bob Berisha", BOB, "Vlorë"):
        assert other not in shown, other
    assert "I agree that my name" in shown and "Show my name on the public list" in shown

    download = client.post(
        path_of(link),
        data={"csrf_token": csrf_token(shown), "format": "json"},
    )
    assert download.headers["Content-Disposition"].startswith("attachment")
    report = download.get_json()
    assert json.dumps(report, ensure_ascii=False).count("Bob") == 0
    by_letter = {s["letter"]: s for s in report["signatures"]}
    assert set(by_letter) == {G20, INCLUSIVE}
    g20, inclusive = by_letter[G20], by_letter[INCLUSIVE]
    assert g20["city"] == "Durrës" and g20["comment"] == "For every child."
    assert g20["status"] == "confirmed" and g20["confirmed_at"]
    with app.app_context():
        stored = {
            s.letter.slug: s
            for s in db.session.scalars(select(Signature).where(Signature.email == ANA))
        }
        assert [c["sha256"] for c in g20["consents"]] == [
            stored[G20].consent_text_hash,
            stored[G20].public_consent_hash,
        ]
    assert [c["consent"] for c in inclusive["consents"]] == ["delivery"]  # not public
    assert inclusive["consents"][0]["language"] == "sq"
    assert all(c["given_at"] and c["sentence_unchanged"] for c in g20["consents"])
    assert {e["kind"] for e in g20["emails"]} >= {"confirm", "privacy-access"}
    assert all(e["sent_at"] for e in g20["emails"] if e["kind"] == "confirm")
    assert [d["recipient"] for d in inclusive["deliveries"]] == ["Ministry of Education and Sport"]
    assert g20["deliveries"] == []


# --- limits and languages --------------------------------------------------------------------


def test_requests_are_rate_limited_per_client_and_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True, PRIVACY_RATE_LIMIT="3 per minute")
    client = app.test_client()
    answers = [ask(client, "erase", f"p{i}@example.org").status_code for i in range(4)]
    assert answers == [200, 200, 200, 429]
    # One typed address, from many clients: at most five links an hour, signed or not.
    for email in (ANA, "nobody@example.org"):
        codes = [
            ask(client, "access", email, REMOTE_ADDR=f"10.0.{n}.1").status_code for n in range(6)
        ]
        assert codes == [200] * 5 + [429], codes


def test_albanian_pages_and_email(app, client, smtp):
    app.config["MAIL_URL"] = smtp.url
    signed_and_confirmed(app, client, smtp, G20)
    page = client.get("/privacy/erase?lang=sq").get_data(as_text=True)
    assert "Fshi nënshkrimet e mia" in page
    answer = ask(client, "erase", ANA, lang="sq").get_data(as_text=True)
    assert "Kontrolloni email-in" in answer or "Kontrollo" in answer
    deliver(app)
    message = smtp.messages[-1]
    body = text_part(message)
    assert "/privacy/erase/" in body and "?lang=sq" in body
    assert "probably you" not in body
    shown = client.get(path_of(mailed_link(smtp, ERASE_LINK))).get_data(as_text=True)
    assert "Fshi nënshkrimet e mia" in shown


@pytest.mark.parametrize("path", ["/privacy", "/privacy/erase", "/privacy/access"])
def test_privacy_pages_answer_in_albanian(client, path):
    page = client.get(f"{path}?lang=sq")
    assert page.status_code == 200
    assert 'lang="sq"' in page.get_data(as_text=True)


def test_staff_login_still_works(client, make_staff):
    """The rate limits added here leave the login's own limits alone."""
    assert login(client, make_staff("admin")).status_code == 303
