"""Recording a delivery offers to tell the signers who asked to hear, with a prepared text.

The offer is a link to the updates composer, filled per language with to whom, when, how many and
the verification page; what is sent goes the usual update way (real SMTP server, real SQLite
file or PostgreSQL, the test client).
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from typing import Any

from conftest import G20, INCLUSIVE, csrf_token, text_part
from sqlalchemy import func, select, update
from test_exports_delivery import _make_pdf, _record
from test_follow_up import deliver_all_due_in, received, signers
from test_i18n_coverage import english_in

from petitions.extensions import db
from petitions.models.exports import Delivery, PdfExport
from petitions.models.follow_up import LetterUpdate
from petitions.services.delivery_notice import prepared_update
from petitions.services.letter_markdown import render_body

COMPOSER = f"/staff/letters/{G20}/updates"


class _Fields(HTMLParser):
    """The values of a page's inputs and textareas, by name, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "input" and named.get("name") and named.get("type") in ("text", "hidden"):
            self.values[str(named["name"])] = named.get("value") or ""
        if tag == "textarea" and named.get("name"):
            self._textarea = str(named["name"])
            self.values[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def fields_of(page: str) -> dict[str, str]:
    reader = _Fields()
    reader.feed(page)
    # A browser drops the one newline that follows <textarea>.
    return {
        name: value.removeprefix("\r\n").removeprefix("\n") for name, value in reader.values.items()
    }


def recorded(app: Any, smtp: Any, organiser: Any) -> tuple[Any, PdfExport, Delivery]:
    """Signers of every kind, a delivery PDF, and its delivery recorded through the form."""
    app.config["MAIL_URL"] = smtp.url
    signers(app, app.test_client, smtp)
    smtp.messages.clear()
    export, _pdf = _make_pdf(app, organiser)
    answer = _record(organiser, export.id)
    assert answer.status_code == 303
    with app.app_context():
        delivery = db.session.scalars(select(Delivery)).one()
        db.session.expunge(delivery)
    return answer, export, delivery


def test_recording_a_delivery_offers_to_tell_the_signers(app, smtp, staff_client):
    organiser = staff_client("organiser", letters=(G20,))
    answer, _export, delivery = recorded(app, smtp, organiser)
    page = organiser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The delivery is recorded." in page
    offer = page.split('class="tell-signers"', 1)[1].split("</section>", 1)[0]
    assert "2 signers asked to hear about this letter." in offer  # en-yes and sq-yes only
    assert f'href="/staff/letters/{G20}/updates?delivery={delivery.id}"' in offer
    assert "Ministry of Education and Sport" in offer
    # Later, the offer stays on the delivery's row; without a fresh recording, no box.
    later = organiser.get(f"/staff/letters/{G20}/deliveries").get_data(as_text=True)
    assert 'class="tell-signers"' not in later
    assert f"updates?delivery={delivery.id}" in later
    # Albanian: the whole page, offer included, holds no English; so does the composer's note.
    organiser.get("/staff/?lang=sq")
    shown = organiser.get(answer.headers["Location"]).get_data(as_text=True)
    assert '<html lang="sq">' in shown and 'class="tell-signers"' in shown
    assert english_in(shown) == []
    composer = organiser.get(f"{COMPOSER}?delivery={delivery.id}").get_data(as_text=True)
    note = composer.split('class="notice prepared-from-delivery">', 1)[1].split("</p>", 1)[0]
    assert "Ministry of Education and Sport" in note and english_in(f"<p>{note}</p>") == []


def test_the_composer_is_filled_with_whom_when_how_many_and_the_verification_link(
    app, smtp, staff_client
):
    organiser = staff_client("organiser", letters=(G20,))
    _answer, export, delivery = recorded(app, smtp, organiser)
    with app.app_context():  # a large count, to see it written the way each language writes it
        db.session.execute(
            update(PdfExport)
            .where(PdfExport.id == export.id)
            .values(count_individuals=18050, count_organisations=3)
        )
        db.session.commit()
    page = organiser.get(f"{COMPOSER}?delivery={delivery.id}").get_data(as_text=True)
    form = fields_of(page)
    verify = f"http://petitions.test/v/{export.code}"
    assert export.verify_url == verify
    assert form["subject_en"] == "The letter was delivered to Ministry of Education and Sport"
    assert "On November 20, 2026 we delivered the letter" in form["body_en"]
    assert "to Ministry of Education and Sport, with 18,053 signatures." in form["body_en"]
    assert f"<{verify}>" in form["body_en"]
    assert "Ministry of Education and Sport" in form["subject_sq"]
    assert "20 nëntor 2026" in form["body_sq"] and "18\xa0053" in form["body_sq"]
    assert f"<{verify}>" in form["body_sq"]
    assert english_in(form["subject_sq"] + "\n" + form["body_sq"], html=False) == []
    assert "prepared from the delivery to Ministry of Education and Sport" in page
    # Rendered as the email will be: the verification page is a link.
    assert f'<a href="{verify}"' in render_body(form["body_en"])


def test_sending_the_prepared_text_reaches_exactly_the_opted_in_counted_signers(
    app, smtp, staff_client
):
    organiser = staff_client("organiser", letters=(G20,))
    _answer, export, delivery = recorded(app, smtp, organiser)
    page = organiser.get(f"{COMPOSER}?delivery={delivery.id}").get_data(as_text=True)
    form = fields_of(page)
    form["body_en"] += "\n\nEdited by the organiser."  # the organiser may change it first
    form.update(csrf_token=csrf_token(page), send="1")
    first = organiser.post(f"{COMPOSER}?delivery={delivery.id}", data=form)
    again = organiser.post(f"{COMPOSER}?delivery={delivery.id}", data=form)  # a double click
    assert first.status_code == again.status_code == 303
    deliver_all_due_in(app)
    assert received(smtp) == Counter({"en-yes@example.org": 1, "sq-yes@example.org": 1})
    verify = f"http://petitions.test/v/{export.code}"
    by_address = {str(m["To"]): m for m in smtp.messages}
    english, albanian = by_address["en-yes@example.org"], by_address["sq-yes@example.org"]
    assert str(english["Subject"]) == form["subject_en"]
    assert str(albanian["Subject"]) == form["subject_sq"] != form["subject_en"]
    assert "Edited by the organiser." in text_part(english)
    for message in (english, albanian):
        assert verify in text_part(message)
        assert str(message["List-Unsubscribe"]).strip().startswith("<http://petitions.test/")
        assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert english_in(str(albanian["Subject"]) + "\n" + text_part(albanian), html=False) == []
    html_part = albanian.get_body(preferencelist=("html",))
    assert english_in(str(html_part.get_content())) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LetterUpdate)) == 1
        assert db.session.scalars(select(LetterUpdate)).one().recipients == 2


def test_a_language_without_a_catalogue_gets_the_main_languages_text(app, smtp, staff_client):
    organiser = staff_client("organiser", letters=(G20,))
    _answer, _export, delivery = recorded(app, smtp, organiser)
    with app.app_context():
        texts = prepared_update(db.session.get(Delivery, delivery.id))
        assert app.config["LANGUAGES"] == ["en", "sq"]
    assert set(texts) == {"en", "sq", "fr", "ar"}  # the letter's languages
    assert texts["fr"] == texts["ar"] == texts["en"] != texts["sq"]
    form = fields_of(organiser.get(f"{COMPOSER}?delivery={delivery.id}").get_data(as_text=True))
    assert form["subject_fr"] == form["subject_en"] and form["body_ar"] == form["body_en"]


def test_names_stay_plain_text_in_the_markdown(app, smtp, staff_client):
    organiser = staff_client("organiser", letters=(G20,))
    export, _pdf = _make_pdf(app, organiser)
    assert (
        _record(organiser, export.id, recipient="*Minister* <b>Office</b> [x](y)").status_code
        == 303
    )
    with app.app_context():
        delivery = db.session.scalars(select(Delivery)).one()
        _subject, body = prepared_update(delivery)["en"]
    html = render_body(body)
    assert "*Minister* &lt;b&gt;Office&lt;/b&gt; [x](y)" in html
    assert "<em>" not in html and "<b>" not in html and 'href="y"' not in html


def test_no_prepared_text_from_another_letters_delivery(app, smtp, staff_client, make_staff):
    organiser = staff_client("organiser", letters=(G20,))
    _answer, _export, delivery = recorded(app, smtp, organiser)
    admin = staff_client("admin")
    other = admin.get(f"/staff/letters/{INCLUSIVE}/updates?delivery={delivery.id}")
    assert other.status_code == 200
    assert all(
        not v
        for k, v in fields_of(other.get_data(as_text=True)).items()
        if k.startswith(("subject_", "body_"))
    )
    assert "prepared from the delivery" not in other.get_data(as_text=True)
    stranger = staff_client("organiser", letters=(INCLUSIVE,))
    assert stranger.get(f"{COMPOSER}?delivery={delivery.id}").status_code == 403
