"""Outcomes reach the GP practice as GP Connect Update Record (ITK3, STU3) messages for MESH.

Shape checked against the assured examples in ../shared/fhir/gpconnect_examples/simplifier_stu3/
(STANDARDS.md §4.3): ITK message Bundle → MessageHeader (ITK014M, or ITK010D for urgent supply) →
document Bundle → Composition typed with the service's SNOMED CT code.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.fhir.versions import STU3, read_fhir
from ipmo.organisations.models import Organisation
from ipmo.referrals.models import OutboxMessage, Referral
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.outbox import deliver_pending
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.state_changes import record_outcome
from ipmo.referrals.update_record import in_scope, itk_folder_transport, update_record_message
from ipmo.store import session_scope

from .conftest import ADA, WED_10AM, principal

EXAMPLES = "fhir/gpconnect_examples/simplifier_stu3"
SENT = WED_10AM + timedelta(hours=2)


def _completed(engine, service="pharmacy-first", outcome="supplied", reason=None, sender="nhs111"):
    with session_scope(engine) as s:
        ref = create_referral(
            s,
            principal(s, sender),
            NewReferral(
                service=service,
                nhs_number=ADA,
                patient_choice="FA001",
                no_relationship_reason="NHS 111 caller" if sender == "nhs111" else None,
            ),
            now=WED_10AM,
        )
        p = principal(s, "community.pharmacist")
        done = WED_10AM + timedelta(hours=1)
        record_outcome(s, p, ref, ReferralOutcome(outcome, reason, "Seen today"), now=done)
        return ref.reference


def _message(engine, reference: str) -> dict:
    with Session(engine) as s:
        ref = s.scalar(select(Referral).where(Referral.reference == reference))
        pharmacy = s.scalar(select(Organisation).where(Organisation.ods_code == "FA001"))
        return update_record_message(ref, pharmacy, "key-1", "TESTMBX", SENT)


def _resources(bundle: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entry in bundle.get("entry", []):
        res = entry["resource"]
        out.setdefault(res["resourceType"], []).append(res)
        if res["resourceType"] == "Bundle":
            for kind, items in _resources(res).items():
                out.setdefault(kind, []).extend(items)
    return out


def test_pharmacy_first_outcome_is_a_valid_stu3_update_record(ics):
    message = _message(ics, _completed(ics))
    read_fhir(json.dumps(message), version=STU3)  # fhir.resources STU3 validation
    res = _resources(message)
    header = res["MessageHeader"][0]
    assert header["event"]["code"] == "ITK014M"
    composition = res["Composition"][0]
    assert composition["type"]["coding"][0]["code"] == "1577041000000109"
    assert res["Patient"][0]["identifier"][0]["value"] == ADA
    summary = [i["summary"] for i in res["ClinicalImpression"]]
    assert summary == ["Medicine supplied. Seen today"]
    # every resource in the document is listed in the Composition's section
    listed = {e["reference"] for e in composition["section"][0]["entry"]}
    document = next(e for e in message["entry"] if e["resource"]["resourceType"] == "Bundle")
    urls = {e["fullUrl"] for e in document["resource"]["entry"][1:]}
    assert listed == urls


def test_message_skeleton_uses_the_same_profiles_as_the_assured_example(ics, shared_dir):
    example = read_fhir(
        (shared_dir / EXAMPLES / "pharmacy-first-service--example-1.xml").read_bytes(),
        version=STU3,
    ).resource

    def skeleton(bundle):
        kinds = ("MessageHeader", "Composition")
        profiles = {bundle["meta"]["profile"][0].strip()}
        for kind, items in _resources(bundle).items():
            if kind in kinds or kind == "Bundle":
                profiles |= {p.strip() for i in items for p in i.get("meta", {}).get("profile", [])}
        return profiles

    ours = _message(ics, _completed(ics))
    assert skeleton(ours) == skeleton(example)
    theirs = _resources(example)["MessageHeader"][0]["event"]
    assert theirs["code"] == _resources(ours)["MessageHeader"][0]["event"]["code"]


def test_urgent_supply_goes_as_the_digimeds_emergency_supply_document(ics):
    message = _message(ics, _completed(ics, service="urgent-repeat-supply"))
    read_fhir(json.dumps(message), version=STU3)
    res = _resources(message)
    assert res["MessageHeader"][0]["event"]["code"] == "ITK010D"
    assert res["Composition"][0]["type"]["coding"][0]["code"] == "1218611000000102"


def test_no_supply_asks_the_practice_to_review(ics):
    reference = _completed(ics, outcome="no-supply", reason="not-clinically-appropriate")
    summaries = {
        i["meta"]["tag"][0]["code"]: i["summary"]
        for i in _resources(_message(ics, reference))["ClinicalImpression"]
    }
    assert summaries["clinical-summary"].startswith("No supply made; reason: not clinically")
    assert "review" in summaries["plan-requested-actions"]


def test_services_outside_the_update_record_scope_get_no_message(ics):
    with session_scope(ics) as s:
        ref = create_referral(
            s,
            principal(s, "nhs111"),
            NewReferral(
                service="pharmacy-first",
                nhs_number=ADA,
                patient_choice="FA001",
                no_relationship_reason="NHS 111 caller",
            ),
            now=WED_10AM,
        )
        assert not in_scope(ref)  # no outcome yet
        ref.service = "discharge-medicines-service"
        ref.business_status = "supplied"
        assert not in_scope(ref)
        with pytest.raises(ValueError, match="no Update Record"):
            update_record_message(ref, Organisation(ods_code="FA001", name="x"), "k", "M", SENT)
        s.rollback()


def test_folder_transport_writes_one_file_for_the_practice_and_never_twice(ics, tmp_path):
    _completed(ics)
    transport = itk_folder_transport(tmp_path)
    assert deliver_pending(ics, transport, now=SENT).delivered == 2  # 111 and the practice
    files = list(tmp_path.rglob("*.json"))
    assert [f.parent.parent.name for f in files] == ["A10001"]  # only the GP practice
    read_fhir(files[0].read_bytes(), version=STU3)
    # a crash after writing, before marking delivered: the retry writes nothing new
    with session_scope(ics) as s:
        for m in s.scalars(select(OutboxMessage)):
            m.delivered_at = None
    assert deliver_pending(ics, transport, now=SENT).delivered == 2
    assert list(tmp_path.rglob("*.json")) == files
    assert not list(tmp_path.rglob("*.part"))
