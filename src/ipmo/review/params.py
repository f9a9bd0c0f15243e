"""Every threshold the clinical sources leave open, named once (RULES.md asks for this).

Change a value by building ``Params(...)`` with keyword overrides; every rule reads its numbers
from here, so the per-patient and the set-based evaluators can never disagree about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Params:
    # --- PINCER (RULES.md §1) ---
    #: "co-prescribed within 28 days" = any pair of issues less than this many days apart (§1.4).
    coprescription_gap_days: int = 28
    #: G: count non-selective β-blocker *eye drops* (pincer-nsbb includes 254 eye-drop lines;
    #: national PINCER searches may differ, §1.5.4). A visible option, default as the codelist.
    pincer_g_include_eye_drops: bool = True
    #: AC: use the published broad diuretic list (spironolactone, amiloride … included, §1.5.4);
    #: False restricts AC to loop diuretics as its title says.
    pincer_ac_broad_diuretics: bool = True
    #: K: latest eGFR below this (mL/min/1.73m²) with an NSAID.
    pincer_k_egfr_below: float = 45.0
    # --- STOPP/START v3 (RULES.md §3) ---
    #: Both tools target people aged ≥65 (O'Mahony 2023).
    stopp_start_min_age: int = 65
    #: "active" = issued in the last N months (§3.3 notation; 84 days' supply default ≈ 3 m).
    active_months: int = 3
    #: STOPP-E4 NSAID eGFR threshold (v3 says 50; PINCER K uses 45).
    stopp_e4_egfr_below: float = 50.0
    #: STOPP-B13 potassium monitoring interval (v3 does not state one; §3.3 proposes 6 months).
    stopp_b13_potassium_months: int = 6
    #: STOPP-D8 benzodiazepine ≥4 weeks: first-to-last issue span in the active window.
    stopp_d8_min_days: int = 28
    #: "recurrent falls" is undefined in v3; ≥2 fall codes in 12 months is the usual proxy.
    recurrent_falls_count: int = 2
    recurrent_falls_months: int = 12
    hyperkalaemia_above: float = 5.5  # STOPP-B12 (mmol/L)
    hypokalaemia_below: float = 3.0  # STOPP-B9
    hyponatraemia_below: float = 130.0  # STOPP-B9, D6
    #: lab results count as "current" within this many months (B9, B12, D6).
    current_lab_months: int = 3
    #: D14 "delirium in 12 months / dementia", and "potent anticholinergic" = ACB score 3.
    potent_anticholinergic_score: int = 3
    stopp_d14_delirium_months: int = 12
    # --- ACB (RULES.md §2) ---
    acb_total_threshold: int = 3  # total ≥3 is "clinically relevant" (Fox 2011)
    acb_moderate_min_score: int = 2  # NHSBSA comparator: ≥2 medicines scoring 2–3
    acb_moderate_count: int = 2
    # --- SMR cohorts (RULES.md §4.2) ---
    polypharmacy_high: int = 10  # DES: "10 or more medications"
    polypharmacy_very_high: int = 15  # §4.2 score uses +3 at ≥15
    polypharmacy_low: int = 6  # NHSBSA also reports ≥6
    polypharmacy_months: int = 3
    addictive_min_issues: int = 2  # OpenSAFELY rule: ≥2 issues in 12 months
    high_risk_months: int = 12
    teratogenic_max_age: int = 55
    recent_admission_days: int = 90
    smr_recent_months: int = 12
    # --- high-risk monitoring (RULES.md §4.3) ---
    monitoring_min_age_ac: int = 75
    doac_monitoring_months: int = 12
    # --- worklist score (§4.2 proposal; needs clinical sign-off) ---
    weights: dict[str, int] = field(
        default_factory=lambda: {
            "care_home": 3,
            "severe_frailty": 3,
            "polypharmacy_10": 2,
            "polypharmacy_15": 3,
            "hazard": 2,
            "acb_3": 2,
            "addictive": 2,
            "admission_or_fall": 2,
            "no_smr_12m": 1,
        }
    )

    def __hash__(self) -> int:  # weights is a dict; rules only hash the scalar thresholds
        return hash(tuple(v for k, v in vars(self).items() if k != "weights"))


DEFAULT = Params()
