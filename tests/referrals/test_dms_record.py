"""DMS against the One Medication Record (issue 5): when the patient has a reconciled record, the
discharge list is compared with its current medicines at the referral date; without one, with the
GP repeat issues of the last six months."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from ipmo.patients.models import MedicationIssue, Patient
from ipmo.records.adapters import from_csv
from ipmo.records.models import ReconciledRecord, SourceList
from ipmo.records.service import ingest
from ipmo.store import session_scope, utcnow

from .apihelpers import message, post

DEV = "9990000042"  # registered at A20001, admitted to RXX
DISCHARGE = [
    {"name": "Ramipril 5mg capsules", "dmd_code": "1", "change": "changed", "dose_text": "5 mg"},
    {"name": "Naproxen 500mg tablets", "dmd_code": "2", "change": "stopped"},
    {"name": "Apixaban 5mg tablets", "dmd_code": "3", "change": "started"},
]


@pytest.fixture
def dev_medicines(mod, sample_ics):
    """GP repeat issues (ramipril, naproxen) for Dev; the record's rows are removed afterwards."""
    with session_scope(sample_ics) as s:
        dev = s.scalar(select(Patient).where(Patient.nhs_number == DEV))
        for code, name in [("1", "Ramipril 2.5mg capsules"), ("2", "Naproxen 500mg tablets")]:
            s.add(
                MedicationIssue(
                    patient_id=dev.id,
                    dmd_code=code,
                    name=name,
                    issue_type="repeat",
                    issue_date=(utcnow() - timedelta(days=30)).date(),
                    dose_text="as directed",
                )  # fmt: skip
            )
    yield sample_ics
    with session_scope(sample_ics) as s:
        s.execute(delete(MedicationIssue))
        s.execute(delete(SourceList))
        s.execute(delete(ReconciledRecord))


def _dms(mod) -> tuple[str, dict]:
    body = message(
        service="discharge-medicines-service", nhs_number=DEV, patient_name="Dev Patel",
        receiver="FA001", sender="RXX", discharge_items=DISCHARGE,
    )  # fmt: skip
    sent = post(mod.client("hospital.pharmacist"), body)
    assert sent.status_code == 200, sent.text
    ref = sent.json()["entry"][1]["resource"]["identifier"][0]["value"]
    return ref, mod.client("community.pharmacist").get(f"/api/referrals/{ref}/dms").json()


def test_dms_compares_with_gp_issues_without_a_record(mod, dev_medicines):
    _, dms = _dms(mod)
    assert dms["compared_with"] == "gp-repeat-medication"
    assert {f["name"]: f["kind"] for f in dms["findings"]} == {
        "Ramipril 5mg capsules": "changed-dose",
        "Naproxen 500mg tablets": "stopped-still-on-repeat",
        "Apixaban 5mg tablets": "new",
    }


def test_dms_compares_with_the_one_medication_record_when_there_is_one(mod, dev_medicines):
    # The reconciled record disagrees with the raw issues on purpose: naproxen was already
    # stopped at the practice (so nothing to chase) and bisoprolol is current but was not issued
    # in the last six months. Only the record can give these findings.
    authored = (utcnow() - timedelta(days=400)).date().isoformat()
    gp = (
        "nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category,"
        "dmd_code\n"
        f"{DEV},gp,A20001,Ramipril 2.5mg capsules,active,2.5 mg daily,{authored},repeat,1\n"
        f"{DEV},gp,A20001,Naproxen 500mg tablets,stopped,500 mg twice daily,{authored},repeat,2\n"
        f"{DEV},gp,A20001,Bisoprolol 5mg tablets,active,5 mg daily,{authored},repeat,4\n"
    )
    with session_scope(dev_medicines) as s:
        ingest(s, from_csv(gp))
    ref, dms = _dms(mod)
    assert dms["compared_with"] == "one-medication-record"
    findings = {f["name"]: (f["kind"], f["community_dose"]) for f in dms["findings"]}
    assert findings == {
        "Ramipril 5mg capsules": ("changed-dose", "2.5 mg daily"),
        "Apixaban 5mg tablets": ("new", None),
        "Bisoprolol 5mg tablets": ("missing-from-discharge", "5 mg daily"),
    }
    page = mod.client("community.pharmacist").get(f"/referrals/{ref}")
    assert page.status_code == 200 and "Compared with the One Medication Record" in page.text
