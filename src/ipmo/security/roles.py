"""Roles mapped to activities.

In the spirit of NHS Care Identity Service 2 (CIS2) RBAC: a user's session carries a *role*
(a job role at an organisation) and code authorises on the *activities* that role grants, never on
job titles. Each role below has a prose description an information-governance reviewer can check.
See NHS England, "National RBAC for Developers" (role and activity codes, e.g. B0264 "View Patient
Medication", B0570 "Perform Pharmacy Activities") — we use readable activity names and keep the
nearest national activity code beside each for mapping to CIS2 later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Activity(StrEnum):
    # direct care: one patient's record
    RECORD_VIEW = "record.view"  # ~B0264 View Patient Medication
    RECORD_RECONCILE = "record.reconcile"  # ~B0570 Perform Pharmacy Activities
    # referrals and transfers of care
    REFERRAL_SEND = "referral.send"  # ~B0019 Make Referral
    REFERRAL_RECEIVE = "referral.receive"  # ~B0020 Receive Referral / manage outcome
    REFERRAL_VIEW = "referral.view"
    # referrals sent without a relationship with the patient (stated reasons), ICS-wide
    REFERRAL_OVERSIGHT = "referral.oversight"
    # medicines optimisation case finding
    REVIEW_VIEW = "review.view"  # SMR worklist and findings
    REVIEW_RECORD = "review.record"  # record reviews and interventions
    # population (pseudonymised, aggregated)
    ANALYTICS_VIEW = "analytics.view"
    # FHIR bulk export ($export) of pseudonymised, disclosure-controlled lines: analysts only
    ANALYTICS_EXPORT = "analytics.export"
    WORKFORCE_VIEW = "workforce.view"  # aggregates only
    WORKFORCE_DETAIL = "workforce.detail"  # named people: workforce leads and admins
    WORKFORCE_EDIT = "workforce.edit"
    PLAN_VIEW = "plan.view"
    PLAN_EDIT = "plan.edit"
    # administration
    USERS_ADMIN = "users.admin"
    AUDIT_VIEW = "audit.view"
    TERMINOLOGY_VIEW = "terminology.view"


A = Activity


@dataclass(frozen=True)
class Role:
    code: str
    title: str
    description: str
    activities: frozenset[Activity]
    # may this role open any patient in the ICS (still audited)? Only roles whose work is
    # ICS-wide medicines safety; population analysts never see identifiable records.
    ics_wide_patient_access: bool = False


def _role(code, title, description, *activities, ics_wide=False) -> Role:
    return Role(code, title, description, frozenset(activities), ics_wide)


ROLES: dict[str, Role] = {
    r.code: r
    for r in [
        _role(
            "pcn-pharmacist",
            "Clinical pharmacist (PCN / GP practice)",
            "Reconciles medication lists and works the SMR worklist for patients registered with "
            "the practices of their PCN.",
            A.RECORD_VIEW,
            A.RECORD_RECONCILE,
            A.REVIEW_VIEW,
            A.REVIEW_RECORD,
            A.REFERRAL_SEND,
            A.REFERRAL_VIEW,
            A.ANALYTICS_VIEW,
            A.PLAN_VIEW,
            A.TERMINOLOGY_VIEW,
        ),
        _role(
            "community-pharmacist",
            "Community pharmacist",
            "Receives referrals (111, GP, discharge), records outcomes and sees the medication "
            "record of patients who nominated the pharmacy or were referred to it.",
            A.RECORD_VIEW,
            A.RECORD_RECONCILE,
            A.REFERRAL_RECEIVE,
            A.REFERRAL_VIEW,
            A.REFERRAL_SEND,
            A.TERMINOLOGY_VIEW,
        ),
        _role(
            "hospital-pharmacist",
            "Hospital pharmacist",
            "Reconciles medicines on admission and sends discharge medicines to the patient's "
            "pharmacy for patients admitted to their trust.",
            A.RECORD_VIEW,
            A.RECORD_RECONCILE,
            A.REFERRAL_SEND,
            A.REFERRAL_VIEW,
            A.TERMINOLOGY_VIEW,
        ),
        _role(
            "gp",
            "General practitioner",
            "Sees the medication record and reviews of patients registered at their practice, "
            "refers to community pharmacy and receives outcomes.",
            A.RECORD_VIEW,
            A.REVIEW_VIEW,
            A.REVIEW_RECORD,
            A.REFERRAL_SEND,
            A.REFERRAL_VIEW,
            A.REFERRAL_RECEIVE,
            A.ANALYTICS_VIEW,
            A.TERMINOLOGY_VIEW,
        ),
        _role(
            "nhs111-clinician",
            "NHS 111 clinician",
            "Refers callers to a community pharmacy (urgent supply, Pharmacy First) and tracks "
            "what happened. Sees a record only through an open referral.",
            A.REFERRAL_SEND,
            A.REFERRAL_VIEW,
            A.RECORD_VIEW,
            A.REFERRAL_RECEIVE,
        ),
        _role(
            "care-home-staff",
            "Care-home staff",
            "Sees the medicines list of the home's residents; no case finding, no analytics.",
            A.RECORD_VIEW,
        ),
        _role(
            "ics-analyst",
            "ICS medicines optimisation analyst",
            "Population dashboard, variation, savings, plan metrics and workforce aggregates. "
            "No access to identifiable patient records. Bulk export ($export) of pseudonymised, "
            "disclosure-controlled medication lines for the analytics zone.",
            A.ANALYTICS_VIEW,
            A.ANALYTICS_EXPORT,
            A.WORKFORCE_VIEW,
            A.PLAN_VIEW,
            A.PLAN_EDIT,
            A.TERMINOLOGY_VIEW,
            A.REVIEW_VIEW,
        ),
        _role(
            "ics-workforce-lead",
            "ICS pharmacy workforce lead",
            "Maintains the pharmacy workforce registry, including named posts.",
            A.ANALYTICS_VIEW,
            A.WORKFORCE_VIEW,
            A.WORKFORCE_DETAIL,
            A.WORKFORCE_EDIT,
            A.PLAN_VIEW,
            A.PLAN_EDIT,
        ),
        _role(
            "ics-medicines-safety",
            "ICS medicines safety officer",
            "Investigates medicines safety incidents across the ICS; may open any record, always "
            "audited.",
            A.RECORD_VIEW,
            A.REVIEW_VIEW,
            A.ANALYTICS_VIEW,
            A.REFERRAL_VIEW,
            A.REFERRAL_OVERSIGHT,
            A.PLAN_VIEW,
            A.TERMINOLOGY_VIEW,
            ics_wide=True,
        ),
        _role(
            "admin",
            "System administrator",
            "Manages users and reads the audit log. Does not see patient records.",
            A.USERS_ADMIN,
            A.AUDIT_VIEW,
            A.WORKFORCE_VIEW,
            A.WORKFORCE_DETAIL,
            A.WORKFORCE_EDIT,
            A.PLAN_VIEW,
            A.PLAN_EDIT,
            A.ANALYTICS_VIEW,
            A.TERMINOLOGY_VIEW,
        ),
    ]
}


def get_role(code: str) -> Role:
    try:
        return ROLES[code]
    except KeyError:
        raise ValueError(f"unknown role {code!r}; known roles: {', '.join(ROLES)}") from None
