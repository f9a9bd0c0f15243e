"""The consultation back to the GP practice: a GP Connect Update Record (ITK3, FHIR STU3) in the
national Pharmacy First shape, compared structurally with NHS England's published example
(../shared/fhir/gpconnect_update_record/pharmacy-first-service--example-1.xml); and a 111
referral taken through a consultation closes the referral with one Update Record, not two."""

from __future__ import annotations

import json
from collections import defaultdict

from defusedxml import ElementTree
from sqlalchemy import select

from ipmo.fhir.versions import STU3, read_fhir
from ipmo.pharmacyfirst import actions
from ipmo.pharmacyfirst import service as svc
from ipmo.pharmacyfirst.models import UpdateRecordMessage
from ipmo.referrals import new_referrals as referral_service
from ipmo.referrals.models import OutboxMessage, Referral
from ipmo.referrals.outbox import deliver_pending
from ipmo.referrals.update_record import itk_folder_transport
from ipmo.store import session_scope

from .conftest import CARA, DAY, NITROFURANTOIN_MR, NOW, principal

FHIR = "{http://hl7.org/fhir}"
HEADINGS = "https://fhir.nhs.uk/CodeSystem/RecordStandardHeadings"
ANSWERS = {
    "urinary_catheter": False,
    "recurrent_uti": False,
    "dysuria": True,
    "new_nocturia": True,
    "vaginal_discharge": False,
    "renal_impairment": False,
    "pregnant": False,
}


def _shape_of_example(path) -> dict:
    """resource type → {profiles, heading tags} of the document bundle, plus header facts."""
    root = ElementTree.parse(path).getroot()
    shape: dict = defaultdict(lambda: {"profiles": set(), "headings": set()})
    facts = {}
    for resource in root.iter():
        tag = resource.tag.replace(FHIR, "")
        meta = resource.find(f"{FHIR}meta")
        if meta is None or tag in ("Bundle",):
            continue
        for p in meta.findall(f"{FHIR}profile"):
            shape[tag]["profiles"].add(p.get("value"))
        for t in meta.findall(f"{FHIR}tag"):
            shape[tag]["headings"].add(t.find(f"{FHIR}code").get("value"))
        if tag == "MessageHeader":
            facts["event"] = resource.find(f"{FHIR}event/{FHIR}code").get("value")
        if tag == "Composition":
            facts["type"] = resource.find(f"{FHIR}type/{FHIR}coding/{FHIR}code").get("value")
        if tag == "MedicationDispense":
            facts["supply_type"] = resource.find(f"{FHIR}type/{FHIR}coding/{FHIR}code").get("value")
            facts["dmd_system"] = resource.find(
                f"{FHIR}medicationCodeableConcept/{FHIR}coding/{FHIR}system"
            ).get("value")
    return {"shape": dict(shape), **facts}


def _shape_of_ours(bundle: dict) -> dict:
    shape: dict = defaultdict(lambda: {"profiles": set(), "headings": set()})
    facts = {}
    stack = [e["resource"] for e in bundle["entry"]]
    while stack:
        res = stack.pop()
        kind = res["resourceType"]
        if kind == "Bundle":
            stack += [e["resource"] for e in res["entry"]]
            continue
        shape[kind]["profiles"] |= set(res["meta"]["profile"])
        shape[kind]["headings"] |= {t["code"] for t in res["meta"].get("tag", [])}
        if kind == "MessageHeader":
            facts["event"] = res["event"]["code"]
        if kind == "Composition":
            facts["type"] = res["type"]["coding"][0]["code"]
            facts["listed"] = {e["reference"] for e in res["section"][0]["entry"]}
        if kind == "MedicationDispense":
            facts["supply_type"] = res["type"]["coding"][0]["code"]
            facts["dmd_system"] = res["medicationCodeableConcept"]["coding"][0]["system"]
            facts["quantity"] = res["quantity"]["value"]
            facts["days"] = res["daysSupply"]["value"]
    return {"shape": dict(shape), **facts}


def _completed_uti(engine, referral: str | None = None) -> str:
    with session_scope(engine) as s:
        new = svc.NewConsultation(
            "clinical-pathway", "walk-in", DAY, "uti", referral_reference=referral
        )
        c = actions.start(s, principal(s), CARA, new)
        actions.assess(s, principal(s), c.reference, ANSWERS, [])
        supply = svc.OutcomeInput(
            "supplied",
            True,
            advice="Drink plenty of fluids; come back if not better in 48 hours.",
            items=[svc.ItemInput(NITROFURANTOIN_MR, 6)],
        )
        actions.complete(s, principal(s), c.reference, supply, now=NOW)
        return c.reference


def test_spec_update_record_has_the_national_pharmacy_first_shape(sample_ics, shared_dir):
    ref = _completed_uti(sample_ics)
    with session_scope(sample_ics) as s:
        body = s.scalar(select(UpdateRecordMessage.body))
    read_fhir(json.dumps(body), version=STU3)  # valid FHIR STU3
    example = _shape_of_example(
        shared_dir / "fhir/gpconnect_update_record/pharmacy-first-service--example-1.xml"
    )
    ours = _shape_of_ours(body)
    assert ours["event"] == example["event"] == "ITK014M"
    assert ours["type"] == example["type"] == "1577041000000109"
    assert ours["supply_type"] == example["supply_type"] == "patient-group-direction"
    assert ours["dmd_system"] == example["dmd_system"] == "https://dmd.nhs.uk"
    assert (ours["quantity"], ours["days"]) == (6, 3)
    # every resource type we send is one the national example sends, with the same profile
    assert set(ours["shape"]) <= set(example["shape"]), set(ours["shape"]) - set(example["shape"])
    for kind, found in ours["shape"].items():
        assert found["profiles"] <= example["shape"][kind]["profiles"], kind
        assert found["headings"] <= example["shape"][kind]["headings"], kind
    # the example's core: condition, supply, summary and advice headings all present
    assert {"Condition", "MedicationDispense", "ClinicalImpression", "Encounter"} <= set(
        ours["shape"]
    )
    assert {"clinical-summary", "information-and-advice-given"} <= ours["shape"][
        "ClinicalImpression"
    ]["headings"]
    # the document's resources are all listed in the Composition's section
    document = body["entry"][2]["resource"]
    urls = {e["fullUrl"] for e in document["entry"][1:]}
    assert urls == ours["listed"]
    assert ref in json.dumps(body)


def test_a_111_referral_taken_through_the_pathway_is_completed_with_one_update_record(
    sample_ics, tmp_path
):
    with session_scope(sample_ics) as s:
        ref = referral_service.create_referral(
            s,
            principal(s, "nhs111"),
            referral_service.NewReferral(
                service="pharmacy-first",
                nhs_number=CARA,
                patient_choice="FA001",
                no_relationship_reason="NHS 111 caller",
            ),
            now=NOW,
        ).reference
    consultation = _completed_uti(sample_ics, referral=ref)
    with session_scope(sample_ics) as s:
        referral = s.scalar(select(Referral).where(Referral.reference == ref))
        assert (referral.status, referral.business_status) == ("completed", "supplied")
        assert consultation in (referral.outcome_note or "")
        assert s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "outcome")) is not None
    # the referrals outbox tells the referrer, but writes no second Update Record for the GP
    deliver_pending(sample_ics, itk_folder_transport(tmp_path))
    assert not list(tmp_path.rglob("*.json"))


def test_a_failing_mesh_folder_is_retried_with_backoff_and_a_delivered_record_not_sent_again(
    sample_ics, tmp_path
):
    from datetime import timedelta

    from ipmo.pharmacyfirst.update_record import deliver_update_records
    from ipmo.store.outbox import BACKOFF_BASE

    ref = _completed_uti(sample_ics)
    broken = tmp_path / "not-a-folder"
    broken.write_text("")  # the MESH folder is a file: every write fails
    with session_scope(sample_ics) as s:
        queued = s.scalar(select(UpdateRecordMessage.next_attempt_at))
    t0 = max(NOW, queued)
    first = deliver_update_records(sample_ics, broken, now=t0)
    assert (first.delivered, first.failed) == (0, 1)
    with session_scope(sample_ics) as s:
        msg = s.scalars(select(UpdateRecordMessage)).one()
        assert msg.attempts == 1 and msg.delivered_at is None
        assert msg.next_attempt_at == t0 + BACKOFF_BASE and msg.last_error
    early = deliver_update_records(sample_ics, broken, now=t0 + BACKOFF_BASE / 2)
    assert (early.delivered, early.failed) == (0, 0)  # not due yet: not tried
    second = deliver_update_records(sample_ics, broken, now=t0 + BACKOFF_BASE)
    assert second.failed == 1
    with session_scope(sample_ics) as s:
        msg = s.scalars(select(UpdateRecordMessage)).one()
        assert msg.attempts == 2  # the wait doubles
        assert msg.next_attempt_at == t0 + BACKOFF_BASE + 2 * BACKOFF_BASE
    mesh = tmp_path / "mesh"
    later = t0 + timedelta(hours=2)
    done = deliver_update_records(sample_ics, mesh, now=later)
    assert (done.delivered, done.failed) == (1, 0)
    written = list(mesh.glob("*/out/*.json"))
    assert len(written) == 1 and ref in written[0].read_text()
    with session_scope(sample_ics) as s:
        msg = s.scalars(select(UpdateRecordMessage)).one()
        assert msg.attempts == 3 and msg.delivered_at == later and msg.last_error is None
    written[0].unlink()  # were it sent again, the file would reappear
    again = deliver_update_records(sample_ics, mesh, now=later + timedelta(days=1))
    assert (again.delivered, again.failed) == (0, 0)
    assert list(mesh.glob("*/out/*.json")) == []


def test_the_referrals_worker_sweep_writes_queued_update_records(sample_ics, tmp_path):
    from ipmo.referrals.cli import sweep_once

    ref = _completed_uti(sample_ics)
    line = sweep_once(sample_ics, tmp_path)
    assert "Pharmacy First Update Records: 1 delivered, 0 to retry" in line
    written = [p for p in tmp_path.glob("*/out/*.json") if ref in p.read_text()]
    assert len(written) == 1
    assert "Pharmacy First Update Records: 0 delivered" in sweep_once(sample_ics, tmp_path)
