"""Follow-up: the ``updates`` choice, one-click unsubscribe, updates sent exactly once (even when
the job queueing them is killed), reminders, and the check-email page's help.

Real SMTP server (aiosmtpd), real SQLite files or PostgreSQL, the test client, and a real
``flask jobs work`` process killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from conftest import G20, INCLUSIVE, csrf_token, links_in, path_of, press_button, sign, text_part
from flask import Flask
from sqlalchemy import func, insert, select, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.follow_up import LetterUpdate, UpdateDelivery
from petitions.models.letters import Letter
from petitions.models.outbox import OutboxEmail
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services import updates
from petitions.services.reminders import send_due_reminders
from petitions.services.signing import consent_hash
from petitions.services.subscriptions import updates_hash
from petitions.workers.outbox_delivery import deliver_all_due


def signature(app: Flask, email: str) -> Signature:
    with app.app_context():
        found = db.session.scalars(select(Signature).where(Signature.email == email)).one()
        db.session.expunge(found)
        return found


def confirm_by_email(client: Any, smtp: Any, email: str) -> None:
    """Deliver the outbox and press the confirmation link of ``email``'s last email."""
    deliver_all_due()
    mine = [m for m in smtp.messages if str(m["To"]) == email]
    press_button(client, links_in(text_part(mine[-1]))["confirm"][0])


def received(smtp: Any) -> Counter[str]:
    return Counter(str(m["To"]) for m in smtp.messages)


# --- the choice on the form ------------------------------------------------------------------


def test_the_updates_box_is_unticked_and_the_choice_is_stored(app, client):
    page = client.get(f"/letters/{G20}").get_data(as_text=True)
    box = page.split('name="updates"', 1)[1].split(">", 1)[0]
    assert 'type="checkbox"' in page.split('name="updates"', 1)[0][-80:] + box
    assert "checked" not in box
    sign(client, email="yes@example.org", updates="y", lang="sq")
    sign(client, email="no@example.org", lang="en")
    yes, no = signature(app, "yes@example.org"), signature(app, "no@example.org")
    assert yes.updates is True and no.updates is False
    with app.test_request_context():
        assert yes.updates_text_hash == updates_hash("sq") != updates_hash("en")
        assert no.updates_text_hash == updates_hash("en")
        assert yes.updates_text_hash != consent_hash("sq")
    assert yes.updates_chosen_at is not None and no.updates_chosen_at is not None


def test_a_signer_can_opt_in_from_the_confirmation_page(app, client, smtp):
    app.config["MAIL_URL"] = smtp.url
    sign(client, email="later@example.org")
    deliver_all_due_in(app)
    link = links_in(text_part(smtp.messages[-1]))["confirm"][0]
    done = press_button(client, link).get_data(as_text=True)
    assert "/updates/" in done
    action = done.split('action="', 1)[1].split('"', 1)[0]
    answer = client.post(path_of(action), data={"csrf_token": csrf_token(done)})
    assert answer.status_code == 200
    assert signature(app, "later@example.org").updates is True


def deliver_all_due_in(app: Flask) -> int:
    with app.app_context():
        return deliver_all_due()


# --- updates reach exactly the opted-in counted signers ---------------------------------------


def signers(app: Flask, client_factory: Any, smtp: Any) -> dict[str, str]:
    """Signatures of every kind on G20; returns email -> what should happen."""
    plan = {
        "en-yes@example.org": ("en", True, "confirm"),
        "sq-yes@example.org": ("sq", True, "confirm"),
        "en-no@example.org": ("en", False, "confirm"),
        "pending@example.org": ("en", True, "pending"),
        "withdrawn@example.org": ("sq", True, "withdraw"),
        "rejected@example.org": ("en", True, "reject"),
    }
    for email, (lang, wants, fate) in plan.items():
        client = client_factory()
        sign(client, email=email, lang=lang, updates="y" if wants else None)
        with app.app_context():
            deliver_all_due()
        if fate == "pending":
            continue
        mine = [m for m in smtp.messages if str(m["To"]) == email]
        links = links_in(text_part(mine[-1]))
        press_button(client, links["confirm"][0])
        if fate == "withdraw":
            press_button(client, links["withdraw"][0])
        if fate == "reject":
            with app.app_context():
                db.session.execute(
                    update(Signature)
                    .where(Signature.email == email)
                    .values(status=SignatureStatus.REJECTED)
                )
                db.session.commit()
    return {email: lang for email, (lang, wants, fate) in plan.items()}


def test_an_update_reaches_each_opted_in_counted_signer_once_in_their_language(
    app, smtp, staff_client
):
    app.config["MAIL_URL"] = smtp.url
    languages = signers(app, app.test_client, smtp)
    smtp.messages.clear()
    staff = staff_client("organiser", letters=(G20,))
    page = staff.get(f"/staff/letters/{G20}/updates")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Send to 2 signers" in html  # the number, before sending
    form = {
        "csrf_token": csrf_token(html),
        "request_key": "k" * 32,
        "subject_en": "The letter was delivered",
        "body_en": "We **delivered** it today.",
        "subject_sq": "Letra u dorëzua",
        "body_sq": "E **dorëzuam** sot.",
        "send": "1",
    }
    first = staff.post(f"/staff/letters/{G20}/updates", data=form)
    again = staff.post(f"/staff/letters/{G20}/updates", data=form)  # a double click
    assert first.status_code == again.status_code == 303
    deliver_all_due_in(app)
    assert received(smtp) == Counter({"en-yes@example.org": 1, "sq-yes@example.org": 1})
    for message in smtp.messages:
        to = str(message["To"])
        expected = "Letra u dorëzua" if languages[to] == "sq" else "The letter was delivered"
        assert str(message["Subject"]) == expected
        unsubscribe = str(message["List-Unsubscribe"]).strip()
        assert unsubscribe.startswith("<http://petitions.test/unsubscribe/")
        assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
        assert unsubscribe.strip("<>") in text_part(message)  # the visible link too
        html_part = message.get_body(preferencelist=("html",))
        assert "<strong>" in str(html_part.get_content())
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LetterUpdate)) == 1
        audit_rows = db.session.execute(
            select(func.count()).select_from(LetterUpdate).where(LetterUpdate.recipients == 2)
        ).scalar()
        assert audit_rows == 1
    progress_page = staff.get(f"/staff/letters/{G20}/updates").get_data(as_text=True)
    assert "The letter was delivered" in progress_page


def test_moderators_and_other_organisers_cannot_send(app, staff_client):
    assert staff_client("moderator").get(f"/staff/letters/{G20}/updates").status_code == 403
    other = staff_client("organiser", letters=(INCLUSIVE,))
    assert other.get(f"/staff/letters/{G20}/updates").status_code == 403


def test_one_click_unsubscribe_needs_no_cookie_and_no_csrf_token(app, client, smtp):
    app.config["MAIL_URL"] = smtp.url
    sign(client, email="leave@example.org", updates="y")
    confirm_by_email_in(app, client, smtp, "leave@example.org")
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        item = updates.create_update(
            letter, updates.UpdateInput({"en": "News"}, {"en": "Some news."}), by=None
        )
        db.session.commit()
        from petitions.workers.update_sender import queue_update

        queue_update(item.id)
        deliver_all_due()
    message = next(m for m in smtp.messages if str(m["Subject"]) == "News")
    url = str(message["List-Unsubscribe"]).strip().strip("<>")
    stranger = app.test_client(use_cookies=False)
    shown = stranger.get(path_of(url))  # a mail scanner opens it: nothing changes
    assert shown.status_code == 200 and "<button" in shown.get_data(as_text=True)
    assert signature(app, "leave@example.org").updates is True
    answer = stranger.post(
        path_of(url),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200
    assert signature(app, "leave@example.org").updates is False
    tampered = path_of(url).replace("?", "x?", 1)
    assert stranger.post(tampered, data="List-Unsubscribe=One-Click").status_code == 404


def confirm_by_email_in(app: Flask, client: Any, smtp: Any, email: str) -> None:
    with app.app_context():
        deliver_all_due()
    mine = [m for m in smtp.messages if str(m["To"]) == email]
    press_button(client, links_in(text_part(mine[-1]))["confirm"][0])


# --- a killed job, resumed ------------------------------------------------------------------


def add_opted_in(app: Flask, count: int) -> list[str]:
    """``count`` confirmed, opted-in signatures on G20, written straight to the table."""
    now = utcnow()
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        text = letter.text_in("en")
        rows = [
            {
                "letter_id": letter.id,
                "kind": "individual",
                "status": "confirmed",
                "name": f"Signer {i}",
                "email": f"many{i:05d}@example.org",
                "email_canonical": f"many{i:05d}@example.org",
                "email_domain": "example.org",
                "country": "AL",
                "language": "sq" if i % 3 == 0 else "en",
                "text_id": text.id,
                "text_hash": text.text_hash,
                "consent_text_hash": "x",
                "consented_at": now,
                "confirm_nonce": secrets.token_hex(8),
                "withdraw_nonce": secrets.token_hex(8),
                "created_at": now,
                "confirmed_at": now,
                "updated_at": now,
                "updates": True,
                "updates_text_hash": "x",
                "updates_chosen_at": now,
            }
            for i in range(count)
        ]
        db.session.execute(insert(Signature), rows)
        db.session.commit()
    return [row["email"] for row in rows]


def deliveries(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(UpdateDelivery)) or 0
        db.session.rollback()
        return int(count)


def test_an_update_job_killed_midway_and_resumed_sends_nobody_twice_and_skips_nobody(
    make_app, smtp, tmp_path
):
    app = make_app(MAIL_URL=smtp.url, JOBS_IMMEDIATE=False, JOBS_WORKER="external")
    expected = add_opted_in(app, 3000)
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        item = updates.create_update(
            letter, updates.UpdateInput({"en": "Hello"}, {"en": "Text."}), by=None
        )
        db.session.commit()
        update_id = item.id
    settings = {
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_URL": smtp.url,
        "PUBLIC_URL": "http://petitions.test",
        "JOBS_WORKER": "external",
        "OUTBOX_WORKER": "external",
        "UPDATE_BATCH_SIZE": 10,
    }
    command = [sys.executable, "-m", "flask", "--app", f"petitions:create_app({settings!r})"]
    log = (tmp_path / "jobs.log").open("wb")
    worker = subprocess.Popen(
        [*command, "jobs", "work"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        app.extensions["petitions.jobs"].queue_update(update_id)
        start = time.monotonic()
        while deliveries(app) < 300:
            assert worker.poll() is None, (tmp_path / "jobs.log").read_text()
            assert time.monotonic() - start < 120, "the job did not start"
            time.sleep(0.01)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        log.close()
    at_kill = deliveries(app)
    assert 300 <= at_kill < len(expected), f"killed at {at_kill}: not mid-way"
    with app.app_context():
        # Every delivery row has its email: a batch is written whole or not at all.
        emails = db.session.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.update_id == update_id)
        )
        assert emails == at_kill
        assert db.session.get(LetterUpdate, update_id).queued_at is None
    resumed = app.test_cli_runner().invoke(args=["updates", "resume"])
    assert resumed.exit_code == 0, resumed.output
    again = app.test_cli_runner().invoke(args=["updates", "resume"])
    assert "Resumed 0" in again.output
    with app.app_context():
        while deliver_all_due(limit=500):
            pass
    counts = received(smtp)
    print(f"\nkilled after {at_kill} of {len(expected)} queued; received {sum(counts.values())}")
    assert set(counts) == set(expected)
    assert max(counts.values()) == 1


# --- the command line -----------------------------------------------------------------------


def test_updates_send_prints_the_id_and_the_number_of_recipients(app, smtp, tmp_path):
    app.config["MAIL_URL"] = smtp.url
    add_opted_in(app, 7)
    body = tmp_path / "body.md"
    body.write_text("Lajme *të mira*.", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=[
            "updates",
            "send",
            G20,
            "--subject",
            "Lajme",
            "--body-file",
            str(body),
            "--language",
            "sq",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "7 recipient(s)" in result.output
    with app.app_context():
        update_id = db.session.scalar(select(LetterUpdate.id))
        deliver_all_due()
    assert f"Update {update_id}:" in result.output
    assert len(smtp.messages) == 7 and {str(m["Subject"]) for m in smtp.messages} == {"Lajme"}


# --- reminders -------------------------------------------------------------------------------


def age_signatures(app: Flask, hours: float) -> None:
    with app.app_context():
        db.session.execute(update(Signature).values(created_at=utcnow() - timedelta(hours=hours)))
        db.session.commit()


def test_one_reminder_with_a_fresh_confirm_link_and_none_after_confirming(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url, REMINDER_AFTER=3600.0)
    waiting, done = app.test_client(), app.test_client()
    sign(waiting, email="forgot@example.org", lang="sq")
    sign(done, email="done@example.org")
    confirm_by_email_in(app, done, smtp, "done@example.org")
    with app.app_context():
        assert send_due_reminders() == 0  # not old enough yet
    age_signatures(app, 2)
    smtp.messages.clear()
    with app.app_context():
        assert send_due_reminders() == 1
        assert send_due_reminders() == 0  # idempotent
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert "Sent 0" in result.output
    deliver_all_due_in(app)
    assert received(smtp) == Counter({"forgot@example.org": 1})
    reminder = smtp.messages[0]
    assert str(reminder["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    link = links_in(text_part(reminder))["confirm"][0]
    assert "/confirm/" in link
    assert "Kujtes" in str(reminder["Subject"])  # Albanian
    assert press_button(waiting, link).status_code == 200
    assert signature(app, "forgot@example.org").status == SignatureStatus.CONFIRMED
    with app.app_context():
        db.session.execute(update(Signature).values(reminded_at=None))
        db.session.commit()
        assert send_due_reminders() == 0  # confirmed: never reminded


def test_reminders_off_with_zero(make_app):
    app = make_app(REMINDER_AFTER=0.0)
    sign(app.test_client(), email="x@example.org")
    age_signatures(app, 100)
    with app.app_context():
        assert send_due_reminders() == 0


# --- the check-email page ---------------------------------------------------------------------


def test_check_email_masks_the_address_and_resends_only_to_this_browsers_address(app, smtp):
    app.config["MAIL_URL"] = smtp.url
    mine, other = app.test_client(), app.test_client()
    answer = sign(mine, email="ana@example.org", name="Ana Hoxha")
    page = mine.get(answer.headers["Location"]).get_data(as_text=True)
    assert "a•••@example.org" in page and "ana@example.org" not in page
    deliver_all_due_in(app)
    smtp.messages.clear()
    # A browser that signed nothing cannot make anyone's email go out.
    blank = other.get(f"/letters/{G20}/check-email").get_data(as_text=True)
    assert "•••" not in blank and "check-email/resend" not in blank
    token = csrf_token(other.get(f"/letters/{G20}").get_data(as_text=True))
    other.post(f"/letters/{G20}/check-email/resend", data={"csrf_token": token})
    # Too soon after the first email: refused, nothing sent.
    mine.post(f"/letters/{G20}/check-email/resend", data={"csrf_token": csrf_token(page)})
    deliver_all_due_in(app)
    assert smtp.messages == []
    sign(other, email="bob@example.org", name="Bob")
    deliver_all_due_in(app)
    smtp.messages.clear()
    with app.app_context():
        db.session.execute(update(Signature).values(updated_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    resent = mine.post(f"/letters/{G20}/check-email/resend", data={"csrf_token": csrf_token(page)})
    assert resent.status_code == 303
    deliver_all_due_in(app)
    assert received(smtp) == Counter({"ana@example.org": 1})
    again = mine.get(f"/letters/{G20}/sign-again").get_data(as_text=True)
    assert 'value="Ana Hoxha"' in again and "ana@example.org" not in again


def test_old_links_tell_the_truth(app, client, smtp):
    app.config["MAIL_URL"] = smtp.url
    sign(client, email="old@example.org")
    deliver_all_due_in(app)
    links = links_in(text_part(smtp.messages[-1]))
    press_button(client, links["confirm"][0])
    page = client.get(path_of(links["confirm"][0])).get_data(as_text=True)
    assert "already confirmed" in page and "/withdraw/" in page
    assert "Confirm my signature</button>" not in page
    press_button(client, links["withdraw"][0])
    used = client.get(path_of(links["withdraw"][0])).get_data(as_text=True)
    assert "already been used" in used and "<button" not in used.split("<main", 1)[-1]
    confirm_again = client.get(path_of(links["confirm"][0])).get_data(as_text=True)
    assert "was withdrawn" in confirm_again


# --- MAIL_MAX_PER_SECOND ----------------------------------------------------------------------


def queue_plain(app: Flask, count: int) -> None:
    with app.app_context():
        db.session.add_all(
            OutboxEmail(
                recipient=f"rate{i}@example.org",
                purpose="test",
                subject="Rate",
                text_body="text",
                html_body="<p>html</p>",
            )
            for i in range(count)
        )
        db.session.commit()


def granted_per_window(monkeypatch: Any, deliver: Any) -> Counter[int]:
    """Run two workers; count the places the shared limiter granted in each window."""
    import threading

    from petitions.workers import mail_rate

    granted: Counter[int] = Counter()
    lock = threading.Lock()
    take = mail_rate._take

    def counting(window: int, length: float) -> int:
        count = take(window, length)
        if count <= 5:
            with lock:
                granted[window] += 1
        return count

    monkeypatch.setattr(mail_rate, "_take", counting)
    workers = [threading.Thread(target=deliver) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return granted


def check_rate(app: Flask, smtp: Any, monkeypatch: Any) -> None:
    queue_plain(app, 11)

    def deliver() -> None:
        with app.app_context():
            deliver_all_due(limit=6)

    granted = granted_per_window(monkeypatch, deliver)
    assert len(smtp.messages) == 11
    assert sum(granted.values()) == 11
    assert max(granted.values()) <= 5, granted
    assert len(granted) >= 3, granted


def test_mail_max_per_second_is_shared_by_every_worker(make_app, smtp, monkeypatch):
    """Two workers, 11 emails, at most 5 a second: the database holds the shared count."""
    app = make_app(MAIL_URL=smtp.url, MAIL_MAX_PER_SECOND=5.0)
    check_rate(app, smtp, monkeypatch)


def test_mail_max_per_second_through_redis(make_app, smtp, monkeypatch):
    app = make_app(MAIL_URL=smtp.url, MAIL_MAX_PER_SECOND=5.0, REDIS_URL="redis://127.0.0.1:6379/1")
    check_rate(app, smtp, monkeypatch)
    with app.app_context():
        # The database's windows were not used: Redis held the count.
        from petitions.models.follow_up import MailRateWindow

        assert db.session.scalar(select(func.count()).select_from(MailRateWindow)) == 0


def test_one_token_factory_makes_the_same_links_as_make_token(app):
    from petitions.services.tokens import Purpose, make_token, read_token, token_factory

    with app.app_context():
        made = token_factory(Purpose.UNSUBSCRIBE)(42, "0123456789abcdef")
        assert made == make_token(Purpose.UNSUBSCRIBE, 42, "0123456789abcdef")
        assert read_token(Purpose.UNSUBSCRIBE, made).signature_id == 42


# --- responses and organisations' decisions ---------------------------------------------------


def test_a_response_published_without_mail_shows_on_the_page_and_in_the_api(
    app, smtp, staff_client
):
    app.config["MAIL_URL"] = smtp.url
    add_opted_in(app, 3)
    staff = staff_client("admin")
    html = staff.get(f"/staff/letters/{G20}/updates").get_data(as_text=True)
    answer = staff.post(
        f"/staff/letters/{G20}/updates",
        data={
            "csrf_token": csrf_token(html),
            "kind": "response",
            "responder": "the Ministry of Education and Sport",
            "responded_on": "2027-03-12",
            "subject_en": "We will review the budget",
            "body_en": "The ministry *replied*.",
            "publish_only": "y",
            "send": "1",
        },
    )
    assert answer.status_code == 303
    deliver_all_due_in(app)
    assert smtp.messages == []  # published only
    page = app.test_client().get(f"/letters/{G20}?lang=en").get_data(as_text=True)
    assert "Response from the Ministry of Education and Sport, March 12, 2027" in page
    assert "<em>replied</em>" in page
    data = app.test_client().get(f"/api/v1/letters/{G20}").get_json()
    (item,) = data["updates"]
    assert item["kind"] == "response" and item["responded_on"] == "2027-03-12"
    assert item["responder"] == "the Ministry of Education and Sport"


def test_organisations_hear_of_approval_and_rejection_with_listed_reasons_only(
    app, smtp, make_staff
):
    from petitions.models.staff import ModerationReason, StaffUser
    from petitions.services.moderation import ModerationAction, moderate

    app.config["MAIL_URL"] = smtp.url
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == G20)).one()
        letter.organisations_need_approval = True
        db.session.add(ModerationReason(text="Not an organisation we can verify"))
        db.session.commit()
    emails = ["org-a@example.org", "org-b@example.org", "org-c@example.org"]
    for email in emails:
        client = app.test_client()
        sign(client, email=email, kind="organisation", organisation=f"Org {email[4]}")
        confirm_by_email_in(app, client, smtp, email)
    smtp.messages.clear()
    admin = make_staff("admin")
    with app.app_context():
        actor = db.session.scalars(select(StaffUser).where(StaffUser.email == admin)).one()
        ids = {e: signature(app, e).id for e in emails}
        moderate([ids["org-a@example.org"]], ModerationAction.APPROVE, "", actor)
        moderate(
            [ids["org-b@example.org"]],
            ModerationAction.REJECT,
            "Not an organisation we can verify",
            actor,
        )
        moderate([ids["org-c@example.org"]], ModerationAction.REJECT, "internal: looks fake", actor)
        db.session.commit()
        deliver_all_due()
    by_to = {str(m["To"]): m for m in smtp.messages}
    assert set(by_to) == set(emails)
    assert "approved" in str(by_to["org-a@example.org"]["Subject"])
    assert "Not an organisation we can verify" in text_part(by_to["org-b@example.org"])
    assert "looks fake" not in text_part(by_to["org-c@example.org"])
    assert "not accepted" in str(by_to["org-c@example.org"]["Subject"])
    for message in smtp.messages:
        assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
