"""Spec: OpenPrescribing measures whose codes or weights come from dm+d run on our rebuilt tables.

One test per newly running measure, named after it, with codes the definition includes and codes
it leaves out. Sources: the definition files in ``src/ipmo/analytics/data/measure_definitions/``
(OpenPrescribing ``openprescribing/measures/definitions/<id>.json``, commit 5839302); dm+d facts
(dose forms, strengths, VTMs) are those of the starter dictionary's VMP names. The dm+d tables are
checked against real dm+d values where we hold them: ONT form-routes from OpenSAFELY codelists
(``../shared/terminology/public_codelists``) and ingredient names from the dm+d release fixture
(``../shared/peers/openprescribing/dmd_fixtures/release_1``).
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date
from functools import cache
from importlib import resources

import pytest

from ipmo.analytics.measures.definitions import load_definitions
from ipmo.analytics.planning.custom_sql import UnsupportedSql
from ipmo.analytics.planning.dmd_sql import DmdDatabase, _prepare
from ipmo.analytics.planning.dmd_views import (
    INGREDIENTS,
    generic_equivalent,
    load_views,
    ont_form_routes,
)
from ipmo.analytics.planning.plan import MeasurePlan, plan_measures

# Real BNF presentations (codes and names as in the English Prescribing Dataset).
PRESENTATIONS = {
    "0501013B0AAABAB": "Amoxicillin_Cap 500mg",
    "0501013K0AAAJAJ": "Co-Amoxiclav_Tab 500mg/125mg",
    "0501050B0AAAAAA": "Clarithromycin_Tab 250mg",
    "0501021L0AAAAAA": "Cefalexin_Cap 250mg",
    "0501090R0AAABAB": "Rifampicin_Cap 300mg",
    "0501130H0AAAAAA": "Methenamine Hippurate_Tab 1g",
    "0501040H0AAAAAA": "Gentamicin_Inj 40mg/ml 2ml Amp",
    "0501070I0AAABAB": "Colistimethate Sod_Inj 1mega u Vl",
    "0501120L0AAAFAF": "Ciprofloxacin_Tab 500mg",
    "1310012F0AAABAB": "Fusidic Acid_Crm 2%",
    "0206020C0AAACAC": "Diltiazem HCl_Tab 90mg M/R",
    "0206020C0BBABAC": "Tildiem Ret 90_Tab 90mg",
    "0206020C0AAAAAA": "Diltiazem HCl_Tab 60mg M/R",
    "130201100BBAQA0": "Dermol 600_Bath Emollient",
    "130201100AAAMAM": "Aq_Crm",
    "130201000BBAFA4": "Diprobase_Crm",
    "21220000211": "QV Gentle Wsh",
    "190205500BCMVA0": "Aveeno_Body Wash",
    "0407020A0AAAWAW": "Fentanyl_Tab Subling 100mcg S/F",
    "0407020A0AAAEAE": "Fentanyl_Transdermal Patch 25mcg/hr",
    "0407020A0AAAFAF": "Fentanyl_Transdermal Patch 50mcg/hr",
    "0205051Y0AAABAB": "Perindopril Arginine_Tab 5mg",
    "0205051M0AAABAB": "Perindopril Erbumine_Tab 4mg",
    "040702040AAAUAU": "Tramadol HCl/Paracet_Tab 37.5mg/325mg",
    "040702040AAAAAA": "Tramadol HCl_Cap 50mg",
    "0601023AGAAABAB": "Dapagliflozin_Tab 10mg",
    "0601023ANAAAAAA": "Empagliflozin_Tab 10mg",
    "0208020Z0AAABAB": "Apixaban_Tab 5mg",
    "0208020Y0BBACAC": "Xarelto_Tab 20mg",
    "0208020X0AAACAC": "Dabigatran Etexilate_Cap 150mg",
    "0302000C0BPADBW": "Clenil Modulite_Inha 250mcg (200D)",
    "0302000C0BPABBF": "Clenil Modulite_Inha 100mcg (200D)",
    "0302000C0BQABBZ": "Fostair_Inh 200mcg/6mcg (120D) CFF",
    "0302000K0BBAIAH": "Pulmicort_Turbohaler 400mcg (50 D)",
    "0301011R0AAAPAP": "Salbutamol_Inha 100mcg (200 D) CFF",
    "0301020Q0AAACAC": "Tiotropium_Inha 2.5mcg (60D) CFF + Dev",
    "0408010G0AAABAB": "Gabapentin_Cap 300mg",
    "0408010AEAAACAC": "Pregabalin_Cap 75mg",
    "0407020Q0AACNCN": "Morph Sulf_Oral Soln 10mg/5ml",
    "0407020Q0AAAKAK": "Morph Sulf_Tab 10mg M/R",
    "0407020Q0BKACEH": "Zomorph_Cap 60mg",
    "0407020Q0BBABAL": "MST Continus_Tab 30mg",
    "0103050P0AAAAAA": "Omeprazole_Cap E/C 20mg",
    "0103050P0AAAFAF": "Omeprazole_Cap E/C 10mg",
    "0103050E0AAAEAE": "Esomeprazole_Gran Sach G/R 10mg",
    "0212000B0AAAAAA": "Atorvastatin_Tab 10mg",
    "0212000B0AAABAB": "Atorvastatin_Tab 20mg",
    "0212000Y0AAAHAH": "Simvastatin_Tab 80mg",
    "0212000M0AAADAD": "Fluvastatin Sod_Tab 80mg M/R",
    # a brand code the dictionary does not list: placed by its generic equivalent 0206020C0AAACAC
    "0206020C0ZZACAC": "Diltiazem (test brand)_Tab 90mg M/R",
}


@cache
def _plans() -> tuple[dict[str, MeasurePlan], dict[str, str]]:
    plans, skipped = plan_measures(load_definitions().values(), PRESENTATIONS)
    return {p.id: p for p in plans}, skipped


def _plan(measure_id: str) -> MeasurePlan:
    plans, skipped = _plans()
    assert measure_id in plans, skipped.get(measure_id)
    return plans[measure_id]


def _num(measure_id: str) -> dict[str, float]:
    return dict(_plan(measure_id).numerator.weights)


def _den(measure_id: str) -> dict[str, float]:
    return dict(_plan(measure_id).denominator.weights)


# --- codes from dm+d queries (numerator/denominator_bnf_codes_query) --------------------------


def test_all_antibiotics():
    """all_antibiotics.json: form_route LIKE '%.oral' in 0501, less 050109, 050110, 0501130H0."""
    num = _num("all_antibiotics")
    assert {"0501013B0AAABAB", "0501013K0AAAJAJ", "0501021L0AAAAAA"} <= set(num)
    assert "0501040H0AAAAAA" not in num  # gentamicin injection: not oral
    assert "0501090R0AAABAB" not in num  # rifampicin: antituberculosis (~050109)
    assert "0501130H0AAAAAA" not in num  # methenamine (~0501130H0)
    assert _plan("all_antibiotics").denominator.source == "list_size"


def test_broad_spectrum():
    """broad_spectrum.json: oral co-amoxiclav, cephalosporins, quinolones / oral antibacterials."""
    num, den = _num("broad_spectrum"), _den("broad_spectrum")
    assert {"0501013K0AAAJAJ", "0501021L0AAAAAA", "0501120L0AAAFAF"} <= set(num)
    assert "0501013B0AAABAB" not in num and "0501013B0AAABAB" in den  # amoxicillin
    assert "0501040H0AAAAAA" not in den  # injection


def test_broad_spectrum_list():
    """broad_spectrum_list.json: the same numerator per 1,000 patients."""
    num = _num("broad_spectrum_list")
    assert "0501013K0AAAJAJ" in num and "0501050B0AAAAAA" not in num
    assert _plan("broad_spectrum_list").denominator.source == "list_size"


def test_aware_antibiotics():
    """aware_antibiotics.json: Watch+Reserve over Access+Watch+Reserve (vw_aware_abx_bnf_codes)."""
    num, den = _num("aware_antibiotics"), _den("aware_antibiotics")
    assert {"0501050B0AAAAAA", "0501013K0AAAJAJ", "0501120L0AAAFAF"} <= set(num)  # Watch
    assert "0501013B0AAABAB" not in num and "0501013B0AAABAB" in den  # amoxicillin: Access
    assert "0501040H0AAAAAA" in den  # gentamicin injection: Access, parenteral
    assert "1310012F0AAABAB" not in den  # fusidic acid cream: topical, not systemic


def test_diltiazem():
    """diltiazem.json: generic MR diltiazem over all MR diltiazem, 60mg tablets/capsules out."""
    num, den = _num("diltiazem"), _den("diltiazem")
    assert "0206020C0AAACAC" in num and "0206020C0AAACAC" in den
    assert "0206020C0BBABAC" not in num and "0206020C0BBABAC" in den  # Tildiem: brand
    assert "0206020C0AAAAAA" not in den  # 60mg tablets (~0206020C0%AA)
    assert "0206020C0ZZACAC" in den  # brand not in the dictionary, via its generic equivalent


def test_fluoroquinolones_list():
    """fluoroquinolones_list.json: oral, intravenous or inhaled quinolones (050112)."""
    num = _num("fluoroquinolones_list")
    assert "0501120L0AAAFAF" in num
    assert "0501021L0AAAAAA" not in num  # cefalexin: not a quinolone


def test_injectable_antibiotics():
    """injectable_antibiotics.json: intravenous/injection/subcutaneous forms in chapter 5."""
    num = _num("injectable_antibiotics")
    assert "0501040H0AAAAAA" in num  # gentamicin injection
    assert "0501013B0AAABAB" not in num  # oral
    assert "0501070I0AAABAB" not in num  # colistimethate (~0501070I0)


def test_lpbathshoweremollients():
    """lpbathshoweremollients.json: {hscic}.bnf presentation-name filters (bath/wash/shower)."""
    num = _num("lpbathshoweremollients")
    assert {"130201100BBAQA0", "190205500BCMVA0"} <= set(num)  # 1302011; toiletry with "wash"
    assert "130201100AAAMAM" not in num  # aqueous cream (NOT LIKE '130201100%AM')
    assert "130201000BBAFA4" not in num  # Diprobase cream: no bath/wash/shower
    assert "21220000211" not in num  # "QV Gentle Wsh": the name abbreviates wash


def test_lpfentanylir():
    """lpfentanylir.json: fentanyl VTM products other than patches, infusions and injections."""
    num = _num("lpfentanylir")
    assert "0407020A0AAAWAW" in num  # sublingual tablets
    assert "0407020A0AAAEAE" not in num  # transdermal patch


def test_lpperindopril():
    """lpperindopril.json: products with the ingredient perindopril arginine (442509000)."""
    num = _num("lpperindopril")
    assert "0205051Y0AAABAB" in num and "0205051M0AAABAB" not in num  # not the erbumine salt


def test_lptramadolpara():
    """lptramadolpara.json: products of the VTM paracetamol + tramadol (777074005)."""
    num = _num("lptramadolpara")
    assert "040702040AAAUAU" in num and "040702040AAAAAA" not in num  # not tramadol alone


# --- custom SQL joining dm+d → per-code weights -----------------------------------------------


def test_dapagliflozin():
    """dapagliflozin.json: SGLT-2 items other than generic dapagliflozin tablets."""
    num, den = _num("dapagliflozin"), _den("dapagliflozin")
    assert "0601023ANAAAAAA" in num  # empagliflozin
    assert "0601023AGAAABAB" not in num and "0601023AGAAABAB" in den  # generic dapagliflozin tabs
    assert "0212000B0AAAAAA" not in den


def test_doacs_nhse():
    """doacs_nhse.json: DOAC items other than generic rivaroxaban or apixaban tablets."""
    num, den = _num("doacs_nhse"), _den("doacs_nhse")
    assert {"0208020X0AAACAC", "0208020Y0BBACAC"} <= set(num)  # dabigatran; Xarelto brand
    assert "0208020Z0AAABAB" not in num and "0208020Z0AAABAB" in den  # generic apixaban tablets


def test_environmental_inhalers():
    """environmental_inhalers.json: pressurised MDIs over all inhalers, salbutamol left out."""
    num, den = _num("environmental_inhalers"), _den("environmental_inhalers")
    assert "0302000C0BPADBW" in num  # Clenil Modulite: pressurised
    assert "0302000K0BBAIAH" not in num and "0302000K0BBAIAH" in den  # Turbohaler: dry powder
    assert "0301020Q0AAACAC" not in num and "0301020Q0AAACAC" in den  # Respimat: soft mist
    assert "0301011R0AAAPAP" not in den  # salbutamol (NOT LIKE '0301011R0%')


def test_gabapentinoidsddd():
    """gabapentinoidsddd.json: quantity × mg per unit / 1,800 (gabapentin) or 300 (pregabalin)."""
    plan = _plan("gabapentinoidsddd")
    assert plan.numerator.column == "quantity"
    assert plan.numerator.weights["0408010G0AAABAB"] == pytest.approx(300 / 1800)
    assert plan.numerator.weights["0408010AEAAACAC"] == pytest.approx(75 / 300)
    assert "0212000B0AAAAAA" not in plan.numerator.weights


def test_icsdose():
    """icsdose.json: high-dose ICS items (beclometasone ≥250, or ≥200 with formoterol) over ICS."""
    num, den = _num("icsdose"), _den("icsdose")
    assert {"0302000C0BPADBW", "0302000C0BQABBZ", "0302000K0BBAIAH"} <= set(num)
    assert "0302000C0BPABBF" not in num and "0302000C0BPABBF" in den  # beclometasone 100
    assert "0301011R0AAAPAP" not in den


def test_morphine_solution_list():
    """morphine_solution_list.json: quantity × mg/ml of morphine oral solutions."""
    plan = _plan("morphine_solution_list")
    assert plan.numerator.column == "quantity"
    assert plan.numerator.weights["0407020Q0AACNCN"] == pytest.approx(10 / 5)
    assert "0407020Q0AAAKAK" not in plan.numerator.weights  # MR tablets: not a solution


def test_opioidper1000():
    """opioidper1000.json: high-dose opioid items (fentanyl ≥37.5mcg/h, morphine MR ≥45mg …)."""
    num = _num("opioidper1000")
    assert {"0407020A0AAAFAF", "0407020Q0BKACEH"} <= set(num)  # fentanyl 50; Zomorph 60mg
    assert "0407020A0AAAEAE" not in num  # fentanyl 25
    assert "0407020Q0BBABAL" not in num  # MST 30mg


def test_opioidspercent():
    """opioidspercent.json: the same high-dose items over all long-acting opioid items."""
    num, den = _num("opioidspercent"), _den("opioidspercent")
    assert "0407020A0AAAFAF" in num
    assert "0407020A0AAAEAE" not in num and "0407020A0AAAEAE" in den
    assert "0407020Q0AACNCN" not in den  # oral solution: not modified-release


def test_ppidose():
    """ppidose.json: higher-dose PPI items (omeprazole >10mg …) over solid oral PPI items."""
    num, den = _num("ppidose"), _den("ppidose")
    assert "0103050P0AAAAAA" in num
    assert "0103050P0AAAFAF" not in num and "0103050P0AAAFAF" in den  # omeprazole 10mg
    assert "0103050E0AAAEAE" not in den  # esomeprazole granules: not a listed form


def test_pregabalinmg():
    """pregabalinmg.json: quantity × pregabalin mg per unit."""
    plan = _plan("pregabalinmg")
    assert plan.numerator.weights["0408010AEAAACAC"] == pytest.approx(75.0)
    assert "0408010G0AAABAB" not in plan.numerator.weights  # gabapentin


def test_statinintensity():
    """statinintensity.json: low/medium intensity statin items (atorvastatin <20mg …)."""
    num, den = _num("statinintensity"), _den("statinintensity")
    assert {"0212000B0AAAAAA", "0212000M0AAADAD"} <= set(num)  # atorvastatin 10; fluvastatin
    assert "0212000B0AAABAB" not in num and "0212000B0AAABAB" in den  # atorvastatin 20
    assert "0212000Y0AAAHAH" not in num  # simvastatin 80


# --- how the dm+d tables are built and the SQL run ---------------------------------------------


NEWLY_RUNNING = {
    "all_antibiotics", "aware_antibiotics", "broad_spectrum", "broad_spectrum_list", "diltiazem",
    "fluoroquinolones_list", "injectable_antibiotics", "lpbathshoweremollients", "lpfentanylir",
    "lpperindopril", "lptramadolpara", "dapagliflozin", "doacs_nhse", "environmental_inhalers",
    "gabapentinoidsddd", "icsdose", "morphine_solution_list", "opioidper1000", "opioidspercent",
    "ppidose", "pregabalinmg", "statinintensity", "nhse_bgts", "nhse_lancets",
}  # fmt: skip


def test_dmd_measures_run_on_the_real_epd_profile():
    """On the real EPD presentations (data/epd_profile.csv) 66 of the 80 measures run: the 34
    that ran before, these 24, the 6 per-item ones (test_spec_per_item_measures.py) and the 2 on
    age-band list sizes (test_spec_age_band_list_sizes.py); the other 14 are skipped, each with a
    reason."""
    path = resources.files("ipmo.analytics") / "data" / "epd_profile.csv"
    with path.open(encoding="utf-8") as handle:
        codes = {r["bnf_code"]: r["bnf_name"] for r in csv.DictReader(handle)}
    plans, skipped = plan_measures(load_definitions().values(), codes)
    assert {p.id for p in plans} >= NEWLY_RUNNING, sorted(NEWLY_RUNNING & set(skipped))
    assert len(plans) == 66 and len(skipped) == 14
    assert all(reason for reason in skipped.values())


def test_ont_form_routes_agree_with_real_dmd_values(shared_dir):
    """Our ONT values for VMPs equal dm+d's, where OpenSAFELY codelists carry them."""
    real: dict[str, set[str]] = defaultdict(set)
    for path in (shared_dir / "terminology/public_codelists").rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames and "form_route" in reader.fieldnames:
                for row in reader:
                    if row.get("vpid"):
                        real[row["vpid"]].add(row["form_route"])
    views = load_views()
    checked = 0
    for vpid, values in real.items():
        vmp = views.vmps.get(int(vpid))
        if vmp is None:
            continue
        for value in vmp.form_routes:
            checked += 1
            if "injection" in value or "infusion" in value:
                # parenteral forms: dm+d lists several routes; the parenteral class must agree
                assert any("injection" in r or "infusion" in r for r in values), vmp.name
            else:
                assert value in values, (vmp.name, value, values)
    assert checked >= 300


def test_ont_form_routes_follow_dmd_naming():
    assert ont_form_routes("Diltiazem 90mg modified-release tablets", "modified-release tablets",
                           "Oral") == ("tabletmodified-release.oral",)  # fmt: skip
    assert ont_form_routes("Penicillamine gastro-resistant 150mg tablets", "tablets", "Oral") == (
        "tabletgastro-resistant.oral",
    )
    assert ont_form_routes("Salbutamol 100micrograms/dose inhaler CFC free", "inhaler CFC free",
                           "Inhalation") == ("pressurizedinhalation.inhalation",)  # fmt: skip
    assert ont_form_routes(
        "Diclofenac 10mg dispersible tablets", "dispersible tablets", "Oral"
    ) == ("suspension.oral",)
    # not determined by the name: none rather than a guess
    assert ont_form_routes("Buprenorphine 200microgram sublingual tablets", "sublingual tablets",
                           "Oral") == ()  # fmt: skip


def test_ingredient_ids_name_the_substance_in_the_dmd_release(shared_dir):
    """INGREDIENTS ids that the 2019 dm+d ingredient file holds carry the substance we map."""
    path = shared_dir / "peers/openprescribing/dmd_fixtures/release_1/f_ingredient2_3010419.xml"
    names = {i.findtext("ISID"): i.findtext("NM") or "" for i in ET.parse(path).iter("ING")}
    found = 0
    for substance, ing in INGREDIENTS.items():
        if str(ing) in names:
            found += 1
            assert substance.split()[0] in names[str(ing)].lower(), (substance, names[str(ing)])
    assert found >= 30


def test_bigquery_substr_position_zero_keeps_its_meaning():
    """BigQuery SUBSTR(x, 0, 9) is the first 9 characters (DuckDB would give 8)."""
    db = DmdDatabase({"0212000B0BBACAC": "Lipitor_Tab 40mg"})
    try:
        sql = "SELECT SUBSTR(presentation_code, 0, 9) FROM {hscic}.bnf -- first nine\n"
        tree = _prepare(sql + "WHERE presentation_code = '0212000B0BBACAC'")
        assert db._execute(tree) == [("0212000B0",)]
    finally:
        db.close()
    assert generic_equivalent("0212000B0BBACAC") == "0212000B0AAACAC"


def test_a_dmd_field_we_do_not_hold_is_reported_not_guessed():
    """lpherbal.json reads amp.lic_auth (licensing authority), which the dictionary lacks."""
    plans, skipped = _plans()
    assert "lpherbal" not in plans
    assert "lic_auth" in skipped["lpherbal"]
    db = DmdDatabase({})
    try:
        with pytest.raises(UnsupportedSql, match="vw__inhaler_quantity_adjustment"):
            db.custom_weights(load_definitions()["saba"].numerator)
    finally:
        db.close()


def test_codes_the_dictionary_cannot_place_are_named_in_the_coverage_note():
    """all_antibiotics over a nebuliser code with no ONT value in the dictionary: reported."""
    presentations = {
        "0501013B0AAABAB": "Amoxicillin_Cap 500mg",
        "0501070I0BCAAAD": "Promixin_Pdr For Neb 1mega u",
    }
    plans, _ = plan_measures([load_definitions()["all_antibiotics"]], presentations)
    assert "0501070I0BCAAAD" in plans[0].note and "1 of 2" in plans[0].note
    plans, _ = plan_measures([load_definitions()["all_antibiotics"]], {"0501013B0AAABAB": "Amox"})
    assert plans[0].note == ""


# --- month-keyed code lists (NHS England guidance versions) -----------------------------------

BGTS = {
    "0601060D0EKAAA0": "4SURE_Test Strips",  # in guidance throughout (versions 1-5)
    "0601060D0CUABA0": "GlucoRx Nexus_Test Strips",  # REMOVED in version 4 (July 2025)
    "0601060D0FGAAA0": "GlucoRx Smart_Test Strips",  # ADDED in version 4 (July 2025)
    "0601060D0CIAAA0": "WaveSense JAZZ_Test Strips",  # REMOVED in version 5 (October 2025)
    "0601060D0XXAAA0": "Not In Guidance_Test Strips",
}


def test_nhse_bgts():
    """nhse_bgts.json: strips not in the guidance version of that month, over all strips."""
    plans, skipped = plan_measures([load_definitions()["nhse_bgts"]], BGTS)
    assert not skipped
    num = plans[0].numerator
    assert num.weights == {"0601060D0XXAAA0": 1.0}
    july, october = date(2025, 7, 1), date(2025, 10, 1)
    assert num.windows["0601060D0CUABA0"] == ((july, None, 1.0),)
    assert num.windows["0601060D0FGAAA0"] == ((None, july, 1.0),)
    assert num.windows["0601060D0CIAAA0"] == ((october, None, 1.0),)
    assert "0601060D0EKAAA0" not in num.codes()
    assert set(plans[0].denominator.weights) == set(BGTS)


def test_nhse_lancets():
    """nhse_lancets.json: lancets not in the guidance of that month, over all lancets."""
    codes = {
        "21010900637": "Glucoject Lancets PLUS 0.2mm/33gauge",  # in guidance throughout
        "21012600244": "GreenFine Lancets 0.36mm/28gauge",  # ADDED in version 4
        "21010900729": "GlucoZen Lancets 0.36mm/28gauge",  # REMOVED in version 4
        # listed as ADDED in version 4, but the definition lacks the comma after it: BigQuery
        # joins the adjacent literals ('21010900890' '21012600343'), so it stays in the numerator
        "21010900890": "Mylife Safety Comfort Lancets 0.32mm/30gauge",
        "0601060D0EKAAA0": "4SURE_Test Strips",  # not a lancet
    }
    plans, skipped = plan_measures([load_definitions()["nhse_lancets"]], codes)
    assert not skipped
    num, july = plans[0].numerator, date(2025, 7, 1)
    assert num.windows["21012600244"] == ((None, july, 1.0),)
    assert num.windows["21010900729"] == ((july, None, 1.0),)
    assert "21010900637" not in num.codes() and num.weights["21010900890"] == 1.0
    assert "0601060D0EKAAA0" not in plans[0].denominator.codes()


def test_month_keyed_weights_apply_by_month_in_the_engine(tmp_path):
    """nhse_bgts run on June and July 2025 (one practice): GlucoRx Nexus counts only in July,
    GlucoRx Smart only in June; WaveSense JAZZ not before October."""
    from ipmo.analytics.compute.service import compute
    from ipmo.analytics.ingest import datastore
    from ipmo.analytics.ingest.prescribing_csv import ingest_prescribing

    items = dict(zip(BGTS, (10_000, 10, 100, 1_000, 1), strict=True))  # distinct per strip
    rows = ["practice,month,bnf_code,items,quantity,actual_cost,net_cost,bnf_name"]
    for month in ("2025-06-01", "2025-07-01"):
        rows += [f"P1,{month},{c},{items[c]},50,10,10,{n}" for c, n in BGTS.items()]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "o.csv").write_text(
        "practice,setting,pcn,ccg,stp,regional_team\nP1,4,PCN1,CCG1,STP1,R1\n"
    )
    root = tmp_path / "store"
    ingest_prescribing(tmp_path / "p.csv", tmp_path / "o.csv", root)
    run = compute(datastore.connect_duckdb(root), [load_definitions()["nhse_bgts"]], ("practice",))
    values = run.results.values.to_pylist()
    assert {str(r["month"]): r["numerator"] for r in values} == {
        "2025-06-01": 1 + 100,  # not in guidance + Smart (added in July)
        "2025-07-01": 1 + 10,  # not in guidance + Nexus (removed in July)
    }
    assert {r["denominator"] for r in values} == {11_111}
