"""The delivered list is checkable by anyone: the digest follows the README's recipe exactly.

A known answer pins the canonical form (computed once by hand from the README, not by our code);
the PDF carries the digested lines as ``signatories.jsonl``; and the README's own commands, taken
from README.md's text, recompute from a real delivery PDF the digest the PDF prints.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pikepdf
from conftest import G20
from sqlalchemy import select
from test_moderation import add_signatures, signature_row

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.exports import PdfExport
from petitions.services.exports.digest import canonical_line, list_digest
from petitions.services.exports.pdf_model import Signatory

README = Path(__file__).resolve().parent.parent / "README.md"

# Three signatories in several scripts; one name typed decomposed (NFC makes it "Ëngjëll Çela"),
# one comment with quotes (escaped by JSON), one in Chinese. The country's printed name is not
# part of the digest (the code is).
KNOWN = [
    Signatory("organisation", "E\u0308ngje\u0308ll C\u0327ela", "Shoqata e Gazetarëve të Kosovës",
              "Drejtoreshë", "Prishtinë", "Kosovë", "XK", True, 'Mbështesim "plotësisht".'),
    Signatory("individual", "Мария Иванова", "", "", "Москва", "Россия", "RU"),
    Signatory("organisation", "أحمد الخطيب", "منظمة UNICEF في الرياض", "مدير", "الرياض",
              "السعودية", "SA", False, "我们支持这封信。"),
]  # fmt: skip
# Computed by hand, following the README, with Python's hashlib and json in a shell (NFC each
# string, [kind, name, organisation, title, city, country code, verified, comment], json.dumps
# with ensure_ascii=False and separators (",", ":"), "\n" after each line, lines sorted by bytes,
# SHA-256 of b"petitions-list-v3\n" + the lines); cross-checked with
# (printf 'petitions-list-v3\n'; cat lines.jsonl) | sha256sum.
KNOWN_DIGEST = "a3c6fdb49050f22082fdb3e2c882ae74d07d4ec148860f59acf103529fa73e06"


def test_known_answer_the_digest_is_the_readmes_recipe():
    assert list_digest(KNOWN) == KNOWN_DIGEST
    assert list_digest(reversed(KNOWN)) == KNOWN_DIGEST
    # verified comes before the comment, as the README says
    line = (
        '["organisation","Ëngjëll Çela","Shoqata e Gazetarëve të Kosovës","Drejtoreshë",'
        '"Prishtinë","XK",true,"Mbështesim \\"plotësisht\\"."]\n'
    )
    assert canonical_line(KNOWN[0]) == line.encode()


def test_the_readme_documents_the_version_and_field_order_the_code_hashes():
    section = " ".join(_digest_section().split())
    assert "`petitions-list-v3\\n`" in section
    assert "`[kind, name, organisation, title, city, country code, verified, comment]`" in section
    assert "petitions-list-v2" in section  # lists delivered before keep their recipe


# --- A real delivery PDF ------------------------------------------------------------------

PEOPLE = [
    # (kind, name, organisation, title, city, country, comment, verified)
    ("organisation", "Arta Krasniqi", "Shoqata e Gazetarëve të Pavarur", "Drejtoreshë",
     "Prishtinë", "XK", 'Mbështesim "plotësisht" këtë thirrje.', True),
    ("individual", "E\u0308ngje\u0308ll C\u0327ela", "Universiteti i Tiranës", "Prof. dr.",
     "Tiranë", "AL", "", False),
    ("individual", "Мария Иванова", "", "", "Москва", "RU", "Полностью поддерживаю.", False),
    ("organisation", "أحمد الخطيب", "منظمة UNICEF في الرياض", "مدير", "الرياض", "SA", "", False),
    ("individual", "李小龙", "", "", "上海", "CN", "我们支持这封信。", False),
    ("individual", "Ana Hoxha", "", "", "Shkodër", "AL", "", False),
]  # fmt: skip


def _delivery_pdf(app: Any, staff_client: Any) -> tuple[bytes, PdfExport]:
    rows = [
        signature_row(
            app,
            G20,
            kind=kind,
            name=name,
            organisation=organisation,
            title=title,
            city=city,
            country=country,
            comment=comment,
            verified_at=utcnow() if verified else None,
            email=f"r{i}@example.org",
        )
        for i, (kind, name, organisation, title, city, country, comment, verified) in enumerate(
            PEOPLE
        )
    ]
    add_signatures(app, rows)
    answer = staff_client("admin").get(
        f"/staff/letters/{G20}/export.pdf?status=counted&language=sq&include_comments=y"
        "&group_by_country=y"
    )
    assert answer.status_code == 200 and answer.get_data().startswith(b"%PDF")
    with app.app_context():
        export = db.session.scalars(select(PdfExport)).one()
        db.session.expunge(export)
    return answer.get_data(), export


def _digest_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("**The digest**")
    return text[start : text.index("**The verification page**", start)]


def _readme_block(language: str) -> str:
    """The README's first ``language`` code block in the section on the digest."""
    match = re.search(rf"```{language}\n(.*?)```", _digest_section(), re.DOTALL)
    assert match, f"no {language} block in the README's section on the digest"
    return match.group(1)


def _printed_digest(pdf: Path) -> str:
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    found = re.findall(r"\b[0-9a-f]{64}\b", text)
    assert len(set(found)) == 1, found
    return found[0]


def test_the_pdf_carries_the_list_it_digests(app, staff_client, tmp_path):
    data, export = _delivery_pdf(app, staff_client)
    pdf = tmp_path / "delivery.pdf"
    pdf.write_bytes(data)
    listed = subprocess.run(
        ["pdfdetach", "-list", str(pdf)], capture_output=True, check=True, text=True
    ).stdout
    assert listed.splitlines() == ["1 embedded files", "1: signatories.jsonl"]
    with pikepdf.open(pdf) as document:
        spec = document.attachments["signatories.jsonl"]
        assert "petitions-list-v3" in spec.description and "SHA-256" in spec.description
        attached = spec.get_file()
        assert attached.mime_type == "application/jsonl"
        content = attached.read_bytes()
        assert attached.size == len(content)
        assert attached.md5 == hashlib.md5(content).digest()  # the PDF's /CheckSum
    assert hashlib.sha256(b"petitions-list-v3\n" + content).hexdigest() == export.list_digest
    lines = content.splitlines(keepends=True)
    assert len(lines) == len(PEOPLE) == export.count_total and lines == sorted(lines)
    assert "Ëngjëll Çela".encode() in content and "李小龙".encode() in content
    # The closing block says where the list is and how it makes the digest (in Albanian here).
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "signatories.jsonl" in text and "petitions-list-v3" in text
    assert "bashkëngjitur" in text


def test_the_readmes_recipe_recomputes_the_printed_digest(app, staff_client, tmp_path):
    """Exactly the README's commands, run where the PDF is, with nothing but the standard
    library (``python -I -S``: no site-packages)."""
    data, export = _delivery_pdf(app, staff_client)
    (tmp_path / "delivery.pdf").write_bytes(data)
    subprocess.run(["sh", "-c", _readme_block("sh")], cwd=tmp_path, check=True)
    assert (tmp_path / "signatories.jsonl").exists()
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _readme_block("python")],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        text=True,
    )
    counts, digest = result.stdout.splitlines()
    assert digest == export.list_digest == _printed_digest(tmp_path / "delivery.pdf")
    assert counts == "2 organisations, 4 individuals"


def test_the_readmes_recipe_refuses_a_list_changed_after_the_fact(app, staff_client, tmp_path):
    """A line edited in the attached file no longer passes the recipe or gives the digest."""
    data, export = _delivery_pdf(app, staff_client)
    (tmp_path / "delivery.pdf").write_bytes(data)
    subprocess.run(["sh", "-c", _readme_block("sh")], cwd=tmp_path, check=True)
    listing = tmp_path / "signatories.jsonl"
    content = listing.read_bytes()
    listing.write_bytes(content.replace("Мария".encode(), "Марина".encode()))
    run = [sys.executable, "-I", "-S", "-c", _readme_block("python")]
    result = subprocess.run(run, cwd=tmp_path, capture_output=True, check=True, text=True)
    assert result.stdout.splitlines()[-1] != export.list_digest
    listing.write_bytes(content.replace(b'","RU",false,', b'","RU", false,'))  # not canonical
    assert subprocess.run(run, cwd=tmp_path, capture_output=True).returncode != 0
