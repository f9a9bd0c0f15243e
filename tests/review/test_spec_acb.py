"""Anticholinergic burden (RULES.md §2): Boustani ACB, total ≥3 and ≥2 medicines scoring 2–3."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest
from build_review_data import ACB_NOT_SUBSTANCES, ACB_SYNONYMS  # scripts/ (build time)

from ipmo.review.products import acb_scores, product_info
from ipmo.terminology.dictionary import read_artifact

DATA = Path(__file__).parents[2] / "src/ipmo/review/data"


def _published_boustani(shared_dir) -> dict[str, int]:
    """Every drug Boustani 2008 scores, as the two shared copies of the list give it."""
    out: dict[str, int] = {}
    acb = shared_dir / "clinical/acb"
    with (acb / "JuM24_Pseudoscales_simulation/aas_combined.csv").open() as f:
        for r in csv.DictReader(f):
            if float(r["boustani"]) > 0:
                out[r["drug"]] = int(float(r["boustani"]))
    with (acb / "g-b-f_ACB-data/ACB_table.csv").open() as f:
        for r in csv.DictReader(f):
            if r["Boustani2008"].strip():
                out.setdefault(r["Name"].strip().lower(), int(r["Boustani2008"]))
    return out


def test_acb_every_drug_boustani_2008_scores_is_scored_with_its_score(shared_dir):
    published = _published_boustani(shared_dir)
    assert len(published) >= 110  # both copies read (99 + 13 names only in the second)
    scored = acb_scores()
    for name, score in published.items():
        if name in ACB_NOT_SUBSTANCES:
            continue
        assert scored[ACB_SYNONYMS.get(name, name)] == score, name
    # nothing scored that the list does not score
    assert set(scored) == {ACB_SYNONYMS.get(n, n) for n in published} - set(ACB_NOT_SUBSTANCES)
    # the two drugs scoring 3 that were missing, and spot checks against the paper
    assert scored["procyclidine"] == 3 and scored["promazine"] == 3
    assert scored["amitriptyline"] == 3 and scored["oxybutynin"] == 3
    assert scored["ranitidine"] == 1 and scored["carbamazepine"] == 2
    assert set(ACB_NOT_SUBSTANCES) == {"empracet", "brompheniramine maleate"}


def test_acb_negative_unscored_drugs_score_nothing():
    for name in ("Paracetamol 500mg tablets", "Amlodipine 5mg tablets", "Citalopram 20mg tablets"):
        assert product_info("0", name).acb == (), name


# Boustani 2008 drugs with no VTM in the dm+d starter dictionary: not marketed in the UK.
NOT_IN_DMD = {"carbinoxamine", "cyclobenzaprine", "desipramine", "hyoscyamine", "iloperidone"}
NOT_IN_DMD |= {"molindone"}


def test_acb_every_scored_drug_in_the_dictionary_is_scored_on_its_products():
    """Each scored substance → its dm+d VTMs (by name as a word, so "Promethazine
    hydrochloride" and "Pholcodine + Promethazine" count) and their oral VMPs: all carry the
    substance's score."""
    rows = read_artifact()
    vtms = {r["id"]: r["name"] for r in rows if r["kind"] == "VTM"}
    oral: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        if r["kind"] == "VMP" and r["vtm_id"] and r["route"] == "Oral":
            oral[r["vtm_id"]].append(r)
    unmapped, checked = set(), 0
    for substance, score in acb_scores().items():
        word = re.compile(rf"(?<![\w-]){re.escape(substance)}(?![\w-])")
        ids = [i for i, n in vtms.items() if word.search(n.lower())]
        if not ids:
            unmapped.add(substance)
        for i in ids:
            products = [(i, vtms[i], None)] + [
                (r["id"], r["name"], r["bnf_code"] or None) for r in oral[i]
            ]
            for code, name, bnf in products:
                assert (substance, score) in product_info(code, name, bnf, None, i).acb, name
                checked += 1
    assert unmapped == NOT_IN_DMD
    assert checked > 1000
    assert {"procyclidine", "promazine"} <= set(acb_scores()) - unmapped


def test_disagreements_with_the_uk_acb_calculator_are_reported(shared_dir):
    with (shared_dir / "clinical/acb/g-b-f_ACB-data/ACBcalc.csv").open() as f:
        calc = {r["Name"].strip().lower(): int(r["Score"]) for r in csv.DictReader(f)}
    with (DATA / "acb_disagreements.csv").open() as f:
        reported = {r["substance"]: r for r in csv.DictReader(f)}
    # cimetidine is 1 in Boustani, 2 in the UK calculator; citalopram is only in the calculator
    assert reported["cimetidine"]["status"] == "differ"
    assert reported["citalopram"]["status"] == "acbcalc_only"
    for name, score in calc.items():
        if acb_scores().get(name) != score:
            assert name in reported
    assert "amitriptyline" not in reported  # 3 in both


def test_acb_total_of_3_or_more_is_flagged(rv):
    for drug in (
        "Procyclidine 5mg tablets",
        "Promazine 25mg tablets",
        "Amitriptyline 10mg tablets",
    ):
        assert "ACB-TOTAL" in rv.ids(rv.patient(rv.rx(drug))), drug  # Boustani 3
    two = rv.patient(rv.rx("Codeine phosphate 30mg tablets"), rv.rx("Ranitidine 150mg tablets"))
    assert "ACB-TOTAL" not in rv.ids(two)  # 1 + 1


def test_acb_counts_each_ingredient_once_and_sums_combinations(rv):
    # codeine (in co-codamol and alone, counted once) + furosemide = 2
    base = [
        rv.rx("Co-codamol 30mg/500mg tablets"),
        rv.rx("Codeine phosphate 30mg tablets"),
        rv.rx("Furosemide 40mg tablets"),
    ]
    assert "ACB-TOTAL" not in rv.ids(rv.patient(*base))
    assert "ACB-TOTAL" in rv.ids(rv.patient(*base, rv.rx("Ranitidine 150mg tablets")))


@pytest.mark.engine_lacks("duckdb", "the set-based engine gives the ACB hits, not the total")
def test_acb_total_on_the_patient_check(rv):
    for drug in ("Procyclidine 5mg tablets", "Promazine 25mg tablets"):
        assert rv.check(rv.patient(rv.rx(drug))).acb_total == 3, drug
    base = [
        rv.rx("Co-codamol 30mg/500mg tablets"),
        rv.rx("Codeine phosphate 30mg tablets"),
        rv.rx("Furosemide 40mg tablets"),
    ]
    assert rv.check(rv.patient(*base)).acb_total == 2
    assert rv.check(rv.patient(rv.rx("Amitriptyline 10mg tablets", 120))).acb_total == 0


def test_acb_excludes_topical_and_eye_routes(rv):
    assert "ACB-TOTAL" not in rv.ids(rv.patient(rv.rx("Atropine 1% eye drops")))
    assert "ACB-TOTAL" in rv.ids(rv.patient(rv.rx("Atropine 600microgram tablets")))
    assert product_info("0", "Atropine 1% eye drops").acb == ()
    assert product_info("0", "Atropine 600microgram tablets").acb == (("atropine", 3),)


def test_two_or_more_medicines_scoring_2_to_3_are_flagged(rv):
    two = rv.patient(rv.rx("Carbamazepine 200mg tablets"), rv.rx("Oxybutynin 5mg tablets"))
    assert "ACB-MODERATE-2" in rv.ids(two)
    one = rv.patient(rv.rx("Carbamazepine 200mg tablets"), rv.rx("Codeine phosphate 30mg tablets"))
    assert "ACB-MODERATE-2" not in rv.ids(one)


def test_acb_uses_the_active_window_only(rv):
    assert "ACB-TOTAL" not in rv.ids(rv.patient(rv.rx("Amitriptyline 10mg tablets", 120)))
    assert "ACB-TOTAL" in rv.ids(rv.patient(rv.rx("Amitriptyline 10mg tablets", 20)))
