"""Every API operation says what it answers: /openapi.json gives each success response a typed
schema (a response model, not an untyped object), so clients can rely on the document. The fuzz
test (test_api_fuzz.py) checks the answers against these schemas."""

from __future__ import annotations

UNTYPED_OBJECT = {"type": "object", "additionalProperties": True}


def untyped(schema: dict | None) -> bool:
    if not schema:
        return True
    bare = {k: v for k, v in schema.items() if k not in ("title", "description")}
    if bare == UNTYPED_OBJECT:
        return True
    return bare.get("type") == "array" and untyped(bare.get("items"))


def undocumented_responses(document: dict) -> list[str]:
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ok = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
            if not ok:
                found.append(f"{method.upper()} {path}: no success response")
            for status, response in ok.items():
                content = response.get("content") or {}
                if not content:
                    found.append(f"{method.upper()} {path} {status}: no content")
                for media_type, body in content.items():
                    if untyped(body.get("schema")):
                        found.append(f"{method.upper()} {path} {status} {media_type}: untyped")
    return found


def test_every_operation_declares_its_response(engine, app_settings):
    from ipmo.web.app import create_app

    document = create_app(engine, app_settings).openapi()
    assert len(document["paths"]) >= 40, "the document lists the API"
    assert undocumented_responses(document) == []


def test_the_check_sees_a_route_without_a_response_model():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/loose")
    def loose() -> dict:
        return {}

    @app.get("/typed")
    def typed() -> list[int]:
        return []

    assert undocumented_responses(app.openapi()) == ["GET /loose 200 application/json: untyped"]
