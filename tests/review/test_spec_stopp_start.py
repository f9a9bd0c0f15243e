"""STOPP/START v3 (O'Mahony 2023): one test per encoded criterion, positive and negative.

Patients are 75 unless a test says otherwise; "recent" issues are 20 days before the index date.
"""

from __future__ import annotations

import pytest

FALLS = ("falls", 100), ("falls", 200)


@pytest.fixture
def chk(rv):
    def check(rule_id, *items, age=75, params=None, **kw):
        built = []
        for it in items:
            if isinstance(it, str):
                built.append(rv.rx(it))
            elif isinstance(it, tuple) and it[0] == "lab":
                built.append(rv.lab(*it[1:]))
            elif isinstance(it, tuple):
                built.append(rv.dx(*it))
            else:
                built.append(it)
        facts = rv.patient(*built, age=age, **kw)
        return rule_id in (rv.ids(facts, params) if params else rv.ids(facts))

    return check


def falls(rv):
    return [rv.dx("falls", 100), rv.dx("falls", 200)]


def test_stopp_A3_duplicate_drug_class(chk, rv):
    assert chk("STOPP-A3", "Sertraline 50mg tablets", "Citalopram 20mg tablets")
    assert not chk("STOPP-A3", "Sertraline 50mg tablets", "Sertraline 100mg tablets")
    # PRN opioid alongside a regular one is not duplicate regular use
    assert not chk(
        "STOPP-A3",
        "Morphine sulfate 10mg tablets",
        rv.rx("Oxycodone 5mg capsules", dose="one when required"),
    )
    assert chk("STOPP-A3", "Morphine sulfate 10mg tablets", "Oxycodone 5mg capsules")


def test_stopp_A3_applies_only_from_age_65(chk):
    assert not chk("STOPP-A3", "Sertraline 50mg tablets", "Citalopram 20mg tablets", age=64)


def test_stopp_B3_beta_blocker_with_verapamil_or_diltiazem(chk):
    assert chk("STOPP-B3", "Bisoprolol 5mg tablets", "Verapamil 80mg tablets")
    assert chk("STOPP-B3", "Atenolol 50mg tablets", "Diltiazem 60mg tablets")
    assert not chk("STOPP-B3", "Bisoprolol 5mg tablets", "Amlodipine 5mg tablets")
    assert not chk("STOPP-B3", "Timolol 0.5% eye drops", "Verapamil 80mg tablets")
    assert not chk("STOPP-B3", "Bisoprolol 5mg tablets", "Diltiazem 2% ointment")


def test_stopp_B4_rate_limiting_drug_with_bradycardia(chk):
    assert chk("STOPP-B4", "Bisoprolol 5mg tablets", ("lab", "heart_rate", 45, 10))
    assert not chk("STOPP-B4", "Bisoprolol 5mg tablets", ("lab", "heart_rate", 62, 10))


def test_stopp_B9_thiazide_with_hypokalaemia_or_hyponatraemia(chk):
    assert chk("STOPP-B9", "Indapamide 2.5mg tablets", ("lab", "potassium", 2.8, 10))
    assert chk("STOPP-B9", "Indapamide 2.5mg tablets", ("lab", "sodium", 127, 10))
    assert not chk("STOPP-B9", "Indapamide 2.5mg tablets", ("lab", "sodium", 136, 10))


def test_stopp_B11_centrally_acting_antihypertensive(chk):
    assert chk("STOPP-B11", "Moxonidine 200microgram tablets")
    assert not chk("STOPP-B11", "Amlodipine 5mg tablets")


def test_stopp_B12_acei_or_arb_with_hyperkalaemia(chk):
    assert chk("STOPP-B12", "Ramipril 5mg capsules", ("lab", "potassium", 5.9, 10))
    assert chk("STOPP-B12", "Losartan 50mg tablets", ("lab", "potassium", 6, 10, ">"))
    assert not chk("STOPP-B12", "Ramipril 5mg capsules", ("lab", "potassium", 5.5, 10))
    assert not chk("STOPP-B12", "Ramipril 5mg capsules", ("lab", "potassium", 6, 10, "<"))


def test_stopp_B13_aldosterone_antagonist_with_potassium_conserving_drug_unmonitored(chk):
    assert chk("STOPP-B13", "Spironolactone 25mg tablets", "Ramipril 5mg capsules")
    assert not chk(
        "STOPP-B13",
        "Spironolactone 25mg tablets",
        "Ramipril 5mg capsules",
        ("lab", "potassium", 4.6, 60),
    )
    assert not chk("STOPP-B13", "Spironolactone 25mg tablets")


def test_stopp_B14_pde5_inhibitor_with_nitrate(chk):
    assert chk("STOPP-B14", "Sildenafil 50mg tablets", "Isosorbide mononitrate 20mg tablets")
    assert not chk("STOPP-B14", "Sildenafil 50mg tablets")


def test_stopp_B17_long_term_nsaid_with_vascular_disease(chk, rv):
    long_nsaid = rv.repeat("Naproxen 500mg tablets", 120, 20)
    assert chk("STOPP-B17", *long_nsaid, ("vascular_disease", 900))
    assert not chk("STOPP-B17", "Naproxen 500mg tablets", ("vascular_disease", 900))
    assert not chk("STOPP-B17", *long_nsaid)


def test_stopp_B18_long_term_antipsychotic_with_vascular_disease(chk, rv):
    assert chk(
        "STOPP-B18", *rv.repeat("Risperidone 1mg tablets", 120, 20), ("vascular_disease", 900)
    )
    assert not chk("STOPP-B18", *rv.repeat("Risperidone 1mg tablets", 120, 20))


def test_stopp_B19_nsaid_or_steroid_with_heart_failure_on_loop_diuretic(chk):
    assert chk(
        "STOPP-B19", "Ibuprofen 400mg tablets", "Furosemide 40mg tablets", ("pincer_hf", 900)
    )
    assert chk(
        "STOPP-B19", "Prednisolone 5mg tablets", "Furosemide 40mg tablets", ("pincer_hf", 900)
    )
    assert not chk("STOPP-B19", "Ibuprofen 400mg tablets", ("pincer_hf", 900))


def test_stopp_C4_antiplatelet_with_anticoagulant_in_af(chk):
    assert chk("STOPP-C4", "Aspirin 75mg dispersible tablets", "Apixaban 5mg tablets", ("af", 900))
    assert not chk("STOPP-C4", "Apixaban 5mg tablets", ("af", 900))


def test_stopp_C5_antiplatelet_with_anticoagulant_in_vascular_disease(chk):
    assert chk(
        "STOPP-C5", "Clopidogrel 75mg tablets", "Warfarin 1mg tablets", ("vascular_disease", 900)
    )
    assert not chk("STOPP-C5", "Clopidogrel 75mg tablets", ("vascular_disease", 900))


def test_stopp_C6_ticlopidine(chk):
    assert chk("STOPP-C6", "Ticlopidine 250mg tablets")
    assert not chk("STOPP-C6", "Clopidogrel 75mg tablets")


def test_stopp_C7_antiplatelet_instead_of_anticoagulant_in_af(chk):
    assert chk("STOPP-C7", "Aspirin 75mg dispersible tablets", ("af", 900))
    assert not chk(
        "STOPP-C7", "Aspirin 75mg dispersible tablets", "Warfarin 1mg tablets", ("af", 900)
    )


def test_stopp_C10_nsaid_with_anticoagulant(chk):
    assert chk("STOPP-C10", "Naproxen 500mg tablets", "Rivaroxaban 20mg tablets")
    assert not chk("STOPP-C10", "Rivaroxaban 20mg tablets")


def test_stopp_C12_ssri_with_anticoagulant_after_major_haemorrhage(chk):
    assert chk(
        "STOPP-C12", "Sertraline 50mg tablets", "Warfarin 1mg tablets", ("pincer_gi_bleed", 400)
    )
    assert not chk("STOPP-C12", "Sertraline 50mg tablets", "Warfarin 1mg tablets")


def test_stopp_C13_dabigatran_with_verapamil_or_diltiazem(chk):
    assert chk("STOPP-C13", "Dabigatran etexilate 110mg capsules", "Verapamil 80mg tablets")
    assert not chk("STOPP-C13", "Apixaban 5mg tablets", "Verapamil 80mg tablets")


def test_stopp_C14_doac_with_pgp_inhibitor(chk):
    assert chk("STOPP-C14", "Apixaban 5mg tablets", "Clarithromycin 500mg tablets")
    assert not chk("STOPP-C14", "Warfarin 1mg tablets", "Clarithromycin 500mg tablets")


def test_stopp_D1_tricyclic_with_dementia_or_falls(chk, rv):
    assert chk("STOPP-D1", "Amitriptyline 10mg tablets", ("dementia", 300))
    assert chk("STOPP-D1", "Amitriptyline 10mg tablets", *falls(rv))
    assert not chk("STOPP-D1", "Amitriptyline 10mg tablets")


def test_stopp_D6_ssri_with_hyponatraemia(chk):
    assert chk("STOPP-D6", "Citalopram 20mg tablets", ("lab", "sodium", 126, 5))
    assert not chk("STOPP-D6", "Citalopram 20mg tablets", ("lab", "sodium", 126, 200))


def test_stopp_D8_benzodiazepine_for_4_weeks_or_more(chk, rv):
    assert chk("STOPP-D8", *rv.repeat("Diazepam 2mg tablets", 60, 30))
    assert not chk("STOPP-D8", *rv.repeat("Diazepam 2mg tablets", 40, 20))


def test_stopp_D9_benzodiazepine_in_dementia(chk):
    assert chk("STOPP-D9", "Lorazepam 1mg tablets", ("dementia", 300))
    assert not chk("STOPP-D9", "Lorazepam 1mg tablets")


def test_stopp_D11_z_drug_for_2_weeks_or_more(chk, rv):
    assert chk("STOPP-D11", *rv.repeat("Zopiclone 7.5mg tablets", 40, 20))
    assert not chk("STOPP-D11", "Zopiclone 7.5mg tablets")


def test_stopp_D13_antimuscarinic_for_extrapyramidal_side_effects(chk):
    assert chk("STOPP-D13", "Procyclidine 5mg tablets", "Haloperidol 500microgram tablets")
    assert not chk("STOPP-D13", "Procyclidine 5mg tablets")


def test_stopp_D14_potent_anticholinergic_with_delirium_or_dementia(chk):
    # v3: "... in patients with delirium or dementia"
    assert chk("STOPP-D14", "Oxybutynin 5mg tablets", ("dementia", 300))
    assert chk("STOPP-D14", "Oxybutynin 5mg tablets", ("delirium", 100))
    assert chk("STOPP-D14", "Amitriptyline 10mg tablets", ("delirium", 30))
    assert chk("STOPP-D14", "Procyclidine 5mg tablets", ("delirium", 30))  # Boustani 3
    assert not chk("STOPP-D14", "Oxybutynin 5mg tablets")
    assert not chk("STOPP-D14", "Codeine phosphate 30mg tablets", ("dementia", 300))  # ACB 1
    assert not chk("STOPP-D14", "Codeine phosphate 30mg tablets", ("delirium", 30))  # ACB 1


def test_stopp_D14_delirium_counts_for_12_months(chk, rv):
    assert chk("STOPP-D14", "Oxybutynin 5mg tablets", ("delirium", 360))
    assert not chk("STOPP-D14", "Oxybutynin 5mg tablets", ("delirium", 400))
    assert chk(
        "STOPP-D14",
        "Oxybutynin 5mg tablets",
        ("delirium", 400),
        params=rv.Params(stopp_d14_delirium_months=24),
    )


def test_stopp_D17_acetylcholinesterase_inhibitor_with_bradycardia(chk):
    assert chk("STOPP-D17", "Donepezil 5mg tablets", ("lab", "heart_rate", 52, 5))
    assert not chk("STOPP-D17", "Donepezil 5mg tablets", ("lab", "heart_rate", 70, 5))


def test_stopp_D18_acetylcholinesterase_inhibitor_with_bradycardic_drug(chk):
    assert chk("STOPP-D18", "Donepezil 5mg tablets", "Bisoprolol 5mg tablets")
    assert not chk("STOPP-D18", "Donepezil 5mg tablets", "Amlodipine 5mg tablets")


def test_stopp_D19_memantine_with_seizure_disorder(chk):
    assert chk("STOPP-D19", "Memantine 10mg tablets", ("epilepsy", 900))
    assert not chk("STOPP-D19", "Memantine 10mg tablets")


def test_stopp_E2_dabigatran_with_egfr_below_30(chk):
    assert chk("STOPP-E2", "Dabigatran etexilate 110mg capsules", ("lab", "egfr", 25, 30))
    assert not chk("STOPP-E2", "Dabigatran etexilate 110mg capsules", ("lab", "egfr", 35, 30))


def test_stopp_E3_factor_xa_inhibitor_with_egfr_below_15(chk):
    assert chk("STOPP-E3", "Apixaban 2.5mg tablets", ("lab", "egfr", 12, 30))
    assert not chk("STOPP-E3", "Apixaban 2.5mg tablets", ("lab", "egfr", 20, 30))


def test_stopp_E4_nsaid_with_egfr_below_50(chk, rv):
    assert chk("STOPP-E4", "Ibuprofen 400mg tablets", ("lab", "egfr", 48, 30))
    assert not chk("STOPP-E4", "Ibuprofen 400mg tablets", ("lab", "egfr", 55, 30))
    p = rv.patient(rv.rx("Ibuprofen 400mg tablets"), rv.lab("egfr", 48, 30), age=75)
    assert "STOPP-E4" not in rv.ids(p, rv.Params(stopp_e4_egfr_below=45))


def test_stopp_E5_colchicine_with_egfr_below_10(chk):
    assert chk("STOPP-E5", "Colchicine 500microgram tablets", ("lab", "egfr", 8, 30))
    assert not chk("STOPP-E5", "Colchicine 500microgram tablets", ("lab", "egfr", 12, 30))


def test_stopp_E6_metformin_with_egfr_below_30(chk):
    assert chk("STOPP-E6", "Metformin 500mg tablets", ("lab", "egfr", 28, 30))
    assert not chk("STOPP-E6", "Metformin 500mg tablets", ("lab", "egfr", 31, 30))


def test_stopp_E7_aldosterone_antagonist_with_egfr_below_30(chk):
    assert chk("STOPP-E7", "Eplerenone 25mg tablets", ("lab", "egfr", 28, 30))
    assert not chk("STOPP-E7", "Eplerenone 25mg tablets", ("lab", "egfr", 40, 30))


def test_stopp_E8_nitrofurantoin_with_egfr_below_45(chk):
    assert chk("STOPP-E8", "Nitrofurantoin 50mg capsules", ("lab", "egfr", 40, 30))
    assert not chk("STOPP-E8", "Nitrofurantoin 50mg capsules", ("lab", "egfr", 50, 30))


def test_stopp_E9_bisphosphonate_with_egfr_below_30(chk):
    assert chk("STOPP-E9", "Alendronic acid 70mg tablets", ("lab", "egfr", 25, 30))
    assert not chk("STOPP-E9", "Alendronic acid 70mg tablets", ("lab", "egfr", 45, 30))


def test_stopp_E10_methotrexate_with_egfr_below_30(chk):
    assert chk("STOPP-E10", "Methotrexate 2.5mg tablets", ("lab", "egfr", 25, 30))
    assert not chk("STOPP-E10", "Methotrexate 2.5mg tablets", ("lab", "egfr", 60, 30))


def test_stopp_F5_corticosteroid_with_peptic_ulcer_history_without_ppi(chk):
    assert chk("STOPP-F5", "Prednisolone 5mg tablets", ("pincer_pep", 400))
    assert not chk(
        "STOPP-F5", "Prednisolone 5mg tablets", "Omeprazole 20mg capsules", ("pincer_pep", 400)
    )


def test_stopp_H1_non_cox2_nsaid_with_ulcer_history_without_ppi(chk):
    assert chk("STOPP-H1", "Naproxen 500mg tablets", ("pincer_gi_bleed", 400))
    assert not chk("STOPP-H1", "Celecoxib 200mg capsules", ("pincer_gi_bleed", 400))
    assert not chk(
        "STOPP-H1", "Naproxen 500mg tablets", "Famotidine 20mg tablets", ("pincer_gi_bleed", 400)
    )


def test_stopp_H6_long_term_nsaid_or_colchicine_for_gout_without_xoi(chk, rv):
    colch = rv.repeat("Colchicine 500microgram tablets", 120, 20)
    assert chk("STOPP-H6", *colch, ("gout", 400))
    assert not chk("STOPP-H6", *colch, "Allopurinol 100mg tablets", ("gout", 400))


def test_stopp_H7_nsaid_with_systemic_corticosteroid(chk):
    assert chk("STOPP-H7", "Naproxen 500mg tablets", "Prednisolone 5mg tablets")
    assert not chk("STOPP-H7", "Naproxen 500mg tablets", "Hydrocortisone 1% cream")


def test_stopp_I1_bladder_antimuscarinic_with_dementia(chk):
    assert chk("STOPP-I1", "Solifenacin 5mg tablets", ("dementia", 300))
    assert not chk("STOPP-I1", "Mirabegron 50mg tablets", ("dementia", 300))


def test_stopp_J1_long_acting_sulphonylurea_with_type_2_diabetes(chk):
    assert chk("STOPP-J1", "Glimepiride 1mg tablets", ("diabetes_t2", 900))
    assert not chk("STOPP-J1", "Gliclazide 80mg tablets", ("diabetes_t2", 900))


def test_stopp_J2_thiazolidinedione_with_heart_failure(chk):
    assert chk("STOPP-J2", "Pioglitazone 15mg tablets", ("pincer_hf", 900))
    assert not chk("STOPP-J2", "Pioglitazone 15mg tablets")


@pytest.mark.parametrize(
    "rule_id,drug",
    [
        ("STOPP-K1", "Diazepam 2mg tablets"),
        ("STOPP-K2", "Quetiapine 25mg tablets"),
        ("STOPP-K4", "Zolpidem 5mg tablets"),
        ("STOPP-K5", "Levetiracetam 500mg tablets"),
        ("STOPP-K6", "Chlorphenamine 4mg tablets"),
        ("STOPP-K7", "Tramadol 50mg capsules"),
        ("STOPP-K8", "Mirtazapine 15mg tablets"),
        ("STOPP-K9", "Doxazosin 2mg tablets"),
        ("STOPP-K11", "Clonidine 25microgram tablets"),
        ("STOPP-K12", "Tolterodine 2mg tablets"),
    ],
)
def test_stopp_K_falls_risk_drug_with_recurrent_falls(chk, rv, rule_id, drug):
    """K1, K2, K4–K9, K11, K12: one falls-risk class each, with ≥2 falls in 12 months."""
    assert chk(rule_id, drug, *falls(rv))
    assert not chk(rule_id, drug, rv.dx("falls", 100))  # one fall is not "recurrent"
    assert not chk(rule_id, drug, rv.dx("falls", 100), rv.dx("falls", 500))  # not in 12 m


def test_stopp_L2_regular_opioid_without_laxative(chk, rv):
    assert chk("STOPP-L2", "Morphine sulfate 10mg tablets")
    assert not chk("STOPP-L2", "Morphine sulfate 10mg tablets", "Senna 7.5mg tablets")
    assert not chk("STOPP-L2", rv.rx("Codeine phosphate 30mg tablets", dose="1-2 as required"))


def test_stopp_M1_two_or_more_anticholinergic_drugs(chk):
    assert chk("STOPP-M1", "Oxybutynin 5mg tablets", "Amitriptyline 10mg tablets")
    assert not chk("STOPP-M1", "Oxybutynin 5mg tablets", "Codeine phosphate 30mg tablets")


def test_start_B2_statin_with_vascular_disease(chk):
    assert chk("START-B2", ("vascular_disease", 900))
    assert not chk("START-B2", "Atorvastatin 20mg tablets", ("vascular_disease", 900))
    assert not chk("START-B2", ("vascular_disease", 900), ("severe_frailty", 100))
    assert not chk("START-B2", ("vascular_disease", 900), ("statin_declined", 100))


def test_start_B3_acei_with_coronary_artery_disease(chk):
    assert chk("START-B3", ("chd", 900))
    assert not chk("START-B3", "Ramipril 5mg capsules", ("chd", 900))


def test_start_B8_sglt2_inhibitor_in_heart_failure(chk):
    assert chk("START-B8", ("pincer_hf", 900))
    assert not chk("START-B8", "Dapagliflozin 10mg tablets", ("pincer_hf", 900))


def test_start_C1_anticoagulant_in_atrial_fibrillation(chk, rv):
    assert chk("START-C1", ("af", 900))
    assert not chk("START-C1", "Edoxaban 60mg tablets", ("af", 900))
    # a resolved AF code is not current AF
    assert not chk("START-C1", rv.dx("af", 900, resolved_days_ago=300))


def test_start_C2_antiplatelet_with_vascular_disease(chk):
    assert chk("START-C2", ("vascular_disease", 900))
    assert not chk("START-C2", "Clopidogrel 75mg tablets", ("vascular_disease", 900))
    assert not chk("START-C2", "Apixaban 5mg tablets", ("vascular_disease", 900))


def test_start_F3_ppi_with_nsaid(chk):
    assert chk("START-F3", "Ibuprofen 400mg tablets")
    assert not chk("START-F3", "Ibuprofen 400mg tablets", "Lansoprazole 15mg capsules")


def test_start_H2_bone_protection_with_long_term_corticosteroid(chk, rv):
    pred = rv.repeat("Prednisolone 5mg tablets", 120, 20)
    assert chk("START-H2", *pred)
    assert not chk("START-H2", *pred, "Alendronic acid 70mg tablets")


def test_start_H3_vitamin_d_with_osteoporosis(chk):
    assert chk("START-H3", ("osteoporosis", 900))
    assert not chk("START-H3", "Colecalciferol 800unit capsules", ("osteoporosis", 900))


def test_start_H4_antiresorptive_with_osteoporosis(chk):
    assert chk("START-H4", ("osteoporosis", 900))
    assert not chk("START-H4", "Alendronic acid 70mg tablets", ("osteoporosis", 900))


def test_start_H8_xanthine_oxidase_inhibitor_with_recurrent_gout(chk, rv):
    assert chk("START-H8", rv.dx("gout", 400), rv.dx("gout", 100))
    assert not chk("START-H8", rv.dx("gout", 400))
    assert not chk("START-H8", rv.dx("gout", 400), rv.dx("gout", 100), "Febuxostat 80mg tablets")


def test_start_H9_folic_acid_with_methotrexate(chk):
    assert chk("START-H9", "Methotrexate 2.5mg tablets")
    assert not chk("START-H9", "Methotrexate 2.5mg tablets", "Folic acid 5mg tablets")


def test_start_K2_laxative_with_regular_opioid(chk):
    assert chk("START-K2", "Oxycodone 5mg capsules")
    assert not chk("START-K2", "Oxycodone 5mg capsules", "Lactulose 3.1-3.7g/5ml oral solution")


def test_non_computable_criteria_are_prompts_not_flags(rv):
    from ipmo.review.rules import all_rules

    kind = {r.id: r.kind for r in all_rules()}
    hit = rv.ids(rv.patient(rv.rx("Quetiapine 25mg tablets"), age=80))
    for rid in ("STOPP-D5", "STOPP-D15", "STOPP-A1"):
        assert rid in hit and kind[rid] == "prompt"


@pytest.mark.engine_lacks("duckdb", "prompts vs findings is the patient check's split")
def test_non_computable_criteria_are_listed_apart_on_the_patient_check(rv):
    result = rv.check(rv.patient(rv.rx("Quetiapine 25mg tablets"), age=80))
    prompt_ids = {p.rule_id for p in result.prompts}
    assert {"STOPP-D5", "STOPP-D15", "STOPP-A1"} <= prompt_ids
    assert not prompt_ids & {f.rule_id for f in result.findings}
    assert all(p.kind == "prompt" for p in result.prompts)


def test_at_least_40_computable_stopp_start_criteria():
    from ipmo.review.rules import all_rules

    computable = [r for r in all_rules() if r.family in ("stopp", "start") and r.kind == "flag"]
    assert len(computable) >= 40


def test_stopp_nsaid_criteria_count_every_systemic_nsaid(chk):
    # STOPP v3 says "NSAID": a rectal or injected NSAID carries the same risks (PINCER's
    # indicators are the ones about oral NSAIDs)
    rectal = "Diclofenac sodium 100mg suppositories"
    assert chk("STOPP-E4", rectal, ("lab", "egfr", 35, 30))
    assert chk("STOPP-C10", rectal, "Warfarin 1mg tablets")
    assert not chk("STOPP-C10", "Ibuprofen 5% gel", "Warfarin 1mg tablets")  # topical
