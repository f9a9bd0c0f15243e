"""SMR cohorts (Network Contract DES, RULES.md §4), worklist score (§4.2) and high-risk
monitoring (§4.3) including the DOAC dose check."""

from __future__ import annotations

import pytest

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
    assert "SMR-POLYPHARMACY-10" in rv.ids(rv.patient(*ten))
    # two strengths of one substance are one medicine
    dup = ten[:9] + [rv.rx("Atorvastatin 40mg tablets", bnf="0212000B0AAACAC")]
    assert "SMR-POLYPHARMACY-10" not in rv.ids(rv.patient(*dup))
    # chapter 5 (infections) and 11-13 are not counted
    abx = ten[:9] + [rv.rx("Amoxicillin 500mg capsules", bnf="0501013B0AAABAB")]
    assert "SMR-POLYPHARMACY-10" not in rv.ids(rv.patient(*abx))
    assert "SMR-POLYPHARMACY-6" in rv.ids(rv.patient(*ten[:6]))


@pytest.mark.engine_lacks("duckdb", "the set-based engine gives the SMR hits, not the count")
def test_smr_polypharmacy_count_on_the_patient_check(rv):
    assert rv.check(rv.patient(*[rv.rx(n, bnf=BNF[n]) for n in TEN])).medicine_count == 10


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


def test_worklist_score_follows_the_section_4_2_proposal():
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
    # care home +10, no SMR in 12 months +1, on the engine's own score
    assert rv.priority(rv.patient(care_home=True), p) == 11


def test_recent_smr_lowers_priority(rv):
    ch = rv.priority(rv.patient(care_home=True))
    reviewed = rv.priority(rv.patient(rv.lab("smr", None, 100), care_home=True))
    assert (ch, reviewed) == (4, 3)  # care home +3, no SMR in 12 months +1


def test_monitoring_doac_renal_function_and_weight_in_12_months(rv):
    doac = rv.rx("Apixaban 5mg tablets")
    undone = rv.ids(rv.patient(doac))
    assert "MON-DOAC-RENAL" in undone and "MON-DOAC-WEIGHT" in undone
    done = rv.ids(rv.patient(doac, rv.lab("creatinine", 90, 100), rv.lab("weight", 70, 100)))
    assert "MON-DOAC-RENAL" not in done and "MON-DOAC-WEIGHT" not in done


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


@pytest.mark.engine_lacks("duckdb", "the set-based engine returns hits, not evidence")
def test_monitoring_doac_dose_evidence_shows_the_calculation(rv):
    base = [rv.dx("af", 900), rv.lab("creatinine", 100, 30), rv.lab("weight", 55, 30)]
    wrong = rv.patient(rv.rx("Apixaban 5mg tablets"), *base, age=85, sex="female")
    ev = next(f for f in rv.check(wrong).findings if f.rule_id == "MON-DOAC-DOSE")
    calc = next(e for e in ev.evidence if e["type"] == "calculation")
    assert calc["crcl_ml_min"] == pytest.approx((140 - 85) * 55 * 1.04 / 100, abs=0.1)


@pytest.mark.parametrize(
    "substance,kwargs,expected",
    [
        # Lixiana SmPC 4.2: 30 mg with ciclosporin, dronedarone, erythromycin or ketoconazole
        ("edoxaban", {"edoxaban_pgp_inhibitor": True}, {30.0}),
        ("edoxaban", {}, {60.0}),
        ("edoxaban", {"verapamil": True}, {60.0}),  # verapamil is not one of the four
        # Pradaxa SmPC 4.2: 110 mg twice daily with verapamil
        ("dabigatran", {"verapamil": True}, {110.0}),
        ("dabigatran", {}, {150.0}),
        ("dabigatran", {"edoxaban_pgp_inhibitor": True}, {150.0}),
    ],
)
def test_doac_dose_smpc_interacting_drugs(substance, kwargs, expected):
    # age 70, 80 kg, creatinine 80, CrCl 60: the full dose without an interacting drug
    assert allowed_strengths(substance, 70, 80, 80, 60, **kwargs) == expected


def test_doac_dose_smpc_interacting_drugs_without_renal_results():
    # the interaction decides the dose on any CrCl; otherwise no judgement without the inputs
    assert allowed_strengths("edoxaban", 70, None, None, None, edoxaban_pgp_inhibitor=True) == {
        30.0
    }
    assert allowed_strengths("dabigatran", 70, None, None, None, verapamil=True) == {110.0}
    assert allowed_strengths("edoxaban", 70, None, None, None) is None
    assert allowed_strengths("dabigatran", 70, 80, None, None) is None
    # the interaction does not lift "not recommended" at low CrCl
    assert allowed_strengths("edoxaban", 70, 80, 400, 10, edoxaban_pgp_inhibitor=True) == set()
    assert allowed_strengths("dabigatran", 70, 80, 300, 25, verapamil=True) == set()


def _doac_patient(rv, *drugs, labs=True):
    """AF, age 70, 80 kg man, creatinine 80 (CrCl 107 mL/min): the full dose otherwise."""
    items = [rv.dx("af", 900)] + [rv.rx(d) for d in drugs]
    if labs:
        items += [rv.lab("creatinine", 80, 30), rv.lab("weight", 80, 30)]
    return rv.patient(*items, age=70)


@pytest.mark.parametrize(
    "interacting",
    [
        "Ciclosporin 100mg capsules",
        "Dronedarone 400mg tablets",
        "Erythromycin 250mg gastro-resistant tablets",
        "Ketoconazole 200mg tablets",
    ],
)
def test_monitoring_doac_dose_edoxaban_60mg_with_pgp_inhibitor(rv, interacting):
    assert "MON-DOAC-DOSE" in rv.ids(_doac_patient(rv, "Edoxaban 60mg tablets", interacting))
    assert "MON-DOAC-DOSE" not in rv.ids(_doac_patient(rv, "Edoxaban 30mg tablets", interacting))
    # the interaction decides it even without renal function or weight
    assert "MON-DOAC-DOSE" in rv.ids(
        _doac_patient(rv, "Edoxaban 60mg tablets", interacting, labs=False)
    )


def test_monitoring_doac_dose_edoxaban_negative_cases(rv):
    assert "MON-DOAC-DOSE" not in rv.ids(_doac_patient(rv, "Edoxaban 60mg tablets"))
    # topical ketoconazole and erythromycin gel are not systemic P-gp inhibition
    assert "MON-DOAC-DOSE" not in rv.ids(
        _doac_patient(rv, "Edoxaban 60mg tablets", "Ketoconazole 2% shampoo")
    )
    assert "MON-DOAC-DOSE" not in rv.ids(
        _doac_patient(rv, "Edoxaban 60mg tablets", "Erythromycin 40mg/g / Zinc acetate 12mg/g gel")
    )
    # clarithromycin is a P-gp inhibitor (STOPP C14) but not one the Lixiana SmPC reduces for
    assert "MON-DOAC-DOSE" not in rv.ids(
        _doac_patient(rv, "Edoxaban 60mg tablets", "Clarithromycin 500mg tablets")
    )
    # an interacting drug last issued before the 3-month window does not count
    old = _doac_patient(rv, "Edoxaban 60mg tablets")
    old.issues.append(rv.rx("Dronedarone 400mg tablets", 120))
    assert "MON-DOAC-DOSE" not in rv.ids(old)


def test_monitoring_doac_dose_dabigatran_150mg_with_verapamil(rv):
    drug = "Dabigatran etexilate 150mg capsules"
    assert "MON-DOAC-DOSE" in rv.ids(_doac_patient(rv, drug, "Verapamil 80mg tablets"))
    assert "MON-DOAC-DOSE" in rv.ids(_doac_patient(rv, drug, "Verapamil 80mg tablets", labs=False))
    ok = _doac_patient(rv, "Dabigatran etexilate 110mg capsules", "Verapamil 80mg tablets")
    assert "MON-DOAC-DOSE" not in rv.ids(ok)
    assert "MON-DOAC-DOSE" not in rv.ids(_doac_patient(rv, drug))
    # diltiazem is not named for a reduction in the Pradaxa SmPC posology
    assert "MON-DOAC-DOSE" not in rv.ids(_doac_patient(rv, drug, "Diltiazem 60mg tablets"))


@pytest.mark.engine_lacks("duckdb", "the set-based engine returns hits, not evidence")
def test_monitoring_doac_dose_evidence_names_the_interacting_drug(rv):
    p = _doac_patient(rv, "Dabigatran etexilate 150mg capsules", "Verapamil 80mg tablets")
    ev = next(f for f in rv.check(p).findings if f.rule_id == "MON-DOAC-DOSE")
    assert any("Verapamil" in e.get("name", "") for e in ev.evidence)
    p = _doac_patient(rv, "Edoxaban 60mg tablets", "Dronedarone 400mg tablets", labs=False)
    ev = next(f for f in rv.check(p).findings if f.rule_id == "MON-DOAC-DOSE")
    assert any("Dronedarone" in e.get("name", "") for e in ev.evidence)
    assert not any(e["type"] == "calculation" for e in ev.evidence)  # no renal results


@pytest.mark.parametrize(
    "product,strength,age,kg,creatinine,sex,interacting",
    [
        ("Apixaban {}mg tablets", (2.5, 5), 82, 58, 90, "female", None),
        ("Apixaban {}mg tablets", (2.5, 5), 70, 80, 80, "male", None),
        ("Rivaroxaban {}mg tablets", (15, 20), 78, 60, 150, "female", None),
        ("Edoxaban {}mg tablets", (30, 60), 70, 80, 80, "male", "Erythromycin 250mg tablets"),
        ("Edoxaban {}mg tablets", (30, 60), 70, 80, 80, "male", None),
        ("Dabigatran etexilate {}mg capsules", (110, 150), 70, 80, 80, "male", None),
        (
            "Dabigatran etexilate {}mg capsules",
            (110, 150),
            70,
            80,
            80,
            "male",
            "Verapamil 80mg tablets",
        ),
        ("Dabigatran etexilate {}mg capsules", (110, 150), 82, 70, 80, "male", None),
    ],
)
def test_monitoring_doac_dose_table_on_the_engine(
    rv, product, strength, age, kg, creatinine, sex, interacting
):
    """Each engine's MON-DOAC-DOSE against ``doac.allowed_strengths`` (the SmPC table above)."""
    crcl = cockcroft_gault(age, kg, creatinine, sex)
    substance = product.split()[0].lower()
    allowed = allowed_strengths(
        substance,
        age,
        kg,
        creatinine,
        crcl,
        edoxaban_pgp_inhibitor=interacting is not None and substance == "edoxaban",
        verapamil=interacting is not None and substance == "dabigatran",
    )
    # every case has a wrong strength, so both outcomes are checked
    assert allowed is not None and any(float(s) not in allowed for s in strength)
    for s in strength:
        items = [
            rv.dx("af", 900),
            rv.rx(product.format(f"{s:g}")),
            rv.lab("creatinine", creatinine, 30),
            rv.lab("weight", kg, 30),
        ]
        if interacting:
            items.append(rv.rx(interacting))
        fires = "MON-DOAC-DOSE" in rv.ids(rv.patient(*items, age=age, sex=sex))
        assert fires == (float(s) not in allowed), (product, s, sorted(allowed))
