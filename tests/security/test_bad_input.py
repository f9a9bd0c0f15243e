"""Bad input gets a clear 4xx, never a 500 (issue 12, "Bad input").

Each case below answered 500 before: integers too large for SQLite, JSON and XML nested deeper
than the parsers or validators can take, CSV that is not UTF-8 or has a field over the csv
module's 131,072-character limit, a discharge item without a name, and a validly signed token
whose payload is not what we issue. The client never raises server exceptions, so a 500 shows
up as a status, not as a test error."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from ipmo.security.users import DEMO_PASSWORD
from ipmo.web.app import create_app
from ipmo.workforce.importer import COLUMNS

HUGE = "99999999999999999999"
HUGE_NEGATIVE = "-99999999999999999999"


@pytest.fixture
def bearer(sample_ics, app_settings):
    app = create_app(sample_ics, app_settings)
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        r = client.post("/api/auth/token", data={"username": username, "password": DEMO_PASSWORD})
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return client

    yield make
    for c in clients:
        c.close()


def _nested_json(depth: int) -> str:
    """A Patient whose extension nests ``depth`` times (a 500 in the FHIR validator at 115)."""
    node: dict = {"url": "http://example.org/x", "valueString": "v"}
    for _ in range(depth):
        node = {"url": "http://example.org/x", "extension": [node]}
    return json.dumps({"resourceType": "Patient", "extension": [node]})


@pytest.mark.parametrize(
    ("user", "url"),
    [
        ("gp", f"/api/referrals?limit={HUGE_NEGATIVE}"),
        ("gp", f"/api/referrals?limit={HUGE}"),
        ("pcn.pharmacist", f"/api/review/worklist?min_score={HUGE}"),
        ("pcn.pharmacist", f"/api/review/worklist?min_score={HUGE_NEGATIVE}"),
        ("workforce.lead", f"/api/plans/{HUGE}"),
        ("workforce.lead", f"/api/plans/{HUGE_NEGATIVE}"),
        ("workforce.lead", f"/api/plans/{HUGE}/report"),
    ],
)
def test_integers_too_large_for_the_database_are_refused(bearer, user, url):
    r = bearer(user).get(url)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] in ("limit", "min_score", "plan_id")


def test_integers_too_large_in_pages_are_refused(client_as):
    pharmacist = client_as("pcn.pharmacist")
    r = pharmacist.get(f"/review/worklist?min_score={HUGE}")
    assert r.status_code == 422
    lead = client_as("workforce.lead")
    assert lead.get(f"/plans/{HUGE}").status_code == 422


def test_integers_too_large_in_json_bodies_are_refused(bearer):
    client = bearer("community.pharmacist")
    r = client.post("/api/referrals/R-NOPE/accept", json={"version": int(HUGE)})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == "version"


def test_json_nested_deeper_than_64_is_refused_everywhere(bearer):
    deep = _nested_json(115)
    fhir = bearer("nhs111").post(
        "/fhir/R4/$process-message",
        content=deep,
        headers={"content-type": "application/fhir+json"},
    )
    assert fhir.status_code == 400, fhir.text
    assert fhir.json()["resourceType"] == "OperationOutcome"
    assert "deep" in fhir.text
    plans = bearer("workforce.lead").post(
        "/api/plans", content=deep, headers={"content-type": "application/json"}
    )
    assert plans.status_code == 400 and "deep" in plans.json()["detail"]
    records = bearer("pcn.pharmacist").post(
        "/api/records/patients/9990000018/sources",
        content=deep,
        headers={"content-type": "application/fhir+json"},
    )
    assert records.status_code == 400 and records.json()["resourceType"] == "OperationOutcome"


def test_json_nested_one_hundred_thousand_deep_is_refused_not_crashed(bearer):
    r = bearer("workforce.lead").post(
        "/api/plans", content="[" * 100_000, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400


def test_xml_nested_deep_is_refused_with_an_outcome(bearer):
    ns = 'xmlns="http://hl7.org/fhir"'
    deep = f"<Bundle {ns}>" + "<extension>" * 2000 + "</extension>" * 2000 + "</Bundle>"
    r = bearer("nhs111").post(
        "/fhir/R4/$process-message", content=deep, headers={"content-type": "application/fhir+xml"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["resourceType"] == "OperationOutcome" and "deep" in r.text
    r = bearer("pcn.pharmacist").post(
        "/api/records/patients/9990000018/sources",
        content=deep,
        headers={"content-type": "application/fhir+xml"},
    )
    assert r.status_code == 400 and "deep" in r.text


def _records_csv(medicine: str) -> str:
    return (
        "nhs_number,source_kind,source_org_code,name,status\n"
        f"9990000018,gp,A10001,{medicine},active\n"
    )


def test_csv_that_is_not_utf8_is_refused_saying_so(bearer):
    latin1 = _records_csv("Paracétamol 500mg tablets").encode("latin-1")
    r = bearer("pcn.pharmacist").post(
        "/api/records/patients/9990000018/sources",
        content=latin1,
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 400 and "UTF-8" in r.text, r.text
    w = bearer("workforce.lead").post(
        "/api/workforce/import",
        content="assignment_number\nCaf\xe9\n".encode("latin-1"),
        headers={"content-type": "text/csv"},
    )
    assert w.status_code == 400 and "UTF-8" in w.text, w.text


def test_csv_field_over_the_csv_limit_names_row_and_column(bearer):
    huge = '"' + "x" * 140_000 + '"'
    r = bearer("pcn.pharmacist").post(
        "/api/records/patients/9990000018/sources",
        content=_records_csv(huge).encode(),
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 400, r.text[:300]
    assert "row 2, column 'name'" in r.text
    w = bearer("workforce.lead").post(
        "/api/workforce/import",
        content=(
            ",".join(COLUMNS)
            + "\n"
            + ",".join(huge if c == "full_name" else "x" for c in COLUMNS)
            + "\n"
        ).encode(),
        headers={"content-type": "text/csv"},
    )
    assert w.status_code == 400 and "row 2, column 'full_name'" in w.text, w.text[:300]


def test_a_discharge_item_without_a_name_is_refused_naming_the_field(bearer):
    r = bearer("hospital.pharmacist").post(
        "/api/referrals",
        json={
            "service": "discharge-medicines-service",
            "nhs_number": "9990000018",
            "patient_name": "Ada Smith",
            "discharge_items": [{"change": "started"}],
        },
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-3:] == ["discharge_items", 0, "name"]


@pytest.mark.parametrize(
    "payload",
    [
        {"u": "1", "g": "x"},
        {"u": None, "g": 0},
        {"x": 1},
        [1, 2],
        "hello",
        {"u": int(HUGE), "g": 0},
        {"u": 1, "g": int(HUGE)},
    ],
)
def test_a_validly_signed_token_with_an_unexpected_payload_is_refused(
    bearer, app_settings, payload
):
    from itsdangerous import URLSafeTimedSerializer

    from ipmo.security.tokens import SALT

    client = bearer("gp")
    forged = URLSafeTimedSerializer(app_settings.secret_key, salt=SALT).dumps(payload)
    r = client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401, r.text


def _routes(routes):
    from fastapi.routing import APIRoute

    for route in routes:
        if hasattr(route, "original_router"):  # an included router
            yield from _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _is_int(annotation) -> bool:
    import types
    import typing

    if annotation is int:
        return True
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and int in (
        typing.get_args(annotation)
    )


def _int_fields(dependant, where=""):
    """(name, metadata) of every integer a client can send: query, path, form and body fields,
    including the fields of body models (one level of nesting is what our models use)."""
    from pydantic import BaseModel

    for field in dependant.query_params + dependant.path_params + dependant.body_params:
        info = field.field_info
        if _is_int(info.annotation):
            yield field.name, info.metadata
        for cls in typing_args(info.annotation):
            if isinstance(cls, type) and issubclass(cls, BaseModel):
                for name, sub in cls.model_fields.items():
                    if _is_int(sub.annotation):
                        yield f"{cls.__name__}.{name}", sub.metadata
    for sub in dependant.dependencies:
        yield from _int_fields(sub)


def typing_args(annotation):
    import typing

    return typing.get_args(annotation) or (annotation,)


def test_every_integer_a_client_sends_is_bounded_to_what_the_database_holds(app_settings):
    from ipmo.store import create_store_engine

    app = create_app(create_store_engine("sqlite://"), app_settings)
    checked, unbounded = 0, []
    for route in _routes(app.routes):
        for name, metadata in _int_fields(route.dependant):
            checked += 1
            low = [getattr(m, "ge", getattr(m, "gt", None)) for m in metadata]
            high = [getattr(m, "le", getattr(m, "lt", None)) for m in metadata]
            low = [v for v in low if v is not None]
            high = [v for v in high if v is not None]
            if not (low and high and min(low) >= -(2**63) and max(high) <= 2**63 - 1):
                unbounded.append(f"{route.path} {name}")
    assert checked >= 20  # the walk found the routes' integers
    assert unbounded == []


def test_a_body_over_the_configured_limit_is_refused_before_any_handler(sample_ics, tmp_path):
    from ipmo.config import Settings

    settings = Settings(
        data_dir=tmp_path, database_url="sqlite://", secret_key="k", max_body_bytes=1000
    )
    client = TestClient(create_app(sample_ics, settings), raise_server_exceptions=False)
    token = client.post(
        "/api/auth/token", data={"username": "workforce.lead", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    big = b"assignment_number\n" + b"A1\n" * 600
    r = client.post("/api/workforce/import", content=big, headers=auth)
    assert r.status_code == 413 and "1,000 bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: the stream itself is counted
        for _ in range(10):
            yield b"x" * 200

    r = client.post("/api/workforce/import", content=chunks(), headers=auth)
    assert r.status_code == 413
    fhir = client.post(
        "/fhir/R4/$process-message",
        content=b"{" + b" " * 2000 + b"}",
        headers={**auth, "content-type": "application/fhir+json"},
    )
    assert fhir.status_code == 413 and fhir.json()["resourceType"] == "OperationOutcome"
    assert client.get("/health").status_code == 200  # bodiless requests pass untouched


def test_workforce_uploads_have_their_own_limit(bearer):
    from ipmo.workforce.importer import MAX_UPLOAD_BYTES

    big = ",".join(COLUMNS).encode() + b"\n" + b"x" * (MAX_UPLOAD_BYTES + 1)
    client = bearer("workforce.lead")
    assert client.post("/api/workforce/import", content=big).status_code == 413
    assert client.post("/api/workforce/services/import", content=big).status_code == 413


def test_validation_errors_do_not_echo_large_bodies(bearer):
    client = bearer("gp")
    big = "x" * 5_000_000
    r = client.post("/api/referrals", json={"service": [big], "patient_name": {"a": big}})
    assert r.status_code == 422
    assert len(r.content) < 5_000
    detail = r.json()["detail"]
    assert {tuple(e["loc"]) for e in detail} >= {("body", "service"), ("body", "patient_name")}
    assert all({"loc", "msg", "type"} <= set(e) and "input" not in e for e in detail)
    # a short refused value is still shown, so the sender can see what was wrong
    r = client.get("/api/referrals?limit=abc")
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == "abc"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("", {"purpose": {"a": 1}}),
        ("", {"objectives": [1]}),
        ("", {"objectives": "abc"}),
        ("", {"stakeholders": [{"name": "n", "engagement": "inform", "notes": [1]}]}),
        ("/{id}/stakeholders", {"name": "n", "engagement": "inform", "organisation": {"a": 1}}),
        ("/{id}/stakeholders", {"name": "n", "engagement": "inform", "notes": [1, 2]}),
        ("/{id}/stakeholders", {"name": {"a": 1}, "engagement": "inform"}),
        ("/{id}/objectives", {"title": "t", "owner": "o", "metric": {"a": 1}}),
    ],
)
def test_plan_fields_of_the_wrong_type_are_refused_naming_them(bearer, path, body):
    client = bearer("workforce.lead")
    plan = {"title": "P", "owner": "o", "start_date": "2026-01-01", "end_date": "2026-12-31"}
    plan_id = client.post("/api/plans", json=plan).json()["id"]
    before = client.get("/api/plans").json()
    payload = {**plan, **body} if not path else body
    r = client.post("/api/plans" + path.replace("{id}", str(plan_id)), json=payload)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(key in detail for key in body) or "notes must be text" in detail, detail
    assert client.get("/api/plans").json() == before  # nothing written


@pytest.mark.parametrize(
    "change",
    [
        {"wte": 10**400},
        {"wte": True},
        {"band": {"a": 1}},
        {"title": ["x"]},
        {"independent_prescriber": {"a": 1}},
        {"prescriber_scope": {"a": 1}},
        {"end_date": 5},
    ],
)
def test_post_edits_of_the_wrong_type_are_refused_naming_the_field(bearer, change):
    from tests.workforce.helpers import csv_text, row

    client = bearer("workforce.lead")
    client.post("/api/workforce/import", content=csv_text(row()).encode())
    before = client.get("/api/workforce/posts").json()
    r = client.patch("/api/workforce/posts/A1", json=change)
    assert r.status_code == 422, r.text
    assert next(iter(change)) in r.json()["detail"]
    assert client.get("/api/workforce/posts").json() == before


def test_a_value_too_long_for_its_column_is_a_4xx(any_engine, tmp_path):
    """PostgreSQL enforces VARCHAR widths (SQLite does not): a value no model bounds reached the
    column and failed there, a 500. Models bound what they know (a referral's patient name);
    whatever is left is a 422 (an OperationOutcome on FHIR routes), with nothing written."""
    from tests.referrals.apihelpers import always_open, referrals

    from ipmo.config import Settings
    from ipmo.referrals.message_builder import build_referral_message
    from ipmo.security.users import seed_demo_users
    from ipmo.store import session_scope
    from ipmo.synth.sample import seed_sample_ics

    with session_scope(any_engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    always_open(any_engine, "FA001")
    settings = Settings(data_dir=tmp_path, database_url="x", secret_key="k")
    client = TestClient(create_app(any_engine, settings), raise_server_exceptions=False)
    token = client.post(
        "/api/auth/token", data={"username": "nhs111", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    body = {"service": "pharmacy-first", "nhs_number": "9990000018", "patient_name": "A" * 300}
    r = client.post("/api/referrals", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "patient_name"
    message = build_referral_message(
        message_id="m-long-name",
        service="urgent-repeat-supply",
        patient_name="A" * 300,
        nhs_number="9990000018",
        receiver="FA001",
    )
    r = client.post(
        "/fhir/R4/$process-message",
        json=message,
        headers={"content-type": "application/fhir+json"},
    )
    if any_engine.dialect.name == "postgresql":
        assert r.status_code == 422, r.text
        assert r.json()["resourceType"] == "OperationOutcome"
        assert referrals(any_engine) == []
    else:
        assert r.status_code == 200  # SQLite keeps the whole name


@pytest.mark.parametrize("as_of", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_an_as_of_date_outside_any_record_is_refused_not_overflowed(bearer, client_as, as_of):
    client = bearer("pcn.pharmacist")
    for url in (
        f"/api/records/patients/9990000018?as_of={as_of}",
        f"/api/review/patients/9990000018?as_of={as_of}",
    ):
        r = client.get(url)
        assert r.status_code == 422, (url, r.text)
        assert "as_of" in r.text
    page = client_as("pcn.pharmacist").get(f"/records/patients/9990000018?as_of={as_of}")
    assert page.status_code == 200  # the page falls back to today, as for any unreadable date


@pytest.mark.parametrize(
    "path",
    [
        "/api/prescriptions/entitlements?as_of=0059-12-02",
        "/api/prescriptions/entitlements?as_of=9999-12-31",
        "/api/pharmacy-first/pathways?on=0001-01-01",
    ],
)
def test_dates_outside_1900_to_2999_are_a_422_not_a_500(client_as, path):
    """Found by the fuzz run: date arithmetic near year 1 or 9999 overflowed into a 500."""
    r = client_as("community.pharmacist").get(path)
    assert r.status_code == 422, r.text
