"""What an outcome form records beyond the outcome itself, per service (issue 14: "outcome forms
are the same four radios for every service"), and the rules each service puts on it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ipmo.referrals.catalogue import ReferralService
from ipmo.referrals.errors import ReferralError
from ipmo.referrals.lifecycle import Outcome

URGENCIES = {
    "emergency": "Emergency: now (999 or A&E)",
    "urgent": "Urgent: the same day",
    "routine": "Routine: within a few days",
}


@dataclass
class OutcomeDetails:
    """What the outcome form of a service asks beyond the outcome itself (issue 14: outcome
    forms per service): the medicines supplied with their quantities and the patient's consent
    (urgent repeat supply), the advice given, and how urgently an onward referral is needed.
    ``items`` are (medicine, quantity) pairs as typed, in form order (empty rows dropped)."""

    items: list[tuple[str, str]] = field(default_factory=list)
    consent: str = ""  # "yes" | "no" | "" (not asked)
    advice: str = ""
    urgency: str = ""


@dataclass(frozen=True)
class ReferralOutcome:
    """An outcome as the pharmacist records it, built once by the page, the API, the FHIR Task
    update or Pharmacy First and handed unchanged to :func:`ipmo.referrals.actions.record_outcome`
    and on to the state change: the outcome code, the reason (for no supply), a free-text note,
    where the patient is referred on to, and the service's outcome form (``None`` where no form
    was filled in, as from the API)."""

    outcome: str
    reason: str | None = None
    note: str | None = None
    escalate_to: str | None = None
    details: OutcomeDetails | None = None

    @classmethod
    def referred_on(cls, to: str, note: str | None = None) -> ReferralOutcome:
        """Refer the patient on to ``to``: completes the referral with outcome referred-on and,
        for GP / NHS 111, opens an escalation referral to them."""
        return cls(Outcome.REFERRED_ON.value, note=note, escalate_to=to)


def check_details(service: str, chosen: Outcome, d: OutcomeDetails) -> dict:
    """The service's own outcome rules; the event detail to record. Urgent repeat supply: NHS
    England, "Community Pharmacist Consultation Service" service specification (urgent supply:
    the medicine, the quantity supplied — up to 30 days — and the patient's consent to the supply
    and to informing their GP), https://www.england.nhs.uk/publication/advanced-service-
    specification-nhs-pharmacy-first-service/ (section "Urgent repeat medicine supply")."""
    items = []
    for n, (medicine, quantity) in enumerate(d.items, start=1):
        medicine, quantity = medicine.strip(), quantity.strip()
        if not medicine and not quantity:
            continue
        if not medicine:
            raise ReferralError(f"Enter the medicine supplied in row {n}", f"item-{n}-medicine")
        if not quantity.isdigit() or int(quantity) < 1:
            raise ReferralError(
                f"Enter the quantity of {medicine} supplied as a whole number, for example 28",
                f"item-{n}-quantity",
            )
        items.append({"medicine": medicine[:200], "quantity": int(quantity)})
    supplied = chosen is Outcome.SUPPLIED
    if items and not supplied:
        raise ReferralError(
            "Medicines supplied go only with the outcome 'Supplied': clear them or choose "
            "'Supplied'",
            "item-1-medicine",
        )
    if service == ReferralService.URGENT_SUPPLY and supplied:
        if not items:
            raise ReferralError("Enter each medicine supplied and its quantity", "item-1-medicine")
        if d.consent != "yes":
            raise ReferralError(
                "An urgent supply needs the patient's consent to the supply and to telling their "
                "GP practice: select 'Yes', or record 'No supply' with the reason 'Patient "
                "declined'",
                "consent",
            )
    if chosen is Outcome.ADVICE_GIVEN and not d.advice.strip():
        raise ReferralError("Enter the advice given", "advice")
    if chosen is Outcome.REFERRED_ON and d.urgency not in URGENCIES:
        raise ReferralError("Select how urgently the patient needs to be seen", "urgency")
    detail: dict = {}
    if items:
        detail["items"] = items
    if d.consent in ("yes", "no"):
        detail["consent"] = d.consent
    if d.advice.strip():
        detail["advice"] = d.advice.strip()[:2000]
    if chosen is Outcome.REFERRED_ON:
        detail["urgency"] = d.urgency
    return detail
