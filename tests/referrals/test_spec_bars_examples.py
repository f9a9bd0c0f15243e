"""BaRS examples (../shared/fhir/bars_examples) as the specification of $process-message.

Criteria (BaRS Core 1.1.6 / Application 5, ../shared/fhir/STANDARDS.md §4.1-4.2):
- a referral message for a community pharmacy use case (a5t1 Pharmacy First, a5t2 contraception,
  a5t3 blood pressure) is accepted, once, and acknowledged with our referral reference;
- every other message (111→ED, 999→CAS, CAD, validation, booking, responses) is refused with an
  OperationOutcome and a 4xx: this receiver does not provide those services;
- anything that is not a message Bundle (single resources, searchsets, OperationOutcomes) is refused
  with 400;
- the published NHS number in the pharmacy examples (3478526985) fails the Modulus 11 check, so as
  published they are refused with 400 "value"; with a valid number they are accepted.
The example's receiving organisation (RYE) is registered here as a pharmacy, as a real receiver
would be, and its sender (RND) as a GP practice whose system posts with its own token (ADR 0005:
the token decides the sender) for a patient registered there.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.patients.models import Patient
from ipmo.security.users import DEMO_PASSWORD, create_user
from ipmo.store import session_scope

from .apihelpers import always_open, post, referrals

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "fhir" / "bars_examples"
IG = EXAMPLES / "simplifier_ig" / "examples"
REFREQ03 = (
    "REFREQ03 - Referral Service Request New Full - Primary Care to Community Pharmacy - "
    "Minor Illness.xml"
)
PHARMACY = {
    REFREQ03: "pharmacy-first",
    "REFREQ06 - Referral Service Request New Full - GP to BP - ABPM.xml": "blood-pressure-check",
    "REFREQ07 - Referral Service Request New Full - GP to OC.xml": "contraception",
}
BAD_NHS = "3478526985"
GOOD_NHS = "9990000069"  # a valid number, registered at RND by the fixture below


def _message_examples() -> list[Path]:
    return sorted(p for p in IG.glob("*.xml") if '<type value="message"' in p.read_text())


def _other_examples() -> list[Path]:
    msgs = set(_message_examples())
    return sorted(p for p in IG.glob("*") if p not in msgs)


def _ctype(path: Path) -> str:
    return "application/fhir+xml" if path.suffix == ".xml" else "application/fhir+json"


@pytest.fixture
def gp(mod, sample_ics):
    """The examples' sender RND as a practice in this ICS, a GP user there and a patient
    registered with it (added once per module store)."""
    always_open(sample_ics, "RYE")
    with session_scope(sample_ics) as s:
        if s.scalar(select(Organisation.id).where(Organisation.ods_code == "RND")) is None:
            s.add(
                Organisation(
                    ods_code="RND",
                    name="Example sender",
                    kind=OrgKind.PRACTICE,
                    parent_code="U10001",
                )
            )
            s.flush()
            s.add(
                Patient(
                    nhs_number=GOOD_NHS,
                    given_name="Example",
                    family_name="Patient",
                    birth_date=date(1970, 1, 1),
                    sex="female",
                    practice_code="RND",
                )
            )
            create_user(s, "rnd.gp", "RND GP", "gp", "RND", DEMO_PASSWORD)
    return mod.client("rnd.gp")


@pytest.mark.parametrize("name", sorted(PHARMACY))
def test_spec_pharmacy_referral_examples_are_accepted_once(gp, sample_ics, name):
    text = (IG / name).read_text().replace(BAD_NHS, GOOD_NHS)
    r = post(gp, text, "application/fhir+xml")
    assert r.status_code == 200, r.text
    ack = r.json()
    assert ack["entry"][0]["resource"]["response"]["code"] == "ok"
    stored = referrals(sample_ics)
    assert len(stored) == 1
    ref = stored[0]
    assert (ref.service, ref.target_org_code, ref.routing_basis) == (
        PHARMACY[name],
        "RYE",
        "patient-choice",
    )
    assert (ref.sender_org_code, ref.practice_code, ref.nhs_number) == ("RND", "G82080", GOOD_NHS)
    assert ref.message_id  # the Bundle id
    assert ack["entry"][1]["resource"]["identifier"][0]["value"] == ref.reference
    again = post(gp, text, "application/fhir+xml")  # the sender retries the same message
    assert again.status_code == 200 and again.headers["X-Idempotent-Replay"] == "true"
    assert again.json()["entry"][1]["resource"]["identifier"][0]["value"] == ref.reference
    assert len(referrals(sample_ics)) == 1


@pytest.mark.parametrize("name", sorted(PHARMACY))
def test_spec_published_pharmacy_examples_fail_the_nhs_number_check(gp, sample_ics, name):
    r = post(gp, (IG / name).read_text(), "application/fhir+xml")
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert r.json()["resourceType"] == "OperationOutcome"
    assert issue["code"] == "value" and "Modulus 11" in issue["diagnostics"]
    assert referrals(sample_ics) == []


@pytest.mark.parametrize(
    "path",
    [p for p in _message_examples() if p.name not in PHARMACY],
    ids=lambda p: p.name[:40],
)
def test_spec_messages_for_other_services_are_refused(gp, sample_ics, path):
    r = post(gp, path.read_text(), _ctype(path))
    assert r.json()["resourceType"] == "OperationOutcome", r.text
    # cancellations of referrals we never had are "not found"; everything else is not supported
    expected = 404 if path.name.startswith("SERVREQ") else 422
    issue = r.json()["issue"][0]
    assert r.status_code == expected, r.text
    assert issue["code"] == ("not-found" if expected == 404 else "not-supported")
    assert referrals(sample_ics) == []


@pytest.mark.parametrize("path", _other_examples(), ids=lambda p: p.name[:40])
def test_spec_non_message_payloads_are_refused(gp, sample_ics, path):
    r = post(gp, path.read_bytes(), _ctype(path))
    assert r.status_code == 400, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert referrals(sample_ics) == []


@pytest.mark.parametrize(
    "path",
    sorted((EXAMPLES / "api_spec" / "examples" / "process_message" / "request").glob("*.json")),
    ids=lambda p: p.name,
)
def test_spec_api_examples_booking_and_validation_are_not_supported(gp, sample_ics, path):
    r = post(gp, path.read_bytes())
    assert r.status_code in (400, 422), r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert referrals(sample_ics) == []
