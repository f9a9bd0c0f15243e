"""The referral services ipmo carries, their senders and their deadlines (named parameters).

Deadlines are the service specifications' expectations, kept here as data so a commissioner can
read and change them in one place. Each is *from receipt*:

- ``accept_within``: the receiving organisation must have accepted (or declined) the referral by
  then, otherwise the worker escalates it (re-routes or returns it). A referral must never wait
  silently (CPCS service specification: "incorporates a feedback loop to ensure patients are seen
  or escalated").
- ``complete_within``: when the service expects the episode to be finished (used for "overdue"
  lists and activity figures, not for automatic escalation).

Sources (see ../shared/fhir/STANDARDS.md §4):
- Urgent repeat medicine supply from NHS 111 (NHS Pharmacy First Service specification, 2024, urgent
  medicine supply element, ex NUMSAS/CPCS): the patient needs the medicine within hours; we ask the
  pharmacy to accept within 1 hour and complete within 12 hours. *The exact hour figures are our
  reading of "urgent"; check against the current NHS England specification.*
- Pharmacy First minor illness / clinical pathways (BaRS Application 5 use case a5t1; the REFREQ03
  example's Task says "Patient will contact pharmacy service in 24 hours" and its
  ServiceRequest.occurrencePeriod is 24 hours): accept within 4 hours, complete within 24 hours.
- Pharmacy contraception (a5t2) and blood pressure check (a5t3), BaRS Application 5: routine
  services; accept within 24 hours, complete within 7 days (no national figure found: *unverified*).
- Discharge Medicines Service (NHS England DMS toolkit, PAR366: stage 1 clinical check "within 72
  hours" of receipt): accept within 24 hours, complete stage 1 within 72 hours.
- Escalation back from a pharmacy to a GP practice or NHS 111: the receiving service must pick it
  up within 2 hours and close it within 24 hours (*local ICS rule, unverified*).

A message may ask for an earlier deadline (``ServiceRequest.occurrencePeriod.end``); it is honoured
only when it falls inside the service's own window (a later one would let a referral wait longer
than the service allows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from ipmo.organisations.models import OrgKind, PharmacyService


class ReferralService(StrEnum):
    URGENT_SUPPLY = "urgent-repeat-supply"
    PHARMACY_FIRST = "pharmacy-first"
    CONTRACEPTION = "contraception"
    BP_CHECK = "blood-pressure-check"
    DMS = "discharge-medicines-service"
    ESCALATION = "escalation"


@dataclass(frozen=True)
class ServiceRule:
    service: ReferralService
    title: str
    # which pharmacy service (Organisation.services) a receiver must offer; None: not a pharmacy
    pharmacy_service: PharmacyService | None
    senders: frozenset[str]  # OrgKind values allowed to send it
    accept_within: timedelta
    complete_within: timedelta


H = timedelta(hours=1)

URGENT_SUPPLY_ACCEPT_WITHIN = 1 * H
URGENT_SUPPLY_COMPLETE_WITHIN = 12 * H
PHARMACY_FIRST_ACCEPT_WITHIN = 4 * H
PHARMACY_FIRST_COMPLETE_WITHIN = 24 * H
ROUTINE_PHARMACY_ACCEPT_WITHIN = 24 * H
ROUTINE_PHARMACY_COMPLETE_WITHIN = 7 * 24 * H
DMS_ACCEPT_WITHIN = 24 * H
DMS_COMPLETE_WITHIN = 72 * H
ESCALATION_ACCEPT_WITHIN = 2 * H
ESCALATION_COMPLETE_WITHIN = 24 * H

_PRIMARY = frozenset({OrgKind.PRACTICE.value, OrgKind.PCN.value})
_PHARMACY = frozenset({OrgKind.PHARMACY.value})

RULES: dict[ReferralService, ServiceRule] = {
    r.service: r
    for r in [
        ServiceRule(
            ReferralService.URGENT_SUPPLY,
            "Urgent repeat medicine supply",
            PharmacyService.URGENT_SUPPLY,
            frozenset({OrgKind.NHS111.value}),
            URGENT_SUPPLY_ACCEPT_WITHIN,
            URGENT_SUPPLY_COMPLETE_WITHIN,
        ),
        ServiceRule(
            ReferralService.PHARMACY_FIRST,
            "Pharmacy First (minor illness)",
            PharmacyService.PHARMACY_FIRST,
            frozenset({OrgKind.NHS111.value}) | _PRIMARY,
            PHARMACY_FIRST_ACCEPT_WITHIN,
            PHARMACY_FIRST_COMPLETE_WITHIN,
        ),
        ServiceRule(
            ReferralService.CONTRACEPTION,
            "Pharmacy contraception",
            PharmacyService.CONTRACEPTION,
            _PRIMARY,
            ROUTINE_PHARMACY_ACCEPT_WITHIN,
            ROUTINE_PHARMACY_COMPLETE_WITHIN,
        ),
        ServiceRule(
            ReferralService.BP_CHECK,
            "Blood pressure check",
            PharmacyService.HYPERTENSION,
            _PRIMARY,
            ROUTINE_PHARMACY_ACCEPT_WITHIN,
            ROUTINE_PHARMACY_COMPLETE_WITHIN,
        ),
        ServiceRule(
            ReferralService.DMS,
            "Discharge Medicines Service",
            PharmacyService.DMS,
            frozenset({OrgKind.TRUST.value}),
            DMS_ACCEPT_WITHIN,
            DMS_COMPLETE_WITHIN,
        ),
        ServiceRule(
            ReferralService.ESCALATION,
            "Escalation back to GP / NHS 111",
            None,
            _PHARMACY,
            ESCALATION_ACCEPT_WITHIN,
            ESCALATION_COMPLETE_WITHIN,
        ),
    ]
}


def rule_for(service: str) -> ServiceRule:
    try:
        return RULES[ReferralService(service)]
    except ValueError:
        known = ", ".join(s.value for s in ReferralService)
        raise ValueError(f"unknown service {service!r}; known services: {known}") from None
