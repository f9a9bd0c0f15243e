"""PINCER: one test per indicator (RULES.md §1.3), intended logic (not the §1.5 defects)."""

from __future__ import annotations

IBU, OME, WARF, ASP, CLOP = (
    "Ibuprofen 400mg tablets",
    "Omeprazole 20mg gastro-resistant capsules",
    "Warfarin 1mg tablets",
    "Aspirin 75mg dispersible tablets",
    "Clopidogrel 75mg tablets",
)


def test_pincer_A_age_65_on_nsaid_without_gastroprotection(rv):
    assert "PINCER-A" in rv.ids(rv.patient(rv.rx(IBU, 30), age=70))
    assert "PINCER-A" not in rv.ids(rv.patient(rv.rx(IBU, 30), rv.rx(OME, 40), age=70))
    assert "PINCER-A" not in rv.ids(rv.patient(rv.rx(IBU, 30), age=64))
    assert "PINCER-A" not in rv.ids(rv.patient(rv.rx(IBU, 100), age=70))  # outside 3 months
    # topical NSAIDs are not oral NSAIDs
    assert "PINCER-A" not in rv.ids(rv.patient(rv.rx("Ibuprofen 5% gel", 30), age=70))


def test_pincer_B_nsaid_with_peptic_ulcer_history_without_gastroprotection(rv):
    assert "PINCER-B" in rv.ids(rv.patient(rv.rx(IBU, 10), rv.dx("pincer_pep", 400), age=40))
    assert "PINCER-B" in rv.ids(rv.patient(rv.rx(IBU, 10), rv.dx("pincer_gi_bleed", 400), age=40))
    assert "PINCER-B" not in rv.ids(
        rv.patient(rv.rx(IBU, 10), rv.rx(OME, 10), rv.dx("pincer_pep", 400), age=40)
    )
    # the history must be on or before t−3m
    assert "PINCER-B" not in rv.ids(rv.patient(rv.rx(IBU, 10), rv.dx("pincer_pep", 30), age=40))


def test_pincer_C_antiplatelet_with_ulcer_history_without_gastroprotection(rv):
    assert "PINCER-C" in rv.ids(rv.patient(rv.rx(CLOP, 10), rv.dx("pincer_pep", 400), age=50))
    assert "PINCER-C" in rv.ids(rv.patient(rv.rx(ASP, 10), rv.dx("pincer_gi_bleed", 400), age=50))
    assert "PINCER-C" not in rv.ids(
        rv.patient(
            rv.rx(CLOP, 10),
            rv.rx("Lansoprazole 15mg capsules", 5),
            rv.dx("pincer_pep", 400),
            age=50,
        )
    )
    assert "PINCER-C" not in rv.ids(rv.patient(rv.rx(CLOP, 10), age=50))


def test_pincer_D_anticoagulant_with_nsaid(rv):
    assert "PINCER-D" in rv.ids(rv.patient(rv.rx(WARF, 10), rv.rx(IBU, 60), age=40))
    assert "PINCER-D" in rv.ids(
        rv.patient(rv.rx("Apixaban 5mg tablets", 10), rv.rx(IBU, 60), age=40)
    )
    assert "PINCER-D" not in rv.ids(rv.patient(rv.rx(WARF, 10), age=40))
    assert "PINCER-D" not in rv.ids(rv.patient(rv.rx(WARF, 10), rv.rx(IBU, 120), age=40))


def test_pincer_E_anticoagulant_and_antiplatelet_within_28_days_without_gastroprotection(rv):
    assert "PINCER-E" in rv.ids(rv.patient(rv.rx(WARF, 10), rv.rx(CLOP, 37), age=40))
    # 28 days apart is not "less than 28 days apart"
    assert "PINCER-E" not in rv.ids(rv.patient(rv.rx(WARF, 10), rv.rx(CLOP, 38), age=40))
    assert "PINCER-E" not in rv.ids(
        rv.patient(rv.rx(WARF, 10), rv.rx(CLOP, 12), rv.rx(OME, 12), age=40)
    )


def test_pincer_F_aspirin_and_another_antiplatelet_without_gastroprotection(rv):
    assert "PINCER-F" in rv.ids(rv.patient(rv.rx(ASP, 10), rv.rx(CLOP, 20), age=40))
    assert "PINCER-F" not in rv.ids(rv.patient(rv.rx(ASP, 10), rv.rx(CLOP, 60), age=40))
    assert "PINCER-F" not in rv.ids(
        rv.patient(rv.rx(ASP, 10), rv.rx(CLOP, 20), rv.rx(OME, 20), age=40)
    )


def test_pincer_G_asthma_and_non_selective_beta_blocker(rv):
    pro = rv.rx("Propranolol 40mg tablets", 10)
    assert "PINCER-G" in rv.ids(rv.patient(pro, rv.dx("pincer_ast", 500), age=40))
    # resolved after the latest asthma code: not asthmatic (intended logic, §1.5.2)
    assert "PINCER-G" not in rv.ids(
        rv.patient(pro, rv.dx("pincer_ast", 500), rv.dx("pincer_ast_res", 300), age=40)
    )
    # asthma recorded again after the resolved code: asthmatic again
    assert "PINCER-G" in rv.ids(
        rv.patient(pro, rv.dx("pincer_ast_res", 600), rv.dx("pincer_ast", 500), age=40)
    )
    assert "PINCER-G" not in rv.ids(
        rv.patient(rv.rx("Bisoprolol 5mg tablets", 10), rv.dx("pincer_ast", 500), age=40)
    )


def test_pincer_G_eye_drop_option(rv):
    eye = rv.patient(rv.rx("Timolol 0.5% eye drops", 10), rv.dx("pincer_ast", 500), age=40)
    assert "PINCER-G" in rv.ids(eye)
    assert "PINCER-G" not in rv.ids(eye, rv.Params(pincer_g_include_eye_drops=False))


def test_pincer_I_heart_failure_and_nsaid(rv):
    assert "PINCER-I" in rv.ids(rv.patient(rv.rx(IBU, 10), rv.dx("pincer_hf", 400), age=40))
    assert "PINCER-I" not in rv.ids(rv.patient(rv.rx(IBU, 10), age=40))


def test_pincer_K_egfr_below_45_and_nsaid(rv):
    def pat(value, comparator=None, days=120):
        return rv.patient(rv.rx(IBU, 10), rv.lab("egfr", value, days, comparator), age=40)

    assert "PINCER-K" in rv.ids(pat(40))
    assert "PINCER-K" not in rv.ids(pat(45))
    assert "PINCER-K" not in rv.ids(pat(40, days=30))  # latest eGFR must be ≤ t−3m
    assert "PINCER-K" not in rv.ids(pat(1, "<"))  # "<1" excluded
    assert "PINCER-K" not in rv.ids(pat(30, ">"))  # ">" comparators excluded
    assert "PINCER-K" not in rv.ids(pat(30, "~"))
    # the latest result decides: an older low value is superseded by a newer normal one
    later = rv.patient(rv.rx(IBU, 10), rv.lab("egfr", 30, 300), rv.lab("egfr", 70, 120), age=40)
    assert "PINCER-K" not in rv.ids(later)


def test_pincer_AC_age_75_on_long_term_acei_or_loop_without_renal_and_electrolyte_check(rv):
    rami = rv.repeat("Ramipril 5mg capsules", 500, 60)
    assert "PINCER-AC" in rv.ids(rv.patient(*rami, age=80))
    u_e = [rv.lab("egfr", 60, 100), rv.lab("potassium", 4.5, 100)]
    assert "PINCER-AC" not in rv.ids(rv.patient(*rami, *u_e, age=80))
    # renal test alone is not enough: electrolytes missing
    assert "PINCER-AC" in rv.ids(rv.patient(*rami, u_e[0], age=80))
    # operator precedence defect (§1.5.1) not reproduced: a 60-year-old on a loop is not counted
    furo = rv.repeat("Furosemide 40mg tablets", 500, 60)
    assert "PINCER-AC" not in rv.ids(rv.patient(*furo, age=60))
    assert "PINCER-AC" in rv.ids(rv.patient(*furo, age=76))
    # not long-term: first issue after t−15m
    assert "PINCER-AC" not in rv.ids(
        rv.patient(*rv.repeat("Ramipril 5mg capsules", 200, 60), age=80)
    )


def test_pincer_AC_loop_only_option(rv):
    spiro = rv.patient(*rv.repeat("Spironolactone 25mg tablets", 500, 60), age=80)
    assert "PINCER-AC" in rv.ids(spiro)
    assert "PINCER-AC" not in rv.ids(spiro, rv.Params(pincer_ac_broad_diuretics=False))


def test_pincer_ME_FBC_methotrexate_without_full_blood_count(rv):
    mtx = rv.repeat("Methotrexate 2.5mg tablets", 150, 30)
    assert "PINCER-ME-FBC" in rv.ids(rv.patient(*mtx, age=50))
    assert "PINCER-ME-FBC" not in rv.ids(rv.patient(*mtx, rv.lab("fbc", None, 40), age=50))
    # not on it for 3 months
    assert "PINCER-ME-FBC" not in rv.ids(
        rv.patient(rv.rx("Methotrexate 2.5mg tablets", 30), age=50)
    )


def test_pincer_ME_LFT_methotrexate_without_liver_function_test(rv):
    mtx = rv.repeat("Methotrexate 2.5mg tablets", 150, 30)
    assert "PINCER-ME-LFT" in rv.ids(rv.patient(*mtx, rv.lab("fbc", None, 40), age=50))
    assert "PINCER-ME-LFT" not in rv.ids(rv.patient(*mtx, rv.lab("lft", None, 40), age=50))


def test_pincer_LI_lithium_without_level(rv):
    li = rv.repeat("Lithium carbonate 400mg modified-release tablets", 150, 30)
    assert "PINCER-LI" in rv.ids(rv.patient(*li, age=50))
    assert "PINCER-LI" not in rv.ids(rv.patient(*li, rv.lab("lithium", 0.6, 20), age=50))
    assert "PINCER-LI" in rv.ids(rv.patient(*li, rv.lab("lithium", 0.6, 120), age=50))


def test_pincer_AM_amiodarone_without_thyroid_function_test(rv):
    am = rv.repeat("Amiodarone 200mg tablets", 250, 30)
    assert "PINCER-AM" in rv.ids(rv.patient(*am, age=50))
    assert "PINCER-AM" not in rv.ids(rv.patient(*am, rv.lab("tft", 1.2, 100), age=50))
    # on it for less than 6 months
    assert "PINCER-AM" not in rv.ids(
        rv.patient(*rv.repeat("Amiodarone 200mg tablets", 150, 30), age=50)
    )


def test_pincer_population_is_adults_male_or_female(rv):
    assert "PINCER-D" not in rv.ids(rv.patient(rv.rx(WARF, 10), rv.rx(IBU, 10), age=17))
    assert "PINCER-D" not in rv.ids(
        rv.patient(rv.rx(WARF, 10), rv.rx(IBU, 10), age=40, sex="unknown")
    )


# dm+d VMPs (ipmo's starter dictionary): route Rectal and route Oral
DICLOFENAC_SUPPOSITORY_VMP = "42101311000001103"  # Diclofenac 100mg suppositories
IBUPROFEN_CAPSULE_VMP = "10774611000001104"  # Ibuprofen 400mg capsules


def test_pincer_nsaid_indicators_count_oral_nsaids_only(rv):
    """A, B, D, I and K are about oral NSAIDs (PRIMIS GI_P3A/B/D, HF_P3I, KI_P3K)."""

    def a_fires(*issues):
        return "PINCER-A" in rv.ids(rv.patient(*issues, age=70))

    # oral: by dm+d route, and by the name's form when the code is not in the dictionary
    assert a_fires(rv.rx("Ibuprofen 400mg", 30, dmd=IBUPROFEN_CAPSULE_VMP))
    assert a_fires(rv.rx("Naproxen 500mg tablets", 30))
    assert a_fires(rv.rx("Ibuprofen 100mg/5ml oral suspension", 30))
    # not oral: the dm+d route decides even when the name gives no form
    assert not a_fires(rv.rx("Diclofenac 100mg", 30, dmd=DICLOFENAC_SUPPOSITORY_VMP))
    for name in (
        "Diclofenac sodium 100mg suppositories",
        "Diclofenac sodium 75mg/3ml solution for injection ampoules",
        "Ketorolac 30mg/1ml solution for injection ampoules",
        "Ketoprofen 2.5% gel",
    ):
        assert not a_fires(rv.rx(name, 30, bnf="1001010C0AAACAC")), name  # BNF 10.1.1


def test_pincer_D_and_I_negative_for_rectal_and_injected_nsaids(rv):
    rectal = rv.rx("Diclofenac sodium 100mg suppositories", 20)
    injected = rv.rx("Ketorolac 30mg/1ml solution for injection ampoules", 20)
    for nsaid in (rectal, injected):
        assert "PINCER-D" not in rv.ids(rv.patient(rv.rx(WARF, 10), nsaid, age=40))
        assert "PINCER-I" not in rv.ids(rv.patient(nsaid, rv.dx("pincer_hf", 400), age=40))
    assert "PINCER-D" in rv.ids(rv.patient(rv.rx(WARF, 10), rv.rx(IBU, 20), age=40))


def test_pincer_composite_gi_bleed_A_to_F(rv):
    """At least one of A–F (OpenSAFELY composite_indicators.py), among A–F's denominators."""
    gi = "PINCER-COMPOSITE-GI-BLEED"
    assert gi in rv.ids(rv.patient(rv.rx(IBU, 30), age=70))  # A
    assert gi in rv.ids(rv.patient(rv.rx(WARF, 10), rv.rx(CLOP, 20), age=40))  # E
    assert gi not in rv.ids(rv.patient(rv.rx(WARF, 10), age=40))  # D's denominator only
    # G (asthma + non-selective β-blocker) is "other prescribing", not GI bleed
    asthma = rv.patient(rv.rx("Propranolol 40mg tablets", 10), rv.dx("pincer_ast", 500), age=40)
    assert gi not in rv.ids(asthma)


def test_pincer_composite_other_prescribing_G_I_K(rv):
    other = "PINCER-COMPOSITE-OTHER-PRESCRIBING"
    asthma = rv.patient(rv.rx("Propranolol 40mg tablets", 10), rv.dx("pincer_ast", 500), age=40)
    assert other in rv.ids(asthma)  # G
    assert other in rv.ids(rv.patient(rv.rx(IBU, 10), rv.dx("pincer_hf", 400), age=40))  # I
    assert other not in rv.ids(rv.patient(rv.rx(IBU, 30), age=70))  # A only: GI bleed
    assert other not in rv.ids(rv.patient(rv.dx("pincer_hf", 400), age=40))  # I's denominator


def test_pincer_composite_monitoring_AC_ME_LI_AM(rv):
    mon = "PINCER-COMPOSITE-MONITORING"
    lithium = rv.repeat("Lithium carbonate 400mg modified-release tablets", 150, 60, 20)
    assert mon in rv.ids(rv.patient(*lithium, age=50))  # LI: no level in 3 months
    assert mon not in rv.ids(rv.patient(*lithium, rv.lab("lithium", 0.6, 30), age=50))
    assert mon not in rv.ids(rv.patient(rv.rx(IBU, 30), age=70))


def test_pincer_composite_all(rv):
    every = "PINCER-COMPOSITE-ALL"
    lithium = rv.repeat("Lithium carbonate 400mg modified-release tablets", 150, 60, 20)
    assert every in rv.ids(rv.patient(rv.rx(IBU, 30), age=70))
    assert every in rv.ids(rv.patient(*lithium, age=50))
    assert every not in rv.ids(rv.patient(rv.rx(IBU, 30), rv.rx(OME, 30), age=70))
    assert every not in rv.ids(rv.patient(age=70))


def test_pincer_K_uses_the_latest_egfr_with_a_value(rv):
    """README "deliberate differences": a later eGFR code without a value does not hide the
    latest numeric result."""
    low_then_empty = rv.patient(
        rv.rx(IBU, 10), rv.lab("egfr", 38, 300), rv.lab("egfr", None, 120), age=40
    )
    assert "PINCER-K" in rv.ids(low_then_empty)
    # negative: a later numeric result does supersede it
    low_then_normal = rv.patient(
        rv.rx(IBU, 10), rv.lab("egfr", 38, 300), rv.lab("egfr", 80, 120), age=40
    )
    assert "PINCER-K" not in rv.ids(low_then_normal)
    # negative: a later ">90" result is the latest with a value, and does not satisfy <45
    low_then_bounded = rv.patient(
        rv.rx(IBU, 10), rv.lab("egfr", 38, 300), rv.lab("egfr", 90, 120, ">"), age=40
    )
    assert "PINCER-K" not in rv.ids(low_then_bounded)
