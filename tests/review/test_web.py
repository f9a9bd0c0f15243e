"""Review API and pages on the sample ICS: worklist scoped to the user's organisation, patient
review with evidence, recording a review (audited), rates after disclosure control."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ipmo.patients.models import MedicationIssue, Patient
from ipmo.review import service
from ipmo.store import session_scope

NOON = datetime(2026, 11, 16, 12, 0)  # the app's clock (UTC): the pages read today from it
TODAY = NOON.date()  # 46 days after Dev's admission (1 October 2026, the sample ICS)


@pytest.fixture
def app_clock():
    return lambda: NOON


@pytest.fixture
def ics(sample_ics):
    with session_scope(sample_ics) as s:
        for nhs, names in (
            ("9990000018", ["Ibuprofen 400mg tablets", "Warfarin 1mg tablets"]),
            ("9990000050", ["Amitriptyline 10mg tablets", "Oxybutynin 5mg tablets"]),
        ):
            p = s.scalar(select(Patient).where(Patient.nhs_number == nhs))
            for n in names:
                s.add(
                    MedicationIssue(
                        patient_id=p.id,
                        dmd_code="0",
                        name=n,
                        issue_date=TODAY - timedelta(days=10),
                        issue_type="repeat",
                    )
                )
    service.run(sample_ics, TODAY)
    return sample_ics


def test_worklist_api_is_scoped_to_the_users_pcn(ics, client_as):
    rows = client_as("pcn.pharmacist").get("/api/review/worklist").json()
    # Ada (Riverside PCN, care home) is listed; Eve is registered in Hillside PCN: not shown
    assert [r["nhs_number"] for r in rows] == ["9990000018"]
    assert "PINCER-D" in rows[0]["rule_ids"] and rows[0]["reasons"]
    everyone = client_as("safety.officer").get("/api/review/worklist").json()
    # Dev is there too: admitted to hospital within 90 days (sample ICS admission)
    assert {r["nhs_number"] for r in everyone} == {"9990000018", "9990000050", "9990000042"}
    assert everyone == sorted(everyone, key=lambda r: -r["score"])
    filtered = client_as("safety.officer").get("/api/review/worklist?rule=STOPP-M1").json()
    assert [r["nhs_number"] for r in filtered] == ["9990000050"]


def test_worklist_needs_the_review_activity(ics, client_as):
    assert client_as(None).get("/api/review/worklist").status_code == 401
    assert client_as("nhs111").get("/api/review/worklist").status_code == 403
    # an ICS analyst has no relationship with patients: the worklist is empty for them
    assert client_as("analyst").get("/api/review/worklist").json() == []


def test_patient_findings_api_checks_the_relationship(ics, client_as):
    pharmacist = client_as("pcn.pharmacist")
    body = pharmacist.get("/api/review/patients/9990000018").json()
    assert {"PINCER-A", "PINCER-D", "STOPP-C10"} <= {f["rule_id"] for f in body["findings"]}
    assert body["medicine_count"] == 2
    assert pharmacist.get("/api/review/patients/9990000050").status_code == 403
    assert pharmacist.get("/api/review/patients/1234567890").status_code in (404, 422)


def test_record_review_api(ics, client_as):
    c = client_as("pcn.pharmacist")
    r = c.post(
        "/api/review/patients/9990000018/reviews",
        json={
            "review_date": TODAY.isoformat(),
            "findings_addressed": ["PINCER-D"],
            "interventions": [{"kind": "stop", "medicine": "Ibuprofen 400mg tablets"}],
            "shared_decision": "Stop ibuprofen",
            "decision_with": "carer",
            "follow_up_date": (TODAY + timedelta(days=28)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["interventions"][0]["status"] == "proposed"
    assert len(c.get("/api/review/patients/9990000018/reviews").json()) == 1
    bad = c.post(
        "/api/review/patients/9990000018/reviews",
        json={
            "review_date": TODAY.isoformat(),
            "shared_decision": "x",
            "interventions": [{"kind": "amputate"}],
        },
    )
    assert bad.status_code == 422
    assert (
        client_as("nhs111").post("/api/review/patients/9990000018/reviews", json={}).status_code
        == 403
    )


def test_rates_api_applies_disclosure_control(ics, client_as):
    rows = client_as("analyst").get("/api/review/rates?group_by=pcn").json()
    a = next(r for r in rows if r["rule_id"] == "PINCER-A" and r["org"] == "U10001")
    assert a["numerator"] is None  # 1 patient: withheld
    assert client_as("carehome").get("/api/review/rates").status_code == 403


def test_worklist_and_patient_pages(ics, client_as):
    c = client_as("pcn.pharmacist")
    page = c.get("/review/worklist")
    assert (
        page.status_code == 200 and "Ada Smith" in page.text and "care-home resident" in page.text
    )
    patient = c.get("/review/patients/9990000018")
    assert patient.status_code == 200
    assert "PINCER-D" in patient.text and "Ibuprofen 400mg tablets" in patient.text
    assert "Record review" in patient.text
    posted = c.post(
        "/review/patients/9990000018",
        data={
            "findings_addressed": ["PINCER-D"],
            "kind": "stop",
            "medicine": "Ibuprofen",
            "shared_decision": "Agreed to stop",
            "decision_with": "patient",
        },
        follow_redirects=True,
    )
    assert posted.status_code == 200 and "Review recorded" in posted.text
    assert "16 November 2026 by" in posted.text  # recorded on the app's today
    missing = c.post("/review/patients/9990000018", data={"shared_decision": ""})
    assert missing.status_code == 422 and "There is a problem" in missing.text


def test_rates_page(ics, client_as):
    page = client_as("analyst").get("/review/rates")
    assert page.status_code == 200 and "withheld" in page.text


def test_rates_page_pages_filters_and_names_not_codes(ics, client_as):
    """Issue 14: /review/rates was a 37,000 px table of codes. Now 50 to a page with an honest
    count, one indicator at a time if wanted, organisations and indicators by name."""
    c = client_as("analyst")
    all_rows = c.get("/api/review/rates?group_by=practice").json()
    assert all_rows
    page = c.get("/review/rates?group_by=practice")
    assert page.status_code == 200
    shown = min(len(all_rows), 50)
    assert page.text.count('<tr class="nhsuk-table__row">') == shown
    count = re.search(r'id="list-count">([^<]*)<', page.text).group(1)
    assert str(len(all_rows)) in count.replace(",", "")
    rule = all_rows[0]["rule_id"]
    one = c.get(f"/review/rates?group_by=practice&rule={rule}")
    assert one.text.count('<tr class="nhsuk-table__row">') == sum(
        r["rule_id"] == rule for r in all_rows
    )
    assert f'<span title="{rule}">' in one.text  # the code on hover, the title shown
    named = c.get("/review/rates?group_by=practice&q=riverside")
    assert "Riverside Medical Centre" in named.text and "Hillside Health Centre" not in named.text
