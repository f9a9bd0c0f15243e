"""DOAC dose for non-valvular AF against the SmPC, from age, weight and Cockcroft–Gault CrCl.

Re-derived from the SmPCs (electronic Medicines Compendium) as RULES.md §4.3 asks, not from the
doacs-covid19 study code (which has errors):
- apixaban 5 mg bd; 2.5 mg bd if ≥2 of age ≥80, weight ≤60 kg, serum creatinine ≥133 µmol/L,
  or if CrCl 15–29 mL/min; not recommended if CrCl <15.
- rivaroxaban 20 mg od; 15 mg if CrCl 15–49; not recommended if CrCl <15.
- edoxaban 60 mg od; 30 mg if CrCl 15–50 or weight ≤60 kg, or with ciclosporin, dronedarone,
  erythromycin or ketoconazole (Lixiana SmPC 4.2, "Concomitant use of edoxaban with P-gp
  inhibitors"); not recommended if CrCl <15.
- dabigatran 150 mg bd; 110 mg bd if age ≥80 or with verapamil (Pradaxa SmPC 4.2, "dose
  reduction recommended"); either 150 or 110 mg at 75–79 or CrCl 30–50 (individual
  assessment); contraindicated if CrCl <30.

The interacting-drug reductions hold whatever the renal function, so they are checked even when
age, weight or creatinine is missing: edoxaban 60 mg with one of the four, or dabigatran 150 mg
with verapamil, is the wrong dose on any CrCl. Every other check needs all three inputs.
Cockcroft–Gault: CrCl = (140 − age) × weight × (1.23 male, 1.04 otherwise) / creatinine (µmol/L);
sex other/unknown uses the lower (female) factor, the conservative choice.
"""

from __future__ import annotations

DOAC_SUBSTANCES = ("apixaban", "dabigatran", "edoxaban", "rivaroxaban")


def cockcroft_gault(age: int, weight_kg: float, creatinine_umol_l: float, sex: str) -> float:
    factor = 1.23 if sex == "male" else 1.04
    return (140 - age) * weight_kg * factor / creatinine_umol_l


def allowed_strengths(
    substance: str,
    age: int,
    weight_kg: float | None,
    creatinine: float | None,
    crcl: float | None,
    *,
    edoxaban_pgp_inhibitor: bool = False,
    verapamil: bool = False,
) -> frozenset[float] | None:
    """Strengths (mg per dose) the SmPC allows for AF; empty = not recommended at all; None =
    cannot be judged (weight or creatinine missing and no interacting drug decides it)."""
    if weight_kg is None or creatinine is None or crcl is None:
        if substance == "edoxaban" and edoxaban_pgp_inhibitor:
            return frozenset({30.0})
        if substance == "dabigatran" and verapamil:
            return frozenset({110.0})
        if substance in DOAC_SUBSTANCES:
            return None
        raise ValueError(f"not a DOAC: {substance}")
    if substance == "apixaban":
        if crcl < 15:
            return frozenset()
        criteria = (age >= 80) + (weight_kg <= 60) + (creatinine >= 133)
        return frozenset({2.5}) if criteria >= 2 or crcl < 30 else frozenset({5.0})
    if substance == "rivaroxaban":
        if crcl < 15:
            return frozenset()
        return frozenset({15.0}) if crcl < 50 else frozenset({20.0})
    if substance == "edoxaban":
        if crcl < 15:
            return frozenset()
        reduce = crcl <= 50 or weight_kg <= 60 or edoxaban_pgp_inhibitor
        return frozenset({30.0}) if reduce else frozenset({60.0})
    if substance == "dabigatran":
        if crcl < 30:
            return frozenset()
        if age >= 80 or verapamil:
            return frozenset({110.0})
        if age >= 75 or crcl <= 50:
            return frozenset({110.0, 150.0})
        return frozenset({150.0})
    raise ValueError(f"not a DOAC: {substance}")
