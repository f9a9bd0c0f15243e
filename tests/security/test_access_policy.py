"""The one access policy (issue 12), and the holes it closes, role × route.

- one predicate per relationship decides one patient AND filters lists: they always agree;
- a number not in this ICS and a patient the user is not related to get the same status, the same
  body and the same audit entry (no registration probing);
- sending a referral (API, form or $process-message) gives the SENDER no access to the record;
  the receiving pharmacy gets it while the referral is open; a sender without a relationship must
  state a reason; a DMS referral needs an admission to the sender's trust.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.patients.models import Patient
from ipmo.referrals.message_builder import build_referral_message
from ipmo.referrals.models import (
    OutboxMessage,
    OutcomeNotice,
    ReceivedMessage,
    Referral,
    ReferralEvent,
)
from ipmo.security.models import AuditEvent, User
from ipmo.security.policy import relationship_for, visible_patients_filter
from ipmo.security.principal import Principal
from ipmo.security.tokens import issue_token
from ipmo.security.users import DEMO_PASSWORD, DEMO_USERS
from ipmo.store import session_scope

ADA = "9990000018"  # A10001 (PCN U10001), nominated FA001, care home VM001
BERT = "9990000026"  # A10001, nominated FA002
CARA = "9990000034"  # A10002 (PCN U10001), nominated FA001
DEV = "9990000042"  # A20001 (PCN U20001), nominated FB001, admitted to RXX
EVE = "9990000050"  # A20001, no nomination
UNKNOWN = "9990000069"  # valid Modulus 11, not in this ICS
SECRET = "k"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# role → (a patient it has no relationship with, a service it may send)
UNRELATED = {
    "nhs111": (ADA, "urgent-repeat-supply"),
    "gp": (DEV, "pharmacy-first"),  # GP at A10001
    "pcn.pharmacist": (EVE, "pharmacy-first"),  # PCN U10001
    "hospital.pharmacist": (ADA, "discharge-medicines-service"),  # RXX; Ada never admitted
    "community.pharmacist": (BERT, "pharmacy-first"),  # FA001; a pharmacy may not send this
}
ROUTES = ("api", "form", "message")


class App:
    def __init__(self, tmp):
        from ipmo.config import Settings
        from ipmo.security.users import seed_demo_users
        from ipmo.store import create_store_engine, init_store
        from ipmo.synth.sample import seed_sample_ics
        from ipmo.web.app import create_app

        self.engine = create_store_engine(f"sqlite:///{tmp / 'store.sqlite3'}")
        init_store(self.engine)
        with session_scope(self.engine) as s:
            seed_sample_ics(s)
            seed_demo_users(s)
        self.app = create_app(
            self.engine, Settings(data_dir=tmp, database_url="sqlite://", secret_key=SECRET)
        )
        self.clients: dict[str, TestClient] = {}

    def client(self, username: str) -> TestClient:
        """Signed in with a session cookie (people's pages and the JSON API)."""
        from tests.web_session import sign_in

        if username not in self.clients:
            c = TestClient(self.app)
            r = sign_in(c, username, DEMO_PASSWORD)  # the form's CSRF token, then the session's
            assert r.status_code == 303
            self.clients[username] = c
        return self.clients[username]

    def system(self, username: str) -> TestClient:
        """A sending system: a bearer token of the user (ADR 0005)."""
        with session_scope(self.engine) as s:
            user = s.scalar(select(User).where(User.username == username))
            token = issue_token(SECRET, user.id, user.token_generation)
        return TestClient(self.app, headers={"Authorization": f"Bearer {token}"})

    def audit_after(self, seq: int) -> list[AuditEvent]:
        with session_scope(self.engine) as s:
            rows = s.scalars(
                select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
            ).all()
            s.expunge_all()
            return rows

    def audit_mark(self) -> int:
        with session_scope(self.engine) as s:
            return s.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))

    def count(self, model) -> int:
        with session_scope(self.engine) as s:
            return s.scalar(select(func.count()).select_from(model))


@pytest.fixture(scope="module")
def ics(tmp_path_factory):
    app = App(tmp_path_factory.mktemp("policy"))
    with session_scope(app.engine) as s:  # open round the clock: tests must not depend on it
        s.execute(
            update(Organisation)
            .where(Organisation.kind == OrgKind.PHARMACY)
            .values(opening_hours={d: [["00:00", "00:00"]] for d in DAYS})
        )
    yield app
    for c in app.clients.values():
        c.close()
    app.engine.dispose()


@pytest.fixture
def world(ics):
    yield ics
    with session_scope(ics.engine) as s:
        for model in (OutcomeNotice, OutboxMessage, ReceivedMessage, ReferralEvent):
            s.execute(delete(model))
        s.execute(delete(Referral).where(Referral.parent_id.is_not(None)))
        s.execute(delete(Referral))


def form_fields(page: str) -> dict[str, str]:
    """Hidden inputs of a form (e.g. a CSRF token, if the form carries one)."""
    return dict(
        re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)
    )


def send(world: App, username: str, route: str, nhs: str, service: str, reason: str | None):
    """Refer the patient through one route; returns (status, referral reference or None)."""
    if route == "api":
        r = world.client(username).post(
            "/api/referrals",
            json={"service": service, "nhs_number": nhs, "no_relationship_reason": reason},
        )
        return r.status_code, (r.json().get("reference") if r.status_code == 201 else None)
    if route == "form":
        c = world.client(username)
        fields = form_fields(c.get("/referrals/new").text)
        fields.update(
            {
                "service": service,
                "nhs_number": nhs,
                "no_relationship_reason": reason or "",
                "summary": "Sore throat for three days",  # the form asks for the narrative
            }
        )
        r = c.post("/referrals/new", data=fields, follow_redirects=False)
        where = r.headers.get("location", "")
        reference = where.split("?")[0].rsplit("/", 1)[-1]  # /referrals/R-…?done=sent
        return r.status_code, (reference if r.status_code == 303 else None)
    body = build_referral_message(
        message_id=str(uuid.uuid4()),
        service=service,
        patient_name="Caller",
        nhs_number=nhs,
        no_relationship_reason=reason,
    )
    r = world.system(username).post(
        "/fhir/R4/$process-message",
        content=json.dumps(body),
        headers={"content-type": "application/fhir+json"},
    )
    if r.status_code != 200:
        return r.status_code, None
    return 200, r.json()["entry"][1]["resource"]["identifier"][0]["value"]


def principal(session, username: str) -> Principal:
    return Principal.from_user(session.scalar(select(User).where(User.username == username)))


# ---- one predicate ----------------------------------------------------------------------------


def test_one_patient_and_the_list_filter_always_agree(world):
    """For every demo user and every patient: the relationship that opens one record exists
    exactly when the list filter keeps that patient (they are the same expressions)."""
    checked = 0
    with session_scope(world.engine) as s:
        patients = s.scalars(select(Patient)).all()
        for username, *_ in DEMO_USERS:
            p = principal(s, username)
            listed = set(
                s.scalars(select(Patient.nhs_number).where(visible_patients_filter(p))).all()
            )
            # the list filter without the relationships nobody holds keeps the same patients
            pruned = select(Patient.nhs_number).where(visible_patients_filter(p, s))
            assert set(s.scalars(pruned).all()) == listed, username
            for patient in patients:
                related = relationship_for(s, p, patient) is not None
                assert related == (patient.nhs_number in listed), (username, patient.nhs_number)
                checked += 1
    assert checked == len(DEMO_USERS) * 5


def test_a_list_leaves_out_only_relationships_nobody_holds(world):
    """The pruned list filter asks each relationship's ``anyone`` test once: an organisation with
    no admissions, consultations or open referrals received loses those sub-queries; a trust
    with admissions keeps its admission rule."""
    from ipmo.security.policy import held_by_someone, relationships

    with session_scope(world.engine) as s:
        pcn = {r.name for r in held_by_someone(s, relationships(), principal(s, "pcn.pharmacist"))}
        trust = {
            r.name for r in held_by_someone(s, relationships(), principal(s, "hospital.pharmacist"))
        }
    assert "admission" not in pcn and "open-referral" not in pcn
    assert "pharmacy-first-consultation" not in pcn
    assert {"registration", "registration-pcn", "nomination"} <= pcn  # no anyone test: kept
    assert "admission" in trust
    assert "eps-prescription" not in pcn and "eps-prescription" not in trust


def test_an_organisation_that_prescribes_keeps_the_eps_relationship_in_its_lists(world):
    """The EPS relationship's ``anyone`` test holds for the prescribing practice and for the
    dispensing pharmacy of a stored prescription, and then the pruned list still shows the patient
    whom only that prescription relates them to."""
    from ipmo.prescriptions.models import Prescription
    from ipmo.security.policy import held_by_someone, relationships

    with session_scope(world.engine) as s:
        gp, pharmacy = principal(s, "gp"), principal(s, "community.pharmacist")
        prescription = Prescription(
            prescription_id="EPSREL-1", nhs_number=DEV, status_code="0006",
            prescriber_org=gp.org_code, dispenser_org=pharmacy.org_code,
        )  # fmt: skip
        s.add(prescription)
        s.flush()
        try:
            for p in (gp, pharmacy):
                assert "eps-prescription" in {
                    r.name for r in held_by_someone(s, relationships(), p)
                }
                pruned = select(Patient.nhs_number).where(visible_patients_filter(p, s))
                assert DEV in set(s.scalars(pruned).all()), p.username
        finally:
            s.delete(prescription)


@pytest.mark.parametrize(
    "username, expected",
    [
        ("gp", {ADA: "registration", BERT: "registration"}),
        (
            "pcn.pharmacist",
            {ADA: "registration-pcn", BERT: "registration-pcn", CARA: "registration-pcn"},
        ),
        ("community.pharmacist", {ADA: "nomination", CARA: "nomination"}),
        ("hospital.pharmacist", {DEV: "admission"}),
        ("carehome", {ADA: "care-home"}),
        ("nhs111", {}),
        ("analyst", {}),
        ("safety.officer", {n: "ics-role" for n in (ADA, BERT, CARA, DEV, EVE)}),
    ],
)
def test_each_relationship_names_the_patients_it_covers(world, username, expected):
    with session_scope(world.engine) as s:
        p = principal(s, username)
        found = {
            patient.nhs_number: relationship_for(s, p, patient)
            for patient in s.scalars(select(Patient))
        }
    assert {k: v for k, v in found.items() if v is not None} == expected


# ---- unknown and unrelated get one answer ------------------------------------------------------


@pytest.mark.parametrize("username", sorted(UNRELATED))
@pytest.mark.parametrize(
    "path", ["/api/patients/{}", "/api/records/patients/{}", "/patients/{}", "/records/patients/{}"]
)
def test_unknown_and_unrelated_patients_get_the_same_answer_and_audit(world, username, path):
    unrelated, _ = UNRELATED[username]
    c = world.client(username)
    mark = world.audit_mark()
    a = c.get(path.format(unrelated))
    after_a = world.audit_mark()
    b = c.get(path.format(UNKNOWN))
    assert a.status_code == b.status_code == 403
    assert a.text == b.text  # nothing in the body says which one is registered here
    (ea,) = world.audit_after(mark)[: after_a - mark]
    (eb,) = world.audit_after(after_a)
    assert (ea.patient_nhs_number, eb.patient_nhs_number) == (unrelated, UNKNOWN)
    same = ("username", "action", "outcome", "reason", "detail")
    assert [getattr(ea, f) for f in same] == [getattr(eb, f) for f in same]
    assert ea.outcome == "refused" and ea.reason == "no-legitimate-relationship"


# ---- a referral gives the receiver access, never the sender ----------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("username", sorted(UNRELATED))
def test_sending_a_referral_never_opens_the_record_for_the_sender(world, username, route):
    nhs, service = UNRELATED[username]
    c = world.client(username)
    unknown_answer = c.get(f"/api/patients/{UNKNOWN}")
    status, reference = send(world, username, route, nhs, service, "NHS 111 caller")
    if username in ("nhs111", "gp", "pcn.pharmacist"):
        assert status in (200, 201, 303) and reference, status  # the referral is made …
        sent = c.get(f"/api/referrals/{reference}")
        assert sent.status_code == 200 and sent.json()["status"] == "requested"  # … and tracked
    else:
        # DMS for a patient never admitted to the trust; a pharmacy cannot send this service
        assert status == 422 and reference is None
        assert world.count(Referral) == 0
    for path in ("/api/patients/{}", "/api/records/patients/{}"):
        r = c.get(path.format(nhs))
        assert r.status_code == 403 and r.text == c.get(path.format(UNKNOWN)).text
    assert c.get(f"/api/patients/{nhs}").text == unknown_answer.text


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("username", ["gp", "pcn.pharmacist"])
def test_a_sender_without_a_relationship_must_state_why(world, username, route):
    nhs, service = UNRELATED[username]
    status, _ = send(world, username, route, nhs, service, None)
    assert status == 422
    unknown_status, _ = send(world, username, route, UNKNOWN, service, None)
    assert unknown_status == 422  # the same answer for a number not in this ICS
    assert world.count(Referral) == 0
    mark = world.audit_mark()
    status, reference = send(world, username, route, nhs, service, "Temporary resident")
    assert status in (200, 201, 303)
    (created,) = [e for e in world.audit_after(mark) if e.action == "referral.created"]
    assert created.reason == "no-relationship-stated-reason"
    assert created.detail["stated_reason"] == "Temporary resident"


def test_nhs111_messages_are_recorded_as_111_callers(world):
    status, reference = send(world, "nhs111", "message", ADA, "urgent-repeat-supply", None)
    assert status == 200
    with session_scope(world.engine) as s:
        ref = s.scalar(select(Referral).where(Referral.reference == reference))
        assert ref.no_relationship_reason == "NHS 111 caller"


@pytest.mark.parametrize("route", ROUTES)
def test_a_related_sender_needs_no_reason_and_keeps_its_access(world, route):
    status, _ = send(world, "gp", route, ADA, "pharmacy-first", None)  # Ada: the GP's patient
    assert status in (200, 201, 303)
    assert world.client("gp").get(f"/api/patients/{ADA}").status_code == 200


def test_dms_from_the_admitting_trust_is_accepted(world):
    status, _ = send(world, "hospital.pharmacist", "api", DEV, "discharge-medicines-service", None)
    assert status == 201  # Dev was admitted to RXX


@pytest.mark.parametrize("route", ROUTES)
def test_the_receiving_pharmacy_gets_the_record_while_the_referral_is_open(world, route):
    # Eve has no nomination: FA001 is unrelated until a referral is sent to it
    pharmacist = world.client("community.pharmacist")
    assert pharmacist.get(f"/api/patients/{EVE}").status_code == 403
    if route == "message":
        body = build_referral_message(
            message_id=str(uuid.uuid4()),
            service="pharmacy-first",
            patient_name="Eve Wilson",
            nhs_number=EVE,
            receiver="FA001",
        )
        r = world.system("nhs111").post(
            "/fhir/R4/$process-message",
            content=json.dumps(body),
            headers={"content-type": "application/fhir+json"},
        )
        assert r.status_code == 200, r.text
        reference = r.json()["entry"][1]["resource"]["identifier"][0]["value"]
    else:
        r = world.client("nhs111").post(
            "/api/referrals",
            json={
                "service": "pharmacy-first",
                "nhs_number": EVE,
                "patient_choice": "FA001",
                "no_relationship_reason": "NHS 111 caller",
            },
        )
        assert r.status_code == 201, r.text
        reference = r.json()["reference"]
    assert pharmacist.get(f"/api/patients/{EVE}").status_code == 200
    assert world.client("nhs111").get(f"/api/patients/{EVE}").status_code == 403
    r = world.client("nhs111").post(f"/api/referrals/{reference}/cancel", json={})
    assert r.status_code == 200, r.text
    assert pharmacist.get(f"/api/patients/{EVE}").status_code == 403  # closed: access ends


@pytest.mark.parametrize("route", ROUTES)
def test_the_sender_sees_the_referral_it_sent_not_the_record(world, route):
    """NHS 111 refers Ada (no relationship, a stated reason) giving her NHS number only (the
    message route also a caller's name): the store fills in her name, birth date and practice
    from the record for the pharmacy, but the sender's API answers, list and pages show only
    what it sent; the receiving pharmacy sees the record's name."""
    status, reference = send(world, "nhs111", route, ADA, "urgent-repeat-supply", "NHS 111 caller")
    assert status in (200, 201, 303) and reference
    sent_name = "Caller" if route == "message" else "(name not given)"
    sender = world.client("nhs111")
    one = sender.get(f"/api/referrals/{reference}").json()
    assert (one["patient_name"], one["practice"]) == (sent_name, None)
    (listed,) = [r for r in sender.get("/api/referrals").json() if r["reference"] == reference]
    assert (listed["patient_name"], listed["practice"]) == (sent_name, None)
    for page in (f"/referrals/{reference}", "/referrals", f"/referrals/{reference}/cancel"):
        text = sender.get(page).text
        assert reference in text and sent_name in text.replace("&#39;", "'"), page
        assert "Ada Smith" not in text and "1940" not in text and "A10001" not in text, page
    receiver = world.client("community.pharmacist")  # FA001, Ada's nominated pharmacy
    theirs = receiver.get(f"/api/referrals/{reference}").json()
    assert theirs["patient_name"] == ("Caller" if route == "message" else "Ada Smith")
    assert theirs["practice"] == "A10001"
    assert "1 March 1940" in receiver.get(f"/referrals/{reference}").text


def test_a_sender_with_its_own_relationship_sees_what_the_record_filled_in(world):
    status, reference = send(world, "gp", "api", ADA, "pharmacy-first", None)  # the GP's patient
    assert status == 201
    gp = world.client("gp")
    assert gp.get(f"/api/referrals/{reference}").json()["patient_name"] == "Ada Smith"
    assert "1 March 1940" in gp.get(f"/referrals/{reference}").text


# ---- $process-message: the token decides the sender -------------------------------------------


def _message_with_sender(sender: str, **kw) -> dict:
    return build_referral_message(
        message_id=str(uuid.uuid4()),
        service="urgent-repeat-supply",
        patient_name="Ada Smith",
        nhs_number=ADA,
        sender=sender,
        **kw,
    )


@pytest.mark.parametrize(
    "sender, status, code",
    [("FA001", 403, "forbidden"), ("A10001", 403, "forbidden"), ("ZZZ99", 422, "not-found")],
)
def test_a_message_naming_another_or_an_unknown_sender_is_refused(world, sender, status, code):
    system = world.system("nhs111")
    r = system.post(
        "/fhir/R4/$process-message",
        content=json.dumps(_message_with_sender(sender)),
        headers={"content-type": "application/fhir+json"},
    )
    assert r.status_code == status, r.text
    issue = r.json()["issue"][0]
    assert r.json()["resourceType"] == "OperationOutcome"
    assert issue["code"] == code and issue["expression"] == ["MessageHeader.sender"]
    assert (world.count(Referral), world.count(ReceivedMessage)) == (0, 0)
    # naming the pharmacy as sender gave it nothing
    assert world.client("community.pharmacist").get(f"/api/patients/{BERT}").status_code == 403


def test_a_message_naming_its_own_organisation_as_sender_is_taken(world):
    r = world.system("nhs111").post(
        "/fhir/R4/$process-message",
        content=json.dumps(_message_with_sender("NHS111")),
        headers={"content-type": "application/fhir+json"},
    )
    assert r.status_code == 200, r.text
    with session_scope(world.engine) as s:
        assert s.scalar(select(Referral.sender_org_code)) == "NHS111"


def test_a_message_with_two_patients_is_refused(world):
    body = _message_with_sender("NHS111")
    body["entry"].append(
        {
            "fullUrl": "urn:uuid:patient-2",
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": DEV}],
                "name": [{"text": "Dev Patel"}],
                "birthDate": date(1961, 1, 30).isoformat(),
            },
        }
    )
    r = world.system("nhs111").post(
        "/fhir/R4/$process-message",
        content=json.dumps(body),
        headers={"content-type": "application/fhir+json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry"]
    assert world.count(Referral) == 0


def test_a_message_id_is_the_senders_own(world):
    """Another sender reusing a message id gets its own referral stored (never the first
    sender's Task, never "ok" while dropping it), and the reuse is audited."""
    first = build_referral_message(
        message_id="msg-1", service="pharmacy-first", patient_name="Ada Smith", nhs_number=ADA
    )
    ctype = {"content-type": "application/fhir+json"}
    r111 = world.system("nhs111").post(
        "/fhir/R4/$process-message", content=json.dumps(first), headers=ctype
    )
    assert r111.status_code == 200
    mark = world.audit_mark()
    rgp = world.system("gp").post(
        "/fhir/R4/$process-message", content=json.dumps(first), headers=ctype
    )
    assert rgp.status_code == 200 and "X-Idempotent-Replay" not in rgp.headers
    ref_111 = r111.json()["entry"][1]["resource"]["identifier"][0]["value"]
    ref_gp = rgp.json()["entry"][1]["resource"]["identifier"][0]["value"]
    assert ref_111 != ref_gp
    assert world.count(Referral) == 2
    actions = [e.action for e in world.audit_after(mark)]
    assert "referral.message.id-reused" in actions and "referral.created" in actions
    with session_scope(world.engine) as s:
        senders = dict(s.execute(select(Referral.reference, Referral.sender_org_code)).all())
    assert senders == {ref_111: "NHS111", ref_gp: "A10001"}
    again = world.system("nhs111").post(
        "/fhir/R4/$process-message", content=json.dumps(first), headers=ctype
    )
    assert again.headers["X-Idempotent-Replay"] == "true"
    assert again.json()["entry"][1]["resource"]["identifier"][0]["value"] == ref_111
    assert world.audit_after(world.audit_mark() - 1)[0].action == "referral.message.replay"
