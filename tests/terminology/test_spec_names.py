"""Spec: product-name parsing (NHSBSA dm+d Editorial Policy naming) on real names."""

import csv

import pytest

from ipmo.terminology.codelists import read_codelist
from ipmo.terminology.names import NameIndex, match_by_name, parse_product_name


@pytest.mark.parametrize(
    ("name", "substance", "strengths", "form", "supplier"),
    [
        ("Ramipril 5mg capsules (A A H Pharmaceuticals Ltd)", "Ramipril", ["5mg"], "capsules",
         "A A H Pharmaceuticals Ltd"),
        ("Prednisolone 1mg tablets (Alliance Healthcare (Distribution) Ltd)", "Prednisolone",
         ["1mg"], "tablets", "Alliance Healthcare (Distribution) Ltd"),
        ("Sitagliptin 50mg / Metformin 1g tablets (Celix Pharma Ltd)", "Sitagliptin + Metformin",
         ["50mg", "1g"], "tablets", "Celix Pharma Ltd"),
        ("Co-tenidone 50mg/12.5mg tablets (Mylan)", "Co-tenidone", ["50mg", "12.5mg"], "tablets",
         "Mylan"),
        ("Amoxicillin 250mg/5ml oral suspension sugar free", "Amoxicillin", ["250mg/5ml"],
         "oral suspension sugar free", None),
        ("Mometasone 50micrograms/dose nasal spray (Alissa Healthcare Research Ltd)", "Mometasone",
         ["50micrograms/dose"], "nasal spray", "Alissa Healthcare Research Ltd"),
        ("Insulin isophane biphasic human 25/75 100units/ml suspension for injection 3ml "
         "pre-filled disposable devices", "Insulin isophane biphasic human 25/75", ["100units/ml"],
         "suspension for injection 3ml pre-filled disposable devices", None),
        ("Fentanyl 25micrograms/hour transdermal patches", "Fentanyl", ["25micrograms/hour"],
         "transdermal patches", None),
        ("Diclofenac 2.32% gel", "Diclofenac", ["2.32%"], "gel", None),
        ("Coal tar 10% / Salicylic acid 5% in Aqueous cream", "Coal tar + Salicylic acid",
         ["10%", "5%"], "in Aqueous cream", None),
        ("Atorvastatin 10mg tablets (Xiromed) (product)", "Atorvastatin", ["10mg"], "tablets",
         "Xiromed"),
        ("Methotrexate 50mg/2ml solution for injection vials (hameln pharma Ltd)", "Methotrexate",
         ["50mg/2ml"], "solution for injection vials", "hameln pharma Ltd"),
        ("Generic Nutrison liquid", "Generic Nutrison", [], "liquid", None),
        ("Bendroflumethiazide_Tab 2.5mg", "Bendroflumethiazide", ["2.5mg"], "Tab", None),
        ("RAMIPRIL 5MG CAPS", "RAMIPRIL", ["5mg"], "CAPS", None),
    ],
)  # fmt: skip
def test_spec_parse_real_names(name, substance, strengths, form, supplier):
    p = parse_product_name(name)
    assert p.substance == substance
    assert [str(s) for s in p.strengths] == strengths
    assert p.form == form
    assert p.supplier == supplier


def test_strength_bracket_is_not_a_supplier():
    p = parse_product_name("Ferrous sulfate 200mg tablets (iron 65mg)")
    assert p.supplier is None


def test_strength_units_are_compared_canonically():
    a = parse_product_name("Levothyroxine 0.025mg tablets").strength
    b = parse_product_name("Levothyroxine sodium 25microgram tablets").strength
    assert a.key() == b.key()
    assert parse_product_name("X 1g tablets").strength.key() != a.key()


def _ebmdatalab_pairs(shared_dir):
    """(AMP name, its BNF presentation/VMP name) from the ebmdatalab exports, which state an
    AMP's parent (``vpid``) and the generic name beside the AMP's own name."""
    root = shared_dir / "terminology" / "public_codelists"
    pairs = set()
    with (root / "INDEX.csv").open() as fh:
        for row in csv.DictReader(fh):
            if "obj_type" in row["columns"]:
                for r in read_codelist(root / row["folder"] / row["file"]):
                    if r.level == "AMP" and r.term and r.bnf_name:
                        pairs.add((r.term, r.bnf_name))
    return sorted(pairs)


def test_spec_amp_names_agree_with_their_generic_names(shared_dir):
    """For real AMPs, the parsed strength and form agree with the generic name's (loosely:
    special-order solutions/suspensions are dm+d "oral liquids"). Published data, so a small
    residue of genuinely different names is allowed: at least 97 %."""
    pairs = _ebmdatalab_pairs(shared_dir)
    assert len(pairs) > 1000
    agree = sum(
        parse_product_name(a).key(loose=True)[1:] == parse_product_name(v).key(loose=True)[1:]
        for a, v in pairs
    )
    assert agree / len(pairs) >= 0.97


def test_spec_suppliers_found_on_real_amp_descriptions(shared_dir):
    pairs = _ebmdatalab_pairs(shared_dir)
    with_brackets = [a for a, _ in pairs if a.endswith(")")]
    found = sum(parse_product_name(a).supplier is not None for a in with_brackets)
    assert found / len(with_brackets) >= 0.99


@pytest.fixture
def index():
    return NameIndex(
        [
            ("318902004", "Ramipril 5mg capsules"),
            ("408051007", "Ramipril 5mg tablets"),
            ("317291008", "Omeprazole 20mg gastro-resistant capsules"),
            ("374294006", "Levothyroxine sodium 25microgram tablets"),
            ("317919004", "Bendroflumethiazide 2.5mg tablets"),
            ("39114911000001105", "Mercaptopurine 20mg/1ml oral liquid"),
        ]
    )


@pytest.mark.parametrize(
    ("name", "vmp", "how"),
    [
        ("Ramipril 5mg capsules (A A H Pharmaceuticals Ltd)", "318902004", "exact"),
        ("RAMIPRIL 5MG CAPS", "318902004", "parsed"),
        ("Ramipril 5 mg tablet", "408051007", "parsed"),
        ("Omeprazole 20mg e/c caps", "317291008", "parsed"),
        ("Levothyroxine 25mcg tablets", "374294006", "loose"),
        ("Bendroflumethiazide_Tab 2.5mg", "317919004", "parsed"),
        ("Mercaptopurine 100mg/5ml oral suspension (Special Order)", "39114911000001105", "loose"),
    ],
)
def test_spec_match_by_name(index, name, vmp, how):
    matches = match_by_name(name, index)
    assert [(m.vmp_id, m.how) for m in matches] == [(vmp, how)]


def test_match_without_form_lists_every_form(index):
    assert {m.vmp_id for m in index.match("ramipril 5mg")} == {"318902004", "408051007"}


@pytest.mark.parametrize("name", ["Ramipril 10mg capsules", "Paracetamol 500mg tablets", ""])
def test_no_match_for_other_products(index, name):
    assert match_by_name(name, index) == []
