"""The OpenAPI 3.1 description of ``/api/v1``, kept beside the views it describes."""

from __future__ import annotations

_COUNTS = {
    "type": "object",
    "required": ["total", "organisations", "individuals"],
    "properties": {
        "total": {"type": "integer", "minimum": 0},
        "organisations": {"type": "integer", "minimum": 0},
        "individuals": {"type": "integer", "minimum": 0},
    },
}
_LETTER = {
    "type": "object",
    "required": ["slug", "title", "status", "signatures", "url"],
    "properties": {
        "slug": {"type": "string"},
        "title": {"type": "string", "description": "In the letter's main language."},
        "status": {"type": "string", "enum": ["open", "closed", "delivered"]},
        "signatures": {"$ref": "#/components/schemas/Counts"},
        "goal": {"type": ["integer", "null"]},
        "closes_at": {"type": ["string", "null"], "format": "date-time"},
        "url": {"type": "string", "format": "uri"},
    },
}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}


def openapi_document(server_url: str) -> dict[str, object]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "petitions API",
            "version": "1.0.0",
            "description": "Read-only. Counts are exact once the request that changed them has "
            "answered. No personal data beyond what signers chose to show.",
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/letters": {
                "get": {
                    "summary": "Published letters, open ones first",
                    "responses": {
                        "200": {
                            "description": "The letters",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["letters"],
                                        "properties": {
                                            "letters": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Letter"},
                                            }
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/letters/{slug}": {
                "get": {
                    "summary": "One published letter",
                    "parameters": [
                        {
                            "name": "slug",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The letter",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/LetterDetail"}
                                }
                            },
                        },
                        "404": {
                            "description": "No published letter has this slug",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        },
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Counts": _COUNTS,
                "Letter": _LETTER,
                "LetterDetail": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Letter"},
                        {
                            "type": "object",
                            "required": ["languages", "deliveries", "updates"],
                            "properties": {
                                "languages": {"type": "array", "items": {"type": "string"}},
                                "deliveries": {
                                    "type": "array",
                                    "description": "Signatory lists handed to the addressees",
                                    "items": {"$ref": "#/components/schemas/Delivery"},
                                },
                                "updates": {
                                    "type": "array",
                                    "description": "Published responses and updates, newest first",
                                    "items": {"$ref": "#/components/schemas/Update"},
                                },
                            },
                        },
                    ]
                },
                "Delivery": {
                    "type": "object",
                    "required": [
                        "recipient",
                        "delivered_on",
                        "signatories",
                        "digest",
                        "verification_url",
                    ],
                    "properties": {
                        "recipient": {"type": "string"},
                        "delivered_on": {"type": "string", "format": "date"},
                        "signatories": {"type": "integer", "minimum": 0},
                        "digest": {"type": "string", "description": "SHA-256 of the list"},
                        "verification_url": {"type": "string", "format": "uri"},
                    },
                },
                "Update": {
                    "type": "object",
                    "required": ["kind", "published_at", "language", "subject", "body_html"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["update", "response"]},
                        "published_at": {"type": "string", "format": "date-time"},
                        "responder": {"type": ["string", "null"]},
                        "responded_on": {"type": ["string", "null"], "format": "date"},
                        "language": {"type": "string"},
                        "subject": {"type": "string"},
                        "body_html": {"type": "string", "description": "sanitised HTML"},
                    },
                },
                "Error": _ERROR,
            }
        },
    }
