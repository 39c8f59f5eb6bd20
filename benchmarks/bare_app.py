"""The baseline for the signing benchmark: a bare "validate and insert one row" Flask app.

Flask + Flask-SQLAlchemy + Flask-WTF and nothing else, written the naive way on purpose: one
model, one form with simple validators, ``create_all`` at start-up, SQLite with its defaults
(rollback journal, no WAL, pysqlite's 5 s busy timeout, deferred transactions), no email, no
counters, no translations. It answers the same URL shapes as our app, so ``load.py`` drives both:

    GET  /letters/<slug>        a minimal HTML form with csrf_token
    POST /letters/<slug>/sign   validate, insert one row, commit, redirect 303 (400 if invalid)

    BARE_DB=/tmp/bare.sqlite3 gunicorn -w 2 -b 127.0.0.1:8002 --pythonpath benchmarks bare_app:app
    BARE_DB=/tmp/bare.sqlite3 python benchmarks/bare_app.py    # only creates the table
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, redirect, render_template, url_for
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from sqlalchemy import DateTime, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import BooleanField, EmailField, RadioField, StringField
from wtforms.validators import DataRequired, Email, Length

db = SQLAlchemy()


class Signature(db.Model):  # type: ignore[name-defined]
    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_slug: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    is_public: Mapped[bool] = mapped_column(default=True)
    signed_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: datetime.now(UTC))


class SignatureForm(FlaskForm):
    kind = RadioField(
        "I sign as",
        choices=[("individual", "an individual"), ("organisation", "an organisation")],
        default="individual",
    )
    name = StringField("Your full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email address", validators=[DataRequired(), Email(), Length(max=254)])
    country = StringField("Country", validators=[DataRequired(), Length(min=2, max=2)])
    public = BooleanField("Show my name")
    consent = BooleanField("I agree", validators=[DataRequired()])


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ slug }}</title></head><body>
<h1>Sign {{ slug }}</h1>
<form method="post" action="{{ url_for('sign', slug=slug) }}">
  {{ form.csrf_token }}
  {% for option in form.kind %}<label>{{ option() }} {{ option.label.text }}</label>{% endfor %}
  {% for field in (form.name, form.email, form.country, form.public, form.consent) %}
    <p>{{ field.label() }} {{ field() }}{% for e in field.errors %} <b>{{ e }}</b>{% endfor %}</p>
  {% endfor %}
  <button type="submit">Sign</button>
</form></body></html>"""


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "bench")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.abspath(
        os.environ.get("BARE_DB", "bare.sqlite3")
    )
    db.init_app(app)
    with app.app_context():
        db.create_all()
    page = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be

    @app.get("/letters/<slug>")
    def letter(slug: str):  # type: ignore[no-untyped-def]
        return render_template(page, slug=slug, form=SignatureForm())

    @app.post("/letters/<slug>/sign")
    def sign(slug: str):  # type: ignore[no-untyped-def]
        form = SignatureForm()
        if not form.validate_on_submit():
            return render_template(page, slug=slug, form=form), 400
        db.session.add(
            Signature(
                letter_slug=slug,
                kind=form.kind.data,
                name=form.name.data,
                email=form.email.data,
                country=form.country.data,
                is_public=form.public.data,
            )
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # signed before: the same answer
        return redirect(url_for("thanks", slug=slug), 303)

    @app.get("/letters/<slug>/thanks")
    def thanks(slug: str):  # type: ignore[no-untyped-def]
        return "<!doctype html><p>Thank you.</p>"

    return app


app = create_app()

if __name__ == "__main__":
    print(f"created the table in {app.config['SQLALCHEMY_DATABASE_URI']}")
