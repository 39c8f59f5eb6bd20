"""``flask generate``: a published letter holding exactly N realistic generated signatures."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from conftest import G20, INCLUSIVE
from flask import Flask
from sqlalchemy import func, select
from test_moderation import add_signature

from petitions.cli.generate import generate_command
from petitions.extensions import db
from petitions.models.letters import Letter
from petitions.models.signatures import Signature, SignatureStatus
from petitions.services.counters import recount
from petitions.services.data_generator import GenerationRefused, generate
from petitions.services.exports.signatory_rows import ExportFilter, count_signatures
from petitions.services.text_input import country_codes

SCRIPTS = {
    "Albanian": re.compile("[ëçËÇ]"),
    "Cyrillic": re.compile("[\u0400-\u04ff]"),
    "Greek": re.compile("[\u0370-\u03ff]"),
    "Arabic": re.compile("[\u0600-\u06ff]"),
    "Chinese": re.compile("[\u4e00-\u9fff]"),
    "Devanagari": re.compile("[\u0900-\u097f]"),
}


def signatures_of(slug: str) -> list[Signature]:
    letter_id = db.session.scalar(select(Letter.id).where(Letter.slug == slug))
    return list(
        db.session.scalars(
            select(Signature).where(Signature.letter_id == letter_id).order_by(Signature.id)
        )
    )


def counted(signatures: list[Signature]) -> tuple[int, int]:
    """(individuals, organisations) among the confirmed ones, counted here in Python."""
    kinds = Counter(s.kind for s in signatures if s.status == SignatureStatus.CONFIRMED)
    return kinds["individual"], kinds["organisation"]


def test_generates_a_published_letter_with_n_varied_signatures(app: Flask):
    with app.app_context():
        result = generate(1500, "generated", seed=7, batch=400)
        db.session.expire_all()
        letter = db.session.scalar(select(Letter).where(Letter.slug == "generated"))
        signatures = signatures_of("generated")

        assert result.created_letter and result.signatures == 1500 == len(signatures)
        assert letter.is_open() and letter.is_demo
        assert letter.languages == ["en", "sq"] and len(letter.addressees) == 1
        assert letter.addressees[0].in_language("sq")[0] == "Ministria e Arsimit dhe Sportit"
        # Counters: the stored ones equal a real count, and no letter drifted.
        assert (letter.count_individuals, letter.count_organisations) == counted(signatures)
        assert (result.individuals, result.organisations) == counted(signatures)
        assert recount(repair=False) == []
        assert count_signatures(letter.id, ExportFilter()) == (
            letter.count_organisations,
            letter.count_individuals,
        )

        statuses = Counter(s.status for s in signatures)
        assert set(statuses) == {s.value for s in SignatureStatus}
        assert statuses["confirmed"] > 0.8 * len(signatures)
        organisations = [s for s in signatures if s.kind == "organisation"]
        assert 0.05 * len(signatures) < len(organisations) < 0.15 * len(signatures)
        assert all(s.organisation for s in organisations)
        assert any(s.verified_at for s in organisations)
        assert all(s.status == "confirmed" for s in organisations if s.verified_at)
        assert any(not s.is_public for s in signatures) and any(s.is_hidden for s in signatures)
        assert any(s.comment for s in signatures) and any(s.website for s in signatures)
        # Arabic mixed with Latin, in one organisation's name.
        assert any(SCRIPTS["Arabic"].search(o.organisation) and "UNICEF" in o.organisation
                   for o in organisations)  # fmt: skip

        names = " ".join(s.name for s in signatures)
        for script, pattern in SCRIPTS.items():
            assert pattern.search(names), script
        assert {s.country for s in signatures} <= country_codes()
        assert len({s.country for s in signatures}) > 15
        assert {s.language for s in signatures} == {"en", "sq"}
        texts = {t.language: t for t in letter.texts}
        assert all(s.text_id == texts[s.language].id for s in signatures)
        assert all(s.text_hash == texts[s.language].text_hash for s in signatures)
        assert len({s.email_canonical for s in signatures}) == len(signatures)
        assert all(s.email_canonical == s.email.lower() for s in signatures)

        # Times: ids follow time, each confirmation after its signing, nothing in the future.
        created = [s.created_at for s in signatures]
        assert created == sorted(created)
        for s in signatures:
            assert (s.confirmed_at is None) == (s.status == "pending")
            assert s.confirmed_at is None or s.created_at < s.confirmed_at <= s.updated_at
            assert (s.withdrawn_at is not None) == (s.status == "withdrawn")
            stamps = [t for t in (s.confirmed_at, s.withdrawn_at, s.verified_at) if t]
            assert max(stamps, default=s.created_at) <= s.updated_at
        assert max(s.updated_at for s in signatures) < letter.closes_at


def test_a_rerun_refills_the_letter_and_the_seed_decides_who_signs(app: Flask):
    def people() -> list[tuple[str, str, str, str]]:
        return [(s.name, s.status, s.kind, s.country) for s in signatures_of("refilled")]

    with app.app_context():
        generate(300, "refilled", seed=3, batch=64)
        first, first_nonces = people(), {s.confirm_nonce for s in signatures_of("refilled")}
        again = generate(300, "refilled", seed=3, batch=1000)  # another batch size, same people
        assert not again.created_letter and again.removed == 300
        assert people() == first
        # New rows, with new link nonces (old links must not work on new rows).
        assert not first_nonces & {s.confirm_nonce for s in signatures_of("refilled")}

        smaller = generate(120, "refilled", seed=4)
        db.session.expire_all()
        letter = db.session.scalar(select(Letter).where(Letter.slug == "refilled"))
        signatures = signatures_of("refilled")
        assert smaller.removed == 300 and len(signatures) == 120
        assert people() != first[:120]
        assert (letter.count_individuals, letter.count_organisations) == counted(signatures)
        assert recount(repair=False) == []

        generate(0, "refilled")
        db.session.expire_all()
        assert signatures_of("refilled") == []
        assert (letter.count_individuals, letter.count_organisations) == (0, 0)
        assert db.session.scalar(select(func.count()).select_from(Letter)) == 3


def test_letters_that_may_hold_real_signatures_are_refused_untouched(app: Flask):
    real = add_signature(app, G20, email="real.person@gmail.com")
    with app.app_context():
        with pytest.raises(GenerationRefused, match="did not make"):
            generate(10, G20)
        letter = db.session.scalar(select(Letter).where(Letter.slug == INCLUSIVE))
        letter.is_demo = False
        db.session.commit()
        with pytest.raises(GenerationRefused, match="not demo content"):
            generate(10, INCLUSIVE)
        assert [s.id for s in signatures_of(G20)] == [real]
        assert signatures_of(INCLUSIVE) == []


def test_a_demo_letter_with_only_generated_signatures_may_be_refilled(app: Flask):
    add_signature(app, G20, email="someone.1@mail.example")
    with app.app_context():
        result = generate(50, G20, seed=9)
        assert result.removed == 1 and not result.created_letter
        assert len(signatures_of(G20)) == 50
        assert recount(repair=False) == []


def test_the_command_creates_then_refills(app: Flask, runner: Any):
    first = runner.invoke(generate_command, ["--signatures", "200", "--slug", "cli-letter"])
    assert first.exit_code == 0, first.output
    assert "Created cli-letter: 200 signatures" in first.output
    again = runner.invoke(
        generate_command, ["--signatures", "150", "--slug", "cli-letter", "--seed", "2"]
    )
    assert again.exit_code == 0, again.output
    assert "Refilled (replaced 200) cli-letter: 150 signatures" in again.output
    with app.app_context():
        db.session.expire_all()
        letter = db.session.scalar(select(Letter).where(Letter.slug == "cli-letter"))
        signatures = signatures_of("cli-letter")
        assert len(signatures) == 150
        individuals, organisations = counted(signatures)
        assert (letter.count_individuals, letter.count_organisations) == counted(signatures)
        assert f"counted {organisations} organisations and {individuals} individuals" in (
            again.output
        )
    public = app.test_client().get("/letters/cli-letter")
    assert public.status_code == 200
    assert "Generated letter: fund every classroom" in public.get_data(as_text=True)


def test_the_command_refuses_a_real_letter(app: Flask, runner: Any):
    add_signature(app, G20, email="real.person@gmail.com")
    answer = runner.invoke(generate_command, ["--signatures", "5", "--slug", G20])
    assert answer.exit_code == 1
    assert "holds signatures the generator did not make" in answer.output
    with app.app_context():
        assert len(signatures_of(G20)) == 1
    negative = runner.invoke(generate_command, ["--signatures", "-1"])
    assert negative.exit_code == 2
