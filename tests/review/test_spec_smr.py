"""SMR cohorts (Network Contract DES, RULES.md §4), worklist score (§4.2) and high-risk
monitoring (§4.3) including the DOAC dose check."""

from __future__ import annotations

import pytest

from ipmo.review.check import check
from ipmo.review.doac import allowed_strengths, cockcroft_gault
from ipmo.review.worklist import priority

TEN = [
    "Atorvastatin 20mg tablets",
    "Ramipril 5mg capsules",
    "Amlodipine 5mg tablets",
    "Metformin 500mg tablets",
    "Omeprazole 20mg capsules",
    "Sertraline 50mg tablets",
    "Levothyroxine 50microgram tablets",
    "Bisoprolol 5mg tablets",
    "Furosemide 40mg tablets",
    "Allopurinol 100mg tablets",
]
BNF = {  # NHSBSA definition counts BNF chemical substances in chapters 1-4 and 6-10
    "Atorvastatin 20mg tablets": "0212000B0AAABAB",
    "Ramipril 5mg capsules": "0205051R0AAACAC",
    "Amlodipine 5mg tablets": "0206020A0AAAAAA",
    "Metformin 500mg tablets": "0601022B0AAABAB",
    "Omeprazole 20mg capsules": "0103050P0AAAAAA",
    "Sertraline 50mg tablets": "0403030Q0AAAAAA",
    "Levothyroxine 50microgram tablets": "0602010V0AABWBW",
    "Bisoprolol 5mg tablets": "0204000H0AAAAAA",
    "Furosemide 40mg tablets": "0202020L0AABDBD",
    "Allopurinol 100mg tablets": "1001040C0AAAAAA",
}


def test_smr_care_home_resident(rv):
    assert "SMR-CARE-HOME" in rv.ids(rv.patient(care_home=True))
    assert "SMR-CARE-HOME" in rv.ids(rv.patient(rv.dx("carehome", 100)))
    assert "SMR-CARE-HOME" not in rv.ids(rv.patient())


def test_smr_polypharmacy_10_unique_medicines_in_bnf_chapters_1_to_4_and_6_to_10(rv):
    ten = [rv.rx(n, bnf=BNF[n]) for n in TEN]
    r = check(rv.patient(*ten), rv.AS_OF)
    assert r.medicine_count == 10
    assert "SMR-POLYPHARMACY-10" in {f.rule_id for f in r.findings}
    # two strengths of one substance are one medicine
    dup = ten[:9] + [rv.rx("Atorvastatin 40mg tablets", bnf="0212000B0AAACAC")]
    assert "SMR-POLYPHARMACY-10" not in rv.ids(rv.patient(*dup))
    # chapter 5 (infections) and 11-13 are not counted
    abx = ten[:9] + [rv.rx("Amoxicillin 500mg capsules", bnf="0501013B0AAABAB")]
    assert "SMR-POLYPHARMACY-10" not in rv.ids(rv.patient(*abx))
    assert "SMR-POLYPHARMACY-6" in rv.ids(rv.patient(*ten[:6]))


def test_smr_severe_frailty(rv):
    assert "SMR-SEVERE-FRAILTY" in rv.ids(rv.patient(rv.dx("severe_frailty", 100)))
    assert "SMR-SEVERE-FRAILTY" in rv.ids(rv.patient(rv.lab("frailty_score", 0.42, 100)))
    assert "SMR-SEVERE-FRAILTY" not in rv.ids(rv.patient(rv.lab("frailty_score", 0.30, 100)))


def test_smr_recent_admission_or_fall(rv):
    assert "SMR-ADMISSION-OR-FALL" in rv.ids(rv.patient(rv.Stay(rv.ago(30))))
    assert "SMR-ADMISSION-OR-FALL" not in rv.ids(rv.patient(rv.Stay(rv.ago(120))))
    assert "SMR-ADMISSION-OR-FALL" in rv.ids(rv.patient(rv.dx("falls", 200)))


def test_smr_potentially_addictive_medicines_two_issues_in_12_months(rv):
    two = rv.repeat("Pregabalin 75mg capsules", 200, 20)
    assert "SMR-ADDICTIVE" in rv.ids(rv.patient(*two))
    assert "SMR-ADDICTIVE" not in rv.ids(rv.patient(rv.rx("Pregabalin 75mg capsules", 20)))
    assert "SMR-ADDICTIVE" in rv.ids(rv.patient(*rv.repeat("Zopiclone 7.5mg tablets", 50, 20)))


def test_smr_dmard_and_teratogenic_in_women_55_or_under(rv):
    assert "SMR-DMARD" in rv.ids(rv.patient(*rv.repeat("Azathioprine 50mg tablets", 60, 20)))
    valp = rv.repeat("Sodium valproate 200mg gastro-resistant tablets", 60, 20)
    assert "SMR-TERATOGENIC" in rv.ids(rv.patient(*valp, sex="female", age=30))
    assert "SMR-TERATOGENIC" not in rv.ids(rv.patient(*valp, sex="male", age=30))
    assert "SMR-TERATOGENIC" not in rv.ids(rv.patient(*valp, sex="female", age=60))


def test_worklist_score_follows_the_section_4_2_proposal(rv):
    # care home +3, ≥10 medicines +2, one hazard +2, ACB ≥3 +2, no SMR in 12 months +1
    score, reasons, cohort = priority(
        ["SMR-CARE-HOME", "SMR-POLYPHARMACY-10", "PINCER-A", "ACB-TOTAL"]
    )
    assert (score, cohort) == (10, True)
    assert any("care-home" in r for r in reasons) and any("PINCER-A" in r for r in reasons)
    # ≥15 earns +3 instead of +2; a recent SMR removes the +1
    assert priority(["SMR-POLYPHARMACY-10", "SMR-POLYPHARMACY-15", "SMR-RECENT-REVIEW"])[0] == 3
    assert priority([]) == (1, ["no SMR in 12 months (+1)"], False)


def test_worklist_weights_are_configurable(rv):
    p = rv.Params(weights={**rv.Params().weights, "care_home": 10})
    assert priority(["SMR-CARE-HOME"], p)[0] == 11


def test_recent_smr_lowers_priority(rv):
    ch = check(rv.patient(care_home=True), rv.AS_OF)
    reviewed = check(rv.patient(rv.lab("smr", None, 100), care_home=True), rv.AS_OF)
    assert reviewed.smr_priority == ch.smr_priority - 1


def test_monitoring_doac_renal_function_and_weight_in_12_months(rv):
    doac = rv.rx("Apixaban 5mg tablets")
    assert {"MON-DOAC-RENAL", "MON-DOAC-WEIGHT"} <= rv.ids(rv.patient(doac))
    done = rv.patient(doac, rv.lab("creatinine", 90, 100), rv.lab("weight", 70, 100))
    assert not {"MON-DOAC-RENAL", "MON-DOAC-WEIGHT"} & rv.ids(done)


def test_monitoring_amiodarone_liver_function(rv):
    am = rv.repeat("Amiodarone 200mg tablets", 250, 30)
    assert "MON-AMIODARONE-LFT" in rv.ids(rv.patient(*am))
    assert "MON-AMIODARONE-LFT" not in rv.ids(rv.patient(*am, rv.lab("lft", None, 60)))


def test_cockcroft_gault():
    # (140 − 80) × 60 × 1.04 / 100 = 37.44 mL/min (female)
    assert cockcroft_gault(80, 60, 100, "female") == pytest.approx(37.44)
    assert cockcroft_gault(80, 60, 100, "male") == pytest.approx(44.28)


@pytest.mark.parametrize(
    "substance,age,kg,cr,crcl,expected",
    [
        ("apixaban", 82, 58, 90, 40, {2.5}),  # age ≥80 and weight ≤60
        ("apixaban", 82, 70, 90, 40, {5.0}),  # only one criterion
        ("apixaban", 70, 70, 150, 25, {2.5}),  # CrCl 15–29
        ("apixaban", 70, 70, 150, 10, set()),  # CrCl <15: not recommended
        ("rivaroxaban", 70, 70, 120, 40, {15.0}),
        ("rivaroxaban", 70, 70, 80, 60, {20.0}),
        ("edoxaban", 70, 58, 80, 70, {30.0}),
        ("edoxaban", 70, 80, 80, 70, {60.0}),
        ("dabigatran", 81, 80, 80, 60, {110.0}),
        ("dabigatran", 77, 80, 80, 60, {110.0, 150.0}),
        ("dabigatran", 70, 80, 80, 60, {150.0}),
        ("dabigatran", 70, 80, 200, 25, set()),
    ],
)
def test_doac_dose_against_smpc(substance, age, kg, cr, crcl, expected):
    assert allowed_strengths(substance, age, kg, cr, crcl) == expected


def test_monitoring_doac_dose_mismatch_in_af(rv):
    # 85-year-old woman, 55 kg, creatinine 100: apixaban should be 2.5 mg (age and weight)
    base = [rv.dx("af", 900), rv.lab("creatinine", 100, 30), rv.lab("weight", 55, 30)]
    wrong = rv.patient(rv.rx("Apixaban 5mg tablets"), *base, age=85, sex="female")
    right = rv.patient(rv.rx("Apixaban 2.5mg tablets"), *base, age=85, sex="female")
    assert "MON-DOAC-DOSE" in rv.ids(wrong)
    assert "MON-DOAC-DOSE" not in rv.ids(right)
    ev = next(f for f in check(wrong, rv.AS_OF).findings if f.rule_id == "MON-DOAC-DOSE")
    calc = next(e for e in ev.evidence if e["type"] == "calculation")
    assert calc["crcl_ml_min"] == pytest.approx((140 - 85) * 55 * 1.04 / 100, abs=0.1)
