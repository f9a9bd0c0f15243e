"""Prescription charge exemption: one test per NHSBSA criterion, positive and negative, on a
fixed dispensing date (NHSBSA KA-25779: "at the time the prescription is dispensed")."""

from __future__ import annotations

from datetime import date

from ipmo.prescriptions.exemptions import Certificate, decide

ON = date(2026, 12, 7)


def _born(years_before: int, month: int = 12, day: int = 7) -> date:
    return date(ON.year - years_before, month, day)


def test_spec_aged_60_or_over_on_the_dispensing_date():
    assert decide(_born(60), ON, []).code == "0004"  # 60th birthday today
    assert decide(_born(60, 12, 8), ON, []).code == "0001"  # 60 tomorrow: still pays today


def test_spec_under_16_on_the_dispensing_date():
    assert decide(_born(16, 12, 8), ON, []).code == "0002"  # 15, 16 tomorrow
    assert decide(_born(16), ON, []).code != "0002"  # 16 today


def test_spec_16_to_18_in_full_time_education_needs_evidence():
    answer = decide(_born(18), ON, [])
    assert (answer.code, answer.exempt, answer.evidence) == ("0003", None, "ask")
    assert decide(_born(19), ON, []).code == "0001"  # 19: education no longer counts


def test_spec_maternity_exemption_certificate_valid_on_the_day():
    cert = Certificate("maternity", date(2026, 3, 1), date(2027, 6, 30))
    answer = decide(_born(30), ON, [cert])
    assert (answer.code, answer.exempt, answer.evidence) == ("0005", True, "certificate")
    expired = Certificate("maternity", date(2025, 1, 1), date(2026, 12, 6))
    assert decide(_born(30), ON, [expired]).code == "0001"
    assert "expired on 2026-12-06" in decide(_born(30), ON, [expired]).reason


def test_spec_medical_exemption_certificate_with_expiry():
    cert = Certificate("medical", date(2022, 1, 1), date(2027, 1, 1))
    assert decide(_born(45), ON, [cert]).code == "0006"
    later = date(2027, 1, 2)
    assert decide(_born(45), later, [cert]).code == "0001"


def test_spec_prepayment_certificate_covers_its_term():
    ppc = Certificate("ppc", date(2026, 10, 1), date(2027, 9, 30))
    assert decide(_born(40), ON, [ppc]).code == "0007"
    assert decide(_born(40), date(2026, 9, 30), [ppc]).code == "0001"  # before it starts


def test_spec_no_exemption_pays_with_the_reason():
    answer = decide(_born(40), ON, [])
    assert (answer.code, answer.exempt) == ("0001", False)
    assert "no valid exemption certificate" in answer.reason and answer.source.startswith(
        "https://faq.nhsbsa.nhs.uk/"
    )


def test_exemption_api_and_page_for_a_pharmacist(sample_ics, client_as):
    from sqlalchemy import select

    from ipmo.security.models import AuditEvent
    from ipmo.store import session_scope

    client = client_as("community.pharmacist")  # Ada (born 1 March 1940) nominates FA001
    r = client.get("/api/prescriptions/exemption", params={"nhs_number": "9990000018", "on": ON})
    assert r.status_code == 200
    assert r.json()["code"] == "0004" and r.json()["reason"] == "aged 86 on the dispensing date"
    page = client.get("/prescriptions/exemption", params={"nhs_number": "9990000018", "on": ON})
    assert "Free: is 60 years of age or over" in page.text and "7 December 2026" in page.text
    refused = client.get(
        "/api/prescriptions/exemption", params={"nhs_number": "9990000042", "on": ON}
    )  # Dev: no relationship
    assert refused.status_code == 403
    with session_scope(sample_ics) as s:
        outcomes = s.scalars(
            select(AuditEvent.outcome).where(AuditEvent.action == "prescriptions.exemption")
        ).all()
    assert outcomes == ["permitted", "permitted", "refused"]
