"""The code systems and codes of BaRS-shaped referral messages (BaRS Core 1.1.6 / Application
5, ../shared/fhir/STANDARDS.md §4.1-4.4), and the local ones this ICS adds (``urn:ipmo:…``)."""

from __future__ import annotations

from ipmo.referrals.catalogue import ReferralService

EVENT_SYSTEM = "https://fhir.nhs.uk/CodeSystem/message-events-bars"
REASON_SYSTEM = "https://fhir.nhs.uk/CodeSystem/message-reason-bars"
USECASE_SYSTEM = "https://fhir.nhs.uk/CodeSystem/usecases-categories-bars"
CATEGORY_SYSTEM = "https://fhir.nhs.uk/CodeSystem/message-category-servicerequest"
SERVICE_SYSTEM = "urn:ipmo:referral-service"  # local: our ReferralService values
CHANGE_SYSTEM = "urn:ipmo:discharge-change"  # local: started | stopped | changed | unchanged
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/id/nhs-number"  # compared case-insensitively
ODS_SYSTEMS = (
    "https://fhir.nhs.uk/id/ods-organization-code",
    "https://fhir.nhs.uk/id/ods-organisation-code",
)
REFERENCE_SYSTEM = "urn:ipmo:referral-reference"

# local extension on the ServiceRequest: why a sender with no legitimate relationship with the
# patient refers them (issue 12); NHS 111 senders without one are recorded as "NHS 111 caller"
NO_RELATIONSHIP_REASON_URL = "urn:ipmo:no-relationship-reason"
NHS111_CALLER = "NHS 111 caller"

USE_CASES = {
    "a5t1": ReferralService.PHARMACY_FIRST,
    "a5t2": ReferralService.CONTRACEPTION,
    "a5t3": ReferralService.BP_CHECK,
}
TASK_CODES = {  # SNOMED CT procedures seen in the BaRS examples
    "2140231000000104": ReferralService.PHARMACY_FIRST,  # Referral to CP Pharmacy First Service
    "1577041000000109": ReferralService.PHARMACY_FIRST,  # CPCS for minor illness
    "1218611000000102": ReferralService.URGENT_SUPPLY,  # urgent supply by community pharmacy
}
SUPPORTED_APP_VERSION_MAJOR = "1"
