"""Discharge Medicines Service end to end through the API: the trust sends the discharge list, the
community pharmacist sees it compared with the GP repeat list, records the check and the outcome,
and the outcome goes to the trust and the GP practice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from ipmo.patients.models import MedicationIssue, Patient
from ipmo.referrals.models import OutboxMessage
from ipmo.store import session_scope, utcnow

from .apihelpers import message, post

DEV = "9990000042"  # registered at A20001, admitted to RXX


def test_dms_discharge_list_check_and_outcome(mod, sample_ics):
    with session_scope(sample_ics) as s:
        dev = s.scalar(select(Patient).where(Patient.nhs_number == DEV))
        for code, name, dose in [
            ("1", "Ramipril 2.5mg capsules", "2.5 mg daily"),
            ("2", "Naproxen 500mg tablets", "500 mg twice daily"),
        ]:
            s.add(
                MedicationIssue(
                    patient_id=dev.id,
                    dmd_code=code,
                    name=name,
                    issue_date=(utcnow() - timedelta(days=30)).date(),
                    issue_type="repeat",
                    dose_text=dose,
                )
            )
    items = [
        {
            "name": "Ramipril 5mg capsules",
            "dmd_code": "1",
            "change": "changed",
            "dose_text": "5 mg daily",
        },
        {
            "name": "Naproxen 500mg tablets",
            "dmd_code": "2",
            "change": "stopped",
            "note": "GI bleed",
        },
        {"name": "Apixaban 5mg tablets", "dmd_code": "3", "change": "started"},
    ]
    body = message(
        service="discharge-medicines-service",
        nhs_number=DEV,
        patient_name="Dev Patel",
        receiver="FA001",
        sender="RXX",
        discharge_items=items,
    )
    sent = post(mod.client("hospital.pharmacist"), body)
    assert sent.status_code == 200, sent.text
    ref = sent.json()["entry"][1]["resource"]["identifier"][0]["value"]
    pharmacist = mod.client("community.pharmacist")
    dms = pharmacist.get(f"/api/referrals/{ref}/dms").json()
    assert {f["name"]: f["kind"] for f in dms["findings"]} == {
        "Ramipril 5mg capsules": "changed-dose",
        "Naproxen 500mg tablets": "stopped-still-on-repeat",
        "Apixaban 5mg tablets": "new",
    }
    early = pharmacist.post(f"/api/referrals/{ref}/dms-check", json={"issues": "x"})
    assert early.status_code == 409 and "accept the referral" in early.json()["detail"]
    v = pharmacist.post(f"/api/referrals/{ref}/accept").json()["version"]
    checked = pharmacist.post(
        f"/api/referrals/{ref}/dms-check",
        json={"issues": "Naproxen still on repeat: practice asked to stop", "version": v},
    )
    assert checked.status_code == 200 and checked.json()["status"] == "in-progress"
    assert (
        pharmacist.get(f"/api/referrals/{ref}/dms").json()["checked_by"] == "community.pharmacist"
    )
    done = pharmacist.post(
        f"/api/referrals/{ref}/outcome",
        json={"outcome": "advice-given", "note": "Counselled on apixaban"},
    )
    assert done.status_code == 200
    with session_scope(sample_ics) as s:
        assert sorted(s.scalars(select(OutboxMessage.recipient_org_code))) == ["A20001", "RXX"]
        s.execute(delete(MedicationIssue))
    assert mod.client("gp").get(f"/api/referrals/{ref}").status_code == 403  # A10001: not Dev's GP
