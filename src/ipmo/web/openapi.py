"""The OpenAPI document says what error bodies look like.

FastAPI documents one 422 body, its own request-validation error (``{"detail": [{"loc", "msg",
"type"}]}``). Our handlers also answer 422 for input that is well-formed but wrong (an NHS number
failing Modulus 11, an unknown measure family) and 401/403/404/409 for everything else, all as
``{"detail": "<one sentence>"}`` (web/app.py ``_error``). Clients generated from the document must
accept both, so every JSON API operation's 422 response is "either shape", and its other client
errors ("4XX") are the message shape. FHIR routes (/fhir/...) answer ``application/fhir+json``:
a resource (a Bundle, an acknowledgement) or, for an error, an OperationOutcome; the document
says so (their contents are checked by FHIR's own profiles, not by this document).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

_REF = "#/components/schemas/"
FHIR_JSON = "application/fhir+json"


class ErrorMessage(BaseModel):
    """A client error explained in one sentence (no patient identifiers)."""

    detail: str


class Health(BaseModel):
    status: str  # ok | degraded
    store: str  # ok | unavailable
    version: str


class Token(BaseModel):
    access_token: str
    token_type: str  # bearer
    expires_in: int  # seconds


class Me(BaseModel):
    username: str
    role: str
    organisation: str | None
    activities: list[str]


def _is_json_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/health"


def document_error_responses(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the generated document describes our error bodies."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorMessage"] = ErrorMessage.model_json_schema(ref_template=_REF + "{model}")
        message = {"$ref": _REF + "ErrorMessage"}
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/fhir/"):
                for operation in operations.values():
                    _document_fhir(operation)
                continue
            if not _is_json_api(path):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    content = responses["422"].setdefault("content", {})
                    body = content.setdefault("application/json", {})
                    known = body.get("schema")
                    body["schema"] = {"anyOf": [known, message]} if known else message
                else:
                    responses["422"] = _response("Unprocessable input", message)
                responses.setdefault("4XX", _response("Client error", message))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise


_FHIR_RESOURCE = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}


def _document_fhir(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        content = response.get("content", {})
        if status.startswith("2") and content.get("application/json", {}).get("schema") == {}:
            del content["application/json"]
            content[FHIR_JSON] = {"schema": _FHIR_RESOURCE}
    responses.setdefault(
        "4XX",
        {
            "description": "An OperationOutcome naming the problem",
            "content": {FHIR_JSON: {"schema": _FHIR_RESOURCE}},
        },
    )


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
