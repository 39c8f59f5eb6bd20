"""The digest printed on a delivery PDF, and the keyed hashes behind "was I on the list?".

The digest is SHA-256 over a canonical serialisation of the list, so it names the list, not the
file: the same signatories give the same digest whatever the layout or language of the
document, and any change to a printed field of any signatory gives another (comments count when
the document prints them, so a list with comments has its own digest). The form is:

    petitions-list-v3\\n
    one line per signatory, sorted by its UTF-8 bytes, each ending in \\n:
    a JSON array [kind, name, organisation, title, city, country_code, verified, comment]
    (strings in Unicode NFC, verified as true/false, no spaces, non-ASCII kept as is)

Sorting the lines makes the digest independent of the printed order (grouped by country or not).
The sorted lines (not the header) are also attached to the PDF as ``signatories.jsonl``, so
anyone holding the file can recompute the digest with the README's recipe.

Lists delivered before carry ``petitions-list-v2``, whose line had the comment before
``verified``; their recorded digests stay what they were (nothing recomputes them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterable
from typing import BinaryIO

from petitions.services.exports.pdf_model import Signatory
from petitions.services.text_input import canonical_email

DIGEST_VERSION = "petitions-list-v3"
DIGEST_HEADER = f"{DIGEST_VERSION}\n".encode()


# The canonical list as a file attached to the PDF: the sorted lines without the header line,
# so that it is JSON Lines throughout and the recipe is "SHA-256 of the header, then the file".
LIST_FILE_NAME = "signatories.jsonl"
LIST_FILE_MIME = "application/jsonl"
LIST_FILE_DESCRIPTION = (
    f"The list of signatories, one JSON line per signatory, sorted. The SHA-256 of the line "
    f'"{DIGEST_VERSION}" followed by this file is the digest printed in the document.'
)


def canonical_line(signatory: Signatory) -> bytes:
    fields = [
        signatory.kind,
        signatory.name,
        signatory.organisation,
        signatory.title,
        signatory.city,
        signatory.country_code,
    ]
    values: list[str | bool] = [unicodedata.normalize("NFC", value) for value in fields]
    values.append(bool(signatory.verified))
    values.append(unicodedata.normalize("NFC", signatory.comment))  # "" unless printed
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def list_digest(signatories: Iterable[Signatory]) -> str:
    """Hex SHA-256 of the canonical serialisation (see the module's docstring)."""
    return digest_of_lines([canonical_line(signatory) for signatory in signatories])


def digest_of_lines(lines: list[bytes], out: BinaryIO | None = None) -> str:
    """The digest of canonical lines given in any order (sorted here, in place).

    ``out``, if given, receives the sorted lines: the file attached to the PDF, whose bytes
    after the header line are exactly what was hashed.
    """
    lines.sort()
    digest = hashlib.sha256(DIGEST_HEADER)
    for line in lines:
        digest.update(line)
        if out is not None:
            out.write(line)
    return digest.hexdigest()


def normalise_digest(value: str) -> str:
    """What a person typed or pasted, as the lower-case hex a digest is stored in."""
    return "".join(ch for ch in value.lower() if ch in "0123456789abcdef")


def _entry_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"petitions.delivery-entry", hashlib.sha256).digest()


def _normalise_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def entry_hash(name: str, email: str, secret_key: str) -> str:
    """Keyed hash of one (name, email): equal for the same person however they type them."""
    message = f"{_normalise_name(name)}\x00{canonical_email(email)}".encode()
    return hmac.new(_entry_key(secret_key), message, hashlib.sha256).hexdigest()
