"""The read-only JSON API (``/api/v1``) through HTTP: its shape, its order, exact counts, no
personal data, and an OpenAPI 3.1 description that matches what it answers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from conftest import G20, INCLUSIVE, csrf_token, links_in, outbox_rows, path_of, press_button, sign
from sqlalchemy import update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.letters import Letter, LetterStatus, LetterText
from petitions.services.demo_content import DEMO_LETTERS
from petitions.services.letters import text_hash

DEMO = {spec["slug"]: spec for spec in DEMO_LETTERS}
CONTRACT_FIELDS = {"slug", "title", "status", "signatures", "url"}


# --- helpers --------------------------------------------------------------------------------------


def set_letter(app: Any, slug: str, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.slug == slug).values(**values))
        db.session.commit()


def add_letter(app: Any, slug: str, **values: Any) -> None:
    title = f"Letter {slug}"
    with app.app_context():
        letter = Letter(slug=slug, main_language="en", **values)
        letter.texts.append(
            LetterText(
                language="en",
                title=title,
                body="Text.",
                body_html="<p>Text.</p>",
                text_hash=text_hash(title, "Text."),
            )
        )
        db.session.add(letter)
        db.session.commit()


def counts(client: Any, slug: str) -> dict[str, int]:
    answer = client.get(f"/api/v1/letters/{slug}")
    assert answer.status_code == 200
    return dict(answer.json["signatures"])


def links_for(app: Any, email: str) -> dict[str, list[str]]:
    rows = [row for row in outbox_rows(app) if row.recipient == email]
    assert rows, f"no email queued for {email}"
    return links_in(rows[-1].text_body)


def assert_letter_object(letter: dict[str, Any], slug: str) -> None:
    """The contract's letter object, with the types it promises."""
    assert set(letter) >= CONTRACT_FIELDS
    assert letter["slug"] == slug
    assert isinstance(letter["title"], str) and letter["title"]
    assert letter["status"] in {"open", "closed", "delivered"}
    assert set(letter["signatures"]) == {"total", "organisations", "individuals"}
    for value in letter["signatures"].values():
        assert isinstance(value, int) and not isinstance(value, bool) and value >= 0
    total = letter["signatures"]["organisations"] + letter["signatures"]["individuals"]
    assert letter["signatures"]["total"] == total
    assert letter["url"].startswith(("http://", "https://"))
    assert letter["url"].endswith(f"/letters/{slug}")


# --- shape and order ------------------------------------------------------------------------------


def test_letters_list_has_the_contract_shape(client):
    answer = client.get("/api/v1/letters")
    assert answer.status_code == 200
    assert answer.is_json
    body = answer.json
    assert set(body) == {"letters"}
    assert sorted(letter["slug"] for letter in body["letters"]) == sorted([G20, INCLUSIVE])
    for letter in body["letters"]:
        assert_letter_object(letter, letter["slug"])
        spec = DEMO[letter["slug"]]
        assert letter["title"] == spec["texts"][spec["main_language"]]["title"]
        assert letter["status"] == "open"
        assert letter["signatures"] == {"total": 0, "organisations": 0, "individuals": 0}
        # The url is the letter's public page.
        page = client.get(path_of(letter["url"]))
        assert page.status_code == 200


@pytest.mark.parametrize("closed", [G20, INCLUSIVE])
@pytest.mark.parametrize("how", ["status", "deadline", "delivered"])
def test_open_letters_come_first_and_drafts_are_absent(app, client, closed, how):
    if how == "status":
        set_letter(app, closed, status=LetterStatus.CLOSED)
    elif how == "delivered":
        set_letter(app, closed, status=LetterStatus.DELIVERED)
    else:
        set_letter(app, closed, closes_at=utcnow() - timedelta(seconds=1))
    add_letter(app, "a-draft", status=LetterStatus.DRAFT)
    add_letter(app, "not-yet-open", status=LetterStatus.OPEN, opens_at=utcnow() + timedelta(days=2))
    still_open = INCLUSIVE if closed == G20 else G20
    letters = client.get("/api/v1/letters").json["letters"]
    assert [letter["slug"] for letter in letters] == [still_open, closed]
    expected = "delivered" if how == "delivered" else "closed"
    assert [letter["status"] for letter in letters] == ["open", expected]
    for slug in ("a-draft", "not-yet-open"):
        answer = client.get(f"/api/v1/letters/{slug}")
        assert answer.status_code == 404
        assert answer.is_json


def test_one_letter_adds_its_languages_main_first(client):
    for slug, languages in ((G20, ["en", "ar", "fr", "sq"]), (INCLUSIVE, ["sq", "en"])):
        answer = client.get(f"/api/v1/letters/{slug}")
        assert answer.status_code == 200
        letter = answer.json
        assert_letter_object(letter, slug)
        assert letter["languages"] == languages
        assert letter["deliveries"] == []  # none yet (tests/test_exports_delivery.py adds one)
        listed = next(x for x in client.get("/api/v1/letters").json["letters"] if x["slug"] == slug)
        detail_only = {"languages", "deliveries", "updates"}
        assert {k: v for k, v in letter.items() if k not in detail_only} == listed


@pytest.mark.parametrize("slug", ["no-such-letter", "G20-PROTECT-EDUCATION", "%3Cscript%3E"])
def test_unknown_letter_is_a_json_404(client, slug):
    answer = client.get(f"/api/v1/letters/{slug}")
    assert answer.status_code == 404
    assert answer.is_json
    assert isinstance(answer.json.get("error"), str) and answer.json["error"]
    assert "<" not in answer.get_data(as_text=True)


# --- counts ---------------------------------------------------------------------------------------


def test_counts_are_exact_as_soon_as_the_request_answered(app, client):
    assert sign(client, name="Ana Hoxha", email="ana@example.org").status_code == 303
    assert (
        sign(
            client,
            kind="organisation",
            organisation="Shoqata Arsimi",
            name="Blerina Krasniqi",
            email="info@arsimi.example.org",
        ).status_code
        == 303
    )
    # Pending signatures do not count.
    assert counts(client, G20) == {"total": 0, "organisations": 0, "individuals": 0}

    person = links_for(app, "ana@example.org")
    organisation = links_for(app, "info@arsimi.example.org")
    # Opening a link (as a mail scanner does) counts nothing.
    assert client.get(path_of(person["confirm"][0])).status_code == 200
    assert counts(client, G20) == {"total": 0, "organisations": 0, "individuals": 0}

    assert press_button(client, person["confirm"][0]).status_code == 200
    assert counts(client, G20) == {"total": 1, "organisations": 0, "individuals": 1}
    assert press_button(client, organisation["confirm"][0]).status_code == 200
    assert counts(client, G20) == {"total": 2, "organisations": 1, "individuals": 1}
    listed = {x["slug"]: x for x in client.get("/api/v1/letters").json["letters"]}
    assert listed[G20]["signatures"] == {"total": 2, "organisations": 1, "individuals": 1}
    assert listed[INCLUSIVE]["signatures"] == {"total": 0, "organisations": 0, "individuals": 0}

    # Confirming twice is harmless (the link's page now says it is done, without a button).
    again = client.get(path_of(person["confirm"][0])).get_data(as_text=True)
    assert "already confirmed" in again
    token = csrf_token(client.get(path_of(person["withdraw"][0])).get_data(as_text=True))
    assert client.post(path_of(person["confirm"][0]), data={"csrf_token": token}).status_code == 200
    assert counts(client, G20) == {"total": 2, "organisations": 1, "individuals": 1}

    assert press_button(client, person["withdraw"][0]).status_code == 200
    assert counts(client, G20) == {"total": 1, "organisations": 1, "individuals": 0}
    assert press_button(client, organisation["withdraw"][0]).status_code == 200
    assert counts(client, G20) == {"total": 0, "organisations": 0, "individuals": 0}
    # Withdrawing twice is harmless too (the link's page now says it was used).
    used = path_of(organisation["withdraw"][0])
    assert "already been used" in client.get(used).get_data(as_text=True)
    assert client.post(used, data={"csrf_token": token}).status_code == 200
    assert counts(client, G20) == {"total": 0, "organisations": 0, "individuals": 0}


def test_the_api_shows_no_personal_data(app, client):
    private = "Besa Fshehtë"
    assert sign(client, name="Ana Publike", email="ana.public@example.org").status_code == 303
    assert (
        sign(client, name=private, email="besa.private@example.org", public=None).status_code == 303
    )
    assert (
        sign(
            client,
            kind="organisation",
            organisation="Private Org",
            name="Contact Person",
            email="org.private@example.org",
            public=None,
        ).status_code
        == 303
    )
    for email in ("ana.public@example.org", "besa.private@example.org", "org.private@example.org"):
        assert press_button(client, links_for(app, email)["confirm"][0]).status_code == 200
    assert counts(client, G20) == {"total": 3, "organisations": 1, "individuals": 2}
    for url in (
        "/api/v1/letters",
        f"/api/v1/letters/{G20}",
        f"/api/v1/letters/{INCLUSIVE}",
        "/api/v1/openapi.json",
        "/api/v1/letters/nothing-here",
    ):
        raw = client.get(url).get_data(as_text=True)
        decoded = json.dumps(json.loads(raw), ensure_ascii=False)
        for text in (raw, decoded):
            assert "@" not in text
            for secret in (private, "Private Org", "Contact Person", "besa.private", "ana.public"):
                assert secret not in text


# --- the OpenAPI description ----------------------------------------------------------------------


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _properties(document: dict[str, Any], schema: dict[str, Any]) -> tuple[dict, set[str]]:
    """A schema's properties and required names, following $ref and allOf."""
    if "$ref" in schema:
        return _properties(document, _resolve(document, schema["$ref"]))
    properties = dict(schema.get("properties", {}))
    required = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        more, needed = _properties(document, part)
        properties.update(more)
        required |= needed
    return properties, required


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _check(
    document: dict[str, Any], schema: dict[str, Any], value: Any, where: str, whole: bool = True
) -> None:
    """Check ``value`` against the parts of JSON Schema this API uses.

    Beyond validation, every field of an object must be described by the (merged) schema.
    ``whole`` is False for one part of an allOf: the merged check is done by the caller.
    """
    if "$ref" in schema:
        _check(document, _resolve(document, schema["$ref"]), value, where, whole)
        return
    for part in schema.get("allOf", []):
        _check(document, part, value, where, whole=False)
    if "type" in schema:
        allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any(
            isinstance(value, _JSON_TYPES[name])
            and not (name in ("integer", "number") and isinstance(value, bool))
            for name in allowed
        )
        assert ok, f"{where}: {value!r} is not {allowed}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if whole and isinstance(value, dict) and ("properties" in schema or "allOf" in schema):
        properties, required = _properties(document, schema)
        assert required <= set(value), f"{where}: missing {required - set(value)}"
        undescribed = set(value) - set(properties)
        assert not undescribed, f"{where}: fields not described in the schema: {undescribed}"
        for key, item in value.items():
            _check(document, properties[key], item, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(document, schema["items"], item, f"{where}[{index}]")


def _response_schema(document: dict[str, Any], path: str, code: str) -> dict[str, Any]:
    response = document["paths"][path]["get"]["responses"][code]
    if "$ref" in response:
        response = _resolve(document, response["$ref"])
    assert isinstance(response.get("description"), str)
    return response["content"]["application/json"]["schema"]


def test_openapi_document_is_structurally_valid(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.is_json
    document = answer.json
    assert document["openapi"] == "3.1.0"
    assert isinstance(document["info"]["title"], str) and document["info"]["title"]
    assert isinstance(document["info"]["version"], str) and document["info"]["version"]
    assert {"/letters", "/letters/{slug}"} <= set(document["paths"])
    servers = document.get("servers", [])
    assert all(server["url"].rstrip("/").endswith("/api/v1") for server in servers)
    refs = _refs(document)
    assert refs, "the document uses no $ref at all"
    for ref in refs:
        _resolve(document, ref)
    for path, item in document["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            assert method in {"get", "parameters", "summary", "description"}, method
            if method != "get":
                continue
            assert operation["responses"], f"{path} has no responses"
            for code, response in operation["responses"].items():
                assert code.isdigit() or code == "default"
                if "$ref" not in response:
                    assert isinstance(response.get("description"), str)
            # Every {name} in the path is a required path parameter.
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            wanted = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert names == wanted, path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["required"] is True


def test_openapi_describes_every_field_the_api_returns(app, client):
    # Real counts, a deadline and a closed letter, so no field is empty by chance.
    assert sign(client, email="ana@example.org").status_code == 303
    assert press_button(client, links_for(app, "ana@example.org")["confirm"][0]).status_code == 200
    set_letter(app, INCLUSIVE, status=LetterStatus.CLOSED)
    document = client.get("/api/v1/openapi.json").json

    listing = client.get("/api/v1/letters").json
    _check(document, _response_schema(document, "/letters", "200"), listing, "letters")
    assert len(listing["letters"]) == 2

    for slug in (G20, INCLUSIVE):
        one = client.get(f"/api/v1/letters/{slug}").json
        _check(document, _response_schema(document, "/letters/{slug}", "200"), one, slug)

    missing = client.get("/api/v1/letters/nothing-here")
    assert missing.status_code == 404
    _check(document, _response_schema(document, "/letters/{slug}", "404"), missing.json, "404")


def test_the_schema_check_would_notice_an_undescribed_field(client):
    """The checker above is only worth something if it can fail."""
    document = client.get("/api/v1/openapi.json").json
    one = client.get(f"/api/v1/letters/{G20}").json
    schema = _response_schema(document, "/letters/{slug}", "200")
    with pytest.raises(AssertionError, match="not described"):
        _check(document, schema, {**one, "email": "x"}, "probe")
    with pytest.raises(AssertionError, match="missing"):
        _check(document, schema, {k: v for k, v in one.items() if k != "languages"}, "probe")
    with pytest.raises(AssertionError, match="is not"):
        _check(document, schema, {**one, "signatures": {**one["signatures"], "total": "2"}}, "p")
