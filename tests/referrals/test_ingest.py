"""The message ingest path (issue 5): ``message_receipt.receive`` is the one place a BaRS message
becomes a referral (API and CLI), reads the Bundle once as given, does a bounded number of SQL
statements, and keeps look-ups per unit of work (a new request sees changes)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session
from tests.web_session import sign_in

from ipmo.fhir.outcome import FhirError
from ipmo.organisations.models import Organisation
from ipmo.referrals.inbound_messages import read_message
from ipmo.referrals.message_receipt import receive
from ipmo.referrals.models import ReceivedMessage, Referral
from ipmo.referrals.organisations import load_organisations, organisation
from ipmo.security.models import AuditEvent, User
from ipmo.security.tokens import issue_token
from ipmo.store import session_scope

from .apihelpers import always_open, message, post
from .conftest import principal


@pytest.fixture
def store(ics):
    always_open(ics, "FA001")
    return ics


def _statements(engine):
    seen: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


def _resource(bundle: dict, kind: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def test_a_repeated_message_id_is_a_replay_and_writes_nothing_but_its_audit_entry(store):
    body = json.dumps(message(receiver="FA001")).encode()
    with session_scope(store) as s:
        first = receive(s, principal(s, "nhs111"), body)
    with session_scope(store) as s:
        entries = s.scalar(select(func.count()).select_from(AuditEvent))
        again = receive(s, principal(s, "nhs111"), body)
        assert again.replay and not first.replay
        assert again.referral.reference == first.referral.reference
    with session_scope(store) as s:
        assert s.scalar(select(func.count()).select_from(Referral)) == 1
        assert s.scalar(select(func.count()).select_from(ReceivedMessage)) == 1
        # the replay is audited (issue 12), nothing else is written
        audit = s.scalars(select(AuditEvent).where(AuditEvent.seq > entries)).all()
        assert [e.action for e in audit] == ["referral.message.replay"]


def test_a_new_referral_message_costs_at_most_ten_sql_statements(store):
    """Replay check, organisations (one SELECT for receiver and sender), patient, three for the
    audit chain, referral + event (one flush), message id. A per-resource query or an extra flush
    on this path shows up here first."""
    with session_scope(store) as s:  # the audit chain's first entry creates its head row
        receive(s, principal(s, "nhs111"), json.dumps(message(receiver="FA001")).encode())
    body = json.dumps(message(receiver="FA001")).encode()
    with Session(store, expire_on_commit=False) as s:
        who = principal(s, "nhs111")
        seen, stop = _statements(store)
        try:
            receipt = receive(s, who, body)
            s.commit()
        finally:
            stop()
    assert receipt.referral.target_org_code == "FA001"
    assert len(seen) <= 10, seen
    assert seen.count("INSERT") == 4 and seen.count("UPDATE") == 2  # nothing written twice


def test_null_given_names_are_skipped_not_a_server_error(store):
    body = message(receiver="FA001", patient_name="unused")
    patient = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    patient["name"] = [{"given": [None, "Ada"], "family": "Smith"}]  # FHIR allows nulls here
    with session_scope(store) as s:
        receipt = receive(s, principal(s, "nhs111"), json.dumps(body).encode())
        assert receipt.referral.patient_name == "Ada Smith"


def test_the_bundle_is_validated_once_not_reserialised_and_bad_content_is_refused(monkeypatch):
    from fhir_core.fhirabstractmodel import FHIRAbstractModel

    dumps: list[str] = []
    real_dump = FHIRAbstractModel.model_dump
    monkeypatch.setattr(
        FHIRAbstractModel,
        "model_dump",
        lambda self, *a, **kw: dumps.append(type(self).__name__) or real_dump(self, *a, **kw),
    )
    body = message(receiver="FA001", birth_date="1950-02-03")
    bundle, index, header = read_message(json.dumps(body).encode())
    assert bundle == body and dumps == []  # the validated input itself, not a dumped copy
    assert header is bundle["entry"][0]["resource"] and index.resolve({"reference": "urn:uuid:sr"})
    patient = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    patient["birthDate"] = "3 February 1950"
    with pytest.raises(FhirError) as refused:
        read_message(json.dumps(body).encode())
    assert refused.value.status == 400 and "birthDate" in refused.value.diagnostics


def test_an_organisation_is_read_once_per_unit_of_work_and_afresh_in_the_next(store):
    with Session(store) as s:
        seen, stop = _statements(store)
        try:
            load_organisations(s, "FA001", "NHS111", None)
            first = organisation(s, "FA001")
            assert organisation(s, "FA001") is first and organisation(s, "NHS111")
        finally:
            stop()
        assert seen == ["SELECT"]
    with session_scope(store) as s:
        s.execute(update(Organisation).where(Organisation.ods_code == "FA001").values(name="New"))
    with Session(store) as s:
        assert organisation(s, "FA001").name == "New"


@pytest.fixture
def nhs111_token(mod, sample_ics):
    with session_scope(sample_ics) as s:
        user = s.scalar(select(User).where(User.username == "nhs111"))
        generation = user.token_generation
        token = issue_token("k", user.id, generation)
    yield token
    with session_scope(sample_ics) as s:  # other tests in the module sign in as nhs111
        s.execute(update(User).where(User.username == "nhs111").values(token_generation=generation))


def test_a_revoked_token_cannot_send_and_nothing_is_stored(mod, sample_ics, nhs111_token):
    from fastapi.testclient import TestClient

    system = TestClient(mod.app, headers={"Authorization": f"Bearer {nhs111_token}"})
    assert post(system, message(receiver="FA001")).status_code == 200
    with session_scope(sample_ics) as s:
        s.execute(
            update(User)
            .where(User.username == "nhs111")
            .values(token_generation=User.token_generation + 1)
        )
    refused = post(system, message(receiver="FA001"))
    assert refused.status_code == 401
    with session_scope(sample_ics) as s:
        assert s.scalar(select(func.count()).select_from(Referral)) == 1


def test_the_same_message_sent_at_once_on_four_connections_makes_one_referral(mod, sample_ics):
    """The losers of the race on the message id get the winner's acknowledgement (a replay)."""
    import threading

    from fastapi.testclient import TestClient

    from ipmo.security.users import DEMO_PASSWORD

    clients = []
    for _ in range(4):
        c = TestClient(mod.app)
        sign_in(c, "nhs111", DEMO_PASSWORD)
        clients.append(c)
    for _ in range(5):
        body = message(receiver="FA001")
        start, replies = threading.Barrier(len(clients)), []

        def send(client, body=body, start=start, replies=replies):
            start.wait()
            replies.append(post(client, body))

        threads = [threading.Thread(target=send, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.status_code for r in replies] == [200] * 4, [r.text for r in replies]
        refs = {r.json()["entry"][1]["resource"]["identifier"][0]["value"] for r in replies}
        assert len(refs) == 1
        assert sum(r.headers.get("x-idempotent-replay") == "true" for r in replies) == 3
    with session_scope(sample_ics) as s:
        assert s.scalar(select(func.count()).select_from(Referral)) == 5
    for c in clients:
        c.close()
