"""The workforce vocabulary: sectors, staff roles, Agenda for Change bands, training programmes.

Sources: sectors follow the NHS England Pharmacy Workforce Survey / "Pharmacy Integration" sector
list (primary care incl. PCN/GP practice, community pharmacy, hospital, mental health, care homes,
integrated urgent care, ICS/commissioner); roles and bands follow the NHS Agenda for Change pay
scales (bands 2-9, with 8a-8d) — community pharmacy posts are usually not on AfC, so band is
optional. Training programmes follow NHS England WT&E pharmacy education: foundation trainee
pharmacist year, post-registration foundation pharmacist, independent prescribing (IP),
trainee pharmacy technician, advanced and consultant practice.
"""

from __future__ import annotations

from enum import StrEnum

from ipmo.organisations import OrgKind


class Sector(StrEnum):
    GP = "gp"  # GP practice / PCN (ARRS roles)
    COMMUNITY = "community"  # community pharmacy
    HOSPITAL = "hospital"
    MENTAL_HEALTH = "mental_health"
    CARE_HOME = "care_home"
    IUC = "iuc"  # integrated urgent care (NHS 111, clinical assessment service)
    ICS = "ics"  # ICB / commissioning / system leadership


SECTOR_LABELS = {
    Sector.GP: "GP practice / PCN",
    Sector.COMMUNITY: "Community pharmacy",
    Sector.HOSPITAL: "Hospital",
    Sector.MENTAL_HEALTH: "Mental health",
    Sector.CARE_HOME: "Care homes",
    Sector.IUC: "Integrated urgent care",
    Sector.ICS: "ICS / ICB",
}


class StaffRole(StrEnum):
    PHARMACIST = "pharmacist"
    PHARMACY_TECHNICIAN = "pharmacy_technician"
    PHARMACY_ASSISTANT = "pharmacy_assistant"
    TRAINEE_PHARMACIST = "trainee_pharmacist"
    TRAINEE_TECHNICIAN = "trainee_pharmacy_technician"


ROLE_LABELS = {
    StaffRole.PHARMACIST: "Pharmacist",
    StaffRole.PHARMACY_TECHNICIAN: "Pharmacy technician",
    StaffRole.PHARMACY_ASSISTANT: "Pharmacy assistant",
    StaffRole.TRAINEE_PHARMACIST: "Trainee pharmacist",
    StaffRole.TRAINEE_TECHNICIAN: "Trainee pharmacy technician",
}

# NHS Agenda for Change pay bands (NHS Employers, "Agenda for Change pay scales").
AFC_BANDS = ("2", "3", "4", "5", "6", "7", "8a", "8b", "8c", "8d", "9")


class Programme(StrEnum):
    FOUNDATION_TRAINEE = "foundation_trainee_pharmacist"
    POST_REG_FOUNDATION = "post_registration_foundation"
    INDEPENDENT_PRESCRIBING = "independent_prescribing"
    TRAINEE_TECHNICIAN = "trainee_pharmacy_technician"
    ADVANCED_PRACTICE = "advanced_practice"
    CONSULTANT = "consultant"


PROGRAMME_LABELS = {
    Programme.FOUNDATION_TRAINEE: "Foundation trainee pharmacist",
    Programme.POST_REG_FOUNDATION: "Post-registration foundation pharmacist",
    Programme.INDEPENDENT_PRESCRIBING: "Independent prescribing",
    Programme.TRAINEE_TECHNICIAN: "Trainee pharmacy technician",
    Programme.ADVANCED_PRACTICE: "Advanced practice",
    Programme.CONSULTANT: "Consultant pharmacist",
}

# Where an organisation's staff work when the row does not say (a mental-health trust must say).
DEFAULT_SECTOR = {
    OrgKind.PRACTICE: Sector.GP,
    OrgKind.PCN: Sector.GP,
    OrgKind.PHARMACY: Sector.COMMUNITY,
    OrgKind.TRUST: Sector.HOSPITAL,
    OrgKind.CARE_HOME: Sector.CARE_HOME,
    OrgKind.NHS111: Sector.IUC,
    OrgKind.ICB: Sector.ICS,
    OrgKind.PLACE: Sector.ICS,
}
