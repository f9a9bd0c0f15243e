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

from ipmo.organisations import OrgKind
from ipmo.vocab import Labelled, labels


class Sector(Labelled):
    GP = "gp", "GP practice / PCN"  # ARRS roles
    COMMUNITY = "community", "Community pharmacy"
    HOSPITAL = "hospital", "Hospital"
    MENTAL_HEALTH = "mental_health", "Mental health"
    CARE_HOME = "care_home", "Care homes"
    IUC = "iuc", "Integrated urgent care"  # NHS 111, clinical assessment service
    ICS = "ics", "ICS / ICB"  # ICB / commissioning / system leadership


SECTOR_LABELS = labels(Sector)


class StaffRole(Labelled):
    PHARMACIST = "pharmacist", "Pharmacist"
    PHARMACY_TECHNICIAN = "pharmacy_technician", "Pharmacy technician"
    PHARMACY_ASSISTANT = "pharmacy_assistant", "Pharmacy assistant"
    TRAINEE_PHARMACIST = "trainee_pharmacist", "Trainee pharmacist"
    TRAINEE_TECHNICIAN = "trainee_pharmacy_technician", "Trainee pharmacy technician"


ROLE_LABELS = labels(StaffRole)

# NHS Agenda for Change pay bands (NHS Employers, "Agenda for Change pay scales").
AFC_BANDS = ("2", "3", "4", "5", "6", "7", "8a", "8b", "8c", "8d", "9")


class Programme(Labelled):
    FOUNDATION_TRAINEE = "foundation_trainee_pharmacist", "Foundation trainee pharmacist"
    POST_REG_FOUNDATION = "post_registration_foundation", "Post-registration foundation pharmacist"
    INDEPENDENT_PRESCRIBING = "independent_prescribing", "Independent prescribing"
    TRAINEE_TECHNICIAN = "trainee_pharmacy_technician", "Trainee pharmacy technician"
    ADVANCED_PRACTICE = "advanced_practice", "Advanced practice"
    CONSULTANT = "consultant", "Consultant pharmacist"


PROGRAMME_LABELS = labels(Programme)

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
