"""The read-only JSON API (``/api/v1``): letters and their counts, nothing personal.

Partners' pages read the counts from their own origin: every answer allows any origin
(``Access-Control-Allow-Origin: *``, never with credentials: nothing here needs a cookie), carries
an ``ETag`` and a short ``Cache-Control``, and a request whose ``If-None-Match`` matches gets 304.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from petitions.api.openapi import openapi_document
from petitions.models.letters import Letter
from petitions.services import deliveries, updates
from petitions.services import letters as letter_service
from petitions.web.links import external_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.after_request
def cacheable_anywhere(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.headers["Cache-Control"] = (
            f"public, max-age={current_app.config['API_CACHE_SECONDS']}"
        )
        response.add_etag()
        response.make_conditional(request)
    return response


def letter_summary(letter: Letter) -> dict[str, object]:
    text = letter.text_in(letter.main_language)
    return {
        "slug": letter.slug,
        "title": text.title,
        "status": letter.effective_status().value,
        "signatures": {
            "total": letter.count_total,
            "organisations": letter.count_organisations,
            "individuals": letter.count_individuals,
        },
        "goal": letter.goal,
        "closes_at": letter.closes_at.isoformat() if letter.closes_at else None,
        "url": external_url("public.letter", slug=letter.slug),
    }


@bp.get("/letters")
def letters() -> ResponseReturnValue:
    return jsonify({"letters": [letter_summary(x) for x in letter_service.published_letters()]})


@bp.get("/letters/<slug>")
def letter(slug: str) -> ResponseReturnValue:
    found = letter_service.published_letter(slug)
    if found is None:
        abort(404)
    return jsonify(
        {
            **letter_summary(found),
            "languages": found.languages,
            "deliveries": [
                {
                    "recipient": delivery.recipient,
                    "delivered_on": delivery.delivered_on.isoformat(),
                    "signatories": delivery.export.count_total,
                    "digest": delivery.export.list_digest,
                    "verification_url": external_url(
                        "verification.show", code=delivery.export.code
                    ),
                }
                for delivery in deliveries.letter_deliveries(found)
            ],
            # The addressees' responses and the organisers' updates published on the page.
            "updates": [
                updates.public_item(item, found.main_language)
                for item in updates.letter_updates(found, public_only=True)
            ],
        }
    )


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document(url_for("api.letters", _external=True).rsplit("/", 1)[0]))
