"""SMR worklist priority: the §4.2 proposal as default weights (``Params.weights``), with the
reasons shown. Needs clinical sign-off before use (RULES.md §4.2 says so).

The score is a function of which rules fired, so it is computed identically from a per-patient
check and from the set-based run (``sql_score`` renders the same formula as SQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ipmo.review.params import DEFAULT, Params
from ipmo.review.rules import all_rules

#: DES cohorts (RULES.md §4.1): a patient in any of these belongs on the worklist.
COHORT_RULES = (
    "SMR-CARE-HOME",
    "SMR-POLYPHARMACY-10",
    "SMR-SEVERE-FRAILTY",
    "SMR-ADMISSION-OR-FALL",
    "SMR-ADDICTIVE",
    "SMR-DMARD",
    "SMR-TERATOGENIC",
    "SMR-LEARNING-DISABILITY",
)
#: (weight key, rule id that earns it, reason shown to the pharmacist)
FLAG_WEIGHTS = (
    ("care_home", "SMR-CARE-HOME", "care-home resident"),
    ("severe_frailty", "SMR-SEVERE-FRAILTY", "severe frailty"),
    ("acb_3", "ACB-TOTAL", "anticholinergic burden ≥3"),
    ("addictive", "SMR-ADDICTIVE", "potentially addictive medicines"),
    ("admission_or_fall", "SMR-ADMISSION-OR-FALL", "recent admission or fall"),
)


def hazard_ids(params: Params = DEFAULT) -> frozenset[str]:
    return frozenset(r.id for r in all_rules(params) if r.is_hazard)


def priority(fired: Iterable[str], params: Params = DEFAULT) -> tuple[int, list[str], bool]:
    """(score, reasons, in_cohort) from the ids of the rules that fired for a patient."""
    ids = set(fired)
    w = params.weights
    score, reasons = 0, []
    for key, rid, reason in FLAG_WEIGHTS:
        if rid in ids:
            score += w[key]
            reasons.append(f"{reason} (+{w[key]})")
    if "SMR-POLYPHARMACY-15" in ids:
        score += w["polypharmacy_15"]
        reasons.append(f"≥{params.polypharmacy_very_high} medicines (+{w['polypharmacy_15']})")
    elif "SMR-POLYPHARMACY-10" in ids:
        score += w["polypharmacy_10"]
        reasons.append(f"≥{params.polypharmacy_high} medicines (+{w['polypharmacy_10']})")
    hazards = sorted(ids & hazard_ids(params))
    if hazards:
        score += w["hazard"] * len(hazards)
        reasons.append(
            f"{len(hazards)} prescribing hazard(s) {', '.join(hazards)} "
            f"(+{w['hazard'] * len(hazards)})"
        )
    if "SMR-RECENT-REVIEW" not in ids:
        score += w["no_smr_12m"]
        reasons.append(f"no SMR in 12 months (+{w['no_smr_12m']})")
    in_cohort = bool(hazards) or any(r in ids for r in COHORT_RULES)
    return score, reasons, in_cohort


def sql_score(col: Callable[[str], str], params: Params = DEFAULT) -> str:
    """The same score as SQL, given ``col(rule_id)`` naming each rule's boolean column."""
    w = params.weights
    terms = [f"CASE WHEN {col(rid)} THEN {w[key]} ELSE 0 END" for key, rid, _ in FLAG_WEIGHTS]
    terms.append(
        f"CASE WHEN {col('SMR-POLYPHARMACY-15')} THEN {w['polypharmacy_15']} "
        f"WHEN {col('SMR-POLYPHARMACY-10')} THEN {w['polypharmacy_10']} ELSE 0 END"
    )
    terms += [
        f"CASE WHEN {col(h)} THEN {w['hazard']} ELSE 0 END" for h in sorted(hazard_ids(params))
    ]
    terms.append(f"CASE WHEN {col('SMR-RECENT-REVIEW')} THEN 0 ELSE {w['no_smr_12m']} END")
    return " + ".join(terms)


def sql_in_cohort(col: Callable[[str], str], params: Params = DEFAULT) -> str:
    ids = list(COHORT_RULES) + sorted(hazard_ids(params))
    return " OR ".join(col(r) for r in ids)
