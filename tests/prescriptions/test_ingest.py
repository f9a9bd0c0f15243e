"""EPS messages into the store: created, cancelled, dispensed; replays; refusals change nothing;
a dispense or cancellation before its prescription waits and is applied when it arrives."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from ipmo.prescriptions import ingest_message
from ipmo.prescriptions.ingest import MessageRefused
from ipmo.prescriptions.models import EpsMessage, Prescription, PrescriptionItem
from ipmo.store import session_scope


def _send(engine, message):
    data = json.dumps(message) if isinstance(message, dict) else message
    with session_scope(engine) as s:
        return ingest_message(s, data)


def _counts(engine):
    with session_scope(engine) as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t))
            for t in (Prescription, PrescriptionItem, EpsMessage)
        )


def _prescription(engine, pid):
    with session_scope(engine) as s:
        p = s.scalar(select(Prescription).where(Prescription.prescription_id == pid))
        assert p is not None
        return p.status_code, [(i.line_item_id, i.status_code, i.reason_code) for i in p.items]


def test_order_creates_prescription_to_be_dispensed(any_engine, eps):
    order = eps.load(eps.ORDER_RP)
    result = _send(any_engine, order)
    assert result.outcome == "applied"
    status, items = _prescription(any_engine, "24F5DA-A83008-7EFE6Z")
    assert status == "0001"  # To be Dispensed
    assert len(items) == 4 and {code for _, code, _ in items} == {"0007"}  # Item to be dispensed


def test_replay_changes_nothing_and_a_reused_id_with_other_content_is_refused(engine, eps):
    order = eps.load(eps.ORDER_RP)
    _send(engine, order)
    before = _counts(engine)
    assert _send(engine, order).outcome == "replay"
    other = eps.load(
        "primary-care_acute_nominated-pharmacy_responsible-party-org_3-Process-Request-Send-200_OK.json"
    )  # the NHS examples reuse the message id 46183abc… for different content
    with pytest.raises(MessageRefused, match="same message id") as exc:
        _send(engine, other)
    assert exc.value.outcome()["issue"][0]["expression"] == ["Bundle.identifier"]
    assert _counts(engine) == before


def test_a_message_stored_with_the_former_content_hash_is_still_a_replay(engine, eps):
    """Stores written before the hash moved to orjson (issue 16, speed) hold json.dumps hashes:
    their messages, sent again, are replays (one path at a time and in a batch), and another
    content under the same id is still refused."""
    from ipmo.prescriptions.ingest import ingest_batch
    from ipmo.prescriptions.messages import legacy_digest, parse_message

    order = eps.load(eps.ORDER_RP)
    _send(engine, order)
    parsed = parse_message(json.dumps(order))[0]
    assert legacy_digest(parsed.payload) != parsed.content_hash  # the two hashes differ
    with session_scope(engine) as s:
        row = s.scalar(select(EpsMessage).where(EpsMessage.message_id == parsed.message_id))
        row.content_hash = legacy_digest(parsed.payload)
    before = _counts(engine)
    assert _send(engine, json.dumps(order, indent=1)).outcome == "replay"
    with session_scope(engine) as s:
        assert ingest_batch(s, [json.dumps(order)]).replays == 1
    other = eps.load(
        "primary-care_acute_nominated-pharmacy_responsible-party-org_3-Process-Request-Send-200_OK.json"
    )
    with pytest.raises(MessageRefused, match="same message id"):
        _send(engine, other)
    with session_scope(engine) as s:
        assert ingest_batch(s, [json.dumps(other)]).refused[0][1].endswith("same message id")
    assert _counts(engine) == before


def test_same_message_id_from_another_sender_is_another_message(engine, eps):
    order = eps.load(eps.ORDER_RP)
    _send(engine, order)
    disp = eps.dispense_for(order)
    disp["identifier"]["value"] = order["identifier"]["value"]  # same id, other sender (RBA)
    assert _send(engine, disp).outcome == "applied"


def test_invalid_check_character_is_refused_nothing_written(engine, eps):
    order = eps.load(eps.ORDER_RP)
    for req in eps.resources(order, "MedicationRequest"):
        req["groupIdentifier"]["value"] = "24F5DA-A83008-7EFE6Y"
    with pytest.raises(MessageRefused, match="check character") as exc:
        _send(engine, order)
    issue = exc.value.outcome()["issue"][0]
    assert issue["expression"] == ["MedicationRequest.groupIdentifier.value"]
    assert _counts(engine) == (0, 0, 0)


def test_two_patients_in_one_message_are_refused_nothing_written(engine, eps):
    order = eps.load(eps.ORDER_RP)
    order["entry"].append(
        {"resource": eps.with_nhs_number(eps.resources(order, "Patient")[0], "9990000018")}
    )
    with pytest.raises(MessageRefused, match="2 patients"):
        _send(engine, order)
    assert _counts(engine) == (0, 0, 0)


def test_dispense_for_unknown_item_is_refused_nothing_written(engine, eps):
    order = eps.load(eps.ORDER_RP)
    _send(engine, order)
    disp = eps.dispense_for(order)
    md = eps.resources(disp, "MedicationDispense")[0]
    next(c for c in md["contained"] if c["resourceType"] == "MedicationRequest")["identifier"][0][
        "value"
    ] = "00000000-0000-0000-0000-000000000000"
    before = _counts(engine)
    with pytest.raises(MessageRefused, match="line item") as exc:
        _send(engine, disp)
    assert exc.value.code == "not-found"
    assert _counts(engine) == before
    assert _prescription(engine, "24F5DA-A83008-7EFE6Z")[0] == "0001"


def test_unknown_item_status_code_is_refused(engine, eps):
    order = eps.load(eps.ORDER_RP)
    _send(engine, order)
    with pytest.raises(MessageRefused, match="unknown item status"):
        _send(engine, eps.dispense_for(order, type_code="0009"))


def test_dispense_updates_item_and_prescription_status(engine, eps):
    order = eps.load(eps.ORDER_RP)
    _send(engine, order)
    for i in range(4):
        msg = eps.dispense_for(order, i, "0001" if i < 3 else "0002")
        msg["identifier"]["value"] = f"dispense-{i}"
        _send(engine, msg)
        status, items = _prescription(engine, "24F5DA-A83008-7EFE6Z")
        assert status == ("0003" if i < 3 else "0006")  # with dispenser - active, then dispensed
    assert [code for _, code, _ in items] == ["0001", "0001", "0001", "0002"]


def test_dispense_before_its_prescription_waits_and_is_applied(any_engine, eps):
    order = eps.load(eps.ORDER_RP)
    first = eps.dispense_for(order, 0, "0001")
    assert _send(any_engine, first).outcome == "pending"
    assert _counts(any_engine) == (0, 0, 1)
    assert _send(any_engine, first).outcome == "replay"  # still idempotent while pending
    result = _send(any_engine, order)
    assert (result.outcome, result.applied_pending) == ("applied", 1)
    status, items = _prescription(any_engine, "24F5DA-A83008-7EFE6Z")
    assert items[0][1] == "0001" and status == "0003"
    with session_scope(any_engine) as s:
        assert s.scalars(select(EpsMessage.state)).all() == ["applied", "applied"]


def test_cancellation_sets_item_cancelled_with_reason(any_engine, eps):
    _send(any_engine, eps.load(eps.CANCEL_SEND))
    assert _send(any_engine, eps.load(eps.CANCEL)).outcome == "applied"
    status, items = _prescription(any_engine, "58E241-A83008-4E2F8R")
    assert status == "0005"  # Cancelled: every item cancelled
    assert items[0][1:] == ("0005", "0001")  # Item Cancelled, Prescribing Error


def test_claim_and_non_message_payloads_are_refused_with_reason(engine, eps):
    claim = (
        eps.MESSAGES
        / "primary-care_acute_nominated-pharmacy_medical-prescriber_2-Claim-Request-400_"
        "Missing_Endorsement_Code.json"
    ).read_text()
    with pytest.raises(MessageRefused, match="no endorsement code"):
        _send(engine, claim)
    with pytest.raises(MessageRefused, match="not JSON"):
        _send(engine, "{")


def test_pending_dispense_for_an_item_the_prescription_lacks_is_kept_unmatched(engine, eps):
    order = eps.load(eps.ORDER_RP)
    early = eps.dispense_for(order)
    md = eps.resources(early, "MedicationDispense")[0]
    next(c for c in md["contained"] if c["resourceType"] == "MedicationRequest")["identifier"][0][
        "value"
    ] = "00000000-0000-0000-0000-000000000000"
    assert _send(engine, early).outcome == "pending"
    assert _send(engine, order).applied_pending == 0
    with session_scope(engine) as s:
        kept = s.scalar(select(EpsMessage).where(EpsMessage.event == "dispense-notification"))
        assert kept.state == "unmatched" and kept.payload is not None  # reported, not lost
    assert {code for _, code, _ in _prescription(engine, "24F5DA-A83008-7EFE6Z")[1]} == {"0007"}


def _psu(pid, line, number, status="Ready to Collect", task_id="t-1", task_status="in-progress"):
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{task_id}",
                "resource": {
                    "resourceType": "Task",
                    "id": task_id,
                    "basedOn": [
                        {
                            "identifier": {
                                "system": "https://fhir.nhs.uk/Id/prescription-order-number",
                                "value": pid,
                            }
                        }
                    ],
                    "status": task_status,
                    "businessStatus": {
                        "coding": [
                            {
                                "system": "https://fhir.nhs.uk/CodeSystem/task-businessStatus-nppt",
                                "code": status,
                            }
                        ]
                    },
                    "intent": "order",
                    "focus": {"identifier": {"value": line}},
                    "for": {"identifier": {"value": number}},
                    "lastModified": "2025-04-24T12:30:00Z",
                    "owner": {"identifier": {"value": "FA001"}},
                },
                "request": {"method": "POST", "url": "Task"},
            }
        ],
    }


def _order_keys(eps):
    order = eps.load(eps.ORDER_RP)
    number = eps.resources(order, "Patient")[0]["identifier"][0]["value"]
    line = eps.resources(order, "MedicationRequest")[0]["identifier"][0]["value"]
    return order, number, line


def test_status_update_sets_the_item_status_and_a_timeline_step(engine, eps):
    order, number, line = _order_keys(eps)
    _send(engine, order)
    assert _send(engine, _psu("24F5DA-A83008-7EFE6Z", line, number)).outcome == "applied"
    with session_scope(engine) as s:
        p = s.scalar(select(Prescription))
        assert p.items[0].psu_status == "Ready to Collect"
        assert p.status_code == "0001"  # a patient-facing update does not change Spine status
        assert [e.kind for e in p.events] == ["created", "ready-to-collect"]


def test_status_update_bad_input_is_refused_and_writes_nothing(engine, eps):
    order, number, line = _order_keys(eps)
    _send(engine, order)
    before = _counts(engine)
    cases = [
        (_psu("24F5DA-A83008-7EFE6Z", line, number, status="Lost"), "unknown status"),
        (_psu("24F5DA-A83008-7EFE6Y", line, number), "not a valid EPS short-form ID"),
        (_psu("24F5DA-A83008-7EFE6Z", "no-such-item", number), "line item"),
        (_psu("24F5DA-A83008-7EFE6Z", line, number, "Collected"), "does not fit"),
    ]
    two = _psu("24F5DA-A83008-7EFE6Z", line, number)
    other = _psu("24F5DA-A83008-7EFE6Z", line, "9990000018", task_id="t-2")
    two["entry"].append(other["entry"][0])
    cases.append((two, "2 patients"))
    for message, reason in cases:
        with pytest.raises(MessageRefused, match=reason):
            _send(engine, message)
    assert len(cases) == 5 and _counts(engine) == before


def test_release_then_dispense_then_claim_keeps_the_exemption(engine, eps):
    order, number, _ = _order_keys(eps)
    _send(engine, order)
    release = eps.release_for("24F5DA-A83008-7EFE6Z")
    assert _send(engine, release).outcome == "applied"
    assert _prescription(engine, "24F5DA-A83008-7EFE6Z")[0] == "0002"  # With Dispenser
    claim = json.loads(
        (
            eps.MESSAGES / "primary-care_acute_nominated-pharmacy_medical-prescriber_2-Claim-"
            "Request-400_Missing_Endorsement_Code.json"
        ).read_text()
    )
    claim["prescription"]["extension"][0]["extension"][0]["valueIdentifier"]["value"] = (
        "24F5DA-A83008-7EFE6Z"
    )
    claim["patient"]["identifier"]["value"] = number
    lines = [r["identifier"][0]["value"] for r in eps.resources(order, "MedicationRequest")]
    details = claim["item"][0]["detail"]
    for detail, line in zip(details, lines, strict=False):
        detail["extension"][1]["valueReference"]["identifier"]["value"] = line
        detail["programCode"].append(
            {
                "coding": [
                    {
                        "system": "https://fhir.nhs.uk/CodeSystem/medicationdispense-endorsement",
                        "code": "NDEC",
                    }
                ]
            }
        )
    claim["item"][0]["detail"] = details[: len(lines)]
    with pytest.raises(MessageRefused, match="cannot be claimed"):
        _send(engine, claim)  # nothing dispensed yet
    for i in range(4):
        msg = eps.dispense_for(order, i, "0001")
        msg["identifier"]["value"] = f"dispense-{i}"
        _send(engine, msg)
    assert _send(engine, claim).outcome == "applied"
    with session_scope(engine) as s:
        p = s.scalar(select(Prescription))
        assert (p.status_code, p.exemption_code, p.exemption_evidence) == (
            "0008",
            "0001",
            "evidence-seen",
        )
        assert [e.kind for e in p.events][:2] == ["created", "released"]
        assert p.events[-1].kind == "claimed"


def test_return_to_spine_makes_the_prescription_downloadable_again(engine, eps):
    order, number, _ = _order_keys(eps)
    _send(engine, order)
    _send(engine, eps.release_for("24F5DA-A83008-7EFE6Z"))
    task = eps.withdrawal_for(order, {"identifier": {"value": "x"}})
    task.update(status="rejected", id="return-1")
    task["identifier"][0]["value"] = "return-1"
    assert _send(engine, task).outcome == "applied"
    status, items = _prescription(engine, "24F5DA-A83008-7EFE6Z")
    assert status == "0001" and {c for _, c, _ in items} == {"0007"}


def test_expiry_job_expires_after_the_validity_period_only(engine, eps):
    from datetime import date

    from ipmo.prescriptions.ingest import expire_due

    erd = eps.load(
        "primary-care_repeat-dispensing_nominated-pharmacy_medical-prescriber_author_gmc_"
        "responsible-party_medication-list_din_1-Process-Request-Send-200_OK.json"
    )  # valid 19 February to 19 March 2022
    _send(engine, erd)
    pid = eps.resources(erd, "MedicationRequest")[0]["groupIdentifier"]["value"]
    with session_scope(engine) as s:
        assert expire_due(s, date(2022, 3, 19)) == 0  # its last valid day
    with session_scope(engine) as s:
        assert expire_due(s, date(2022, 3, 20)) == 1
    status, items = _prescription(engine, pid)
    assert status == "0004" and {c for _, c, _ in items} == {"0006"}
    with session_scope(engine) as s:
        p = s.scalar(select(Prescription).where(Prescription.prescription_id == pid))
        assert [e.kind for e in p.events] == ["created", "expired"]
        assert expire_due(s, date(2022, 4, 1)) == 0  # once
