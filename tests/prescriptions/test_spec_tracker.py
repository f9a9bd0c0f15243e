"""The tracker API answers in the Clinical Prescription Tracker's shape: for each situation
covered (created, dispensed, cancelled) the same resource types, extensions and status codes as
NHS England's example for that situation (``tracker_api/examples``); search by prescription ID
*or* NHS number; access through the patient relationship, audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ipmo.prescriptions import ingest_message
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

ADA = "9990000018"  # sample ICS: nominated pharmacy FA001 (the community pharmacist's)
DEV = "9990000042"  # nominated FB001: no relationship with the FA001 pharmacist


def _send(engine, message):
    with session_scope(engine) as s:
        ingest_message(s, json.dumps(message))


def _example(shared_dir, name):
    path = shared_dir / "fhir" / "eps" / "tracker_api" / "examples" / "clinicalView" / name
    return json.loads(path.read_text())


def _by_type(bundle, rtype):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def _ext_urls(res):
    return {e["url"] for e in res.get("extension", [])}


def _status(group):
    ext = next(e for e in group["extension"] if e["url"].endswith("PrescriptionStatusHistory"))
    return next(x for x in ext["extension"] if x["url"] == "status")["valueCoding"]


def _item_statuses(bundle):
    out = []
    for req in _by_type(bundle, "MedicationRequest"):
        ext = next(e for e in req["extension"] if e["url"].endswith("DispensingInformation"))
        coding = next(x for x in ext["extension"] if x["url"] == "dispenseStatus")["valueCoding"]
        out.append((req["status"], coding["code"], coding["display"]))
    return sorted(set(out))


def _ext_list(res):
    return sorted(e["url"] for e in res.get("extension", []))


def _pending(res):
    ext = next(e for e in res["extension"] if e["url"].endswith("PendingCancellation"))
    return {x["url"]: x["valueBoolean"] for x in ext["extension"]}


def _items(bundle):
    """Per item: request status, dispense status, pending cancellation, statusReason code."""
    out = []
    for req in _by_type(bundle, "MedicationRequest"):
        reason = (req.get("statusReason") or {"coding": [{}]})["coding"][0].get("code")
        pending = tuple(sorted(_pending(req).items()))
        out.append((_item_statuses({"entry": [{"resource": req}]})[0], pending, reason))
    return sorted(out, key=repr)


def _same_shape(ours, theirs):
    """Our answer uses the national example's resource types, the same RequestGroup intent,
    extensions (each as often), actions, status code and pending-cancellation flags, and for the
    items the same statuses, extensions, flags and reasons (it may carry fewer resources: no
    PractitionerRole / MedicationDispense, and fewer items when the example has more)."""
    assert {e["resource"]["resourceType"] for e in ours["entry"]} <= {
        e["resource"]["resourceType"] for e in theirs["entry"]
    }
    our_group, their_group = _by_type(ours, "RequestGroup")[0], _by_type(theirs, "RequestGroup")[0]
    assert our_group["status"] == their_group["status"] == "active"
    assert our_group["intent"] == their_group["intent"]
    assert _ext_list(our_group) == _ext_list(their_group)
    assert [a["title"] for a in our_group["action"]] == [a["title"] for a in their_group["action"]]
    assert _status(our_group) == _status(their_group)
    assert _pending(our_group) == _pending(their_group)
    for req in _by_type(ours, "MedicationRequest"):
        assert _ext_urls(req) == _ext_urls(_by_type(theirs, "MedicationRequest")[0])
    assert _item_statuses(ours) == _item_statuses(theirs)
    assert set(_items(ours)) == set(_items(theirs))


@pytest.fixture
def tracker(sample_ics, client_as, eps):
    order = eps.with_nhs_number(eps.load(eps.ORDER_RP), ADA)  # 24F5DA-A83008-7EFE6Z, 4 items
    for req in eps.resources(order, "MedicationRequest"):  # the examples' situation: acute
        req["courseOfTherapyType"]["coding"][0]["code"] = "acute"
    _send(sample_ics, order)
    return order, client_as("community.pharmacist")


def test_spec_created_matches_the_national_example(tracker, shared_dir):
    _, client = tracker
    r = client.get("/api/prescriptions", params={"prescription_id": "24F5DA-A83008-7EFE6Z"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/fhir+json"
    _same_shape(r.json(), _example(shared_dir, "200_AcuteWithMultipleItems_Created.json"))


def test_spec_dispensed_matches_the_national_example(tracker, sample_ics, shared_dir, eps):
    order, client = tracker
    for i in range(4):
        msg = eps.dispense_for(order, i, "0001")
        msg["identifier"]["value"] = f"dispense-{i}"
        _send(sample_ics, msg)
    r = client.get("/api/prescriptions", params={"prescription_id": "24F5DA-A83008-7EFE6Z"})
    _same_shape(r.json(), _example(shared_dir, "200_AcuteWithMultipleItems_Dispensed.json"))


def test_spec_cancelled_with_reason_matches_the_national_example(
    sample_ics, client_as, shared_dir, eps
):
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL_SEND), ADA))
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL), ADA))
    r = client_as("community.pharmacist").get(
        "/api/prescriptions", params={"prescription_id": "58E241-A83008-4E2F8R"}
    )
    ours = r.json()
    theirs = _example(shared_dir, "200_AcuteWithMultipleItems_CancelledWithReason.json")
    _same_shape(ours, theirs)
    reason = _by_type(ours, "MedicationRequest")[0]["statusReason"]["coding"][0]
    assert reason == _by_type(theirs, "MedicationRequest")[0]["statusReason"]["coding"][0]


def test_spec_search_by_nhs_number_has_the_prescription_search_shape(tracker, shared_dir):
    _, client = tracker
    body = client.get("/api/prescriptions", params={"nhs_number": ADA}).json()
    path = shared_dir / "fhir/eps/tracker_api/examples/prescriptionSearch/200_WithSingleAcute.json"
    theirs = json.loads(path.read_text())
    assert body["type"] == theirs["type"] == "searchset" and body["total"] == 1
    assert [(e["resource"]["resourceType"], e["search"]["mode"]) for e in body["entry"]] == [
        (e["resource"]["resourceType"], e["search"]["mode"]) for e in theirs["entry"]
    ]
    ours_group, their_group = body["entry"][1]["resource"], theirs["entry"][1]["resource"]
    assert _ext_urls(ours_group) == _ext_urls(their_group)
    assert _status(ours_group) == _status(their_group)  # 0001 To be Dispensed
    assert body["entry"][0]["resource"]["identifier"][0]["value"] == ADA


def test_both_or_neither_search_parameter_is_400(tracker):
    _, client = tracker
    for params in ({}, {"prescription_id": "24F5DA-A83008-7EFE6Z", "nhs_number": ADA}):
        r = client.get("/api/prescriptions", params=params)
        assert r.status_code == 400
        assert r.json()["resourceType"] == "OperationOutcome"


def test_invalid_prescription_id_or_nhs_number_is_400_naming_it(tracker):
    _, client = tracker
    r = client.get("/api/prescriptions", params={"prescription_id": "24F5DA-A83008-7EFE6Y"})
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["prescription_id"]
    r = client.get("/api/prescriptions", params={"nhs_number": "9990000019"})
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["nhs_number"]


def test_unknown_prescription_id_is_an_empty_searchset(tracker):
    _, client = tracker
    r = client.get("/api/prescriptions", params={"prescription_id": "E3E6FA-A83008-41F09Y"})
    assert r.json() == {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}


def test_no_relationship_is_refused_and_audited(sample_ics, client_as, eps):
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.ORDER_RP), DEV))
    client = client_as("community.pharmacist")
    by_id = client.get("/api/prescriptions", params={"prescription_id": "24F5DA-A83008-7EFE6Z"})
    by_number = client.get("/api/prescriptions", params={"nhs_number": DEV})
    assert by_id.status_code == by_number.status_code == 403
    assert "24F5DA" not in by_id.text
    with session_scope(sample_ics) as s:
        outcomes = s.scalars(
            select(AuditEvent.outcome).where(AuditEvent.action == "prescriptions.track")
        ).all()
    assert outcomes == ["refused", "refused"]


def test_permitted_search_is_audited_and_needs_the_activity(tracker, sample_ics, client_as):
    _, client = tracker
    assert client.get("/api/prescriptions", params={"nhs_number": ADA}).status_code == 200
    with session_scope(sample_ics) as s:
        rows = s.execute(
            select(AuditEvent.outcome, AuditEvent.patient_nhs_number).where(
                AuditEvent.action == "prescriptions.track"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("permitted", ADA)]
    analyst = client_as("analyst")  # no record.view: no patient data
    assert analyst.get("/api/prescriptions", params={"nhs_number": ADA}).status_code == 403


def _dispense_items(sample_ics, order, eps, codes):
    for i, code in enumerate(codes):
        msg = eps.dispense_for(order, i, code)
        msg["identifier"]["value"] = f"dispense-{i}"
        _send(sample_ics, msg)


def test_spec_partially_dispensed_matches_the_national_example(
    tracker, sample_ics, shared_dir, eps
):
    order, client = tracker
    _dispense_items(sample_ics, order, eps, ["0001", "0001", "0004", "0004"])  # two owing
    r = client.get("/api/prescriptions", params={"prescription_id": "24F5DA-A83008-7EFE6Z"})
    theirs = _example(shared_dir, "200_AcuteWithMultipleItems_PartiallyDispensed.json")
    _same_shape(r.json(), theirs)  # 0003 With Dispenser - Active


def test_spec_item_not_dispensed_matches_the_national_example(tracker, sample_ics, shared_dir, eps):
    order, client = tracker
    _dispense_items(sample_ics, order, eps, ["0002", "0004", "0004", "0004"])
    r = client.get("/api/prescriptions", params={"prescription_id": "24F5DA-A83008-7EFE6Z"})
    theirs = _example(shared_dir, "200_AcuteWithMultipleItems_ItemNotDispensedWithReason.json")
    _same_shape(r.json(), theirs)


PID = "24F5DA-A83008-7EFE6Z"
CANCEL_PID = "58E241-A83008-4E2F8R"


def _clinical(client, pid=PID):
    r = client.get("/api/prescriptions", params={"prescription_id": pid})
    assert r.status_code == 200
    return r.json()


def _transition_titles(bundle):
    group = _by_type(bundle, "RequestGroup")[0]
    return [a["title"] for a in group["action"][1]["action"]]


def test_spec_pending_cancellation_matches_the_national_example(
    sample_ics, client_as, shared_dir, eps
):
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL_SEND), ADA))
    _send(sample_ics, eps.release_for(CANCEL_PID))
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL), ADA))
    ours = _clinical(client_as("community.pharmacist"), CANCEL_PID)
    theirs = _example(shared_dir, "200_AcuteWithMultipleItems_PendingCancellationWithReason.json")
    _same_shape(ours, theirs)  # 0002 With Dispenser, prescriptionPendingCancellation true
    assert _transition_titles(ours) == [
        "Prescription upload successful",
        "Release Request successful",
        "Prescription/item was not cancelled. With dispenser. Marked for cancellation",
    ]


def test_spec_item_pending_cancellation_keeps_the_item_with_the_dispenser(
    sample_ics, client_as, eps
):
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL_SEND), ADA))
    _send(sample_ics, eps.release_for(CANCEL_PID))
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL), ADA))
    ours = _clinical(client_as("community.pharmacist"), CANCEL_PID)
    (state,) = {item for item in _items(ours)}
    assert state == (
        ("active", "0008", "Item with dispenser"),
        (("lineItemPendingCancellation", True),),
        "0001",
    )


def _cancel_item(eps, order, index):
    """The example cancellation, pointed at item ``index`` of ``order``."""
    cancel = eps.with_nhs_number(eps.load(eps.CANCEL), ADA)
    target = eps.resources(order, "MedicationRequest")[index]
    req = eps.resources(cancel, "MedicationRequest")[0]
    req["groupIdentifier"] = target["groupIdentifier"]
    req["identifier"] = target["identifier"]
    cancel["identifier"]["value"] = f"cancel-{index}"
    return cancel


def test_spec_item_cancelled_with_reason_matches_the_national_example(
    tracker, sample_ics, shared_dir, eps
):
    order, client = tracker
    _send(sample_ics, _cancel_item(eps, order, 0))
    ours = _clinical(client)
    theirs = _example(shared_dir, "200_AcuteWithMultipleItems_ItemCancelledWithReason.json")
    _same_shape(ours, theirs)  # still 0001: one item cancelled (Prescribing Error), 3 to go


def test_spec_cancelling_every_item_cancels_the_prescription(tracker, sample_ics, shared_dir, eps):
    order, client = tracker
    for i in range(4):
        _send(sample_ics, _cancel_item(eps, order, i))
    theirs = _example(shared_dir, "200_AcuteWithMultipleItems_CancelledWithReason.json")
    _same_shape(_clinical(client), theirs)  # 0005 Cancelled, the reason on the prescription


def test_spec_not_dispensed_with_reason_matches_the_national_example(
    tracker, sample_ics, shared_dir, eps
):
    order, client = tracker
    for i in range(4):
        msg = eps.dispense_for(order, i, "0002")
        md = eps.resources(msg, "MedicationDispense")[0]
        md["statusReasonCodeableConcept"] = {
            "coding": [
                {
                    "system": "https://fhir.nhs.uk/CodeSystem/medicationdispense-status-reason",
                    "code": "0002",
                    "display": "Clinically unsuitable",
                }
            ]
        }
        msg["identifier"]["value"] = f"dispense-{i}"
        _send(sample_ics, msg)
    ours = _clinical(client)
    theirs = _example(shared_dir, "200_AcuteWithMultipleItems_NotDispensedWithReason.json")
    _same_shape(ours, theirs)  # 0007 Not Dispensed with the prescription's reason
    group = _by_type(ours, "RequestGroup")[0]
    reason = next(e for e in group["extension"] if e["url"].endswith("NonDispensingReason"))
    assert reason["valueCoding"]["display"] == "Clinically unsuitable"


ERD_ORDER = (
    "primary-care_repeat-dispensing_nominated-pharmacy_medical-prescriber_author_gmc_"
    "responsible-party_medication-list_din_1-Process-Request-Send-200_OK.json"
)


def _erd(sample_ics, eps):
    order = eps.with_nhs_number(eps.load(ERD_ORDER), ADA)
    _send(sample_ics, order)
    return order, eps.resources(order, "MedicationRequest")[0]["groupIdentifier"]["value"]


def test_spec_repeat_dispensing_created_and_dispensed_match_the_national_examples(
    sample_ics, client_as, shared_dir, eps
):
    order, pid = _erd(sample_ics, eps)
    client = client_as("community.pharmacist")
    _same_shape(_clinical(client, pid), _example(shared_dir, "200_ErdWithSingleItem_Created.json"))
    for i in range(len(eps.resources(order, "MedicationRequest"))):
        msg = eps.dispense_for(order, i, "0001")
        msg["identifier"]["value"] = f"erd-dispense-{i}"
        _send(sample_ics, msg)
    theirs = _example(shared_dir, "200_ErdWithSingleItem_Dispensed.json")
    _same_shape(_clinical(client, pid), theirs)


def test_spec_repeat_dispensing_issues_are_grouped_like_the_national_search(
    sample_ics, client_as, shared_dir, eps
):
    _, pid = _erd(sample_ics, eps)
    body = (
        client_as("community.pharmacist")
        .get("/api/prescriptions", params={"nhs_number": ADA})
        .json()
    )
    path = shared_dir / "fhir/eps/tracker_api/examples/prescriptionSearch/200_With7InstanceErd.json"
    theirs = json.loads(path.read_text())
    ours_groups, their_groups = _by_type(body, "RequestGroup"), _by_type(theirs, "RequestGroup")

    def shape(groups):
        return [(g["intent"], _status(g)["code"], _ext_list(g), _pending(g)) for g in groups]

    # the message authorises 5 issues (the national example 7): issue 1 to be dispensed, the
    # rest "Repeat Dispense future instance", each with its RepeatInformation
    assert shape(ours_groups) == shape(their_groups)[:5] and len(ours_groups) == 5
    issued = [
        next(e for e in g["extension"] if e["url"].endswith("RepeatInformation"))["extension"]
        for g in ours_groups
    ]
    assert [i[0]["valueInteger"] for i in issued] == [1, 2, 3, 4, 5]
    assert {g["identifier"][0]["value"] for g in ours_groups} == {pid}
    assert body["total"] == 5


def test_spec_withdrawn_dispense_notification_restores_the_statuses_before_it(
    tracker, sample_ics, eps
):
    order, client = tracker
    _send(sample_ics, eps.release_for(PID))
    first = eps.dispense_for(order, 0, "0003")
    first["identifier"]["value"] = "dn-1"
    second = eps.dispense_for(order, 0, "0001")
    second["identifier"]["value"] = "dn-2"
    _send(sample_ics, first)
    _send(sample_ics, second)
    with pytest.raises(Exception, match="latest dispense notification"):
        _send(sample_ics, eps.withdrawal_for(order, first))
    _send(sample_ics, eps.withdrawal_for(order, second))
    ours = _clinical(client)
    assert _status(_by_type(ours, "RequestGroup")[0])["code"] == "0003"
    assert ("active", "0003", "Item dispensed - partial") in _item_statuses(ours)
    assert _transition_titles(ours)[-1] == "Dispense Withdrawal successful"
