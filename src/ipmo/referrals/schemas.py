"""Response models of the referrals API (referrals/api.py), so /openapi.json describes every body.

A referral holds the patient's NHS number and name: every read is relationship-checked and
audited by the use case (``actions.open_referral``), never by these models.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ReferralRead(BaseModel):
    """api.referral_json: the referral as the lists and every action answer it."""

    reference: str
    version: int  # send it back with an action (optimistic concurrency)
    service: str
    status: str  # FHIR Task.status
    outcome: str | None  # Task.businessStatus
    outcome_reason: str | None
    outcome_note: str | None
    escalated_to: str | None
    sender: str
    pharmacy: str | None
    routing_basis: str | None
    nhs_number: str | None
    patient_name: str
    practice: str | None
    created_at: datetime
    accept_by: datetime
    due_by: datetime
    accepted_at: datetime | None
    completed_at: datetime | None
    overdue: bool
    escalations: int


class ReferralEventRead(BaseModel):
    at: datetime
    kind: str
    status: str | None
    org: str
    by: str


class DischargeItemRead(BaseModel):
    name: str
    change: str  # started | stopped | changed | unchanged
    dose_text: str | None
    note: str | None


class StatedReasonRead(ReferralRead):
    """A referral sent without a relationship with the patient, and the reason the sender gave
    (the ICS medicines safety officer's list)."""

    submitted_by: str
    submitted_org: str
    no_relationship_reason: str | None


class ReferralDetail(ReferralRead):
    summary: str | None  # the sender's clinical narrative
    events: list[ReferralEventRead]
    discharge_items: list[DischargeItemRead]


class DmsLine(BaseModel):
    name: str
    dmd_code: str | None
    dose_text: str | None
    change: str | None


class DmsFinding(BaseModel):
    name: str
    kind: str
    action: str
    discharge_dose: str | None
    community_dose: str | None


class DmsReconciliation(BaseModel):
    """dms.reconcile_for: the discharge list against the community list, with findings."""

    reference: str
    compared_with: str | None  # one-medication-record | gp-repeat-medication
    discharge_items: list[DmsLine]
    findings: list[DmsFinding]
    checked_at: datetime | None
    checked_by: str | None


class ActivityFigures(BaseModel):
    """figures.activity_figures for one group (pharmacy, PCN, place or ICB): the additive counts
    and time totals, then the figures derived from them (one definition:
    ``referrals/figures.py``)."""

    group: str | None
    name: str | None
    referrals: int
    accepted: int
    closed: int
    completed: int
    completed_in_time: int
    consultations: int
    items_supplied: int
    no_supply: int
    advice_given: int
    referred_on: int
    escalated: int
    nhs111_urgent: int
    nhs111_urgent_to_pharmacy: int
    nhs111_urgent_returned: int
    minutes_to_accept_total: float
    minutes_to_complete_total: float
    completion_rate: float | None
    completed_in_time_rate: float | None
    no_supply_share: float | None
    mean_minutes_to_accept: float | None
    mean_minutes_to_complete: float | None
    channel_shift_to_pharmacy: float | None
    channel_shift_returned: float | None
    no_supply_reasons: dict[str, int]
    by_service: dict[str, int]


class LeakageRow(BaseModel):
    """figures.referral_leakage for one practice: GP referrals to the service against its list
    size, the ICS rate, the shortfall and the pharmacies offering the service in its place (no
    patient data; one definition: ``referrals/figures.py``)."""

    practice: str
    name: str | None
    referrals: int
    patients: int
    per_1000: float | None
    ics_per_1000: float | None
    expected: float | None
    shortfall: float | None
    pharmacies_nearby: int
    low: bool
