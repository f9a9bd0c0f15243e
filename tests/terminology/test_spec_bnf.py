"""Spec: BNF code structure (NHSBSA BNF code layout) and therapeutic classes (BNF headings)."""

import csv

import pytest

from ipmo.terminology import bnf
from ipmo.terminology.codelists import read_codelist


def test_parts_and_labels():
    p = bnf.parts("0205051R0AAAAAA")
    assert (p.chapter, p.section, p.paragraph, p.chemical, p.product) == (
        "02", "0205", "020505", "0205051R0", "0205051R0AA",
    )  # fmt: skip
    assert bnf.section_label("0205051R0AAAAAA") == "2.5.5.1"
    assert bnf.section_label("0204000") == "2.4"
    assert bnf.chapter_name("1001010P0AAADAD") == "Musculoskeletal and joint diseases"


def test_spec_generic_equivalent_of_a_brand():
    # dmd_fixtures README: Voltarol AMP 1003020U0BBADAI; its VMP maps to 1003020U0AAAIAI.
    assert bnf.generic_equivalent("1003020U0BBADAI") == "1003020U0AAAIAI"
    assert not bnf.is_generic("1003020U0BBADAI") and bnf.is_generic("1003020U0AAAIAI")
    assert bnf.generic_equivalent("0212000") is None


@pytest.mark.parametrize("bad", ["", "02-05", "0205051R0AAAAAAX"])
def test_bad_codes_raise(bad):
    with pytest.raises(ValueError):
        bnf.section(bad)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("0103050P0AAAAAA", "Proton pump inhibitors"),  # omeprazole
        ("1001010J0AAADAD", "Non-steroidal anti-inflammatory drugs"),  # ibuprofen
        ("0205051R0AAAAAA", "ACE inhibitors"),  # ramipril
        ("0208020Z0AAAAAA", "Oral anticoagulants"),  # apixaban
        ("060101", "Insulins"),
        ("0407010H0AAAMAM", "Non-opioid analgesics"),  # paracetamol
    ],
)
def test_spec_therapeutic_class(code, cls):
    assert bnf.therapeutic_class(code) == cls


@pytest.mark.parametrize("code", [None, "", "1305020C0AAFVFV", "not a code"])
def test_ungrouped_codes_have_no_class(code):
    assert bnf.therapeutic_class(code) is None


@pytest.mark.parametrize(
    ("group", "cls"),
    [
        ("ppi_h2ra", "Proton pump inhibitors"),
        ("nsaids", "Non-steroidal anti-inflammatory drugs"),
        ("ace_inhibitors", "ACE inhibitors"),
        ("arbs", "Angiotensin-II receptor antagonists"),
        ("calcium_channel_blockers", "Calcium-channel blockers"),
    ],
)
def test_spec_classes_cover_the_published_codelists(shared_dir, group, cls):
    """Every BNF code in the OpenSAFELY lists for a class falls in that class."""
    root = shared_dir / "terminology" / "public_codelists"
    codes = set()
    with (root / "INDEX.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["group"] == group and row["code_system"] == "dmd":
                codes |= {r.bnf_code for r in read_codelist(root / row["folder"] / row["file"])
                          if len(r.bnf_code) == 15}  # fmt: skip
    assert codes
    classes = {bnf.therapeutic_class(c) for c in codes}
    assert cls in classes
    assert classes <= {cls, "H2-receptor antagonists"}  # pincer-ppi also holds H2RAs
