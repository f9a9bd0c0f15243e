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
from ipmo.vocab import Labelled, labels


class OrgKind(StrEnum):
    ICB = "icb"
    PLACE = "place"
    PCN = "pcn"
    PRACTICE = "practice"
    PHARMACY = "pharmacy"
    TRUST = "trust"
    CARE_HOME = "care_home"
    NHS111 = "nhs111"


class PharmacyService(Labelled):
    """Services a community pharmacy may offer (NHS Community Pharmacy Contractual Framework)."""

    # minor illness clinical pathways (ex CPCS/DMIRS)
    PHARMACY_FIRST = "pharmacy-first", "Pharmacy First"
    # ex NUMSAS
    URGENT_SUPPLY = "urgent-repeat-supply", "Urgent repeat medicine supply"
    DMS = "discharge-medicines-service", "Discharge Medicines Service"
    NMS = "new-medicine-service", "New Medicine Service"
    HYPERTENSION = "hypertension-case-finding", "Hypertension case-finding"
    CONTRACEPTION = "contraception", "Pharmacy Contraception Service"


SERVICE_LABELS: dict[str, str] = {**labels(PharmacyService), "all-services": "All services"}


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
