"""Anticholinergic burden (RULES.md §2): Boustani ACB, total ≥3 and ≥2 medicines scoring 2–3."""

from __future__ import annotations

import csv
from pathlib import Path

from ipmo.review.check import check
from ipmo.review.products import acb_scores, product_info

DATA = Path(__file__).parents[2] / "src/ipmo/review/data"


def test_acb_scores_are_the_boustani_column_of_the_mit_file(shared_dir):
    with (shared_dir / "clinical/acb/JuM24_Pseudoscales_simulation/aas_combined.csv").open() as f:
        boustani = {
            r["drug"]: int(float(r["boustani"]))
            for r in csv.DictReader(f)
            if float(r["boustani"]) > 0
        }
    assert acb_scores() == boustani
    # spot checks against the published ACB scale
    assert acb_scores()["amitriptyline"] == 3 and acb_scores()["oxybutynin"] == 3
    assert acb_scores()["ranitidine"] == 1 and acb_scores()["carbamazepine"] == 2


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
    r = check(rv.patient(rv.rx("Amitriptyline 10mg tablets")), rv.AS_OF)
    assert r.acb_total == 3
    assert "ACB-TOTAL" in {f.rule_id for f in r.findings}
    r = check(
        rv.patient(rv.rx("Codeine phosphate 30mg tablets"), rv.rx("Ranitidine 150mg tablets")),
        rv.AS_OF,
    )
    assert r.acb_total == 2
    assert "ACB-TOTAL" not in {f.rule_id for f in r.findings}


def test_acb_counts_each_ingredient_once_and_sums_combinations(rv):
    r = check(
        rv.patient(
            rv.rx("Co-codamol 30mg/500mg tablets"),
            rv.rx("Codeine phosphate 30mg tablets"),
            rv.rx("Furosemide 40mg tablets"),
        ),
        rv.AS_OF,
    )
    assert r.acb_total == 2  # codeine (1, once) + furosemide (1)


def test_acb_excludes_topical_and_eye_routes(rv):
    assert product_info("0", "Atropine 1% eye drops").acb == ()
    assert product_info("0", "Atropine 600microgram tablets").acb == (("atropine", 3),)


def test_two_or_more_medicines_scoring_2_to_3_are_flagged(rv):
    two = rv.patient(rv.rx("Carbamazepine 200mg tablets"), rv.rx("Oxybutynin 5mg tablets"))
    assert "ACB-MODERATE-2" in rv.ids(two)
    one = rv.patient(rv.rx("Carbamazepine 200mg tablets"), rv.rx("Codeine phosphate 30mg tablets"))
    assert "ACB-MODERATE-2" not in rv.ids(one)


def test_acb_uses_the_active_window_only(rv):
    old = check(rv.patient(rv.rx("Amitriptyline 10mg tablets", 120)), rv.AS_OF)
    assert old.acb_total == 0
