"""The whole signing loop once, through HTTP and a real SMTP server."""

from __future__ import annotations

from conftest import G20, links_in, press_button, sign, text_part

from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.workers.outbox_delivery import deliver_all_due


def test_sign_confirm_count_withdraw(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url)
    client = app.test_client()
    answer = sign(client, name="Ëndri Çela", email="Endri@Example.org")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/letters/{G20}/check-email")
    with app.app_context():
        assert deliver_all_due() == 1
    assert len(smtp.messages) == 1
    links = links_in(text_part(smtp.messages[0]))
    assert len(links["confirm"]) == 1 and len(links["withdraw"]) == 1
    assert press_button(client, links["confirm"][0]).status_code == 200
    assert client.get(f"/api/v1/letters/{G20}").json["signatures"]["individuals"] == 1
    assert press_button(client, links["withdraw"][0]).status_code == 200
    with app.app_context():
        letter = db.session.scalar(db.select(Letter).where(Letter.slug == G20))
        assert letter.count_total == 0
