"""dm+d tables: VTM → VMP → AMP, VMPP → AMPP, plus previous-id and BNF presentation lookups.

Lean on purpose: one row per concept with the fields ipmo actually uses (name, form, route, the
strength of single-ingredient VMPs, BNF code, supplier, invalid flag, previous id), string ids
(SNOMED CT ids exceed 2**53 and must never pass through a float), and no foreign keys between the
levels. The starter dictionary is partial (an AMP may be known while its VMP is not) and a weekly
dm+d release is loaded as one bulk replace, so referential checks would only slow the 60k-VMP
import without protecting anything. ``source`` keeps provenance: ``dmd:<release>`` for the
official release, or the starter dictionary's source keys.

Field meanings follow the NHSBSA "dm+d Data Model" and "Technical Specification of Data Files"
(VMP: VPID, VPIDPREV, VTMID, NM, INVALID; VPI: STRNT_NMRTR_VAL/UOMCD, STRNT_DNMTR_VAL/UOMCD;
AMP: APID, VPID, DESC, SUPPCD; VMPP: VPPID, QTYVAL, QTY_UOMCD; AMPP: APPID, VPPID, APID).
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ipmo.store import Base

ID = String(20)


class DmdConcept:
    """What every dm+d concept table holds: the SNOMED CT id, the name, the invalid flag and the
    provenance (``source``)."""

    id: Mapped[str] = mapped_column(ID, primary_key=True, sort_order=-1)  # the id leads the table
    name: Mapped[str] = mapped_column(String(400))
    invalid: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str | None] = mapped_column(String(500))


class DmdVtm(DmdConcept, Base):
    __tablename__ = "dmd_vtm"

    prev_id: Mapped[str | None] = mapped_column(ID)


class DmdVmp(DmdConcept, Base):
    __tablename__ = "dmd_vmp"
    __table_args__ = (Index("ix_dmd_vmp_vtm", "vtm_id"), Index("ix_dmd_vmp_bnf", "bnf_code"))

    vtm_id: Mapped[str | None] = mapped_column(ID)
    form: Mapped[str | None] = mapped_column(String(255))
    route: Mapped[str | None] = mapped_column(String(255))
    strength_num_value: Mapped[float | None] = mapped_column(Float)
    strength_num_unit: Mapped[str | None] = mapped_column(String(60))
    strength_den_value: Mapped[float | None] = mapped_column(Float)
    strength_den_unit: Mapped[str | None] = mapped_column(String(60))
    bnf_code: Mapped[str | None] = mapped_column(String(15))
    prev_id: Mapped[str | None] = mapped_column(ID)


class DmdAmp(DmdConcept, Base):
    __tablename__ = "dmd_amp"
    __table_args__ = (Index("ix_dmd_amp_vmp", "vmp_id"), Index("ix_dmd_amp_bnf", "bnf_code"))

    vmp_id: Mapped[str | None] = mapped_column(ID)
    description: Mapped[str | None] = mapped_column(String(500))  # name + "(supplier)"
    supplier: Mapped[str | None] = mapped_column(String(200))
    bnf_code: Mapped[str | None] = mapped_column(String(15))


class DmdVmpp(DmdConcept, Base):
    __tablename__ = "dmd_vmpp"
    __table_args__ = (Index("ix_dmd_vmpp_vmp", "vmp_id"),)

    vmp_id: Mapped[str | None] = mapped_column(ID)
    qty_value: Mapped[float | None] = mapped_column(Float)
    qty_unit: Mapped[str | None] = mapped_column(String(60))
    # Drug Tariff price of the pack in pence (DRUG_TARIFF_INFO/DTINFO PRICE), when it has one
    price_pence: Mapped[int | None] = mapped_column(Integer)
    bnf_code: Mapped[str | None] = mapped_column(String(15))


class DmdAmpp(DmdConcept, Base):
    __tablename__ = "dmd_ampp"
    __table_args__ = (Index("ix_dmd_ampp_amp", "amp_id"), Index("ix_dmd_ampp_vmpp", "vmpp_id"))

    amp_id: Mapped[str | None] = mapped_column(ID)
    vmpp_id: Mapped[str | None] = mapped_column(ID)
    legal_category: Mapped[str | None] = mapped_column(String(60))
    bnf_code: Mapped[str | None] = mapped_column(String(15))


class DmdCodeMap(Base):
    """A retired id and the id that replaced it (VMP ``VPIDPREV``, VTM ``VTMIDPREV``, codelist
    "VMP previous to …" terms). Looking an old id up here lets records coded before a re-coding
    still resolve."""

    __tablename__ = "dmd_code_map"
    __table_args__ = (Index("ix_dmd_code_map_new", "new_id"),)

    old_id: Mapped[str] = mapped_column(ID, primary_key=True)
    new_id: Mapped[str] = mapped_column(ID)
    level: Mapped[str] = mapped_column(String(4))  # VTM | VMP | AMP …
    source: Mapped[str | None] = mapped_column(String(500))


class BnfPresentation(Base):
    """A BNF presentation (15 characters) with its name as used in prescribing data (EPD)."""

    __tablename__ = "bnf_presentation"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(400))
    source: Mapped[str | None] = mapped_column(String(500))
