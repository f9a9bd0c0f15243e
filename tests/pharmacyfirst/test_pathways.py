"""The pathways file: versions by effective date, checked when loaded, treatments resolved to dm+d
products through the shipped OpenSAFELY codelists."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from ipmo.pharmacyfirst.gateway import Facts, check
from ipmo.pharmacyfirst.pathways import (
    PATHWAYS_FILE,
    PathwayError,
    UnknownPathway,
    catalogue,
    load_catalogue,
)

ISSUE_15_POPULATIONS = {
    "uti": ("age", {"min": 16, "max": 64}),
    "acute-otitis-media": ("age", {"min": 1, "max": 17}),
    "sore-throat": ("age", {"min": 5}),
    "sinusitis": ("age", {"min": 12}),
    "shingles": ("age", {"min": 18}),
    "impetigo": ("age", {"min": 1}),
    "infected-insect-bites": ("age", {"min": 1}),
}


def _with_second_version(tmp_path, change):
    data = yaml.safe_load(PATHWAYS_FILE.read_text())
    uti = yaml.safe_load(yaml.safe_dump(data["versions"][0]["pathways"]["uti"]))
    change(uti)
    data["versions"].append(
        {"effective_from": date(2026, 4, 1), "label": "test", "pathways": {"uti": uti}}
    )
    path = tmp_path / "pathways.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_catalogue(path)


def test_the_seven_pathways_and_their_ages_are_as_the_service_specifies():
    c = catalogue()
    assert c.codes() == sorted(ISSUE_15_POPULATIONS)
    for code, (kind, bounds) in ISSUE_15_POPULATIONS.items():
        age = next(g for g in c.pathway(code, date(2026, 1, 1)).gateway if g.id == "age")
        assert age.rule == {kind: bounds}, code
    assert len(c.sources) >= 3


def test_spec_a_consultation_is_judged_by_the_version_in_force_on_its_date(tmp_path):
    def lower_age(uti):
        uti["gateway"][0]["rule"] = {"age": {"min": 16, "max": 70}}

    two = _with_second_version(tmp_path, lower_age)
    answers = {"urinary_catheter": False, "recurrent_uti": False, "pregnant": False}
    for day, passes, version in [
        (date(2026, 3, 31), False, date(2024, 1, 31)),
        (date(2026, 4, 1), True, date(2026, 4, 1)),
    ]:
        p = two.pathway("uti", day)
        assert p.version == version
        facts = Facts(date(1958, 1, 1), "female", day, answers=answers)  # aged 68
        assert check(p, facts).passed is passes
    # pathways a version does not change carry over from the one before
    assert two.pathway("shingles", date(2026, 5, 1)).version == date(2024, 1, 31)


def test_no_pathway_is_in_force_before_the_service_began():
    with pytest.raises(UnknownPathway, match="2024-01-31"):
        catalogue().pathway("uti", date(2024, 1, 30))
    with pytest.raises(UnknownPathway, match="unknown pathway"):
        catalogue().pathway("earache", date(2025, 1, 1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda u: u["gateway"][0].update(rule={"height": 1}), "unknown rule"),
        (lambda u: u["gateway"][3].update(rule={"absent": "nope"}), "no question"),
        (lambda u: u["gateway"][0].pop("source"), "cites its source"),
        (lambda u: u["treatments"][0].update(match="^Unobtainium"), "no product"),
        (lambda u: u["treatments"][0].update(requires=["x"]), "requires unknown"),
        (lambda u: u["red_flags"][0].update(urgency="whenever"), "urgency"),
        # a comma in an unquoted text splits it into a stray key: refused, never half-read
        (lambda u: u["supply"][0].update({"new nocturia and cloudy urine": None}), "unknown keys"),
    ],
)
def test_a_bad_edit_of_the_pathways_fails_when_loaded(tmp_path, change, message):
    with pytest.raises(PathwayError, match=message):
        _with_second_version(tmp_path, change)


def test_every_treatment_names_its_dmd_products_from_the_pathway_codelist():
    c = catalogue()
    treatments = [t for code in c.codes() for t in c.pathway(code, date(2026, 1, 1)).treatments]
    assert len(treatments) >= 7
    assert all(t.products and t.source and t.max_quantity > 0 for t in treatments)
    uti = c.pathway("uti", date(2026, 1, 1))
    assert uti.treatment_for("39108511000001108").id == "nitrofurantoin-mr"
    assert uti.treatment_for("8993811000001101") is None  # clarithromycin: not a UTI treatment
