"""The ICS's organisations, keyed by ODS-style codes.

Hierarchy (``parent_code``): ICB → place (sub-ICB) → PCN → GP practice. Community pharmacies and
care homes hang off a place, trusts off the ICB. Pharmacies carry the services they offer and their
opening hours so referrals can be routed to one that is open before a deadline.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from ipmo.store import Base, IntPk, OrgRef


class OrgKind(StrEnum):
    ICB = "icb"
    PLACE = "place"
    PCN = "pcn"
    PRACTICE = "practice"
    PHARMACY = "pharmacy"
    TRUST = "trust"
    CARE_HOME = "care_home"
    NHS111 = "nhs111"


class PharmacyService(StrEnum):
    """Services a community pharmacy may offer (NHS Community Pharmacy Contractual Framework)."""

    PHARMACY_FIRST = "pharmacy-first"  # minor illness clinical pathways (ex CPCS/DMIRS)
    URGENT_SUPPLY = "urgent-repeat-supply"  # urgent repeat medicine supply (ex NUMSAS)
    DMS = "discharge-medicines-service"
    NMS = "new-medicine-service"
    HYPERTENSION = "hypertension-case-finding"
    CONTRACEPTION = "contraception"


SERVICE_LABELS = {
    PharmacyService.PHARMACY_FIRST: "Pharmacy First",
    PharmacyService.URGENT_SUPPLY: "Urgent repeat medicine supply",
    PharmacyService.DMS: "Discharge Medicines Service",
    PharmacyService.NMS: "New Medicine Service",
    PharmacyService.HYPERTENSION: "Hypertension case-finding",
    PharmacyService.CONTRACEPTION: "Pharmacy Contraception Service",
    "all-services": "All services",
}


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[IntPk]
    ods_code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    parent_code: Mapped[OrgRef | None]
    postcode: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Index of Multiple Deprivation decile of the practice population (1 = most deprived)
    imd_decile: Mapped[int | None]
    # pharmacies: PharmacyService values; care homes: "nursing" / "residential"
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {"mon": [["09:00", "18:00"]], ...}; a missing day means closed
    opening_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Organisation {self.ods_code} {self.kind}>"
