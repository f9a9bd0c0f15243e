"""Fuzz the JSON API against its own OpenAPI document (Schemathesis).

Every operation in ``/openapi.json`` gets generated requests — valid ones and deliberately wrong
ones — sent in-process to the ASGI app with a bearer token of a demo user whose role can use that
part of the API. Two checks must hold for every response:

- no server error (5xx): bad input is the client's fault and gets a 4xx;
- the response matches the schema the document declares for its status code (200/201 bodies,
  and 422 bodies match FastAPI's ``HTTPValidationError``), so clients can rely on the document.

Bounded so it runs in the default suite: a fixed number of examples per operation, derandomized
(the same requests every run), no shrinking deadline.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    Failure,
    FailureGroup,
    not_a_server_error,
    response_schema_conformance,
)

from ipmo.security.users import DEMO_PASSWORD

# Which demo user fuzzes which part of the API: one whose role has the activities it needs, so
# requests get past authorisation and reach the handlers (a 403 for everything proves little).
USER_BY_PREFIX = [
    ("/api/analytics", "admin"),
    ("/api/plans", "admin"),
    ("/api/workforce", "admin"),
    ("/api/terminology", "admin"),
    ("/api/referral", "gp"),  # sends and receives referrals
    ("/api/pharmacy-first", "community.pharmacist"),  # consultations at a pharmacy
    ("/fhir/R4/$process-message", "gp"),
]
DEFAULT_USER = "pcn.pharmacist"  # records, review, patients, FHIR reads
MAX_EXAMPLES = 8  # per operation: ~50 operations, well under a minute in-process


def user_for(path: str) -> str:
    return next((u for prefix, u in USER_BY_PREFIX if path.startswith(prefix)), DEFAULT_USER)


@pytest.fixture
def fuzz_app(sample_ics, app_settings):
    from fastapi.testclient import TestClient

    from ipmo.web.app import create_app

    app = create_app(sample_ics, app_settings)
    tokens = {}
    with TestClient(app) as client:
        for username in {u for _, u in USER_BY_PREFIX} | {DEFAULT_USER}:
            r = client.post(
                "/api/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert r.status_code == 200, r.text
            tokens[username] = r.json()["access_token"]
    return app, tokens


def fuzz_operation(operation, headers: dict[str, str], sent: list[str]) -> None:
    """Send MAX_EXAMPLES generated requests to one operation; raise on the first failed check."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        sent.append(operation.label)
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    fuzz()


def test_api_matches_its_openapi_document(fuzz_app):
    app, tokens = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    sent: list[str] = []
    failures: dict[str, str] = {}
    for operation in operations:
        headers = {"Authorization": f"Bearer {tokens[user_for(operation.path)]}"}
        try:
            fuzz_operation(operation, headers, sent)
        except (Failure, FailureGroup) as exc:  # every operation's failure, reported together
            failures[operation.label] = str(exc)[:3000]

    assert len(operations) >= 40, "the OpenAPI document lost its operations"
    assert set(sent) == {op.label for op in operations}, "every operation got requests"
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(
        f"{k}:\n{v}" for k, v in failures.items()
    )
